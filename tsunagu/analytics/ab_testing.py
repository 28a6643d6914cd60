"""The A/B numbers of template variants: per slot and variant, the mails sent, the people who clicked and
the registrations made through those mails, and each variant's comparison with the first (a two-proportion
z-test, or "too few to tell"). Read-only.

Here and not in messaging: a registration is the relay's fact (relay.Registration), and messaging sits below
relay. How variants are drawn and recorded on each message is messaging's (template_sets.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q
from django.utils.translation import gettext as _

from tsunagu.messaging.models import (
    EventKind,
    Message,
    MessageEvent,
    MessageKind,
    MessageStatus,
    MessageTemplate,
)
from tsunagu.messaging.template_sets import SLOTTED_KINDS, Slot, load_template_set, variant_label
from tsunagu.messaging.tracking.rules import human_referral_clicks
from tsunagu.relay.models import Click, Registration, RegistrationRequest

# The rule for "too few to tell": every variant compared needs MIN_SENT sent mails, and the normal
# approximation behind the test needs at least MIN_EXPECTED expected successes and failures in each group.
MIN_SENT = 30
MIN_EXPECTED = 5
SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class Verdict:
    state: str  # "too_few", "no_difference", "higher", "lower", "baseline"
    p_value: float | None = None
    base: str = "A"  # the variant compared with

    @property
    def text(self) -> str:
        if self.state == "baseline":
            return _("基準")
        if self.state == "too_few":
            return _("件数が少なく判断できません")
        if self.state == "no_difference":
            return _("差があるとは言えません(p=%(p).2f)") % {"p": self.p_value}
        if self.state == "higher":
            return _("%(base)sより高いと言えます(p=%(p).3f)") % {"base": self.base, "p": self.p_value}
        return _("%(base)sより低いと言えます(p=%(p).3f)") % {"base": self.base, "p": self.p_value}


def compare_proportions(n1: int, x1: int, n2: int, x2: int, *, base: str = "A") -> Verdict:
    """Two-sided two-proportion z-test of x2/n2 against x1/n1 (pooled), or "too few" when its normal
    approximation does not hold (see MIN_SENT, MIN_EXPECTED)."""
    if min(n1, n2) < MIN_SENT:
        return Verdict("too_few", base=base)
    pooled = (x1 + x2) / (n1 + n2)
    if min(pooled * n1, pooled * n2, (1 - pooled) * n1, (1 - pooled) * n2) < MIN_EXPECTED:
        return Verdict("too_few", base=base)
    error = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (x2 / n2 - x1 / n1) / error
    p_value = math.erfc(abs(z) / math.sqrt(2))
    if p_value >= SIGNIFICANCE:
        return Verdict("no_difference", p_value, base)
    return Verdict("higher" if z > 0 else "lower", p_value, base)


@dataclass
class VariantStats:
    variant: str
    sent: int = 0
    clicks: int = 0
    registrations: int = 0
    current: MessageTemplate | None = None
    click_verdict: Verdict = Verdict("baseline")
    registration_verdict: Verdict = Verdict("baseline")

    @property
    def label(self) -> str:
        return variant_label(self.variant)

    @property
    def click_rate(self) -> float | None:
        return self.clicks / self.sent if self.sent else None

    @property
    def registration_rate(self) -> float | None:
        return self.registrations / self.sent if self.sent else None

    @property
    def click_percent(self) -> float | None:
        return None if self.click_rate is None else self.click_rate * 100

    @property
    def registration_percent(self) -> float | None:
        return None if self.registration_rate is None else self.registration_rate * 100


@dataclass
class SlotStats:
    kind: str
    slot: Slot
    variants: list[VariantStats]

    @property
    def kind_label(self) -> str:
        return MessageKind(self.kind).label


def variant_stats(company) -> list[SlotStats]:
    """Per slot with more than one variant (now or in what was sent): per variant the mails sent, the people
    who clicked (distinct messages with a click not flagged as a machine's), the registrations made through
    those mails, their rates, and each variant's comparison with A."""
    clicked = MessageEvent.objects.filter(message=OuterRef("pk"), kind=EventKind.CLICKED, machine=False)
    # The referral link, the notice's main link, records its clicks itself (not as a MessageEvent).
    clicked_referral = human_referral_clicks(Click.objects.filter(message=OuterRef("pk")), sent_at=OuterRef("sent_at"))
    # Whoever filled in the registration form opened the link, however their click looked.
    filled_in = RegistrationRequest.objects.filter(message=OuterRef("pk"))
    registered = Registration.objects.filter(request__message=OuterRef("pk"))
    rows = (
        Message.objects.filter(company=company, status=MessageStatus.SENT, template__isnull=False)
        .annotate(clicked=Exists(clicked) | Exists(clicked_referral) | Exists(filled_in), registered=Exists(registered))
        .values("kind", "template__job_category", "template__stage", "template__rejection_reason",
                "template__step", "variant")
        .annotate(sent=Count("pk"), clicks=Count("pk", filter=Q(clicked=True)),
                  registrations=Count("pk", filter=Q(registered=True)))
        .order_by()
    )
    groups: dict[tuple[str, Slot], dict[str, VariantStats]] = {}
    for row in rows:
        slot = Slot(row["template__job_category"], row["template__stage"], row["template__rejection_reason"],
                    row["template__step"])
        groups.setdefault((row["kind"], slot), {})[row["variant"]] = VariantStats(
            row["variant"], row["sent"], row["clicks"], row["registrations"])
    for kind in SLOTTED_KINDS:
        for slot, variants in load_template_set(company.pk, kind).slots.items():
            if len(variants) > 1 or (kind, slot) in groups:
                group = groups.setdefault((kind, slot), {})
                for name, template in variants.items():
                    group.setdefault(name, VariantStats(name)).current = template
    result = []
    for (kind, slot), variants in groups.items():
        if len(variants) < 2:
            continue
        ordered = [variants[name] for name in sorted(variants)]
        base = ordered[0]
        for other in ordered[1:]:
            other.click_verdict = compare_proportions(base.sent, base.clicks, other.sent, other.clicks,
                                                      base=base.label)
            other.registration_verdict = compare_proportions(base.sent, base.registrations, other.sent,
                                                             other.registrations, base=base.label)
        result.append(SlotStats(kind, slot, ordered))
    kinds = list(MessageKind.values)
    result.sort(key=lambda stats: (kinds.index(stats.kind), stats.slot.step, stats.slot.stage,
                                   stats.slot.job_category, stats.slot.rejection_reason))
    return result
