"""Benchmark (c): CSV import rows per second, 100,000 rows of a CP932 Excel export through `tsunagu import-csv`.

The file is generated in a fresh data dir: 髙/﨑/① in names and job titles, full-width digits in phones and
dates, a quoted newline in every 50th reason, a mix of 不採用/選考中/内定/辞退, 200 job titles, 応募日, 応募経路, 評価
and タグ (stored on the application), and 1 row in 1,000 with a bad e-mail address (reported, not imported). The clock covers the whole command run as a user
runs it (process start, decoding, validation, writing, the JSON summary); the schema is migrated first.
A second run of the same file then shows that it creates nothing new (every row skipped).
"""

from __future__ import annotations

import csv
import io
import time

from bench.harness import BenchError, bench_environment, last_json_line, run_tsunagu, say, section, verdict

ROWS = 100_000
TARGET_SECONDS = 30.0
STATUSES = ("不採用", "不採用", "不採用", "選考中", "内定", "辞退")
STAGES = ("書類選考", "一次面接", "二次面接", "最終面接")
FAMILY = ("髙橋", "山﨑", "佐藤", "鈴木", "田中", "渡辺", "伊藤", "中村")
GIVEN = ("太郎", "花子", "翔太", "美咲", "健", "陽菜")
TAGS = ("Python、Go", "営業／リーダー経験", "", "新卒")


def make_file(rows: int) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["応募ID", "氏名", "フリガナ", "メールアドレス", "電話番号", "応募職種", "職種カテゴリ",
                     "選考ステップ", "選考結果", "不採用理由", "不採用日", "応募日", "応募経路", "評価", "タグ"])
    for n in range(rows):
        email = f"candidate{n}@example.jp" if n % 1000 != 999 else f"candidate{n}-at-example.jp"
        status = STATUSES[n % len(STATUSES)]
        day = 1 + n % 28
        reason = "スキル不一致\n(詳細は面接記録)" if n % 50 == 0 else ("経験不足" if status == "不採用" else "")
        writer.writerow([
            f"CSV-{n}", f"{FAMILY[n % 8]} {GIVEN[n % 6]}", "タカハシ タロウ", email,
            "０９０-" + f"{n % 10000:04d}".translate(str.maketrans("0123456789", "０１２３４５６７８９")) + "-5678",
            f"エンジニア①-{n % 200}", "エンジニア", STAGES[n % 4], status, reason,
            f"2026/10/{day:02d}" if status == "不採用" else "", f"2026年9月{day}日", "自社サイト",
            "ABC"[n % 3], TAGS[n % len(TAGS)],
        ])
    return out.getvalue().encode("cp932")


def run(rows: int = ROWS) -> dict:
    section(f"(c) CSV import: {rows:,} rows (CP932) through `tsunagu import-csv`")
    with bench_environment("csv") as bench:
        env = bench.env
        run_tsunagu(env, "manage", "migrate", "--verbosity", "0")
        run_tsunagu(env, "company", "create", "--name", "株式会社ベンチ", "--slug", "bench")
        path = bench.data_dir / "export.csv"
        path.write_bytes(make_file(rows))
        say(f"file: {path.stat().st_size / 1e6:.1f} MB")

        started = time.monotonic()
        first = last_json_line(run_tsunagu(env, "import-csv", "--company", "bench", str(path), "--json", timeout=1800))
        seconds = time.monotonic() - started
        expected_errors = rows // 1000
        if first["imported"] != rows - expected_errors or len(first["errors"]) != expected_errors:
            raise BenchError(f"unexpected result: imported {first['imported']}, {len(first['errors'])} errors")

        started = time.monotonic()
        second = last_json_line(run_tsunagu(env, "import-csv", "--company", "bench", str(path), "--json", timeout=1800))
        again_seconds = time.monotonic() - started
        if second["imported"] or second["updated"] or second["skipped"] != rows - expected_errors:
            raise BenchError(f"the second import changed something: {second | {'errors': len(second['errors'])}}")

    rate = rows / seconds
    met = seconds <= TARGET_SECONDS
    say(f"first import:  {seconds:6.1f} s  {rate:8,.0f} rows/s  ({first['imported']:,} imported, "
        f"{len(first['errors'])} bad rows reported)")
    say(f"same file again: {again_seconds:4.1f} s  {rows / again_seconds:8,.0f} rows/s  (all {second['skipped']:,} "
        f"skipped, nothing new)")
    say(f"target: {rows:,} rows in <= {TARGET_SECONDS:.0f} s   {verdict(met)}")
    return {"name": "csv", "summary": f"{rows:,} rows in {seconds:.1f} s = {rate:,.0f} rows/s", "met": met}
