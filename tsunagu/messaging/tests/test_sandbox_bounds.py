"""Issue 11, bounded rendering: no template can stall the web server or a worker.

The findings: one preview of `([range(2000)|list]*2000)|sum(start=[])` froze the whole web process (one
C-level operation holding the GIL); a template whose slow branch depends on the candidate's name passed the
save check and then took seconds per mail in a worker; `[[[0]*300]*300]*300|string` built 81 million
characters. Now every operation that could make a lot from a little pays before it runs, and every render runs
in a render process that is killed at a hard limit.
"""

import pytest
from django.core.exceptions import ValidationError

from tsunagu.messaging import render_process, rendering, sandbox
from tsunagu.messaging.actions import delivery, templates
from tsunagu.messaging.models import Message, MessageKind, MessageStatus
from tsunagu.testing import application_body, text_part

pytestmark = pytest.mark.django_db

SUM_OF_LISTS = "{{ ([range(2000)|list]*2000)|sum(start=[])|length }}"
NESTED_STRING = "{{ [[[0]*300]*300]*300|string }}"  # as the issue wrote it: `300|string`, then list * str
NESTED_STRING_OF_ALL = "{{ ([[[0]*300]*300]*300)|string }}"
HOSTILE = [SUM_OF_LISTS, "{{ ([range(4000)|list]*4000)|sum(start=[])|length }}", NESTED_STRING_OF_ALL]
TOO_MANY_CHARACTERS = "作られる文字が多すぎます(1通あたり200,000文字まで)"


def preview(client, body):
    return client.post("/console/templates/rejection/preview/", {"subject": "件名", "body_text": body})


@pytest.mark.parametrize("body", HOSTILE)
def test_a_hostile_preview_answers_with_the_reason_and_the_server_stays_responsive(company, login, body):
    client = login(company)
    response = preview(client, body)
    assert response.status_code == 200
    assert TOO_MANY_CHARACTERS in response.content.decode()
    assert client.get("/healthz").status_code == 200
    # ... and an ordinary preview right after it works.
    assert "髙橋 𠮷子様" in preview(client, "{{ candidate_name }}様").content.decode()


def test_the_issue_s_nested_string_payload_is_refused_with_its_reason(company, login):
    content = preview(login(company), NESTED_STRING).content.decode()
    assert "1行目: 見本データで表示できません: TypeError: can&#x27;t multiply sequence" in content


@pytest.mark.parametrize("body", HOSTILE)
def test_a_hostile_template_is_refused_at_save(company, body):
    with pytest.raises(ValidationError) as error:
        templates.save_template(company, MessageKind.REJECTION, subject="件名", body_text=body)
    assert error.value.message_dict["body_text"] == [f"1行目: 見本データで表示できません: {TOO_MANY_CHARACTERS}。"]


def test_a_slow_branch_for_one_name_fails_that_mail_and_the_rest_of_the_batch_is_sent(
        company, api, login, smtp_settings):
    body = ("{% if candidate_name == '山田 太郎' %}" + SUM_OF_LISTS[:-2] + "}}{% endif %}"
            "{{ candidate_name }}様\n\n選考結果のご連絡です。")
    # The sample candidate is 髙橋 𠮷子: the save check cannot see the slow branch.
    templates.save_template(company, MessageKind.REJECTION, subject="選考結果", body_text=body)
    for number, name in enumerate(["髙橋 𠮷子", "山田 太郎", "佐藤 花子"]):
        candidate = {"name": name, "email": f"c{number}@example.jp"}
        response = api.post("/api/v1/applications",
                            application_body(external_id=f"A-{number}", candidate=candidate))
        assert response.status_code == 201, response.content

    report = delivery.deliver_due_messages()  # one batch, in this process: the worker's own code

    assert report.claimed == 3 and len(report.sent) == 2 and len(report.failed) == 1
    failed = Message.objects.get(status=MessageStatus.FAILED)
    assert failed.to_name == "山田 太郎"
    assert failed.last_error == f"テンプレートを表示できません: 1行目: {TOO_MANY_CHARACTERS}。"
    received = smtp_settings.wait_for(2)
    assert sorted(r["rcpt"][0] for r in received) == ["c0@example.jp", "c2@example.jp"]
    assert text_part(smtp_settings.messages_to("c2@example.jp")[0]).startswith("佐藤 花子様")
    # The outbox shows the reason, and rendering the message again for its page does not hang the server.
    client = login(company)
    assert TOO_MANY_CHARACTERS in client.get("/console/outbox/?status=failed").content.decode()
    assert TOO_MANY_CHARACTERS in client.get(f"/console/outbox/{failed.pk}/").content.decode()
    # The worker carries on: the next mail renders.
    assert rendering.render("件名", "{{ candidate_name }}様", {"candidate_name": "山田 太郎"}).text == "山田 太郎様\n"


def test_a_render_past_the_hard_limit_is_killed_and_fails_that_preview_only(company, login, monkeypatch):
    client = login(company)
    busy = "{% for i in range(9000) %}{{ i }}{% endfor %}{{ candidate_name }}様"  # within the budget, not instant
    assert "髙橋 𠮷子様" in preview(client, busy).content.decode()
    before = _render_process_pids()
    # A hard limit of a millisecond: the render is killed, as one C-level operation past the limit would be.
    monkeypatch.setattr(render_process, "HARD_SECONDS_PER_TEMPLATE", 0.001)
    content = preview(client, busy).content.decode()
    assert "表示に時間がかかりすぎます(2秒まで)。" in content
    assert not set(before) & set(_render_process_pids())  # that render process is gone
    with pytest.raises(ValidationError, match="表示に時間がかかりすぎます"):
        templates.save_template(company, MessageKind.REJECTION, subject="件名", body_text=busy)
    monkeypatch.undo()
    assert "髙橋 𠮷子様" in preview(client, busy).content.decode()


def test_delivery_retries_later_when_no_render_process_can_be_had(company, api, smtp_settings, monkeypatch):
    from tsunagu.lib import process_pool

    def unavailable(*args, **kwargs):
        raise process_pool.PoolUnavailable("cannot start a worker")

    api.post("/api/v1/applications", application_body())
    monkeypatch.setattr(process_pool.ProcessPool, "call", unavailable)
    report = delivery.deliver_due_messages()
    assert report.retrying and not report.failed
    message = Message.objects.get()
    assert message.status == MessageStatus.SCHEDULED
    assert "ただいま混み合っているため表示できません" in message.last_error


def _render_process_pids() -> list[int]:
    from tsunagu.lib import process_pool

    return process_pool.shared_pool(render_process._spec()).worker_pids()


# --- the budget, in this process: each hostile operation pays before it runs --------------------------

SAMPLE = {"candidate_name": "髙橋 𠮷子", "company_name": "株式会社サンプル",
          "open_positions": sandbox.OpenPositions(["バックエンドエンジニア"])}
BIG = "[[[0]*300]*300]*300"  # 2,700 list items made, 27 million reachable


@pytest.mark.parametrize("body", [
    SUM_OF_LISTS,
    "{{ (" + BIG + ")|string }}",
    "{{ " + BIG + " }}",
    "{{ 'a' ~ " + BIG + " }}",
    "{{ [" + BIG + "]|join(',') }}",
    "{{ (" + BIG + ")|upper }}",
    "{{ (" + BIG + ")|urlencode }}",
    "{{ (" + BIG + ")|replace('0', '1') }}",
    "{{ candidate_name.replace('髙', " + BIG + ") }}",
    "{{ ((" + BIG + ")|list)|string }}",
    "{{ ([" + BIG + "] * 2)|sum(start=[])|string }}",
    "{{ ('x' * 100000)|list|string }}",
])
def test_text_is_paid_for_before_it_is_made(body):
    with pytest.raises(sandbox.LimitExceeded, match="作られる文字が多すぎます"):
        sandbox.run(sandbox.compile_template(body), SAMPLE)


DEEP = "[[[[0]*100]*100]*100]*100"  # 400 list items made; comparing two takes 100 million steps


@pytest.mark.parametrize("body", [
    "{{ " + DEEP + " == " + DEEP + " }}",
    "{{ " + DEEP + " in [" + DEEP + "] }}",
    "{{ " + DEEP + " is eq(" + DEEP + ") }}",
    "{{ [" + DEEP + ", " + DEEP + "]|sort }}",
    "{{ [" + DEEP + ", " + DEEP + "]|max }}",
    "{{ [" + DEEP + "].count(" + DEEP + ") }}",
    "{{ [" + DEEP + "]|select('==', " + DEEP + ")|list }}",
    "{% for x in [1, 2] %}{{ loop.changed(" + DEEP + ") }}{% endfor %}",
    "{{ {((((0,)*100,)*100,)*100,)*100: 1} }}",
    "{{ {}.get(((((0,)*100,)*100,)*100,)*100) }}",
])
def test_no_heavy_value_is_compared_or_hashed(body):
    with pytest.raises(sandbox.LimitExceeded, match="作られる文字が多すぎます"):
        sandbox.run(sandbox.compile_template(body), SAMPLE)


def test_values_nested_too_deeply_are_refused():
    body = "{% macro nest(n) %}{% if n %}[{{ nest(n - 1) }}]{% endif %}{% endmacro %}{{ nest(10) }}"
    assert sandbox.run(sandbox.compile_template(body), SAMPLE) == "[" * 10 + "]" * 10
    body = "{% set a = 0 %}" + "{% set a = [a] %}" * 150 + "{{ a }}"
    with pytest.raises(sandbox.LimitExceeded, match="値の入れ子が深すぎます"):
        sandbox.run(sandbox.compile_template(body), SAMPLE)


def test_nothing_expensive_is_folded_at_compile_time():
    # Jinja evaluates constant expressions while compiling, where no budget applies: every filter and test
    # takes the context, so none of them is run before the render.
    source = "{{ 'ab'" + "|list|string" * 30 + "|length }}"
    template = sandbox.compile_template(source)
    with pytest.raises(sandbox.LimitExceeded, match="作られる文字が多すぎます"):
        sandbox.run(template, SAMPLE)


def test_ordinary_filters_and_comparisons_keep_their_behaviour():
    body = ("{{ candidate_name|upper }} {{ [3, 1, 2]|sort|join('-') }} {{ [[1], [2]]|sum(start=[]) }} "
            "{{ ['a', 'b']|map('upper')|join }} {{ open_positions|string }} {{ 'x' ~ 1 ~ [1] }} "
            "{{ (1, 2) in [(1, 2)] }} {{ {(1, 2): 'k'}[(1, 2)] }} {{ 'abcdef'[1:3] }} "
            "{{ [1, 2, 2]|unique|list }} {{ {'b': 1, 'a': 2}|dictsort }} {{ 'a b'|urlencode }} "
            "{{ range(3)|sum }} {{ [1, 2]|select('==', 2)|list }} {{ candidate_name.split() }}")
    assert sandbox.run(sandbox.compile_template(body), SAMPLE) == (
        "髙橋 𠮷子 1-2-3 [1, 2] AB ・バックエンドエンジニア x1[1] True k bc [1, 2] [('a', 2), ('b', 1)] a%20b "
        "3 [2] ['髙橋', '𠮷子']")
