"""Helper for the throughput benchmark, run as `python -m bench.make_notices` under a benchmark's environment.

It creates N rejected applications through the same action the API uses (so each notice is planned and
handed to the queue exactly as in production), skipping only HTTP. Then it renders every planned notice
to the bytes Django's SMTP backend would send, for the raw smtplib baseline. Nothing is sent here.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

RENDER_CHUNK = 500


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--company", required=True, help="slug of an existing company")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--out", required=True, help="pickle file for [(envelope_from, [recipients], bytes)]")
    parser.add_argument("--batch", type=int, default=500, help="applications per database transaction")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tsunagu.settings")
    import django

    django.setup()
    started = time.monotonic()
    create_rejections(args.company, args.count, args.batch)
    created = time.monotonic()
    mails = render_scheduled_notices(args.company)
    with open(args.out, "wb") as handle:
        pickle.dump(mails, handle, protocol=pickle.HIGHEST_PROTOCOL)
    print(json.dumps({
        "rendered": len(mails),
        "bytes": sum(len(mail[2]) for mail in mails),
        "create_seconds": round(created - started, 1),
        "render_seconds": round(time.monotonic() - created, 1),
    }))
    return 0


def create_rejections(slug: str, count: int, batch: int, *, email: str = "c{number}@example.jp") -> None:
    """`count` rejected applications numbered from 1; `email` is each candidate's address, {number} filled in."""
    from django.db import transaction
    from django.utils import timezone

    from tsunagu.companies.models import Company
    from tsunagu.intake.actions.events import record_application_event
    from tsunagu.intake.events import IncomingApplicationEvent
    from tsunagu.talent.data import CandidateData, JobData

    company = Company.objects.get(slug=slug)
    for start in range(0, count, batch):
        # Batching transactions only saves commits; each event still takes the API's own path, and the
        # notices are enqueued when each batch commits.
        with transaction.atomic():
            for number in range(start + 1, min(start + batch, count) + 1):
                record_application_event(company, IncomingApplicationEvent(
                    external_id=f"B-{number}",
                    candidate=CandidateData(name="髙橋 𠮷子", email=email.format(number=number)),
                    job=JobData(title="バックエンドエンジニア"),
                    status="rejected",
                    stage="一次面接",
                    occurred_at=timezone.now(),
                ))


def render_scheduled_notices(slug: str) -> list[tuple[str, list[str], bytes]]:
    """Each due notice as (envelope sender, recipients, message bytes), exactly as Django's SMTP backend
    would hand them to smtplib (see django.core.mail.backends.smtp.EmailBackend._send).

    Rendering is CPU-bound and read-only, so it is spread over one forked process per CPU."""
    from django.db import connections

    from tsunagu.messaging.models import Message, MessageKind, MessageStatus

    pks = list(
        Message.objects.filter(company__slug=slug, kind=MessageKind.REJECTION, status=MessageStatus.SCHEDULED)
        .order_by("pk").values_list("pk", flat=True)
    )
    chunks = [pks[start:start + RENDER_CHUNK] for start in range(0, len(pks), RENDER_CHUNK)]
    # A forked child must not share the parent's database connection; each opens its own.
    connections.close_all()
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1, mp_context=get_context("fork")) as pool:
        return [mail for rendered in pool.map(_render_chunk, chunks) for mail in rendered]


def _render_chunk(pks: list[int]) -> list[tuple[str, list[str], bytes]]:
    from django.conf import settings
    from django.core.mail.message import sanitize_address

    from tsunagu.messaging.compose import build_email
    from tsunagu.messaging.models import Message

    notices = (
        Message.objects.filter(pk__in=pks)
        .select_related("company", "template", "application__job", "application__candidate")
        .order_by("pk")
    )
    templates: dict = {}
    mails = []
    for notice in notices:
        email = build_email(notice, templates)
        encoding = email.encoding or settings.DEFAULT_CHARSET
        mails.append((
            sanitize_address(email.from_email, encoding),
            [sanitize_address(address, encoding) for address in email.recipients()],
            email.message().as_bytes(linesep="\r\n"),
        ))
    return mails


if __name__ == "__main__":
    sys.exit(main())
