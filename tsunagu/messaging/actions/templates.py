"""Changes to a company's templates: the defaults every company starts with, new versions, A/B variants and
retiring. Saving never edits a row: it adds a version (see template_sets for slots, variants and the chain)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company
from tsunagu.messaging import rendering
from tsunagu.messaging.actions.followups import install_default_follow_up_steps
from tsunagu.messaging.defaults import DEFAULT_STEP_TEMPLATES, DEFAULT_TEMPLATES
from tsunagu.messaging.models import OPERATOR_KINDS, MessageTemplate
from tsunagu.messaging.template_sets import SLOTTED_KINDS, STEP_KINDS, Slot, template_set
from tsunagu.talent.normalize import clean_text
from tsunagu.talent.stages import Stage


def install_default_templates(company: Company) -> None:
    """Give the company every default template it lacks (the kinds' defaults and the follow-up steps'
    wording) and, when it has no follow-up sequence yet, the default sequence. Idempotent."""
    present = set(MessageTemplate.objects.filter(company=company, variant="", job_category="", stage=0,
                                                 rejection_reason="").values_list("kind", "step").distinct())
    # The verification mail is the relay operator's alone: a company gets no copy it could never use.
    wanted = [((kind, 0), template) for kind, template in DEFAULT_TEMPLATES.items()
              if company.is_operator or kind not in OPERATOR_KINDS]
    wanted += list(DEFAULT_STEP_TEMPLATES.items())
    MessageTemplate.objects.bulk_create(
        [MessageTemplate(company=company, kind=kind, step=step, version=1, **template)
         for (kind, step), template in wanted if (kind, step) not in present],
        ignore_conflicts=True,
    )
    install_default_follow_up_steps(company)


def _slot_fields(kind: str, slot: Slot) -> dict:
    """Check a slot HR entered and return it as model fields."""
    if kind not in rendering.VARIABLES:
        raise ValidationError(_("不明なテンプレートの種類です。"))
    fields = {"job_category": clean_text(slot.job_category)[:100], "stage": int(slot.stage or 0),
              "rejection_reason": clean_text(slot.rejection_reason)[:300], "step": int(slot.step or 0)}
    if fields["stage"] not in Stage.values:
        raise ValidationError({"stage": _("不明な選考ステップです。")})
    if kind not in SLOTTED_KINDS and Slot(**fields) != Slot():
        raise ValidationError(_("この種類のテンプレートは職種・選考ステップ・理由で分けられません。"))
    if fields["step"] and kind not in STEP_KINDS:
        raise ValidationError({"step": _("フォローアップの回は、フォローアップと求人のご案内にだけ指定できます。")})
    return fields


def clean_slot(kind: str, slot: Slot) -> Slot:
    """The slot as it is stored (trimmed text), or ValidationError if the kind cannot have it."""
    return Slot(**_slot_fields(kind, slot))


def clean_variant(variant: str) -> str:
    """A variant's stored name: "" for A (the first), otherwise B, C, ... (letters and digits)."""
    variant = (variant or "").strip().upper()
    if variant == "A":
        return ""
    if variant and not (variant.isascii() and variant.isalnum() and len(variant) <= 20):
        raise ValidationError(_("パターン名は英数字で入力してください。"))
    return variant


@transaction.atomic
def save_template(company: Company, kind: str, *, subject: str, body_text: str, user=None,
                  slot: Slot | None = None, variant: str = "") -> MessageTemplate:
    """Add a new version to a slot's variant (the kind's default when no slot is given). A template with a
    syntax error, an unknown variable or an unsafe construct is refused whole, naming the line."""
    fields = _slot_fields(kind, slot or Slot())
    variant = clean_variant(variant)
    subject = subject.strip()
    body_text = body_text.replace("\r\n", "\n")
    rendering.validate_template(kind, subject, body_text)
    latest = (MessageTemplate.objects.select_for_update()
              .filter(company=company, kind=kind, variant=variant, **fields).order_by("-version").first())
    if latest and not latest.retired and latest.subject == subject and latest.body_text == body_text:
        return latest
    return MessageTemplate.objects.create(
        company=company, kind=kind, variant=variant, version=(latest.version + 1 if latest else 1),
        subject=subject, body_text=body_text, created_by=user, **fields,
    )


@transaction.atomic
def add_variant(company: Company, kind: str, *, slot: Slot | None = None,
                user=None) -> MessageTemplate:
    """Start an A/B test in a slot: a new variant (the next letter) with the wording the slot uses now."""
    slot = slot or Slot()
    fields = _slot_fields(kind, slot)
    current = template_set(company, kind)
    variants = current.slots.get(Slot(**fields), {})
    source = (next(iter(variants.values())) if variants
              else current.pick(Slot(**fields), variant=""))
    # A name once used in the slot is not reused (its numbers would mix with the new wording's).
    taken = set(MessageTemplate.objects.filter(company=company, kind=kind, **fields).values_list("variant", flat=True))
    name = next((letter for letter in "BCDEFGHIJKLMNOPQRSTUVWXYZ" if letter not in taken), None)
    if name is None:
        raise ValidationError(_("これ以上パターンを増やせません。"))
    if not variants:
        # The slot had no wording of its own: A gets the wording it fell back to, so both are compared.
        save_template(company, kind, subject=source.subject, body_text=source.body_text, user=user, slot=slot)
    return save_template(company, kind, subject=source.subject, body_text=source.body_text, user=user, slot=slot,
                         variant=name)


@transaction.atomic
def retire_template(company: Company, kind: str, *, slot: Slot | None = None,
                    variant: str | None = None, user=None) -> int:
    """Take a variant (or, with variant None, the whole slot) out of use: a retired version is added, the
    history stays. Messages fall back as if it had never existed. The kind's default cannot be retired whole,
    nor its last variant. Returns how many variants were retired."""
    slot = slot or Slot()
    fields = _slot_fields(kind, slot)
    live = template_set(company, kind).slots.get(Slot(**fields), {})
    names = list(live) if variant is None else [clean_variant(variant)]
    names = [name for name in names if name in live]
    if Slot(**fields).is_default and len(names) >= len(live):
        raise ValidationError(_("既定の文面は削除できません(ほかのすべての組み合わせの行き先です)。"))
    for name in names:
        template = live[name]
        MessageTemplate.objects.create(
            company=company, kind=kind, variant=name, version=template.version + 1, subject=template.subject,
            body_text=template.body_text, retired=True, created_by=user, **fields,
        )
    return len(names)
