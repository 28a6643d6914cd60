"""The OpenAPI document is true to the API's behaviour: schemathesis generates requests from the document
(valid and invalid ones), sends them over real HTTP to a live server with a company's API key (the operator's
key for /api/v1/operator/), and checks every answer: no 5xx, a documented status code, the documented content
type, a body valid against the documented schema. Bounded and derandomized, so every run sends the same
requests."""

import json
import string
from collections import defaultdict

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import load_all_checks

from tsunagu.api import api
from tsunagu.companies.actions import issue_api_key, operator_party
from tsunagu.relay.models import CreditStatus
from tsunagu.relay.tests.desk_factories import make_registration
from tsunagu.relay.tests.referrals import earn_slots
from tsunagu.testing import ApiClient, application_body

pytestmark = pytest.mark.slow

load_all_checks()
positive_data_acceptance = schemathesis.checks.positive_data_acceptance

# Small enough for the whole run to stay within about a minute on two cores.
MAX_EXAMPLES = 12

CONFIG = {
    "seed": 20261121,
    # Valid and invalid requests. No NUL characters: the API's parser refuses any JSON body holding one (a 400
    # the API's description states; PostgreSQL cannot store it), which JSON Schema cannot say of a whole body;
    # test_api_errors.py sends them on purpose.
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "mode": "all", "allow-x00": False,
                   "database": "none"},
    # Stateful links are not declared; the coverage phase's boundary values are the most telling cases.
    "phases": {"stateful": {"enabled": False}},
    "request-timeout": 10,
}

# Addresses as the API takes them: email-validator refuses special-use domains (.test, .invalid, .localhost,
# .local, .onion, .arpa), as the field's description says; schemathesis' own generator draws .test ones.
_LOCAL = st.text(alphabet=string.ascii_lowercase + string.digits + "!#$%&'*+-/=?^_`{|}~",
                 min_size=1, max_size=10)
_LABEL = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=8)
schemathesis.openapi.format("email", st.builds(
    "{}@{}.{}".format, _LOCAL, _LABEL, st.sampled_from(["com", "jp", "co.jp", "net", "org", "io"])))

# Rules across fields or with the calendar, beyond JSON Schema: the document states them in words (with their
# 422). A body valid by the schema alone may break only these.
BEYOND_SCHEMA = {("POST", "/api/v1/relay/requests"): {"salary_max", "deadline"},
                 ("GET", "/api/v1/analytics/summary"): {"from", "to"},
                 ("GET", "/api/v1/analytics/funnel"): {"from", "to"}}

# What each operation answered, for the check that the run reached the API's successes too.
ANSWERS: dict[tuple[str, str], set[int]] = defaultdict(set)

@pytest.fixture
def keys(transactional_db, make_company):
    """A company with some history (an application, a free slot) and the relay operator, with their keys."""
    company, company_key = make_company(referral_ratio=1)
    ApiClient(company_key).post("/api/v1/applications", application_body())
    earn_slots(company, 2)
    make_registration(company, email="held@example.jp", status=CreditStatus.HELD, reasons=["address_differs"])
    return company_key, issue_api_key(operator_party(), label="schemathesis")


# The document as the API builds it (pytest-django has set Django up before collection); the first test
# proves the live server serves exactly this document.
DOCUMENT = json.loads(json.dumps(api.get_openapi_schema()))
schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config.from_dict(CONFIG))


def test_the_live_server_serves_the_document_tested(live_server):
    assert requests.get(f"{live_server.url}/api/v1/openapi.json", timeout=10).json() == DOCUMENT


@schema.parametrize()
# The data the fixtures make is meant to be shared by every generated request of an operation.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_the_api_behaves_as_its_openapi_document_says(case, keys, live_server):
    company_key, operator_key = keys
    key = operator_key if case.path.startswith("/api/v1/operator/") else company_key
    headers = {"Authorization": f"Bearer {key}"}
    response = case.call(base_url=live_server.url, headers=headers)
    ANSWERS[(case.method, case.path)].add(response.status_code)
    beyond = BEYOND_SCHEMA.get((case.method, case.path))
    if beyond and response.status_code == 422 and set(response.json()["errors"]) <= beyond:
        case.validate_response(response, headers=headers, excluded_checks=[positive_data_acceptance])
    else:
        case.validate_response(response, headers=headers)


def test_the_run_reached_the_apis_successes():
    """Valid requests were not all refused: each operation that needs no existing id answered 2xx."""
    if not ANSWERS:
        pytest.skip("run together with the schemathesis test")
    for operation, status in [(("POST", "/api/v1/applications"), 201), (("POST", "/api/v1/applications"), 200),
                              (("POST", "/api/v1/relay/requests"), 201), (("GET", "/api/v1/messages"), 200),
                              (("GET", "/api/v1/relay/ledger"), 200), (("GET", "/api/v1/relay/requests"), 200),
                              (("GET", "/api/v1/operator/registrations"), 200),
                              (("GET", "/api/v1/operator/registrants"), 200)]:
        assert status in ANSWERS[operation], (operation, ANSWERS[operation])
    assert all(code < 500 for codes in ANSWERS.values() for code in codes)


def test_the_run_covers_both_generation_modes():
    assert {GenerationMode.POSITIVE, GenerationMode.NEGATIVE} <= set(
        schemathesis.Config.from_dict(CONFIG).projects.default.generation.modes)
