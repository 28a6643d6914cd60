"""The person's own pages about their data (no login: the signed link is the key): what a party holds, as a
page and as a JSON download; correcting it; stopping all use; asking for deletion, confirmed by mail. Also the
re-consent mail's "stay in the pool" page and the deletion mail's confirmation page.

Two entries: /privacy/m/<token> from a company's mail (the token of the mail-preferences link: it names one
message, so one company and one address) and /privacy/p/<token> from the relay operator's mail to a registrant.
They show no data: seeing, downloading and correcting it go through /privacy/data/<token>, a link mailed to the
address on record and valid one day, so that a forwarded or old mail does not open anyone's data. Deletion is
confirmed through a mailed link too. GET never changes anything (mail scanners open links); every change is a
POST with Django's CSRF check.
"""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from tsunagu.companies.actions import operator_party, record_access
from tsunagu.companies.models import AccessAction, AccessChannel
from tsunagu.lib.client_ip import client_ip
from tsunagu.lib.tokens import (
    ExpiredToken,
    candidate_id_from_stay_token,
    registrant_id_from_privacy_token,
    request_id_from_access_token,
    request_id_from_deletion_token,
)
from tsunagu.messaging.unsubscribe import message_for_token
from tsunagu.privacy.actions import consent as consent_actions
from tsunagu.privacy.actions import requests as request_actions
from tsunagu.privacy.models import PrivacyRequest, RequestKind, RequestStatus
from tsunagu.privacy.person_export import candidate_export, registrant_export
from tsunagu.privacy.selectors import candidate_of_message, recently_asked
from tsunagu.relay.consent import text_hash
from tsunagu.relay.models import Registrant
from tsunagu.talent.models import Candidate


class _Subject:
    """Whose page this is: a company's candidate or the operator's registrant, and the party answering."""

    def __init__(self, company, candidate: Candidate | None = None, registrant: Registrant | None = None):
        self.company, self.candidate, self.registrant = company, candidate, registrant

    @property
    def person(self):
        return self.candidate or self.registrant

    @property
    def erased(self) -> bool:
        return self.person is None or (self.candidate.erased_at is not None if self.candidate is not None
                                       else self.registrant.email_key.startswith("erased:"))

    @property
    def kind(self) -> str:
        return "candidate" if self.candidate is not None else "registrant"

    def log(self, action: str) -> None:
        """The person's own reading of their data, in the holder's access log."""
        record_access(self.company, channel=AccessChannel.PERSON, action=action, subject_kind=self.kind,
                      subject_id=self.person.pk)

    def export(self) -> dict:
        if self.candidate is not None:
            return candidate_export(self.candidate)
        return registrant_export(self.registrant, self.company)


def _from_message(token: str) -> _Subject | None:
    message = message_for_token(token)
    if message is None or message.company.is_operator:
        return None
    return _Subject(message.company, candidate=candidate_of_message(message))


def _from_registrant(token: str) -> _Subject | None:
    registrant_id = registrant_id_from_privacy_token(token)
    registrant = Registrant.objects.filter(pk=registrant_id).first() if registrant_id else None
    if registrant is None:
        return None
    return _Subject(operator_party(), registrant=registrant)


def _invalid(request):
    return render(request, "privacy/person_invalid.html", {}, status=404)


def _expired(request):
    return render(request, "privacy/person_invalid.html", {"expired": True}, status=410)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def company_person(request, token: str):
    subject = _from_message(token)
    return _invalid(request) if subject is None else _person_page(request, subject, token, kind="m")


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def registrant_person(request, token: str):
    subject = _from_registrant(token)
    return _invalid(request) if subject is None else _person_page(request, subject, token, kind="p")


def _person_page(request, subject: _Subject, token: str, *, kind: str):
    """The entry page a mail's link opens: who holds the data, and the person's requests. The data itself is
    shown only through a link mailed to the address on record (`data`), never to whoever holds an old mail."""
    done = ""
    if request.method == "POST" and not subject.erased:
        done = _act(request, subject, request.POST.get("action", ""))
    registered = subject.candidate is not None and subject.candidate.registrations.exists()
    return render(request, "privacy/person.html", {
        "subject": subject, "company": subject.company, "token": token, "kind": kind, "done": done,
        "registered": registered, "address": "" if subject.erased else masked(subject.person.email)},
        status=400 if done == "unknown" else 200)


def masked(address: str) -> str:
    """"yoshiko@example.jp" -> "y•••••o@example.jp": enough for the person to recognise, not to learn."""
    local, _at, domain = address.partition("@")
    if len(local) <= 2:
        return f"{local[:1]}•@{domain}"
    return f"{local[0]}{'•' * (len(local) - 2)}{local[-1]}@{domain}"


def _act(request, subject: _Subject, action: str) -> str:
    if action == "access":
        if not recently_asked(subject.company, RequestKind.EXPORT, candidate=subject.candidate,
                              registrant=subject.registrant):
            request_actions.ask_for_access(subject.company, candidate=subject.candidate, registrant=subject.registrant)
        return "access_sent"
    if action == "stop":
        request_actions.carry_out(_new_request(subject, RequestKind.STOP))
        return "stopped"
    if action == "delete":
        if not recently_asked(subject.company, RequestKind.DELETE, candidate=subject.candidate,
                              registrant=subject.registrant):
            request_actions.ask_for_deletion(
                subject.company, candidate=subject.candidate, registrant=subject.registrant,
                suppress_mail=request.POST.get("suppress_mail") == "on",
                also_relay=subject.candidate is not None and request.POST.get("include_relay") == "on")
        return "confirmation_sent"
    return "unknown"


def _new_request(subject: _Subject, kind: str) -> PrivacyRequest:
    return request_actions.file_request(subject.company, kind=kind, channel="web", candidate=subject.candidate,
                                        registrant=subject.registrant)


# --- the data itself, through the mailed link ----------------------------------------------------------

def _from_access_token(token: str) -> _Subject | None:
    """The subject of an access request whose mailed link this is; None when forged or erased (ExpiredToken
    when it is too old)."""
    request_id = request_id_from_access_token(token, max_age_days=request_actions.ACCESS_DAYS)
    found = PrivacyRequest.objects.select_related("company", "candidate", "registrant").filter(
        pk=request_id, kind=RequestKind.EXPORT).first() if request_id else None
    if found is None:
        return None
    subject = _Subject(found.company, candidate=found.candidate, registrant=found.registrant)
    if subject.person is None or subject.erased:
        return None
    request_actions.opened(found)
    return subject


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def data(request, token: str):
    try:
        subject = _from_access_token(token)
    except ExpiredToken:
        return _expired(request)
    if subject is None:
        return _invalid(request)
    done, errors = "", {}
    if request.method == "POST":
        fields = {name: request.POST.get(name, "")[:300] for name in ("name", "name_kana", "phone")}
        try:
            request_actions.correct(subject.company, candidate=subject.candidate, registrant=subject.registrant,
                                    **fields)
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            done = "corrected"
    subject.log(AccessAction.VIEW)
    return render(request, "privacy/person_data.html", {
        "company": subject.company, "token": token, "data": subject.export(), "done": done, "errors": errors,
        "form": request.POST if errors else None}, status=400 if errors else 200)


@never_cache
@require_http_methods(["GET", "HEAD"])
def data_download(request, token: str):
    try:
        subject = _from_access_token(token)
    except ExpiredToken:
        return _expired(request)
    if subject is None:
        return _invalid(request)
    body = json.dumps(subject.export(), ensure_ascii=False, indent=2)
    subject.log(AccessAction.EXPORT)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="my-data.json"'
    return response


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm_deletion(request, token: str):
    try:
        request_id = request_id_from_deletion_token(token, max_age_days=request_actions.CONFIRMATION_DAYS)
    except ExpiredToken:
        return _expired(request)
    privacy_request = PrivacyRequest.objects.select_related("company").filter(pk=request_id).first() \
        if request_id else None
    if privacy_request is None or privacy_request.kind != RequestKind.DELETE:
        return _invalid(request)
    if request.method == "POST":
        privacy_request = request_actions.confirm_deletion(privacy_request)
    return render(request, "privacy/confirm_deletion.html", {
        "privacy_request": privacy_request, "company": privacy_request.company,
        "done": privacy_request.status == RequestStatus.DONE})


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def stay(request, token: str):
    try:
        candidate_id = candidate_id_from_stay_token(token, max_age_days=consent_actions.STAY_LINK_DAYS)
    except ExpiredToken:
        return _expired(request)
    candidate = Candidate.objects.select_related("company").filter(pk=candidate_id, erased_at__isnull=True).first() \
        if candidate_id else None
    if candidate is None:
        return _invalid(request)
    text = consent_actions.pool_consent_text(candidate.company)
    done = False
    if request.method == "POST":
        if request.POST.get("text_sha256") != text_hash(text):
            # The wording changed between showing and pressing: the person agrees to what they saw, so again.
            return render(request, "privacy/stay.html", {"company": candidate.company, "text": text,
                                                         "digest": text_hash(text),
                                                         "changed": True}, status=409)
        consent_actions.record_pool_consent(candidate, text=text, ip=client_ip(request), now=timezone.now())
        done = True
    return render(request, "privacy/stay.html", {"company": candidate.company, "text": text, "done": done,
                                                 "digest": text_hash(text)})
