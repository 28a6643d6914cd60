"""Benchmark (g): the talent pool at scale: search and rediscovery latency over a generated pool, and the web
process's memory, beside a bare indexed lookup on the same data.

A fresh environment gets two companies: the measured one with N generated people (default 1,000,000; 2 or 3
applications each, ~12 skills and automatic tags each: bench.pool_data), and a small second one with the
same kind of people (the same surnames) to show that every answer stays inside its company. The load goes
through bench.pool_data in a helper process (executemany on SQLite, COPY on PostgreSQL; its time is printed).

Then `tsunagu web` alone serves (no worker: nothing queued is measured), and one keep-alive client sends
requests one at a time, after a warm-up, PER_KIND requests per kind (fewer when a kind's timed requests pass
KIND_BUDGET_SECONDS: n is printed), rotating over a few queries per kind:
- GET /api/v1/candidates with a name (高橋, which must also find 髙橋), a reading in hiragana (たかはし), a
  skill tag (tag=Python), free text (バックエンド開発), an e-mail address, and all combined with filters;
- the console's candidates page (/console/candidates/?q=…, logged in as a viewer): the results with the
  facet counts, as HR sees them;
- GET /api/v1/jobs/{external_id}/rediscovery for the open jobs (the shortlist, best first);
- baselines in the same run: /healthz, GET /api/v1/applications/{external_id} (one indexed row through the
  same API stack), and the direct SQL `SELECT id FROM talent_candidate WHERE company_id = ? AND email_key = ?`
  from this process (the floor of any lookup on this database).
p50/p95 are nearest-rank over the timed requests (client side, response fully read). The web process's
VmRSS/VmHWM (/proc) are read after start-up and at the end.

Targets (issue 12): search p95 <= 100 ms, rediscovery p95 <= 500 ms; the facet page is reported against the
search target too. Every answer must be 200 and no result may belong to the other company.
"""

from __future__ import annotations

import math
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote_plus, urlencode

from bench.harness import (
    HOST,
    BenchError,
    Service,
    bench_environment,
    console_login,
    database_kind,
    free_port,
    last_json_line,
    percentile,
    run_python_module,
    run_tsunagu,
    say,
    section,
    verdict,
    wait_for_http_ok,
)

POOL = 1_000_000
SECOND_POOL = 2_000
PER_KIND = 200
WARMUP = 20
REDISCOVERY_ROUNDS = 5  # requests per open job
# A kind whose requests are slow stops after this much timed work (its n is printed): a 1M pool whose tag filter
# takes seconds would otherwise hold the run for an hour.
KIND_BUDGET_SECONDS = 90.0
TARGET_SEARCH_P95_MS = 100.0
TARGET_REDISCOVERY_P95_MS = 500.0
HTTP_TIMEOUT = 60.0
EMAIL, PASSWORD = "viewer@bench.example", "bench-pool-password-1"

# Query kind -> the queries it rotates over (API parameters). The first of each is the one the issue names.
API_QUERIES: dict[str, list[dict]] = {
    "name": [{"q": "高橋"}, {"q": "山崎"}, {"q": "吉田"}, {"q": "渡辺"}, {"q": "斎藤"}],
    "kana": [{"q": "たかはし"}, {"q": "やまざき"}, {"q": "さとう"}, {"q": "ﾖｼﾀﾞ"}],
    "tag": [{"tag": "Python"}, {"tag": "法人営業"}, {"tag": "経理"}, {"tag": "AWS"}],
    "free text": [{"q": "バックエンド開発"}, {"q": "データ分析"}, {"q": "新規開拓"}, {"q": "月次決算"}],
    "combined": [{"q": "高橋", "tag": "Python", "stage_at_least": "20"},
                 {"q": "バックエンド開発", "region": "13", "evaluation": "A"},
                 {"q": "さとう", "tag": "法人営業", "stage_at_least": "40"}],
}
CONSOLE_QUERIES = [{"q": "高橋"}, {"q": "バックエンド開発"}, {"tag": "Python"}, {"q": "たかはし", "stage_at_least": "20"}]


@dataclass
class Timing:
    label: str
    seconds: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    results: dict[str, int] = field(default_factory=dict)  # query -> results on the first page (or count)

    def p(self, fraction: float) -> float:
        return percentile(sorted(self.seconds), fraction) * 1000

    def line(self, target_ms: float | None = None) -> str:
        bad = {status: n for status, n in self.statuses.items() if status != 200}
        text = (f"{self.label:<34} n={len(self.seconds):4}  p50 {self.p(0.50):7.1f} ms   p95 {self.p(0.95):7.1f} ms"
                f"   max {max(self.seconds, default=math.nan) * 1000:7.1f} ms")
        if target_ms is not None:
            text += f"   target p95 <= {target_ms:.0f} ms: {verdict(self.p(0.95) <= target_ms)}"
        if bad:
            text += f"   UNEXPECTED answers {bad}"
        return text


def run(pool_size: int = POOL) -> dict:
    section(f"(g) talent pool: search and rediscovery over {pool_size:,} generated candidates on {database_kind()}")
    with bench_environment("pool") as bench:
        port = free_port()
        base_url = f"http://{HOST}:{port}"
        env = bench.with_env(TSUNAGU_BASE_URL=base_url, TSUNAGU_EMAIL_URL="capture://")
        run_tsunagu(env, "manage", "migrate", "--verbosity", "0")
        key = last_json_line(run_tsunagu(env, "company", "create", "--name", "株式会社ベンチ", "--slug", "bench"))["api_key"]
        other_key = last_json_line(run_tsunagu(env, "company", "create", "--name", "他社株式会社", "--slug", "other"))[
            "api_key"]
        run_tsunagu(env, "user", "create", "--company", "bench", "--email", EMAIL, "--password", PASSWORD,
                    "--role", "viewer")
        started = time.monotonic()
        loaded = last_json_line(run_python_module(
            env, "bench.pool_data", "load", "--company", "bench", "--candidates", str(pool_size),
            "--second-company", "other", "--second-candidates", str(SECOND_POOL), timeout=6 * 3600))
        load_seconds = time.monotonic() - started
        mine, theirs = loaded["company"], loaded["second_company"]
        say(f"loaded {mine['candidates']:,} candidates, {mine['applications']:,} applications, {mine['tags']:,} tags "
            f"(+ {theirs['candidates']:,} of another company) in {load_seconds:.0f} s "
            f"= {mine['candidates'] / load_seconds:,.0f} candidates/s; phases {mine['seconds']}")
        say(f"database size: {_database_size(bench) / 1e9:.2f} GB")
        with Service("web", ["web", "--bind", f"{HOST}:{port}"], env) as server:
            wait_for_http_ok(f"{base_url}/healthz", timeout=120, service=server)
            measured = Measurements(base_url, key, other_key, server, bench, loaded)
            return measured.run(pool_size, load_seconds)


class Measurements:
    def __init__(self, base_url: str, key: str, other_key: str, server: Service, bench, loaded: dict):
        import requests

        self.base_url = base_url
        self.server = server
        self.bench = bench
        self.loaded = loaded
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Bearer {key}"
        self.other = requests.Session()
        self.other.headers["Authorization"] = f"Bearer {other_key}"
        self.console = requests.Session()
        self.plain = requests.Session()
        low, high = loaded["second_company"]["candidate_ids"]
        self.other_ids = range(low, high + 1)
        self.leaks = 0

    # --- one request, timed ------------------------------------------------------------------------

    def get(self, session, path: str, timing: Timing | None, *, count_key: str = "") -> tuple[int, object]:
        self.server.check_running()
        started = time.perf_counter()
        response = session.get(self.base_url + path, timeout=HTTP_TIMEOUT, allow_redirects=False)
        body = response.content
        elapsed = time.perf_counter() - started
        if timing is not None:
            timing.seconds.append(elapsed)
            timing.statuses[response.status_code] = timing.statuses.get(response.status_code, 0) + 1
        if response.status_code != 200:
            return response.status_code, body[:300]
        if response.headers.get("Content-Type", "").startswith("application/json"):
            data = response.json()
            if count_key and timing is not None and count_key not in timing.results:
                timing.results[count_key] = _result_count(data)
            if session is self.api:
                self.leaks += sum(1 for item in _items(data) if item.get("id") in self.other_ids)
            return 200, data
        return 200, body

    def series(self, label: str, session, paths: list[str], count: int) -> Timing:
        for path in (paths * math.ceil(WARMUP / len(paths)))[:max(WARMUP, len(paths))]:
            status, answer = self.get(session, path, None)
            if status != 200:
                raise BenchError(f"warm-up {label} {path} answered {status}: {answer!r}")
        timing = Timing(label)
        for n in range(count):
            path = paths[n % len(paths)]
            self.get(session, path, timing, count_key=path)
            if sum(timing.seconds) > KIND_BUDGET_SECONDS and n + 1 >= len(paths):
                break
        return timing

    # --- the run -----------------------------------------------------------------------------------

    def run(self, pool_size: int, load_seconds: float) -> dict:
        pid = self.server.process.pid
        memory_before = _memory(pid)
        say(f"web process after start-up: VmRSS {memory_before['VmRSS']:.0f} MB")
        self._login()
        mine = self.loaded["company"]
        health = self.series("/healthz (bare view)", self.plain, ["/healthz"], PER_KIND)
        application = self.series("GET /api/v1/applications/{id}", self.api,
                                  [f"/api/v1/applications/A-{n}-1" for n in range(0, pool_size, max(1, pool_size // 50))],
                                  PER_KIND)
        sql = self._direct_sql(pool_size)
        say()
        say("baselines (same data, same run):")
        for timing in (health, application, sql):
            say("  " + timing.line())

        say()
        say(f"search, GET /api/v1/candidates ({PER_KIND} requests per kind, one at a time):")
        searches = {}
        for kind, queries in API_QUERIES.items():
            paths = ["/api/v1/candidates?" + urlencode(query) for query in queries]
            searches[kind] = self.series(f"{kind} ({_describe(queries[0])})", self.api, paths, PER_KIND)
            say("  " + searches[kind].line(TARGET_SEARCH_P95_MS) + "   results: " + _results(searches[kind]))
        email = self._email_queries()
        searches["e-mail"] = self.series("e-mail (exact)", self.api, email, PER_KIND)
        say("  " + searches["e-mail"].line(TARGET_SEARCH_P95_MS))

        say()
        console_paths = ["/console/candidates/?" + urlencode(query) for query in CONSOLE_QUERIES]
        facets = self.series("console page + facets", self.console, console_paths, PER_KIND // 2)
        say("results with facet counts, GET /console/candidates/ (HTML, logged in):")
        say("  " + facets.line(TARGET_SEARCH_P95_MS))

        say()
        rediscovery_paths = [f"/api/v1/jobs/{external_id}/rediscovery" for external_id in mine["open_jobs"]]
        rediscovery = self.series(f"rediscovery ({len(rediscovery_paths)} open jobs)", self.api, rediscovery_paths,
                                  REDISCOVERY_ROUNDS * len(rediscovery_paths))
        say("rediscovery, GET /api/v1/jobs/{external_id}/rediscovery:")
        say("  " + rediscovery.line(TARGET_REDISCOVERY_P95_MS) + "   listed: " + _results(rediscovery))

        scoped = self._other_company_sees_its_own()
        memory_after = _memory(pid)
        say()
        say(f"web process memory: VmRSS {memory_before['VmRSS']:.0f} MB after start-up, "
            f"{memory_after['VmRSS']:.0f} MB at the end; peak VmHWM {memory_after['VmHWM']:.0f} MB")
        say(f"tenant scoping: {self.leaks} results of the other company in the measured company's answers; "
            f"the other company's 高橋 search: {scoped}")
        return self._summary(searches, facets, rediscovery, application, health, sql, memory_after, pool_size,
                             load_seconds, scoped)

    def _summary(self, searches, facets, rediscovery, application, health, sql, memory, pool_size, load_seconds,
                 scoped) -> dict:
        worst = max(searches.values(), key=lambda t: t.p(0.95))
        search_met = all(t.p(0.95) <= TARGET_SEARCH_P95_MS for t in searches.values())
        rediscovery_met = rediscovery.p(0.95) <= TARGET_REDISCOVERY_P95_MS
        all_ok = all(set(t.statuses) == {200} for t in [*searches.values(), facets, rediscovery, application])
        say()
        say(f"search p95 <= {TARGET_SEARCH_P95_MS:.0f} ms (every kind; worst {worst.label}: {worst.p(0.95):.1f} ms): "
            f"{verdict(search_met)}")
        say(f"console page with facets p95 <= {TARGET_SEARCH_P95_MS:.0f} ms ({facets.p(0.95):.1f} ms): "
            f"{verdict(facets.p(0.95) <= TARGET_SEARCH_P95_MS)}")
        say(f"rediscovery p95 <= {TARGET_REDISCOVERY_P95_MS:.0f} ms ({rediscovery.p(0.95):.1f} ms): "
            f"{verdict(rediscovery_met)}")
        say(f"every answer 200 and none from the other company: {verdict(all_ok and not self.leaks and scoped == 'own only')}")
        return {
            "name": "pool",
            "summary": f"{pool_size:,} candidates (loaded in {load_seconds:.0f} s): search p95 worst "
                       f"{worst.p(0.95):.0f} ms ({worst.label.split(' (')[0]}), facets page p95 {facets.p(0.95):.0f} ms, "
                       f"rediscovery p95 {rediscovery.p(0.95):.0f} ms; bare lookup p95 {application.p(0.95):.1f} ms "
                       f"(SQL {sql.p(0.95):.2f} ms); web RSS peak {memory['VmHWM']:.0f} MB",
            "met": search_met and rediscovery_met and all_ok and not self.leaks and scoped == "own only",
        }

    # --- pieces ------------------------------------------------------------------------------------

    def _login(self) -> None:
        console_login(self.console, self.base_url, EMAIL, PASSWORD, timeout=HTTP_TIMEOUT)

    def _email_queries(self) -> list[str]:
        status, data = self.get(self.api, "/api/v1/candidates?" + urlencode({"q": "佐藤"}), None)
        emails = [item["email"] for item in _items(data) if item.get("email")] if status == 200 else []
        if not emails:
            raise BenchError(f"no e-mail address in the answer to 佐藤: {str(data)[:300]}")
        return ["/api/v1/candidates?" + urlencode({"q": email}) for email in emails[:5]]

    def _direct_sql(self, pool_size: int) -> Timing:
        """The floor: one indexed row by (company_id, email_key), straight from the database."""
        company_id = self.loaded["company"]["company_id"]
        timing = Timing("SQL SELECT … WHERE email_key = ?")
        if self.bench.database_url:
            import psycopg

            connection = psycopg.connect(self.bench.database_url, autocommit=True)
            sql = "SELECT id FROM talent_candidate WHERE company_id = %s AND email_key = %s"
        else:
            connection = sqlite3.connect(self.bench.sqlite_path, timeout=30)
            sql = "SELECT id FROM talent_candidate WHERE company_id = ? AND email_key = ?"
        try:
            keys = [row[0] for row in connection.execute(
                "SELECT email_key FROM talent_candidate WHERE company_id = " + str(int(company_id))
                + " ORDER BY id LIMIT 50").fetchall()]
            for n in range(WARMUP + PER_KIND):
                started = time.perf_counter()
                found = connection.execute(sql, (company_id, keys[n % len(keys)])).fetchall()
                elapsed = time.perf_counter() - started
                if n >= WARMUP:
                    timing.seconds.append(elapsed)
                    timing.statuses[200 if found else 404] = timing.statuses.get(200 if found else 404, 0) + 1
        finally:
            connection.close()
        return timing

    def _other_company_sees_its_own(self) -> str:
        status, data = self.get(self.other, "/api/v1/candidates?" + urlencode({"q": "高橋"}), None)
        if status != 200:
            return f"answered {status}"
        ids = [item.get("id") for item in _items(data)]
        if not ids:
            return "no results (expected some)"
        return "own only" if all(pk in self.other_ids for pk in ids) else "FOREIGN RESULTS"


def _items(data) -> list[dict]:
    """The result list of an answer: a list, or the first list of objects in a dict (items, results, …)."""
    if isinstance(data, list):
        return [item for item in data if isinstance(item, dict)]
    if isinstance(data, dict):
        for key in ("items", "results", "candidates", "shortlist"):
            if isinstance(data.get(key), list):
                return [item for item in data[key] if isinstance(item, dict)]
    return []


def _result_count(data) -> int:
    if isinstance(data, dict):
        for key in ("count", "total"):
            if isinstance(data.get(key), int):
                return data[key]
    return len(_items(data))


def _results(timing: Timing) -> str:
    return ", ".join(f"{unquote_plus(re.sub(r'^[^?]*[?]', '', path))[:40]}: {count:,}" for path, count in timing.results.items())


def _describe(query: dict) -> str:
    return "&".join(f"{key}={value}" for key, value in query.items())


def _memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process in MB (Linux /proc)."""
    values = {"VmRSS": math.nan, "VmHWM": math.nan}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in values:
                values[name] = int(rest.split()[0]) / 1024
    except OSError:
        pass
    return values


def _database_size(bench) -> float:
    if bench.database_url:
        import psycopg

        with psycopg.connect(bench.database_url, autocommit=True) as connection:
            return float(connection.execute("SELECT pg_database_size(current_database())").fetchone()[0])
    return float(sum(path.stat().st_size for path in bench.data_dir.glob("tsunagu.sqlite3*")))
