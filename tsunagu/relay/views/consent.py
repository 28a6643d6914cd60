"""The registrant's page (no login) to consent to, or decline, one introduction: reached from the personal link
in the operator's mail. It states word for word what the operator will provide to which company for which
position; only a POST answers (mail scanners open links, and opening must consent to nothing). The link
expires and works once."""

from django.shortcuts import render
from django.views.decorators.cache import never_cache

from tsunagu.companies.actions import operator_party
from tsunagu.lib.client_ip import client_ip
from tsunagu.relay import fraud
from tsunagu.relay.actions import introductions
from tsunagu.relay.consent import operator_facts
from tsunagu.relay.introduction_consent import CONSENT_LINK_DAYS, introduction_consent_text, text_digest
from tsunagu.relay.models import IntroductionStatus

TEMPLATE = "relay/introduction_consent.html"


def _context(operator, **extra):
    # public_base.html names the service and its operator, as on the registration pages.
    return {"relay": operator_facts(operator), "operator": operator, **extra}


@never_cache
def introduction_consent(request, token: str):
    operator = operator_party()
    try:
        introduction = introductions.introduction_for_token(token)
    except introductions.ExpiredConsentLink:
        return render(request, TEMPLATE, _context(operator, state="expired", days=CONSENT_LINK_DAYS), status=410)
    except introductions.InvalidConsentLink:
        return render(request, TEMPLATE, _context(operator, state="invalid"), status=404)
    status = 200
    if request.method == "POST":
        answer = request.POST.get("answer", "")
        if answer not in ("consent", "decline"):
            status = 400  # neither button: show the page again, nothing recorded
        else:
            result = introductions.answer_consent(token, consent=answer == "consent",
                                                  shown_digest=request.POST.get("digest", ""),
                                                  ip_hash=fraud.ip_hash(client_ip(request)))
            introduction = result.introduction
            if result.result == "changed":
                status = 409  # the text changed since the page was shown: show the current one, record nothing
            if result.result in ("consented", "declined"):
                return render(request, TEMPLATE, _context(operator, state=result.result, introduction=introduction,
                                                          text=result.text))
    if not introductions.awaiting_answer(introduction):
        # Answered already (the link works once), withdrawn, or the request ended.
        state = {IntroductionStatus.INTRODUCED: "consented", IntroductionStatus.DECLINED: "declined"}.get(
            introduction.status, "closed")
        return render(request, TEMPLATE, _context(operator, state=state, introduction=introduction, already=True))
    text = introduction_consent_text(introduction, operator)
    return render(request, TEMPLATE, _context(
        operator, state="ask", introduction=introduction, text=text, digest=text_digest(text),
        referral=introduction.request, changed=status == 409,
    ), status=status)
