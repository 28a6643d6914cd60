"""A generated hiring history for the analytics benchmark (bench.analytics), loaded in bulk, and the rollup timed.

`python -m bench.analytics_data load --company SLUG --scale S [--second-company SLUG] [--delay-minutes N]`
runs inside the benchmark's environment (Django, same data dir or database) and prints one JSON line.

At scale 1 the company gets ~3 years of history: 1,000,000 applications (one candidate each) to the ~190 jobs
of 16 categories of bench.pool_data.jobs(), through the 応募経路 of bench.pool_vocabulary, applied on weekdays
mostly; ~70 % rejected (with a reason, on a weekday in office hours), each rejected one with a rejection notice
(mostly sent `--delay-minutes` after the decision, some failed or cancelled) and follow-ups (step > 0, sent,
stopped, suppressed, failed, or still scheduled when due in the future) so that there are 5,000,000 messages;
opens, clicks and bounces (a few hundred thousand events), referral-link clicks, registration forms, verified
registrations (with their registrant), and the ledger (a credit per registration, a slot per 10 credits, some
reserved and used). The second company gets a small history of the same kind: none of it may be counted for
the first. Rows are written as bench.pool_writer writes them (its Table: executemany on SQLite, COPY on
PostgreSQL), a chunk of applications at a time with everything that hangs off them.

Then the rollup is timed: rollup.rebuild over the whole history, a refresh with nothing changed, and a refresh
after one more day of rows (written with fresh updated_at, as the application would).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

APPLICATIONS = 1_000_000
MESSAGES = 5_000_000
YEARS = 3
CHUNK = 20_000  # applications per generated and written chunk
REJECTED_SHARE = 0.70
FOLLOW_UP_DAYS = (14, 30, 45, 60, 90, 120, 150, 180, 240, 300, 365, 450)  # step -> days after the rejection
WEEKDAY_WEIGHTS = (1.0, 1.05, 1.0, 0.95, 0.9, 0.3, 0.25)  # Monday first: applications
HOUR_WEIGHTS = [1, 0, 0, 0, 0, 0, 1, 2, 4, 6, 7, 7, 8, 7, 6, 6, 6, 6, 6, 7, 8, 8, 6, 3]  # local hour of an application


class HistoryWriter:
    """Writes one company's generated history; needs Django set up."""

    def __init__(self, company_slug: str, *, tag: str, seed: int, delay_minutes: int, now: datetime | None = None):
        from django.db import connections, router

        from bench.pool_data import jobs
        from bench.pool_writer import PoolWriter, Table
        from tsunagu.messaging.models import Message, MessageEvent
        from tsunagu.relay.models import Click, LedgerEntry, Registrant, Registration, RegistrationRequest
        from tsunagu.talent.models import Application, Candidate

        self.rng = random.Random(seed)
        self.tag = tag
        self.delay = timedelta(minutes=delay_minutes)
        pool = PoolWriter(company_slug, email_tag=tag)  # its jobs: the same ~190 the pool benchmark makes
        pool.write_jobs(jobs())
        self.company = pool.company
        self.zone = ZoneInfo(self.company.time_zone)
        self.now = (now or pool.now).astimezone(UTC)
        self.job_rows = pool.jobs
        self.connection = connections[router.db_for_write(Application)]
        self.models = (Candidate, Application, Message, MessageEvent, Click, Registrant, RegistrationRequest,
                       Registration, LedgerEntry)
        self.tables = {model: Table(model, self.connection) for model in self.models}
        self.next_id: dict = {}
        self.ledger_numbers: dict[str, int] = {}
        self.credits = 0
        self.counts = {model._meta.db_table: 0 for model in self.models}
        self.seconds = {"generate": 0.0, "write": 0.0}
        c = self.company.pk
        t = self.tables
        self.make = {
            Candidate: t[Candidate].maker(
                "id", "name", "email", "email_key", "name_key", "channel", "stage_reached", "last_applied_at",
                "last_rejected_at", "created_at", "updated_at", company_id=c, name_kana="", phone="", kana_key="",
                phone_e164="", name_fold="", kana_fold="", region_code="", region_text="", desired_job="", note="",
                evaluation="", pool_state="rejected", search_tokens=""),
            Application: t[Application].maker(
                "id", "external_id", "candidate_id", "job_id", "status", "stage", "stage_reached", "rejection_reason",
                "status_changed_at", "rejected_at", "applied_at", "channel", "created_at", "updated_at",
                company_id=c, stage_raw="", source="api", evaluation="", tags=[]),
            Message: t[Message].maker(
                "id", "kind", "key", "application_id", "to_email", "step", "status", "send_at", "sent_at",
                "created_at", "updated_at", company_id=c, to_name="", context={}, variant="", status_reason="",
                last_error="", claim_token="", cancel_reason="", subject="", body_text="", message_id=""),
            MessageEvent: t[MessageEvent].maker(
                "id", "message_id", "kind", "occurred_at", "recorded_at", "user_agent", "machine", "machine_reason",
                company_id=c, source="tracking", source_event_id="", url="", detail=""),
            Click: t[Click].maker("id", "message_id", "user_agent", "created_at", company_id=c),
            Registrant: t[Registrant].maker(
                "id", "email_key", "email", "name", "created_at", "updated_at", first_company_id=c, name_kana="",
                name_key="", kana_key="", phone="", phone_e164="", desired_job="", desired_region=""),
            RegistrationRequest: t[RegistrationRequest].maker(
                "id", "message_id", "candidate_id", "name", "email", "consented_at", "created_at", "verified_at",
                company_id=c, desired_job="", desired_region="", phone="", consent_version="bench",
                network_hash="", browser_hash="", consent_texts={}, ip_hash=""),
            Registration: t[Registration].maker(
                "id", "candidate_id", "request_id", "registrant_id", "name", "email", "consented_at", "created_at",
                company_id=c, desired_job="", desired_region="", phone="", consent_version="bench",
                credit_status="credited", reasons=[], review_note=""),
            LedgerEntry: t[LedgerEntry].maker("id", "kind", "number", "progress_after", "registration_id",
                                              "created_at", company_id=c, note=""),
        }
        self.days = YEARS * 365
        # Cumulative weights of "days ago" for an application: weekdays busier, and a slow growth over the years.
        weights = []
        for days_ago in range(self.days):
            day = (self.now - timedelta(days=days_ago)).astimezone(self.zone)
            weights.append(WEEKDAY_WEIGHTS[day.weekday()] * (1.5 - days_ago / self.days))
        self.day_weights = _cumulative(weights)
        self.hour_weights = _cumulative(HOUR_WEIGHTS)

    def _sync_ids(self) -> None:
        """Ids from the highest stored ones (another writer may have written since)."""
        from django.db.models import Max

        self.next_id = {model: (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1 for model in self.models}

    def _take(self, model) -> int:
        pk = self.next_id[model]
        self.next_id[model] = pk + 1
        return pk

    def _local(self, days_ago: int, hour: int, minute: int) -> datetime:
        day = (self.now - timedelta(days=days_ago)).astimezone(self.zone).date()
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.zone).astimezone(UTC)

    def _office_time(self, moment: datetime) -> datetime:
        """The same day, or the next weekday, between 10:00 and 19:00 local time."""
        local = moment.astimezone(self.zone)
        while local.weekday() >= 5:
            local += timedelta(days=1)
        return local.replace(hour=self.rng.randint(10, 18), minute=self.rng.randrange(60)).astimezone(UTC)

    # --- one chunk of applications with everything hanging off them ------------------------------------------

    def write(self, count: int, *, followups_per_rejection: float, recent_days: int = 0) -> None:
        """`count` applications; with recent_days, applied within that many days and decided today (a new day)."""
        from django.db import transaction

        from bench import pool_vocabulary as words

        started = time.monotonic()
        self._sync_ids()
        rng = self.rng
        rows = {model: [] for model in self.models}
        Candidate, Application, Message, MessageEvent, Click, Registrant, Request, Registration, Ledger = self.models
        make = self.make
        if recent_days:
            # Stamped when written, as the application stamps its rows: the refresh finds them by that.
            from django.utils import timezone

            self.now = timezone.now().astimezone(UTC)
        written_at = self.now if recent_days else None
        if recent_days:
            days_ago = [rng.randrange(1, recent_days) for _ in range(count)]
        else:
            days_ago = rng.choices(range(self.days), cum_weights=self.day_weights, k=count)
        hours = rng.choices(range(24), cum_weights=self.hour_weights, k=count)
        for n in range(count):
            app_id, cand_id = self._take(Application), self._take(Candidate)
            applied_at = self._local(days_ago[n], hours[n], rng.randrange(60))
            job_id, _title, _category = rng.choice(self.job_rows)
            channel = rng.choice(words.CHANNELS)
            _raw, stage = rng.choice(words.STAGE_LABELS)
            email = f"c{app_id}.{self.tag}@example.jp"
            roll = rng.random()
            if recent_days:
                decided = self.now - timedelta(minutes=rng.randrange(30, 600))
                rejected = roll < REJECTED_SHARE
            else:
                decided = self._office_time(applied_at + timedelta(days=rng.randint(3, 60)))
                rejected = roll < REJECTED_SHARE and decided < self.now - timedelta(hours=2)
            status = "rejected" if rejected else rng.choice(("active", "active", "withdrawn", "hired"))
            changed = min(decided, self.now - timedelta(hours=1)) if not recent_days else decided
            reason = rng.choice(words.REJECTION_REASONS) if rejected else ""
            updated = written_at or changed
            rows[Application].append(make[Application](
                app_id, f"{self.tag.upper()}-{app_id}", cand_id, job_id, status, stage, stage, reason, changed,
                changed if rejected else None, applied_at, channel, written_at or applied_at, updated))
            rows[Candidate].append(make[Candidate](
                cand_id, f"候補者 {app_id}", email, email, f"候補者{app_id}", channel, stage, applied_at,
                changed if rejected else None, written_at or applied_at, updated))
            if rejected:
                self._messages(rows, app_id, cand_id, email, changed, followups_per_rejection, written_at)
        generated = time.monotonic()
        self.seconds["generate"] += generated - started
        with transaction.atomic(using=self.connection.alias):
            for model in self.models:
                self._insert(model, rows[model])
                self.counts[model._meta.db_table] += len(rows[model])
        self.seconds["write"] += time.monotonic() - generated

    def _messages(self, rows, app_id, cand_id, email, rejected_at, followups_per_rejection, written_at) -> None:
        rng = self.rng
        Candidate, Application, Message, MessageEvent, Click, Registrant, Request, Registration, Ledger = self.models
        make = self.make
        notice_id = self._take(Message)
        send_at = rejected_at + self.delay
        roll = rng.random()
        status = "sent" if roll < 0.96 else "failed" if roll < 0.98 else "cancelled"
        sent_at = send_at + timedelta(seconds=rng.randrange(5, 240)) if status == "sent" else None
        if sent_at and sent_at > self.now:
            status, sent_at = "scheduled", None
        rows[Message].append(make[Message](notice_id, "rejection", f"rejection:{app_id}", app_id, email, 0, status,
                                           send_at, sent_at, written_at or rejected_at,
                                           written_at or self._past(sent_at or send_at)))
        whole = int(followups_per_rejection)
        steps = min(len(FOLLOW_UP_DAYS), whole + (1 if rng.random() < followups_per_rejection - whole else 0))
        for step in range(1, steps + 1):
            due = rejected_at + timedelta(days=FOLLOW_UP_DAYS[step - 1])
            if due > self.now:
                break  # the planner writes a follow-up's row when it falls due, not before
            if due > self.now - timedelta(days=1):
                state, when = "scheduled", None  # due, waiting for the send window or the frequency cap
            else:
                roll = rng.random()
                state = ("sent" if roll < 0.90 else "cancelled" if roll < 0.95 else "suppressed" if roll < 0.98
                         else "failed")
                when = due + timedelta(seconds=rng.randrange(5, 600)) if state == "sent" else None
            rows[Message].append(make[Message](self._take(Message), "follow_up", f"follow_up:{app_id}:{step}",
                                               app_id, email, step, state, due, when, written_at or rejected_at,
                                               written_at or self._past(when or due)))
        if status != "sent":
            return
        recorded = written_at or sent_at
        roll = rng.random()
        opened_at = sent_at + timedelta(minutes=rng.randrange(1, 600))
        if roll < 0.25 and opened_at < self.now:  # opened (indicative only); nothing is stamped in the future
            rows[MessageEvent].append(make[MessageEvent](
                self._take(MessageEvent), notice_id, "opened", opened_at, written_at or opened_at,
                "Mozilla/5.0 (iPhone)", False, ""))
        if roll < 0.04:  # a scanner's click on delivery
            rows[MessageEvent].append(make[MessageEvent](
                self._take(MessageEvent), notice_id, "clicked", sent_at + timedelta(seconds=2), recorded, "", True,
                "no_agent"))
        elif roll > 0.99:
            rows[MessageEvent].append(make[MessageEvent](
                self._take(MessageEvent), notice_id, "bounced", sent_at + timedelta(seconds=30), recorded, "", False,
                ""))
        if rng.random() >= 0.06:
            return
        clicked_at = sent_at + timedelta(minutes=rng.randrange(2, 3000))
        if clicked_at > self.now - timedelta(minutes=5):
            return
        rows[MessageEvent].append(make[MessageEvent](self._take(MessageEvent), notice_id, "clicked", clicked_at,
                                                     recorded, "Mozilla/5.0 (iPhone) Safari", False, ""))
        rows[Click].append(make[Click](self._take(Click), notice_id, "Mozilla/5.0 (iPhone) Safari", clicked_at))
        if rng.random() >= 0.25:
            return
        formed_at = clicked_at + timedelta(minutes=rng.randrange(1, 30))
        if formed_at > self.now:
            return
        verified_at = formed_at + timedelta(minutes=rng.randrange(1, 120)) if rng.random() < 0.8 else None
        request_id = self._take(Request)
        rows[Request].append(make[Request](request_id, notice_id, cand_id, "候補者", email, formed_at,
                                           written_at or formed_at, verified_at))
        if verified_at is None or verified_at > self.now:
            return
        registrant_id, registration_id = self._take(Registrant), self._take(Registration)
        rows[Registrant].append(make[Registrant](registrant_id, email, email, "候補者", verified_at, verified_at))
        rows[Registration].append(make[Registration](registration_id, cand_id, request_id, registrant_id, "候補者",
                                                     email, formed_at, written_at or verified_at))
        self.credits += 1
        rows[Ledger].append(self._ledger("credit", (self.credits % 10), registration_id, verified_at, written_at))
        if self.credits % 10 == 0:
            rows[Ledger].append(self._ledger("slot_earned", 0, None, verified_at, written_at))
            for kind, share in (("slot_reserved", 0.6), ("slot_redeemed", 0.3)):
                if rng.random() < share:
                    rows[Ledger].append(self._ledger(kind, 0, None, verified_at + timedelta(days=7), written_at))

    def _past(self, moment: datetime) -> datetime:
        """A row's updated_at: never in the future (a scheduled mail was last written when it was planned)."""
        return min(moment, self.now - timedelta(hours=1))

    def _ledger(self, kind, progress, registration_id, at, written_at) -> tuple:
        number = self.ledger_numbers.get(kind, 0) + 1
        self.ledger_numbers[kind] = number
        return self.make[self.models[-1]](self._take(self.models[-1]), kind, number, progress, registration_id,
                                          written_at or min(at, self.now))

    def _insert(self, model, rows: list[tuple]) -> None:
        if not rows:
            return
        table = self.tables[model]
        if self.connection.vendor == "postgresql":
            with self.connection.cursor() as cursor, cursor.cursor.copy(table.copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            self.connection.ensure_connection()
            self.connection.connection.executemany(table.insert_sql, rows)

    def finish(self) -> None:
        from django.core.management.color import no_style

        with self.connection.cursor() as cursor:
            for statement in self.connection.ops.sequence_reset_sql(no_style(), list(self.models)):
                cursor.execute(statement)
            # VACUUM too on PostgreSQL: what autovacuum does to a table after a large insert (the visibility map
            # that index-only scans need), so the measured reads are those of a settled database.
            cursor.execute("VACUUM ANALYZE" if self.connection.vendor == "postgresql" else "ANALYZE")


def _cumulative(weights) -> list[float]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def load_history(slug: str, applications: int, messages: int, *, tag: str, seed: int, delay_minutes: int,
                 quiet: bool = False) -> HistoryWriter:
    writer = HistoryWriter(slug, tag=tag, seed=seed, delay_minutes=delay_minutes)
    # Rejected applications whose follow-ups fall due in the future have fewer; the share is corrected for it.
    rejected = applications * REJECTED_SHARE
    per_rejection = max(0.0, (messages - rejected) / rejected) if rejected else 0.0
    # Follow-ups not yet due are not written, so more are drawn; the factor is steered chunk by chunk towards
    # `messages` in all.
    factor = 1.25
    started, written = time.monotonic(), 0
    while written < applications:
        size = min(CHUNK, applications - written)
        writer.write(size, followups_per_rejection=per_rejection * factor)
        written += size
        made = writer.counts["messaging_message"]
        if made:
            factor = min(3.0, max(0.5, factor * (messages * written / applications / made) ** 0.5))
        if not quiet and (written % (CHUNK * 10) == 0 or written == applications):
            elapsed = time.monotonic() - started
            print(f"  {written:,} applications, {writer.counts['messaging_message']:,} messages in {elapsed:.0f} s",
                  file=sys.stderr, flush=True)
    writer.per_rejection = per_rejection * factor
    return writer


def timed(function, *args, **kwargs) -> float:
    started = time.monotonic()
    function(*args, **kwargs)
    return round(time.monotonic() - started, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="load a generated hiring history and time the rollup "
                                                 "(run inside the bench environment)")
    parser.add_argument("command", choices=["load"])
    parser.add_argument("--company", required=True)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--second-company", default="")
    parser.add_argument("--delay-minutes", type=int, default=60)
    args = parser.parse_args(argv)
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tsunagu.settings")
    import django

    django.setup()
    from django.db.models import Sum

    from tsunagu.analytics.actions import rollup
    from tsunagu.analytics.models import DailyCount
    from tsunagu.talent.models import Application

    applications, messages = int(APPLICATIONS * args.scale), int(MESSAGES * args.scale)
    started = time.monotonic()
    writer = load_history(args.company, applications, messages, tag="a", seed=14, delay_minutes=args.delay_minutes)
    result = {"counts": dict(writer.counts), "seconds": {k: round(v, 1) for k, v in writer.seconds.items()}}
    if args.second_company:
        other = load_history(args.second_company, max(200, applications // 500), max(1000, messages // 500),
                             tag="b", seed=15, delay_minutes=args.delay_minutes, quiet=True)
        other.finish()
        result["second_company"] = other.counts
    writer.finish()
    result["load_seconds"] = round(time.monotonic() - started, 1)
    company = writer.company
    result["rebuild_seconds"] = timed(rollup.rebuild, company)
    result["refresh_unchanged_seconds"] = timed(rollup.refresh, company)
    # One more day: applications of the last weeks decided today, with their notices and what followed.
    day = max(20, applications // (YEARS * 365))
    writer.write(day, followups_per_rejection=writer.per_rejection, recent_days=45)
    writer.finish()
    result["new_day_applications"] = day
    result["refresh_new_day_seconds"] = timed(rollup.refresh, company)
    result["daily_count_rows"] = DailyCount.objects.filter(company=company).count()
    counted = DailyCount.objects.filter(company=company, metric="applications", dimension="").aggregate(
        n=Sum("count"))["n"]
    result["applications_counted"] = counted
    result["applications_stored"] = Application.objects.filter(company=company).count()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
