"""Which template a message gets: slots, the fallback chain, A/B variants, the coverage grid.
Reads only; every write is in actions/templates.py (the A/B numbers are analytics' ab_testing.py).

Slots and the fallback chain
    A company's templates of one kind form a set. Each template sits in a slot: job category, selection stage
    and rejection reason (each blank / 0 for "any") and, for follow-ups, the step number. A message has facts
    for the same dimensions (its application's job category, the stage it was rejected at, the rejection
    reason, its follow-up step). A slot matches when every dimension it sets equals the message's (job
    category and reason compared after NFKC, trimming and case folding); of the matching slots, the most
    specific wins, in this order of importance:

        follow-up step > stage > job category > rejection reason

    so the chain for a rejection is
        stage × category × reason → stage × category → stage × reason → stage
        → category × reason → category → reason → the kind's default,
    and a follow-up tries its own step's slots first (in the same order) and then the kind's step-0 slots.
    The kind's default slot always exists (it cannot be retired), so every message finds a template.

Versions, variants and retiring
    Saving never edits a row: it adds a version to a (slot, variant). The highest version is the current one;
    if it is marked retired, that variant is out of use, and a slot whose variants are all retired is out of
    the chain (messages fall back as if it had never existed). Saving again brings it back.

A/B variants
    A slot may hold variants: "" (shown as A, the first) and B, C, .... The variant of a message is chosen
    when the mail is built for sending, uniformly at random among the slot's current variants, using a hash
    of the message id as the random number: the draw is independent of anything about the candidate, and the
    same message always gets the same variant (a retry, or the outbox showing a scheduled mail, shows what is
    or will be sent). The message records the variant and the exact template version it was rendered from.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Subquery
from django.urls import reverse
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company
from tsunagu.messaging.models import Message, MessageKind, MessageTemplate
from tsunagu.talent.models import Application, ApplicationStatus, Job
from tsunagu.talent.normalize import nfkc
from tsunagu.talent.stages import Stage

# Kinds whose wording is the company's templates (an alert's subject and text are fixed when it is planned;
# the registration verification is the relay operator's mail, from the operator party's own template).
TEMPLATED_KINDS = (MessageKind.REJECTION, MessageKind.FOLLOW_UP, MessageKind.INVITATION, MessageKind.WELCOME_BACK)
# Kinds whose templates can vary by slot (the verification mail is about no application).
SLOTTED_KINDS = (MessageKind.REJECTION, MessageKind.FOLLOW_UP, MessageKind.INVITATION, MessageKind.WELCOME_BACK)
# Kinds that a follow-up step can send, and so whose slots may name a step.
STEP_KINDS = (MessageKind.FOLLOW_UP, MessageKind.INVITATION)


def fold(text: str) -> str:
    """How job categories and rejection reasons are compared: NFKC, trimmed, case-folded."""
    return nfkc(text or "").strip().casefold()


@dataclass(frozen=True)
class Slot:
    job_category: str = ""
    stage: int = 0
    rejection_reason: str = ""
    step: int = 0

    @classmethod
    def of(cls, template: MessageTemplate) -> Slot:
        return cls(template.job_category, template.stage, template.rejection_reason, template.step)

    @classmethod
    def for_message(cls, message: Message) -> Slot:
        """The facts of a message (what the chain is searched with)."""
        application = message.application if message.application_id else None
        if application is None:
            return cls(step=message.step)
        return cls(application.job.category, application.stage, application.rejection_reason, message.step)

    @property
    def is_default(self) -> bool:
        return self == Slot()

    def rank(self) -> tuple[bool, bool, bool, bool]:
        return (bool(self.step), bool(self.stage), bool(self.job_category), bool(self.rejection_reason))

    def matches(self, facts: Slot) -> bool:
        return (
            (not self.step or self.step == facts.step)
            and (not self.stage or self.stage == facts.stage)
            and (not self.job_category or fold(self.job_category) == fold(facts.job_category))
            and (not self.rejection_reason or fold(self.rejection_reason) == fold(facts.rejection_reason))
        )

    def covers(self, facts: Slot) -> bool:
        """This slot considers every dimension the facts have (no fallback for them)."""
        return (
            (not facts.step or self.step == facts.step)
            and (not facts.stage or self.stage == facts.stage)
            and (not facts.job_category or bool(self.job_category))
            and (not facts.rejection_reason or bool(self.rejection_reason))
        )

    def label(self) -> str:
        parts = []
        if self.step:
            parts.append(_("第%(step)d回") % {"step": self.step})
        if self.stage:
            parts.append(str(Stage(self.stage).label))
        if self.job_category:
            parts.append(self.job_category)
        if self.rejection_reason:
            parts.append(self.rejection_reason)
        return " × ".join(parts) if parts else _("既定の文面")

    def params(self) -> dict[str, str]:
        """The slot as query parameters of the console's template pages (blank dimensions left out)."""
        values = {"category": self.job_category, "stage": self.stage or "", "reason": self.rejection_reason,
                  "step": self.step or ""}
        return {key: str(value) for key, value in values.items() if value != ""}


def slot_url(name: str, kind: str, slot: Slot, variant: str | None = None) -> str:
    """The console's template page `name` (a URL name) about one slot of the kind, and one variant if given."""
    params = slot.params()
    if variant:
        params["variant"] = variant
    url = reverse(name, args=[kind])
    return f"{url}?{urlencode(params)}" if params else url


def variant_label(variant: str) -> str:
    return variant or "A"


def choose_variant(variants: list[str], key) -> str:
    """Uniform over the variants, drawn from a hash of the key (the message id): random for every purpose
    of the comparison, and the same each time for the same message."""
    if len(variants) == 1:
        return variants[0]
    digest = hashlib.blake2b(str(key).encode(), digest_size=8, person=b"tsunagu-ab").digest()
    return variants[int.from_bytes(digest, "big") % len(variants)]


class TemplateSet:
    """The current version of every slot and variant of one company's templates of one kind."""

    def __init__(self, templates):
        self.latest: dict[Slot, dict[str, MessageTemplate]] = {}
        for template in templates:
            self.latest.setdefault(Slot.of(template), {})[template.variant] = template
        # Slots in use, each with its current (not retired) variants in order: "" (A) first, then B, C, ...
        self.slots: dict[Slot, dict[str, MessageTemplate]] = {}
        for slot, variants in self.latest.items():
            live = {name: variants[name] for name in sorted(variants) if not variants[name].retired}
            if live:
                self.slots[slot] = live
        self._resolved: dict[Slot, Slot | None] = {}

    @property
    def has_default(self) -> bool:
        return Slot() in self.slots

    def resolve(self, facts: Slot) -> Slot | None:
        """The slot the fallback chain picks for these facts (see the module's docstring)."""
        if facts not in self._resolved:
            matching = [slot for slot in self.slots if slot.matches(facts)]
            self._resolved[facts] = max(matching, key=Slot.rank) if matching else None
        return self._resolved[facts]

    def pick(self, facts: Slot, *, key=0, variant: str | None = None) -> MessageTemplate | None:
        slot = self.resolve(facts)
        if slot is None:
            return None
        variants = self.slots[slot]
        if variant is not None and variant in variants:
            return variants[variant]
        return variants[choose_variant(list(variants), key)]


def load_template_set(company_id: int, kind: str) -> TemplateSet:
    """One query: the highest version of each (slot, variant) of the company's kind."""
    newest = MessageTemplate.objects.filter(
        company_id=company_id, kind=kind, job_category=OuterRef("job_category"), stage=OuterRef("stage"),
        rejection_reason=OuterRef("rejection_reason"), step=OuterRef("step"), variant=OuterRef("variant"),
    ).order_by("-version").values("version")[:1]
    return TemplateSet(
        MessageTemplate.objects.filter(company_id=company_id, kind=kind).filter(version=Subquery(newest))
        .select_related("created_by")
    )


def template_set(company: Company, kind: str) -> TemplateSet:
    """The current templates of the company's kind. Every company has the defaults: a new one from the
    company_created signal (MessagingConfig.ready), those from before from the data migration 0003."""
    return load_template_set(company.pk, kind)


def template_for(company: Company, kind: str, *, job_category: str = "", stage: int = 0, rejection_reason: str = "",
                 step: int = 0, variant: str | None = None, key=0) -> MessageTemplate:
    """The template a message with these facts gets: the most specific matching slot down the fallback chain
    (stage, then job category, then rejection reason; a follow-up step's own slots before the kind's; see
    the module's docstring), and in it the given variant, or one drawn by `key` (the message id)."""
    facts = Slot(job_category or "", int(stage or 0), rejection_reason or "", int(step or 0))
    template = template_set(company, kind).pick(facts, key=key, variant=variant)
    if template is None:
        raise ValidationError(_("このテンプレートの既定の文面がありません。"))
    return template


def current_template(company: Company, kind: str) -> MessageTemplate:
    """The kind's default template (its first variant)."""
    return template_for(company, kind, variant="")


# --- coverage --------------------------------------------------------------------------------------

# The stages a grid always shows (others appear when the company's data has them).
GRID_STAGES = (Stage.DOCUMENT_SCREENING, Stage.TEST, Stage.FIRST_INTERVIEW, Stage.SECOND_INTERVIEW,
               Stage.FINAL_INTERVIEW)


@dataclass
class CoverageCell:
    facts: Slot
    used: Slot | None
    template: MessageTemplate | None
    rejected: int = 0

    @property
    def state(self) -> str:
        """"exact" (a slot made for it), "partial" (a slot that ignores some of it) or "default"."""
        if self.used is None or self.used.is_default:
            return "default"
        return "exact" if self.used.covers(self.facts) else "partial"

    @property
    def is_fallback(self) -> bool:
        return self.state != "exact"


@dataclass
class CoverageRow:
    job_category: str
    cells: list[CoverageCell] = field(default_factory=list)


@dataclass
class Coverage:
    kind: str
    step: int
    reason: str
    stages: list[int]
    rows: list[CoverageRow]
    reasons: list[tuple[str, int]]

    @property
    def cells(self) -> list[CoverageCell]:
        return [cell for row in self.rows for cell in row.cells]

    @property
    def fallback_count(self) -> int:
        return sum(cell.is_fallback for cell in self.cells)

    @property
    def default_count(self) -> int:
        return sum(cell.state == "default" for cell in self.cells)


def observed_categories(company) -> list[str]:
    """The company's job categories, as its jobs name them (and "" when some job has none)."""
    categories = set(Job.objects.filter(company=company).values_list("category", flat=True).distinct())
    named = sorted(category for category in categories if category)
    return named + ([""] if "" in categories else [])


def observed_reasons(company, *, limit: int = 50) -> list[tuple[str, int]]:
    """Rejection reasons in the company's data, most frequent first, with their counts."""
    return [
        (row["rejection_reason"], row["n"])
        for row in Application.objects.filter(company=company, status=ApplicationStatus.REJECTED)
        .exclude(rejection_reason="").values("rejection_reason").annotate(n=Count("pk")).order_by("-n")[:limit]
    ]


def observed_tags(company, *, limit: int = 500) -> list[str]:
    tags: set[str] = set()
    for row in Application.objects.filter(company=company).exclude(tags=[]).values_list("tags", flat=True)[:limit]:
        tags.update(tag for tag in row or [] if isinstance(tag, str))
    return sorted(tags)


def coverage(company, kind: str = MessageKind.REJECTION, *, step: int = 0, reason: str = "",
             template_set: TemplateSet | None = None) -> Coverage:
    """The grid HR reads: the company's job categories × stages (for one rejection reason, or any), and
    which template each combination gets, with the fall-backs marked."""
    template_set = template_set or load_template_set(company.pk, kind)
    counts: dict[tuple[str, int], int] = {}
    rejected = Application.objects.filter(company=company, status=ApplicationStatus.REJECTED)
    if reason:
        rejected = rejected.filter(rejection_reason=reason)
    for row in rejected.values("job__category", "stage").annotate(n=Count("pk")):
        counts[(row["job__category"], row["stage"])] = row["n"]
    stages = set(GRID_STAGES) | {stage for _category, stage in counts} | {
        slot.stage for slot in template_set.slots if slot.stage}
    stages_in_order = sorted(stages)
    categories = observed_categories(company)
    for slot in template_set.slots:
        if slot.job_category and fold(slot.job_category) not in {fold(c) for c in categories}:
            categories.append(slot.job_category)
    rows = []
    for category in categories:
        row = CoverageRow(category)
        for stage in stages_in_order:
            facts = Slot(category, stage, reason, step)
            used = template_set.resolve(facts)
            row.cells.append(CoverageCell(facts=facts, used=used,
                                          template=template_set.slots[used][next(iter(template_set.slots[used]))]
                                          if used else None,
                                          rejected=counts.get((category, stage), 0)))
        rows.append(row)
    reasons = observed_reasons(company)
    known = {fold(name) for name, _n in reasons}
    reasons += [(slot.rejection_reason, 0) for slot in template_set.slots
                if slot.rejection_reason and fold(slot.rejection_reason) not in known]
    return Coverage(kind=kind, step=step, reason=reason, stages=stages_in_order, rows=rows, reasons=reasons)
