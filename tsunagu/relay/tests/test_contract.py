"""The contract is the operator's: `tsunagu relay contract` sets it, the company sees it read-only, and the
ledger API takes its ratio from it and says how many registrations are held."""

import json
import tempfile
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tsunagu.companies.actions import OPERATOR_SLUG, operator_party
from tsunagu.companies.models import Role
from tsunagu.relay.models import Contract
from tsunagu.relay.selectors import ledger_summary
from tsunagu.relay.tests.candidate_path import (
    link_path,
    register,
    register_and_verify,
    reject,
    verification_to,
    verify_path,
)
from tsunagu.testing import base_env, run_cli

pytestmark = pytest.mark.django_db


def contract(*args) -> dict:
    out = StringIO()
    call_command("relay", "contract", *args, stdout=out)
    return json.loads(out.getvalue())


def test_the_command_sets_the_ratio_and_fee_and_prints_them(company):
    assert contract("--company", "acme", "--ratio", "3", "--fee-yen", "800000") == {
        "company": "acme", "ratio": 3, "fee_yen": 800000}
    assert contract("--company", "acme", "--ratio", "5") == {"company": "acme", "ratio": 5, "fee_yen": 800000}
    assert contract("--company", "acme") == {"company": "acme", "ratio": 5, "fee_yen": 800000}
    assert (ledger_summary(company).ratio, ledger_summary(company).fee_yen) == (5, 800000)


@pytest.mark.parametrize(("args", "message"), [
    (["--company", "nobody", "--ratio", "3"], "'nobody' not found"),
    (["--company", OPERATOR_SLUG, "--ratio", "3"], "not found"),
    (["--company", "acme", "--ratio", "0"], "ratio"),
    (["--company", "acme", "--ratio", "1001"], "ratio"),
    (["--company", "acme", "--fee-yen", "-1"], "--fee-yen must be 0 or more"),
])
def test_bad_input_is_refused_and_changes_nothing(company, args, message):
    operator_party()
    with pytest.raises(CommandError) as caught:
        contract(*args)
    assert message in str(caught.value)
    assert list(Contract.objects.values_list("ratio", "fee_yen")) == [(10, 0)]


def test_the_ledger_api_takes_the_ratio_from_the_contract_and_counts_held_ones(client, api, company,
                                                                                django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    contract("--company", "acme", "--ratio", "2")
    register_and_verify(client, api, capture, 1)
    message = reject(api, capture, external_id="A-2", email_address="c2@gmail.com")
    register(client, link_path(message), capture, email="not-the-notified@gmail.com")
    client.post(verify_path(verification_to("not-the-notified@gmail.com")))
    body = api.get("/api/v1/relay/ledger").json()
    assert body == {"credits": 1, "credits_held": 1, "slots_earned": 0, "slots_redeemed": 0, "slots_available": 0,
                    "ratio": 2, "credits_to_next_slot": 1}
    register_and_verify(client, api, capture, 3)
    assert api.get("/api/v1/relay/ledger").json()["slots_earned"] == 1


def test_the_company_sees_its_contract_read_only(company, login):
    contract("--company", "acme", "--ratio", "7", "--fee-yen", "600000")
    client = login(company, Role.ADMIN)
    page = client.get("/console/settings/").content.decode()
    assert 'id="contract-ratio">7<' in page and 'id="contract-fee">600000' in page
    assert 'name="referral_ratio"' not in page and 'name="ratio"' not in page
    # Posting a ratio with the settings changes nothing of the contract.
    response = client.post("/console/settings/", {"name": company.name, "referral_ratio": "1", "ratio": "1",
                                                  "time_zone": "Asia/Tokyo", "delay_minutes": 0,
                                                  "send_window": "always", "business_hour_start": 9,
                                                  "business_hour_end": 18, "combine_rejections_minutes": 60,
                                                  "frequency_cap_days": 30, "retention_days": 1095})
    assert response.status_code in (200, 302)
    assert Contract.objects.get(company=company).ratio == 7


@pytest.mark.slow
@pytest.mark.sqlite_data_dir
def test_the_real_command_line_prints_json_and_fails_clearly():
    with tempfile.TemporaryDirectory() as data_dir:
        env = base_env(data_dir)
        created = run_cli(["company", "create", "--name", "株式会社テスト", "--slug", "cli"], env)
        assert created.returncode == 0, created.stderr
        done = run_cli(["relay", "contract", "--company", "cli", "--ratio", "4", "--fee-yen", "300000"], env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout.strip().splitlines()[-1]) == {"company": "cli", "ratio": 4, "fee_yen": 300000}
        failed = run_cli(["relay", "contract", "--company", "cli", "--ratio", "0"], env)
        assert failed.returncode != 0 and "ratio" in failed.stderr and failed.stdout.strip() == ""
        missing = run_cli(["relay", "contract", "--company", "nobody", "--ratio", "3"], env)
        assert missing.returncode != 0 and "not found" in missing.stderr
