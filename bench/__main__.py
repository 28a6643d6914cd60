"""`python -m bench [latency] [throughput] [csv] [webhooks] [clicks] [registrations] [hostile] [pool] [analytics]
[--rejections N] [--notices N] [--csv-rows N] [--registrants N] [--pool-candidates N] [--analytics-scale S]`: run the benchmarks and summarise.

With no names, every benchmark runs with the sizes the targets are defined for.

The exit status is 0 when every benchmark ran, whatever its figures; 1 when one could not run.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback

from bench import (
    analytics,
    click_redirect,
    csv_import,
    hostile_preview,
    latency,
    pool_search,
    registrations,
    throughput,
    webhook_ingest,
)
from bench.harness import BenchError, database_kind, verdict

BENCHMARKS = {
    "latency": lambda options: latency.run(options.rejections),
    "throughput": lambda options: throughput.run(options.notices),
    "csv": lambda options: csv_import.run(options.csv_rows),
    "webhooks": lambda options: webhook_ingest.run(),
    "clicks": lambda options: click_redirect.run(),
    "registrations": lambda options: registrations.run(options.registrants),
    "hostile": lambda options: hostile_preview.run(),
    "pool": lambda options: pool_search.run(options.pool_candidates),
    "analytics": lambda options: analytics.run(options.analytics_scale),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--rejections", type=int, default=latency.REJECTIONS,
                        help="sequential rejections for the latency benchmark (default %(default)s)")
    parser.add_argument("--notices", type=int, default=throughput.NOTICES,
                        help="notices for the throughput benchmark (default %(default)s)")
    parser.add_argument("--csv-rows", type=int, default=csv_import.ROWS,
                        help="rows in the generated file for the csv benchmark (default %(default)s)")
    parser.add_argument("--registrants", type=int, default=registrations.REGISTRANTS,
                        help="candidates registering end to end in the registrations benchmark (default %(default)s)")
    parser.add_argument("--pool-candidates", type=int, default=pool_search.POOL,
                        help="generated candidates in the talent pool benchmark (default %(default)s)")
    parser.add_argument("--analytics-scale", type=float, default=analytics.SCALE,
                        help="size of the analytics benchmark's history, 1 = 1,000,000 applications and 5,000,000 "
                             "messages (default %(default)s: TSUNAGU_BENCH_SCALE, else 1)")
    options = parser.parse_args(argv)
    names = options.names or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)} (choose from {', '.join(BENCHMARKS)})")

    print(f"Tsunagu benchmarks on {database_kind()}; Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}", flush=True)
    started = time.monotonic()
    results = []
    for name in names:
        try:
            results.append(BENCHMARKS[name](options))
        except Exception as exc:  # noqa: BLE001 - report it and go on with the next benchmark
            print(f"\n  {name}: could not run: {exc}", flush=True)
            if not isinstance(exc, BenchError):
                traceback.print_exc()
            results.append({"name": name, "summary": "did not run", "met": None})

    print(f"\n== summary ({time.monotonic() - started:.0f} s) ==")
    for result in results:
        status = "ERROR" if result["met"] is None else verdict(result["met"])
        print(f"  {result['name']:<13} {status:<5}  {result['summary']}")
    return 1 if any(result["met"] is None for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
