"""Every change to companies, users and API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django_otp import verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from tsunagu.companies.models import (
    AccessLog,
    ApiKey,
    AuditEvent,
    Company,
    Membership,
    OperatorProfile,
    Role,
    SendWindow,
)
from tsunagu.companies.signals import company_created
from tsunagu.lib.queue import enqueue

API_KEY_PREFIX = "tsu"
# The relay operator's own party (Company.is_operator) has this slug; no company can take it.
OPERATOR_SLUG = "relay-operator"
# What operator staff set on the operator's page: its identity and how its mail is sent.
OPERATOR_FIELDS = ("name", "service_name", "licence_number", "sender_name", "sender_email", "reply_to",
                   "signature", "postal_address", "privacy_policy", "retention_days", "access_log_retention_days",
                   "dkim_selector", "dkim_private_key")


@transaction.atomic
def create_company(
    *,
    name: str,
    slug: str,
    delay_minutes: int | None = None,
    send_window: str = SendWindow.BUSINESS,
    sender_email: str = "",
    time_zone: str = "Asia/Tokyo",
) -> tuple[Company, str]:
    """Create a company with its default templates (companies.signals.company_created) and first API key;
    return (company, api_key)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("会社名を入力してください。")})
    if slugify(slug) != slug or not slug:
        raise ValidationError({"slug": _("スラッグは半角英小文字・数字・ハイフンで入力してください。")})
    if slug == OPERATOR_SLUG or Company.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": _("スラッグ「%(slug)s」は既に使われています。") % {"slug": slug}})
    company = Company(name=name, slug=slug, send_window=send_window, sender_email=sender_email,
                      time_zone=time_zone)
    if delay_minutes is not None:
        company.delay_minutes = delay_minutes
    company.full_clean()
    company.save()
    company_created.send(sender=Company, company=company)
    api_key = issue_api_key(company, label="default")
    return company, api_key


def operator_party() -> Company:
    """The relay operator as a party of its own (Company.is_operator): the sender of every mail to
    registrants. Made on first use from TSUNAGU_RELAY's defaults; operator staff edit it afterwards."""
    found = Company.objects.filter(is_operator=True).first()
    if found is not None:
        return found
    relay = settings.TSUNAGU_RELAY
    party = Company(is_operator=True, slug=OPERATOR_SLUG, name=relay["operator_name"],
                    service_name=relay["service_name"], reply_to=relay["operator_contact"],
                    send_window=SendWindow.ALWAYS, delay_minutes=0)
    try:
        with transaction.atomic():
            party.save()
            company_created.send(sender=Company, company=party)
    except IntegrityError:  # made a moment ago by a concurrent request
        return Company.objects.get(is_operator=True)
    return party


def update_operator_identity(**fields) -> Company:
    """Operator staff's edits of the operator's identity; validation errors leave it untouched."""
    unknown = set(fields) - set(OPERATOR_FIELDS)
    if unknown:
        raise ValidationError(_("変更できない項目です: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    party = Company.objects.get(pk=operator_party().pk)
    for key, value in fields.items():
        setattr(party, key, value)
    party.full_clean()
    party.save()
    return party


def update_company_settings(company: Company, **fields) -> Company:
    """Apply console or API edits; validation errors leave the row untouched."""
    allowed = {
        "name", "sender_name", "sender_email", "reply_to", "signature", "time_zone", "delay_minutes",
        "send_window", "business_hour_start", "business_hour_end", "closed_year_end", "closed_days",
        "combine_rejections_minutes",
        "privacy_policy", "retention_days", "retention_days_without_consent", "access_log_retention_days",
        "postal_address", "frequency_cap_days", "failure_alerts", "monthly_summary_mail",
        "dkim_selector", "dkim_private_key", "welcome_back_mail", "chat_webhook_url",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(_("変更できない項目です: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    fresh = Company.objects.get(pk=company.pk)
    if fresh.is_operator:
        raise ValidationError(_("運営者の設定は運営者の画面で変更します。"))
    was_summarised = fresh.monthly_summary_mail
    for key, value in fields.items():
        setattr(fresh, key, value)
    if fresh.monthly_summary_mail and not was_summarised:
        fresh.monthly_summary_since = timezone.now()  # the first summary is of the next whole month
    fresh.full_clean()
    if fresh.business_hour_start >= fresh.business_hour_end:
        raise ValidationError({"business_hour_end": _("営業終了は営業開始より後にしてください。")})
    fresh.save()
    return fresh


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_api_key(company: Company, *, label: str = "") -> str:
    """Make a new key; the returned plaintext is never stored and cannot be shown again."""
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    ApiKey.objects.create(company=company, prefix=prefix, secret_hash=_hash_secret(secret), label=label)
    return f"{API_KEY_PREFIX}_{prefix}_{secret}"


def authenticate_api_key(raw_key: str, *, operator: bool = False) -> Company | None:
    """The company a presented key belongs to, or None for a missing, wrong or revoked key. A key of the
    relay operator's party opens only the operator's API (`operator=True`), and a company's key only the
    company API."""
    try:
        marker, prefix, secret = raw_key.split("_", 2)
    except (AttributeError, ValueError):
        return None
    if marker != API_KEY_PREFIX:
        return None
    key = ApiKey.objects.select_related("company").filter(prefix=prefix, revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.secret_hash, _hash_secret(secret)):
        return None
    if key.company.is_operator != operator:
        return None
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key.company


def revoke_api_key(company: Company, key_id: int) -> str | None:
    """Revoke one of the company's keys; returns its public part (`tsu_<prefix>_…`), None if there was none."""
    live = ApiKey.objects.filter(company=company, pk=key_id, revoked_at__isnull=True)
    prefix = live.values_list("prefix", flat=True).first()
    if prefix is None or not live.update(revoked_at=timezone.now()):
        return None
    return f"{API_KEY_PREFIX}_{prefix}_…"


def public_part(api_key: str) -> str:
    """What may be shown and recorded of a key: `tsu_<prefix>_…`, without its secret."""
    return "_".join(api_key.split("_", 2)[:2]) + "_…"


@dataclass
class CreatedUser:
    user: object
    membership: Membership | None


@transaction.atomic
def create_user(*, email: str, password: str, company: Company | None = None, role: str = Role.RECRUITER,
                operator: bool = False) -> CreatedUser:
    """A console login for a company (or relay-operator staff). Login is by e-mail address."""
    from email_validator import EmailNotValidError, validate_email

    try:
        email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValidationError({"email": str(exc)}) from exc
    if role not in Role.values:
        raise ValidationError({"role": _("権限は admin, recruiter, viewer のいずれかです。")})
    if company is None and not operator:
        raise ValidationError({"company": _("企業を指定してください。")})
    User = get_user_model()
    user = User.objects.filter(username__iexact=email).first()
    if user is None:
        validate_password(password)
        user = User(username=email.lower(), email=email)
        user.set_password(password)
        user.save()
    elif password:
        validate_password(password, user)
        user.set_password(password)
        user.save(update_fields=["password"])
    membership = None
    if company is not None:
        membership, _created = Membership.objects.update_or_create(user=user, company=company, defaults={"role": role})
    if operator:
        OperatorProfile.objects.get_or_create(user=user)
    return CreatedUser(user=user, membership=membership)


# --- signing in: the second factor and login lockouts --------------------------------------------------------

def start_totp_enrolment(user) -> TOTPDevice:
    """A fresh, unconfirmed TOTP device (a new secret) for the user, replacing one left unconfirmed; it counts
    only once confirm_totp_device has seen a code from it."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="TOTP", confirmed=False)


def confirm_totp_device(device: TOTPDevice, token: str) -> bool:
    """Confirm the device with a code from it; it then replaces any device the user had. The code is spent
    (django-otp keeps the last time step used, so it cannot be given again)."""
    with transaction.atomic():
        if verify_token(device.user, device.persistent_id, token) is None:
            return False
        TOTPDevice.objects.filter(user_id=device.user_id).exclude(pk=device.pk).delete()
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
    device.refresh_from_db()
    return True


def verify_second_factor(device: TOTPDevice, token: str) -> bool:
    """Check a code from the user's confirmed device: each code once (replay refused), with django-otp's growing
    delay after wrong codes."""
    return device.confirmed and verify_token(device.user, device.persistent_id, token) is not None


def remove_second_factor(user) -> int:
    """Forget the user's devices (turned off by the user, or reset by the operator when a phone is lost)."""
    deleted, _by_model = TOTPDevice.objects.filter(user=user).delete()
    return deleted


def unlock_login(*, username: str | None = None, ip_address: str | None = None) -> int:
    """Lift a login lockout early: every failure counted against the account (any address) or the address (any
    account). Returns how many records were cleared."""
    if username:
        return axes_reset(username=username.strip().lower())
    if ip_address:
        return axes_reset(ip=ip_address)
    return 0


# --- the audit record --------------------------------------------------------------------------------

# What is recorded (AuditEvent.action): a dotted "thing.act"; never the secret itself.
SECRET_REVEALED = "secret.revealed"
SECRET_SHOWN_AT_CREATION = "secret.shown_at_creation"
API_KEY_ISSUED = "api_key.issued"
API_KEY_REVOKED = "api_key.revoked"


def record_event(company: Company, user, action: str, target: str = "") -> AuditEvent:
    """Append one event to the company's audit record (the user may be None for the system itself)."""
    actor = ""
    if user is not None and getattr(user, "is_authenticated", False):
        actor = user.email or user.get_username()
    else:
        user = None
    return AuditEvent.objects.create(company=company, user=user, actor=actor[:254], action=action[:64],
                                     target=target[:300])


# --- the access log of personal data ------------------------------------------------------------------

ACCESS_PURGE_BATCH = 10_000  # rows one DELETE removes: a purge of years of log never holds one huge lock


def access_actor(user=None, api_key=None) -> tuple[object | None, str]:
    """(user or None, the actor as the log keeps it): the user's address, or "API key <prefix>" for a key given
    as presented (`tsu_<prefix>_<secret>`), as its public part or as its bare prefix; never its secret."""
    if user is not None and getattr(user, "is_authenticated", False):
        return user, (user.email or user.get_username())[:254]
    if api_key:
        text = str(getattr(api_key, "prefix", api_key))
        parts = text.split("_")
        prefix = parts[1] if len(parts) > 1 and parts[0] == API_KEY_PREFIX else parts[0]
        return None, f"API key {prefix[:16]}"
    return None, ""


def _access_row(company, user, actor, channel, action, subject_kind, subject_id, subject_count, purpose,
                detail) -> AccessLog:
    return AccessLog(company=company, user=user, actor=actor, channel=channel, action=action,
                     subject_kind=subject_kind[:32], subject_id=subject_id, subject_count=subject_count,
                     purpose=(purpose or "").strip()[:200], detail=(detail or "")[:200])


def record_access(company: Company, *, user=None, api_key=None, channel: str, action: str, subject_kind: str,
                  subject_id: int | None = None, subject_count: int | None = None, purpose: str = "",
                  detail: str = "") -> AccessLog:
    """Append one row to the company's access log: one INSERT, no read. `company` is the tenant whose data was
    touched (the operator's party, operator_party(), for the relay operator's staff); `user` a console user, or
    `api_key` the key of an API call (as presented, its public part or its prefix: only the prefix is kept);
    `channel` and `action` are AccessChannel and AccessAction values; `detail` must hold no personal data (for a
    search: the names of the filters used, never their values)."""
    user, actor = access_actor(user, api_key)
    row = _access_row(company, user, actor, channel, action, subject_kind, subject_id, subject_count, purpose,
                      detail)
    row.save(force_insert=True)
    return row


def record_access_many(company: Company, subject_ids, *, user=None, api_key=None, channel: str, action: str,
                       subject_kind: str, purpose: str = "", detail: str = "") -> int:
    """One row per subject (a bulk change of many candidates), in one INSERT; returns how many were written."""
    user, actor = access_actor(user, api_key)
    rows = [_access_row(company, user, actor, channel, action, subject_kind, subject_id, None, purpose, detail)
            for subject_id in subject_ids]
    AccessLog.objects.bulk_create(rows)
    return len(rows)


def schedule_access_log_purge() -> None:
    """The scheduler's daily job: a worker runs the purge, so a long one never holds up the scheduler's tick."""
    enqueue("tsunagu.companies.tasks.purge_access_log_task")


def purge_access_log(now: datetime | None = None) -> int:
    """Delete each company's access-log rows older than its own retention (access_log_retention_days); nothing
    else. The one deliberate way past the log's append-only guard, and only by date. Returns how many went."""
    now = now or timezone.now()
    removed = 0
    for company_id, days in Company.objects.values_list("pk", "access_log_retention_days"):
        expired = AccessLog.objects.filter(company_id=company_id, created_at__lt=now - timedelta(days=days))
        while True:
            batch = AccessLog.objects.filter(pk__in=expired.values("pk")[:ACCESS_PURGE_BATCH])
            # models.QuerySet's own delete: AccessLogQuerySet refuses every other caller.
            count, _by_model = models.QuerySet.delete(batch)
            removed += count
            if count < ACCESS_PURGE_BATCH:
                break
    return removed
