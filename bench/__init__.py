"""Tsunagu benchmarks, run by `make bench` (`python -m bench [latency] [throughput] [csv] [webhooks] [clicks]`).

They print figures and compare them with a target or with a baseline measured in the same run; they
never assert on timing (a missed target prints MISS, it does not fail the run). Each benchmark gets a
fresh temporary TSUNAGU_DATA_DIR, talks only to 127.0.0.1, and stops by itself (bounded loops and
timeouts). The database is SQLite in that data dir, unless TSUNAGU_DATABASE_URL names a PostgreSQL
server: then a throw-away database tsunagu_bench_<random> is created on it and dropped afterwards.

(a) latency (bench/latency.py)
    `tsunagu serve` as users run it, one company with delay 0 and the window always open. 200 times,
    one at a time: POST /api/v1/applications with status "rejected", then wait until a local SMTP
    server (aiosmtpd) receives that candidate's notice. Prints p50, p99 and max of call -> mail
    received. Targets: p50 <= 1 s, p99 <= 2 s.

(b) throughput (bench/throughput.py)
    100,000 personalised notices planned through the intake action (HTTP skipped), delivered by
    `tsunagu worker` and `tsunagu scheduler` to an SMTP sink in its own process, against a baseline of
    the same 100,000 pre-rendered messages sent by a raw smtplib loop over one connection to the same sink
    (run before and after the worker; the ratio uses the mean).
    Prints messages/second for both and their ratio, and checks the sink received each notice exactly
    once. Target: worker >= 70 % of raw smtplib.

(c) csv (bench/csv_import.py)
    100,000 CP932 rows of an Excel export through `tsunagu import-csv`, then the same file again.
    Target: the first import within 30 s.

(d) webhooks (bench/webhook_ingest.py)
    Signed Greenhouse webhooks POSTed by client threads in a second process to `tsunagu serve`,
    against /healthz on the same server. Target: >= 500 events/s, each answered event stored once.

(e) clicks (bench/click_redirect.py)
    Tracked-link clicks against /healthz on the same server, from a second process.
    Targets: >= 50 % of the bare view's rate, p99 < 20 ms, one stored click per redirect.

(h) analytics (bench/analytics.py, data from bench/analytics_data.py)
    ~3 years of one company's history (1,000,000 applications, 5,000,000 messages, events, clicks,
    registrations, ledger; TSUNAGU_BENCH_SCALE or --analytics-scale to shrink it) and a small second company.
    Prints the load time, rollup.rebuild, a refresh with nothing changed and one after a new day of rows,
    then p50/p95/max of the dashboard (this month, fiscal year, year), the funnel by job and the summary
    API, logged in / with an API key, beside /healthz. Target: p95 <= 300 ms on every page.
"""
