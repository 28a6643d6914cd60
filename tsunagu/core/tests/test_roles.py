"""Who may see and do what in the console: every URL pattern under /console/, walked as every kind of user.

`ACCESS` is the explicit table: for each console URL, the lowest role that may GET it and the lowest that may
POST it (None: the URL does not answer that method). The walk reads the URL patterns themselves, so a new
console URL that is not in the table fails the test, and so does one whose path parameters the test cannot
fill. Each request is made with real objects of the user's company, and of another company (which must be 404
for whoever may use the URL at all), and rolled back afterwards, so the order of the walk changes nothing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from tsunagu.companies import actions as company_actions
from tsunagu.companies.actions import operator_party
from tsunagu.companies.models import AuditEvent, Role
from tsunagu.intake.actions import connections
from tsunagu.intake.models import ImportJob, ImportStatus
from tsunagu.messaging.actions.suppression import suppress
from tsunagu.messaging.models import Campaign, FollowUpStep, Message, MessageKind, SuppressionReason
from tsunagu.privacy.actions import requests as privacy_requests
from tsunagu.privacy.models import PrivacyRequest, RequestKind
from tsunagu.relay.actions import requests as request_actions
from tsunagu.relay.models import CreditStatus, Introduction
from tsunagu.relay.tests.desk_factories import make_registration, operator_login
from tsunagu.relay.tests.referrals import REQUEST, earn_slots, registrant, rejected
from tsunagu.talent.models import MatchKind, Reapplication, SavedSearch

pytestmark = pytest.mark.django_db

ANYONE, SIGNED_IN, OPERATOR = "anyone", "signed in", "operator"
VIEWER, RECRUITER, ADMIN = Role.VIEWER, Role.RECRUITER, Role.ADMIN

# URL name (namespace console) -> (who may GET, who may POST). A role means that role and the ones above it
# (viewer < recruiter < admin); OPERATOR is the relay operator's staff; SIGNED_IN any signed-in user (their own
# account's pages); None: 405.
ACCESS: dict[str, tuple[str | None, str | None]] = {
    # Signing in and out, choosing the company.
    "login": (ANYONE, ANYONE),
    "logout": (None, ANYONE),
    "switch_company": (None, VIEWER),
    # One's own second factor (every signed-in user, staff included).
    "two_factor_verify": (SIGNED_IN, SIGNED_IN),
    "two_factor": (SIGNED_IN, SIGNED_IN),
    "two_factor_start": (None, SIGNED_IN),
    "two_factor_confirm": (None, SIGNED_IN),
    "two_factor_disable": (None, SIGNED_IN),
    "two_factor_qr": (SIGNED_IN, SIGNED_IN),
    # Reading: every member.
    "dashboard": (VIEWER, None),
    "candidates": (VIEWER, None),
    "candidate": (VIEWER, None),
    "outbox": (VIEWER, None),
    "message": (VIEWER, None),
    "ledger": (VIEWER, None),
    "referral_request": (VIEWER, None),
    "template_variants": (VIEWER, None),
    "analytics_report": (VIEWER, None),
    "analytics_funnel": (VIEWER, None),
    "analytics_funnel_csv": (VIEWER, None),
    "analytics_trend_csv": (VIEWER, None),
    "analytics_variants_csv": (VIEWER, None),
    # HR's hiring costs: read by every member (the dashboard shows 採用単価), entered by admins.
    "hiring_costs": (VIEWER, ADMIN),
    "templates": (VIEWER, None),
    "template_new": (VIEWER, None),
    "template_coverage": (VIEWER, None),
    "follow_ups": (VIEWER, None),
    "suppressions": (VIEWER, None),
    "import_detail": (VIEWER, None),
    "import_progress": (VIEWER, None),
    # Acting on candidates, mail, templates, follow-ups, imports and referral requests: recruiters and admins.
    "imports": (VIEWER, RECRUITER),
    "referral_requests": (VIEWER, RECRUITER),
    "referral_request_close": (None, RECRUITER),
    "introduction_outcome": (None, RECRUITER),
    "message_cancel": (None, RECRUITER),
    "message_send_now": (None, RECRUITER),
    "messages_cancel": (None, RECRUITER),
    "template_edit": (VIEWER, RECRUITER),
    "template_preview": (None, RECRUITER),
    "template_variant_add": (None, RECRUITER),
    "template_retire": (None, RECRUITER),
    "follow_up_add": (None, RECRUITER),
    "follow_up_update": (None, RECRUITER),
    "follow_up_delete": (None, RECRUITER),
    # Re-applications: every member reads (and chooses their own alert mail); recruiters review and merge.
    "reapplications": (VIEWER, None),
    "reapplication": (VIEWER, None),
    "reapplication_mail": (None, VIEWER),
    "reapplication_review": (None, RECRUITER),
    "reapplication_merge": (None, RECRUITER),
    "campaigns": (VIEWER, None),
    "campaign_new": (VIEWER, RECRUITER),
    "campaign": (VIEWER, None),
    "campaign_cancel": (None, RECRUITER),
    "candidate_edit": (None, RECRUITER),
    "candidate_tag": (None, RECRUITER),
    "candidates_tag": (None, RECRUITER),
    "saved_search_add": (None, RECRUITER),
    "saved_search_delete": (None, RECRUITER),
    "jobs": (VIEWER, RECRUITER),
    "job": (VIEWER, RECRUITER),
    "job_status": (None, RECRUITER),
    "job_follow": (None, RECRUITER),
    # Settings, API keys, ATS connections and their secrets, the suppression list's changes: admins only.
    "settings": (ADMIN, ADMIN),
    "api_key_create": (None, ADMIN),
    "api_key_revoke": (None, ADMIN),
    "connections": (ADMIN, ADMIN),
    "connection": (ADMIN, ADMIN),
    "connection_test": (None, ADMIN),
    "connection_poll": (None, ADMIN),
    "connection_reveal": (None, ADMIN),
    "suppression_add": (None, ADMIN),
    "suppression_lift": (None, ADMIN),
    # People's requests about their data: recruiters see and file them; admins carry them out (a deletion
    # cannot be undone), download a person's data and manage retention.
    "privacy_requests": (RECRUITER, None),
    "privacy_request_new": (RECRUITER, RECRUITER),
    "privacy_request": (RECRUITER, None),
    "privacy_request_carry_out": (None, ADMIN),
    "privacy_request_cancel": (None, ADMIN),
    "privacy_request_export": (ADMIN, None),
    "privacy_retention": (ADMIN, None),
    "privacy_retention_ask": (None, ADMIN),
    # The company's data export (all its personal data): admins only.
    "company_export": (ADMIN, None),
    "company_export_zip": (ADMIN, None),
    "company_export_json": (ADMIN, None),
    # The access log of personal data: read and exported by admins (operator staff: the operator's own log, see
    # OPERATOR_TOO); nothing writes to it through a URL.
    "access_log": (ADMIN, None),
    "access_log_csv": (ADMIN, None),
    # The relay operator's desk: its staff only.
    "operator": (OPERATOR, None),
    "operator_company": (OPERATOR, None),
    "operator_contract": (None, OPERATOR),
    "operator_redeem": (None, OPERATOR),
    "operator_registrants": (OPERATOR, None),
    "operator_registrants_csv": (OPERATOR, None),
    "operator_registrant": (OPERATOR, None),
    "operator_registrant_status": (None, OPERATOR),
    "operator_registrant_note": (None, OPERATOR),
    "operator_registrant_profile": (None, OPERATOR),
    "operator_registrant_withdraw_consents": (None, OPERATOR),
    "operator_analytics": (OPERATOR, None),
    "operator_analytics_csv": (OPERATOR, None),
    "operator_provisions": (OPERATOR, None),
    "operator_provisions_csv": (OPERATOR, None),
    "operator_review": (OPERATOR, None),
    "operator_approve": (None, OPERATOR),
    "operator_void": (None, OPERATOR),
    "operator_reverse": (None, OPERATOR),
    "operator_identity": (OPERATOR, OPERATOR),
    "operator_api_key_create": (None, OPERATOR),
    "operator_api_key_revoke": (None, OPERATOR),
    "desk_requests": (OPERATOR, None),
    "desk_request": (OPERATOR, None),
    "desk_propose": (None, OPERATOR),
    "desk_withdraw": (None, OPERATOR),
    "operator_privacy_requests": (OPERATOR, None),
    "operator_privacy_request_new": (OPERATOR, OPERATOR),
    "operator_privacy_request": (OPERATOR, None),
    "operator_privacy_request_carry_out": (None, OPERATOR),
    "operator_privacy_request_cancel": (None, OPERATOR),
    "operator_privacy_request_export": (OPERATOR, None),
    "operator_privacy_retention": (OPERATOR, None),
}

# Company pages that operator staff (without a company) read too, for the operator's own party.
OPERATOR_TOO = {"access_log", "access_log_csv"}

RANK = {VIEWER: 1, RECRUITER: 2, ADMIN: 3}
COMPANY_ROLES = (VIEWER, RECRUITER, ADMIN)
LOGIN_URL = "/console/login/"
SECOND_FACTOR_URLS = ("/console/login/code/", "/console/account/two-factor/")


# --- the URL patterns -------------------------------------------------------------------------------

def console_patterns() -> dict[str, URLPattern]:
    """Every named pattern in the `console` namespace, read from the URL resolver (nested includes too)."""
    found: dict[str, URLPattern] = {}

    def walk(patterns, namespace: str | None):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, entry.namespace or namespace)
            elif namespace == "console":
                assert entry.name, f"a console URL without a name: {entry.pattern}"
                found[entry.name] = entry

    walk(get_resolver().url_patterns, None)
    return found


def test_the_table_names_every_console_url_and_only_those():
    names = set(console_patterns())
    assert not names - set(ACCESS), f"console URLs missing from ACCESS: {sorted(names - set(ACCESS))}"
    assert not set(ACCESS) - names, f"ACCESS names URLs that are gone: {sorted(set(ACCESS) - names)}"
    with_parameters = {name for name, pattern in console_patterns().items() if pattern.pattern.converters}
    assert not with_parameters - set(PARAMETERS), f"no PARAMETERS for {sorted(with_parameters - set(PARAMETERS))}"


# --- two companies with one of everything ------------------------------------------------------------

@dataclass
class Things:
    """One company's objects that console URLs name."""

    company: object
    message: Message
    referral: object
    introduction: Introduction
    connection: object
    polled_connection: object
    import_job: ImportJob
    api_key: object
    suppression: object
    step: FollowUpStep


def things_of(make_company, slug: str, name: str) -> Things:
    company, _key = make_company(slug=slug, name=name, referral_ratio=1)
    application = rejected(company, email=f"candidate@{slug}.example.jp", name="髙橋 𠮷子")
    earn_slots(company, 1)
    referral = request_actions.file_request(company, request_actions.RequestForm(**REQUEST))
    introduction = Introduction.objects.create(request=referral, registrant=registrant(
        email=f"introduced@{slug}.example.jp"))
    message = Message.objects.get(application=application, kind=MessageKind.REJECTION)
    job = ImportJob.objects.create(company=company, filename="pool.csv", file_path="", status=ImportStatus.DONE,
                                   finished_at=timezone.now())
    return Things(
        company=company, message=message, referral=referral, introduction=introduction,
        connection=connections.add_connection(company, kind="greenhouse", secret=f"a-signing-secret-{slug}"),
        polled_connection=connections.add_connection(company, kind="herp", api_key=f"herp-key-{slug}-0123456789"),
        import_job=job, api_key=company.api_keys.first(),
        suppression=suppress(company, f"gone@{slug}.example.jp", SuppressionReason.MANUAL),
        step=FollowUpStep.objects.filter(company=company).first(),
    )


@dataclass
class World:
    mine: Things
    theirs: Things
    registration: object
    operator_key: object


def reapplication_of(things: Things) -> Reapplication:
    application = things.message.application
    return Reapplication.objects.get_or_create(application=application, defaults={
        "company": things.company, "candidate": application.candidate, "previous": application.candidate,
        "match": MatchKind.EXACT})[0]


def privacy_request_of(things: Things) -> PrivacyRequest:
    """An open export request of the company's candidate (carrying it out changes no data)."""
    candidate = things.message.application.candidate
    return PrivacyRequest.objects.filter(company=things.company, candidate=candidate).first() or \
        privacy_requests.file_request(things.company, kind=RequestKind.EXPORT, channel="phone", candidate=candidate)


def operator_privacy_request(world: World) -> PrivacyRequest:
    registrant = world.registration.registrant
    return PrivacyRequest.objects.filter(registrant=registrant).first() or privacy_requests.file_request(
        operator_party(), kind=RequestKind.EXPORT, channel="phone", registrant=registrant)


# URL name -> the path parameters, from one company's objects (and the world, for the operator's desk).
PARAMETERS = {
    "candidate": lambda t, w: {"candidate_id": t.message.application.candidate_id},
    "candidate_edit": lambda t, w: {"candidate_id": t.message.application.candidate_id},
    "candidate_tag": lambda t, w: {"candidate_id": t.message.application.candidate_id},
    # A search nobody owns any more (its author's account is gone): any recruiter of the company may delete it.
    "saved_search_delete": lambda t, w: {"search_id": SavedSearch.objects.get_or_create(
        company=t.company, name="roles", user=None, defaults={"params": {}})[0].pk},
    "message": lambda t, w: {"message_id": t.message.pk},
    "message_cancel": lambda t, w: {"message_id": t.message.pk},
    "message_send_now": lambda t, w: {"message_id": t.message.pk},
    "import_detail": lambda t, w: {"job_id": t.import_job.pk},
    "import_progress": lambda t, w: {"job_id": t.import_job.pk},
    "connection": lambda t, w: {"connection_id": t.connection.pk},
    "connection_test": lambda t, w: {"connection_id": t.connection.pk},
    "connection_reveal": lambda t, w: {"connection_id": t.connection.pk},
    "connection_poll": lambda t, w: {"connection_id": t.polled_connection.pk},
    "api_key_revoke": lambda t, w: {"key_id": t.api_key.pk},
    "suppression_lift": lambda t, w: {"suppression_id": t.suppression.pk},
    "referral_request": lambda t, w: {"pk": t.referral.pk},
    "referral_request_close": lambda t, w: {"pk": t.referral.pk},
    "introduction_outcome": lambda t, w: {"pk": t.introduction.pk},
    "follow_up_update": lambda t, w: {"step_id": t.step.pk},
    "reapplication": lambda t, w: {"reapplication_id": reapplication_of(t).pk},
    "reapplication_review": lambda t, w: {"reapplication_id": reapplication_of(t).pk},
    "reapplication_merge": lambda t, w: {"reapplication_id": reapplication_of(t).pk},
    "job": lambda t, w: {"job_id": t.message.application.job_id},
    "job_status": lambda t, w: {"job_id": t.message.application.job_id},
    "job_follow": lambda t, w: {"job_id": t.message.application.job_id},
    "follow_up_delete": lambda t, w: {"step_id": t.step.pk},
    "campaign": lambda t, w: {"campaign_id": Campaign.objects.get_or_create(
        company=t.company, name="roles", defaults={"send_at": timezone.now()})[0].pk},
    "campaign_cancel": lambda t, w: {"campaign_id": Campaign.objects.get_or_create(
        company=t.company, name="roles", defaults={"send_at": timezone.now()})[0].pk},
    "template_edit": lambda t, w: {"kind": "rejection"},
    "template_preview": lambda t, w: {"kind": "rejection"},
    "template_variant_add": lambda t, w: {"kind": "rejection"},
    "template_retire": lambda t, w: {"kind": "rejection"},
    # The operator's desk sees every company: its parameters are not a company's.
    "operator_company": lambda t, w: {"slug": w.mine.company.slug},
    "operator_contract": lambda t, w: {"slug": w.mine.company.slug},
    "operator_redeem": lambda t, w: {"slug": w.mine.company.slug},
    "operator_registrant": lambda t, w: {"pk": w.registration.registrant_id},
    "operator_registrant_status": lambda t, w: {"pk": w.registration.registrant_id},
    "operator_registrant_note": lambda t, w: {"pk": w.registration.registrant_id},
    "operator_registrant_profile": lambda t, w: {"pk": w.registration.registrant_id},
    "operator_registrant_withdraw_consents": lambda t, w: {"pk": w.registration.registrant_id},
    "operator_approve": lambda t, w: {"pk": w.registration.pk},
    "operator_void": lambda t, w: {"pk": w.registration.pk},
    "operator_reverse": lambda t, w: {"pk": w.registration.pk},
    "operator_api_key_revoke": lambda t, w: {"key_id": w.operator_key.pk},
    "desk_request": lambda t, w: {"pk": w.mine.referral.pk},
    "desk_propose": lambda t, w: {"pk": w.mine.referral.pk},
    "desk_withdraw": lambda t, w: {"pk": w.mine.introduction.pk},
    "privacy_request": lambda t, w: {"pk": privacy_request_of(t).pk},
    "privacy_request_carry_out": lambda t, w: {"pk": privacy_request_of(t).pk},
    "privacy_request_cancel": lambda t, w: {"pk": privacy_request_of(t).pk},
    "privacy_request_export": lambda t, w: {"pk": privacy_request_of(t).pk},
    "operator_privacy_request": lambda t, w: {"pk": operator_privacy_request(w).pk},
    "operator_privacy_request_carry_out": lambda t, w: {"pk": operator_privacy_request(w).pk},
    "operator_privacy_request_cancel": lambda t, w: {"pk": operator_privacy_request(w).pk},
    "operator_privacy_request_export": lambda t, w: {"pk": operator_privacy_request(w).pk},
}

# What a POST carries where an empty form would be refused for its content rather than for who sent it.
POST_DATA = {
    "switch_company": lambda company: {"company": company.pk},
}


@pytest.fixture
def world(make_company):
    mine = things_of(make_company, "acme", "株式会社アクメ")
    theirs = things_of(make_company, "other", "株式会社アザー")
    registration = make_registration(mine.company, email="held@example.jp", status=CreditStatus.HELD)
    party = company_actions.operator_party()
    company_actions.issue_api_key(party, label="crm")
    return World(mine=mine, theirs=theirs, registration=registration, operator_key=party.api_keys.first())


# --- the users --------------------------------------------------------------------------------------

@dataclass
class Actor:
    name: str
    role: str | None  # the company role, OPERATOR, or None (anonymous)
    company: object | None  # the company the user belongs to
    client: Client


@pytest.fixture
def actors(world, client, login):
    """Anonymous, a viewer, a recruiter and an admin of `mine`, operator staff, and an admin of `theirs`; each
    with a client of its own, logged in once."""

    def session(log_in) -> Client:
        client.cookies.clear()
        log_in()
        # An authenticator app being enrolled, so that its QR code page has something to draw.
        company_actions.start_totp_enrolment(get_user(client))
        own = Client(raise_request_exception=False)
        own.cookies = copy.deepcopy(client.cookies)
        return own

    found = [Actor("anonymous", None, None, Client(raise_request_exception=False))]
    for role in COMPANY_ROLES:
        found.append(Actor(str(role), role, world.mine.company, session(lambda role=role: login(world.mine.company, role))))
    found.append(Actor("operator staff", OPERATOR, None, session(lambda: operator_login(client))))
    found.append(Actor("admin of another company", ADMIN, world.theirs.company,
                       session(lambda: login(world.theirs.company, ADMIN))))
    return found


# --- what each should get ---------------------------------------------------------------------------

REFUSED, TO_LOGIN, TO_DESK, NOT_ALLOWED, NOT_FOUND, OK = "403", "login", "desk", "405", "404", "ok"


def expected(name: str, method: str, actor: Actor, *, foreign_objects: bool) -> str:
    """What `actor` gets for a `method` request to the console URL `name`; `foreign_objects` when its path
    names objects of a company the actor does not belong to."""
    see, do = ACCESS[name]
    level = see if method == "GET" else do
    other = do if method == "GET" else see
    audience = level or other
    if audience == ANYONE:
        return OK if level else NOT_ALLOWED
    if actor.role is None:
        return TO_LOGIN
    if audience == SIGNED_IN:
        return OK if level else NOT_ALLOWED
    if audience == OPERATOR:
        if actor.role != OPERATOR:
            return REFUSED
        return OK if level else NOT_ALLOWED
    # A company's page.
    if actor.role == OPERATOR and name in OPERATOR_TOO:
        return OK if level else NOT_ALLOWED
    if actor.role == OPERATOR:
        return TO_DESK  # staff without a company are sent to the operator's desk
    if level is None:
        return NOT_ALLOWED
    if RANK[actor.role] < RANK[level]:
        return REFUSED
    return NOT_FOUND if foreign_objects else OK


def outcome(response) -> str:
    status = response.status_code
    location = response.get("Location", "")
    if status == 302 and location.startswith(SECOND_FACTOR_URLS) and "next=" in location:  # held at the door
        return "sent to give or set up a second factor"
    if status == 302 and location.startswith(LOGIN_URL):
        return TO_LOGIN
    if status == 302 and location == reverse("console:operator"):
        return TO_DESK
    if status in (403, 404, 405):
        return str(status)
    if status in (200, 302, 400):  # 400: the (empty) form was refused for its content, not the user
        return OK
    return f"HTTP {status}"


def request(actor: Actor, method: str, path: str, data: dict):
    """One request as `actor`, rolled back (database and session), with the actor's cookies as they were."""
    cookies = copy.deepcopy(actor.client.cookies)
    with transaction.atomic():
        response = actor.client.get(path) if method == "GET" else actor.client.post(path, data)
        transaction.set_rollback(True)
    actor.client.cookies = cookies
    return response


def test_every_console_url_answers_each_user_as_the_table_says(world, actors):
    patterns = console_patterns()
    mismatches = []
    for name in sorted(patterns):
        if name not in ACCESS:
            mismatches.append(f"{name}: not in ACCESS")
            continue
        has_parameters = bool(patterns[name].pattern.converters)
        for actor in actors:
            own = world.theirs if actor.company == world.theirs.company else world.mine
            foreign = world.mine if own is world.theirs else world.theirs
            company_page = not {OPERATOR, SIGNED_IN, ANYONE} & set(ACCESS[name])
            cases = [(own, False)]
            # Parameters that name a company's objects (not, say, a template kind) are tried with another's.
            names_objects = has_parameters and PARAMETERS[name](own, world) != PARAMETERS[name](foreign, world)
            if names_objects and company_page and actor.company is not None:
                cases.append((foreign, True))
            for things, foreign_objects in cases:
                path = reverse(f"console:{name}", kwargs=PARAMETERS[name](things, world) if has_parameters else None)
                for method in ("GET", "POST"):
                    data = POST_DATA.get(name, lambda company: {})(actor.company or world.mine.company)
                    got = outcome(request(actor, method, path, data))
                    want = expected(name, method, actor, foreign_objects=foreign_objects)
                    if got == TO_LOGIN and want == OK and ANYONE in ACCESS[name]:
                        got = OK  # signing out ends on the login page
                    if got != want:
                        mismatches.append(f"{method} {path} as {actor.name}: got {got}, the table says {want}")
    assert not mismatches, "\n".join(mismatches)


# --- secrets ------------------------------------------------------------------------------------------

def test_the_webhook_secrets_show_once_at_creation_then_only_on_a_recorded_reveal(make_company, login, client):
    company, _key = make_company()
    admin = login(company)
    page = admin.post("/console/connections/", {"kind": "greenhouse", "secret": "a-shared-secret-1234"},
                      follow=True).content.decode()
    connection = company.ats_connections.get()
    assert connection.webhook_url in page and "a-shared-secret-1234" in page  # shown at creation
    detail = f"/console/connections/{connection.pk}/"
    page = admin.get(detail).content.decode()
    assert connection.token not in page and "a-shared-secret-1234" not in page  # then hidden
    assert connection.token not in admin.get("/console/connections/").content.decode()
    assert 'id="reveal-secrets"' in page
    assert admin.get(detail + "reveal/").status_code == 405  # a reveal is a POST, never a link
    revealed = admin.post(detail + "reveal/", follow=True).content.decode()
    assert connection.webhook_url in revealed and "a-shared-secret-1234" in revealed
    assert connection.token not in admin.get(detail).content.decode()  # once
    events = list(AuditEvent.objects.filter(company=company).order_by("pk").values_list("action", "actor", "target"))
    assert [(action, actor) for action, actor, _target in events] == [
        (company_actions.SECRET_SHOWN_AT_CREATION, "admin@acme.example"),
        (company_actions.SECRET_REVEALED, "admin@acme.example")]
    assert all(f"#{connection.pk}" in target and "a-shared-secret-1234" not in target and connection.token not in target
               for _action, _actor, target in events)


@pytest.mark.parametrize("role", [VIEWER, RECRUITER])
def test_below_admin_no_page_shows_a_secret_and_no_reveal_is_possible(make_company, login, role):
    company, _key = make_company()
    connection = connections.add_connection(company, kind="greenhouse", secret="a-shared-secret-1234")
    client = login(company, role)
    for path in ("/console/connections/", f"/console/connections/{connection.pk}/", "/console/settings/"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert connection.token not in response.content.decode()
    assert client.post(f"/console/connections/{connection.pk}/reveal/").status_code == 403
    assert client.post("/console/templates/rejection/preview/", {"subject": "x", "body_text": "y"}).status_code == (
        200 if role == RECRUITER else 403)
    assert not AuditEvent.objects.exists()
    page = client.get("/console/").content.decode()
    assert 'href="/console/settings/"' not in page and 'href="/console/connections/"' not in page


def test_api_keys_issued_and_revoked_are_recorded_without_the_key(make_company, login):
    company, _key = make_company()
    admin = login(company)
    admin.post("/console/settings/api-keys/", {"label": "ATS"})
    key = admin.get("/console/settings/").content.decode().split('class="key">')[1].split("<")[0]
    issued = company.api_keys.order_by("-pk").first()
    assert admin.post(f"/console/settings/api-keys/{issued.pk}/revoke/").status_code == 302
    events = list(AuditEvent.objects.filter(company=company).order_by("pk"))
    assert [event.action for event in events] == [company_actions.API_KEY_ISSUED, company_actions.API_KEY_REVOKED]
    assert all(f"tsu_{issued.prefix}_…" in event.target and key not in event.target for event in events)
    assert key.split("_", 2)[2] not in "".join(str(event) for event in events)


def test_the_audit_record_is_append_only(make_company):
    company, _key = make_company()
    event = company_actions.record_event(company, None, company_actions.SECRET_REVEALED, "ATS連携 #1")
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).update(target="changed")
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(TypeError):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).target == "ATS連携 #1"


def test_operator_api_keys_issued_and_revoked_are_recorded_on_the_operators_party(client):
    operator_login(client)
    client.post("/console/operator/identity/api-keys/", {"label": "CRM"})
    party = company_actions.operator_party()
    issued = party.api_keys.get()
    assert client.post(f"/console/operator/identity/api-keys/{issued.pk}/revoke/").status_code == 302
    events = list(AuditEvent.objects.filter(company=party).order_by("pk"))
    assert [(event.action, event.actor) for event in events] == [
        (company_actions.API_KEY_ISSUED, "advisor@relay.example"), (company_actions.API_KEY_REVOKED, "advisor@relay.example")]
    assert all(event.target.startswith(f"tsu_{issued.prefix}_…") for event in events)
