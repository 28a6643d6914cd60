"""What a company's data export holds (issue 13, item 6): every table of one company's data, as the company is
allowed to see it in its own console, so that the company is never locked in.

A table is a name, its columns (English snake_case) and a function giving its rows for one company, read in
chunks (`.iterator(chunk_size=…)`) so that memory stays bounded however large the company is. The formats
(a ZIP of CSV files, one JSON document) are written by privacy/company_export_files.py.

What is left out, and why:
- the relay operator's mail (verification, consent requests: messaging.OPERATOR_KINDS), as in the outbox;
- the candidate's personal referral link in a mail's text: replaced by the placeholder the console shows
  (messaging/redaction.py), since with it a company could register "for" its candidates;
- raw provider payloads, user agents and URLs of message events;
- a registrant's registration form (their own phone, desired job, …): the relay's consent text promises the
  company only learns that a registration happened (relay/models.py); what the registrant consented to
  provide reaches the company only through an introduction (relay tables, privacy/company_export_relay.py);
- secrets (API keys, ATS secrets, DKIM keys, chat webhook URLs) and search tokens.
Read-only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice

from tsunagu.companies.models import Company
from tsunagu.messaging.models import OPERATOR_KINDS, FollowUpStep, MessageEvent, MessageTemplate, Suppression
from tsunagu.messaging.redaction import redact
from tsunagu.messaging.selectors import company_messages
from tsunagu.relay.selectors import contract_terms
from tsunagu.talent.models import Application, ApplicationEvent, Candidate, CandidateTag, Job, TagKind
from tsunagu.talent.stages import Stage

# Rows read per round trip: a few megabytes of Python objects at most, even for messages with long texts.
CHUNK_SIZE = 500

Row = dict[str, object]


@dataclass(frozen=True)
class Table:
    name: str  # the CSV file's name (without .csv) and the JSON document's key
    columns: tuple[str, ...]
    rows: Callable[[Company], Iterator[Row]]


def batched(rows: Iterator, size: int) -> Iterator[list]:
    """The rows in lists of `size` (itertools.batched is Python 3.12's)."""
    rows = iter(rows)
    while chunk := list(islice(rows, size)):
        yield chunk


def stage_name(value: int) -> str:
    """A stage as the API names it (first_interview, …)."""
    try:
        return Stage(value).name.lower()
    except ValueError:
        return str(value)


def company_facts(company: Company) -> Row:
    """The company itself: its settings as its admins see them (no secret), and the relay contract's terms."""
    ratio, fee_yen = contract_terms(company)
    return {
        "id": company.pk, "slug": company.slug, "name": company.name, "sender_name": company.sender_name,
        "sender_email": company.sender_email, "reply_to": company.reply_to, "signature": company.signature,
        "postal_address": company.postal_address, "time_zone": company.time_zone,
        "delay_minutes": company.delay_minutes, "send_window": company.send_window,
        "business_hour_start": company.business_hour_start, "business_hour_end": company.business_hour_end,
        "closed_year_end": company.closed_year_end, "closed_days": company.closed_days,
        "combine_rejections_minutes": company.combine_rejections_minutes,
        "frequency_cap_days": company.frequency_cap_days, "privacy_policy": company.privacy_policy,
        "retention_days": company.retention_days, "referral_ratio": ratio, "referral_fee_yen": fee_yen,
        "created_at": company.created_at,
    }


# --- jobs, candidates, applications (talent) ---------------------------------------------------------

JOB_COLUMNS = ("id", "external_id", "title", "category", "status", "description", "location", "requirements",
               "opened_at", "created_at", "updated_at")


def job_rows(company: Company) -> Iterator[Row]:
    jobs = Job.objects.filter(company=company).order_by("pk").values_list(*JOB_COLUMNS)
    for values in jobs.iterator(chunk_size=CHUNK_SIZE):
        yield dict(zip(JOB_COLUMNS, values, strict=True))


CANDIDATE_COLUMNS = ("id", "name", "name_kana", "email", "phone", "region_code", "region_text", "desired_job",
                     "note", "contact_allowed", "stage_reached", "evaluation", "channel", "pool_state",
                     "skills", "tags", "automatic_tags", "last_applied_at", "last_rejected_at", "merged_into_id",
                     "created_at", "updated_at")


def _tag_groups(candidate_ids: list[int]) -> dict[int, dict[str, list[str]]]:
    """Each candidate's skills, HR's tags and the automatic tags (as the API groups them), read as plain rows:
    model instances with prefetched relations form reference cycles that stay in memory until the collector
    runs, which made memory grow with the table."""
    groups = {pk: {"skills": [], "tags": [], "automatic_tags": []} for pk in candidate_ids}
    tags = (CandidateTag.objects.filter(candidate_id__in=candidate_ids).order_by("kind", "automatic", "pk")
            .values_list("candidate_id", "kind", "automatic", "label"))
    for candidate_id, kind, automatic, label in tags:
        groups[candidate_id]["skills" if kind == TagKind.SKILL else "automatic_tags" if automatic else "tags"].append(
            label)
    return groups


def candidate_rows(company: Company) -> Iterator[Row]:
    fields = [column for column in CANDIDATE_COLUMNS if column not in ("skills", "tags", "automatic_tags")]
    candidates = Candidate.objects.filter(company=company).order_by("pk").values_list(*fields)
    for chunk in batched(candidates.iterator(chunk_size=CHUNK_SIZE), CHUNK_SIZE):
        groups = _tag_groups([values[0] for values in chunk])
        for values in chunk:
            row = dict(zip(fields, values, strict=True))
            row["stage_reached"] = stage_name(row["stage_reached"])
            row.update(groups[row["id"]])
            yield {column: row[column] for column in CANDIDATE_COLUMNS}


APPLICATION_COLUMNS = ("id", "external_id", "candidate_id", "job_id", "job_external_id", "job_title", "status",
                       "stage", "stage_raw", "stage_reached", "rejection_reason", "source", "channel",
                       "evaluation", "tags", "applied_at", "status_changed_at", "rejected_at", "created_at",
                       "updated_at")


def application_rows(company: Company) -> Iterator[Row]:
    fields = [column for column in APPLICATION_COLUMNS if column not in ("job_external_id", "job_title")]
    applications = (Application.objects.filter(company=company).order_by("pk")
                    .values_list(*fields, "job__external_id", "job__title"))
    for values in applications.iterator(chunk_size=CHUNK_SIZE):
        row = dict(zip(fields, values[:-2], strict=True))
        row["job_external_id"], row["job_title"] = values[-2:]
        row["stage"], row["stage_reached"] = stage_name(row["stage"]), stage_name(row["stage_reached"])
        row["tags"] = [str(tag) for tag in row["tags"] or []]
        yield {column: row[column] for column in APPLICATION_COLUMNS}


APPLICATION_EVENT_COLUMNS = ("id", "application_id", "application_external_id", "source", "event_id", "status",
                             "stage_raw", "rejection_reason", "occurred_at", "received_at", "applied", "outcome")


def application_event_rows(company: Company) -> Iterator[Row]:
    fields = ("id", "application_id", "application__external_id", *APPLICATION_EVENT_COLUMNS[3:])
    events = ApplicationEvent.objects.filter(company=company).order_by("pk").values_list(*fields)
    for values in events.iterator(chunk_size=CHUNK_SIZE):
        yield dict(zip(APPLICATION_EVENT_COLUMNS, values, strict=True))


# --- mail (messaging) --------------------------------------------------------------------------------

MESSAGE_COLUMNS = ("id", "kind", "application_id", "application_external_id", "candidate_id", "to_email",
                   "to_name", "subject", "status", "status_reason", "send_at", "sent_at", "cancelled_at",
                   "cancel_reason", "template_id", "template_version", "variant", "step", "campaign_id",
                   "body_text", "created_at")


def message_rows(company: Company) -> Iterator[Row]:
    fields = ("id", "kind", "application_id", "application__external_id", "application__candidate_id",
              *MESSAGE_COLUMNS[5:14], "template_id", "template__version", *MESSAGE_COLUMNS[16:])
    messages = company_messages(company).order_by("pk").values_list(*fields)
    for values in messages.iterator(chunk_size=CHUNK_SIZE):
        row = dict(zip(MESSAGE_COLUMNS, values, strict=True))
        # The candidate's personal link never reaches the company (messaging/redaction.py).
        row["subject"] = redact(row["subject"], row["id"])
        row["body_text"] = redact(row["body_text"], row["id"])
        yield row


MESSAGE_EVENT_COLUMNS = ("id", "message_id", "kind", "occurred_at", "machine")


def message_event_rows(company: Company) -> Iterator[Row]:
    events = (MessageEvent.objects.filter(company=company).exclude(message__kind__in=OPERATOR_KINDS)
              .order_by("pk").values_list(*MESSAGE_EVENT_COLUMNS))
    for values in events.iterator(chunk_size=CHUNK_SIZE):
        yield dict(zip(MESSAGE_EVENT_COLUMNS, values, strict=True))


SUPPRESSION_COLUMNS = ("id", "email", "reason", "detail", "message_id", "created_at")


def suppression_rows(company: Company) -> Iterator[Row]:
    rows = Suppression.objects.filter(company=company).order_by("pk").values_list(*SUPPRESSION_COLUMNS)
    for values in rows.iterator(chunk_size=CHUNK_SIZE):
        yield dict(zip(SUPPRESSION_COLUMNS, values, strict=True))


FOLLOW_UP_STEP_COLUMNS = ("id", "step", "kind", "delay_days", "min_stage", "tags", "rejection_reasons", "active",
                          "created_at", "updated_at")


def follow_up_step_rows(company: Company) -> Iterator[Row]:
    steps = FollowUpStep.objects.filter(company=company).order_by("step", "pk").values_list(*FOLLOW_UP_STEP_COLUMNS)
    for values in steps.iterator(chunk_size=CHUNK_SIZE):
        row = dict(zip(FOLLOW_UP_STEP_COLUMNS, values, strict=True))
        row["min_stage"] = stage_name(row["min_stage"])
        row["tags"] = [str(tag) for tag in row["tags"] or []]
        row["rejection_reasons"] = [str(reason) for reason in row["rejection_reasons"] or []]
        yield row


TEMPLATE_COLUMNS = ("id", "kind", "job_category", "stage", "rejection_reason", "step", "variant", "version",
                    "retired", "subject", "body_text", "created_at")


def template_rows(company: Company) -> Iterator[Row]:
    templates = (MessageTemplate.objects.filter(company=company).exclude(kind__in=OPERATOR_KINDS)
                 .order_by("pk").values_list(*TEMPLATE_COLUMNS))
    for values in templates.iterator(chunk_size=CHUNK_SIZE):
        row = dict(zip(TEMPLATE_COLUMNS, values, strict=True))
        row["stage"] = stage_name(row["stage"])
        yield row


# The tables of talent and messaging, in the order the files and the JSON document list them (the relay's
# follow: privacy/company_export_relay.py).
TABLES = (
    Table("jobs", JOB_COLUMNS, job_rows),
    Table("candidates", CANDIDATE_COLUMNS, candidate_rows),
    Table("applications", APPLICATION_COLUMNS, application_rows),
    Table("application_events", APPLICATION_EVENT_COLUMNS, application_event_rows),
    Table("messages", MESSAGE_COLUMNS, message_rows),
    Table("message_events", MESSAGE_EVENT_COLUMNS, message_event_rows),
    Table("suppressions", SUPPRESSION_COLUMNS, suppression_rows),
    Table("follow_up_steps", FOLLOW_UP_STEP_COLUMNS, follow_up_step_rows),
    Table("message_templates", TEMPLATE_COLUMNS, template_rows),
)
