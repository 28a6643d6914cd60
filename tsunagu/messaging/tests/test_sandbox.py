"""The template sandbox: internals, unbounded loops and memory bombs are refused at save with the line and a
Japanese reason, quickly; and at send time they fail one message, never hang a worker."""

import threading

import pytest
from django.core.exceptions import ValidationError

from tsunagu.messaging import rendering
from tsunagu.messaging.actions import templates
from tsunagu.messaging.models import MessageKind, MessageTemplate

pytestmark = pytest.mark.django_db

LONG = "x" * 200


def refused(company, body, kind=MessageKind.REJECTION) -> str:
    with pytest.raises(ValidationError) as error:
        templates.save_template(company, kind, subject="件名", body_text=body)
    assert MessageTemplate.objects.filter(company=company, kind=kind).count() == (3 if kind == "follow_up" else 1)
    return " ".join(error.value.message_dict["body_text"])


@pytest.mark.parametrize(("body", "expected"), [
    ("{{ ''.__class__.__mro__ }}", "1行目: 「__class__」のような内部の属性は使えません。"),
    ("{{ candidate_name.__class__ }}", "1行目: 「__class__」"),
    ("こんにちは\n{{ candidate_name['__class__'].__subclasses__() }}", "2行目: 「__class__」"),
    ("{{ candidate_name.__init__.__globals__ }}", "のような内部の属性は使えません"),
    ("{{ (candidate_name|list).__len__() }}", "「__len__」"),
    ("{% include 'secrets.txt' %}", "include・import・extends・block は使えません"),
    ("{{ candidate_name.encode() }}", "「encode」は使えません"),
    ("{{ '{0.__class__}'.format(candidate_name) }}", "「format」は使えません"),
    ("{{ lipsum(10) }}", "使えない変数です: lipsum"),
    ("{{ cycler }}{{ namespace }}", "使えない変数です: cycler, namespace"),
    ("{{ candidate_name|attr('upper') }}", "使えないフィルタです: attr"),
    ("{% set l = [1] %}{% for i in l %}{{ l.append(i) }}{% endfor %}", "安全のため使えない操作です"),
])
def test_reaching_internals_is_refused(company, body, expected):
    assert expected in refused(company, body)


@pytest.mark.parametrize(("body", "expected"), [
    ("{% for i in range(10**9) %}x{% endfor %}", "繰り返しが多すぎます(range は10,000回まで)"),
    ("{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}", "繰り返しや呼び出しが多すぎます"),
    (f"{{% for a in '{LONG}' %}}{{% for b in '{LONG}' %}}{{% for c in '{LONG}' %}}{{% endfor %}}{{% endfor %}}{{% endfor %}}",
     "繰り返しや呼び出しが多すぎます"),
    ("{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}",
     "繰り返しや呼び出しが多すぎます"),
    ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "呼び出しの入れ子が深すぎます"),
    ("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", "呼び出しの入れ子が深すぎます"),
    ("{{ 'x' * 10**9 }}", "作られる文字が多すぎます(1通あたり200,000文字まで)"),
    ("{{ [0] * 10**8 }}", "作られる文字が多すぎます"),
    ("{{ 10**100000 }}", "大きすぎる値は作れません"),
    ("{% set a = 'xxxxxxxxxx' %}" + "{% set a = a ~ a %}" * 40, "作られる文字が多すぎます"),
    ("{% set a %}xxxxxxxxxx{% endset %}" + "{% set a %}{{ a }}{{ a }}{% endset %}" * 40, "作られる文字が多すぎます"),
    ("{% for i in range(9999) %}" + "本文" * 500 + "{% endfor %}", "作られる文字が多すぎます"),
    ("{{ range(5000)|join('x' * 1000) }}", "作られる文字が多すぎます"),
    ("{{ candidate_name|replace('', 'y' * 100000) }}", "作られる文字が多すぎます"),
    ("{{ '" + "x" * 9000 + "'|replace('', '" + "y" * 9000 + "') }}", "作られる文字が多すぎます"),
    ("{{ candidate_name.replace('', 'y' * 100000) }}", "作られる文字が多すぎます"),
    ("{{ '%0999999999d' % 1 }}", "文字列の「%」による書式指定は使えません"),
    ("{{ candidate_name.ljust(10**9) }}", "「ljust」は使えません"),
    ("{{ 'x'|center(10**9) }}", "使えないフィルタです: center"),
])
def test_endless_loops_and_huge_output_are_refused_quickly(company, body, expected):
    message = refused(company, body)
    assert expected in message, message


def test_the_line_of_a_runtime_problem_is_named(company):
    message = refused(company, "{{ candidate_name }}様\n\n{% for i in range(10**9) %}x{% endfor %}")
    assert message.startswith("3行目: 見本データで表示できません: 繰り返しが多すぎます")


def test_ordinary_templates_still_work(company):
    body = ("{{ candidate_name|upper }}様 {{ candidate_name.replace('髙', '高') }}\n"
            "{% for job in open_positions %}{{ loop.index }}. {{ job }}\n{% endfor %}"
            "{% macro line(text) %}― {{ text }} ―{% endmacro %}{{ line(company_name) }}\n"
            "{{ open_positions|join('、') }} {{ range(3)|list|length }} {{ 2 ** 10 }} {{ '=' * 10 }}")
    saved = templates.save_template(company, MessageKind.FOLLOW_UP, subject="{{ company_name }}", body_text=body)
    text = rendering.render(saved.subject, saved.body_text, rendering.sample_context(MessageKind.FOLLOW_UP)).text
    assert text.splitlines()[:4] == ["髙橋 𠮷子様 高橋 𠮷子", "1. バックエンドエンジニア", "2. カスタマーサクセス",
                                     "― 株式会社サンプル ―"]
    assert "バックエンドエンジニア、カスタマーサクセス 3 1024 ==========" in text


def test_a_template_that_explodes_only_with_real_data_fails_one_message_without_hanging(company):
    # Passes at save with the sample name; with this candidate's name it would loop 10**8 times.
    body = ("{% if candidate_name == '山田 太郎' %}{% for i in range(10000) %}{% for j in range(10000) %}"
            "{% endfor %}{% endfor %}{% endif %}{{ candidate_name }}様")
    templates.save_template(company, MessageKind.REJECTION, subject="件名", body_text=body)
    outcome = {}

    def render_in_a_worker_thread():
        try:
            rendering.render("件名", body, {"candidate_name": "山田 太郎", "company_name": "株式会社"})
        except rendering.RenderError as exc:
            outcome["error"] = str(exc)

    worker = threading.Thread(target=render_in_a_worker_thread)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert "1行目: 繰り返しや呼び出しが多すぎます" in outcome["error"]
    # The budget belongs to one render: the next one starts afresh.
    assert rendering.render("件名", "{{ candidate_name }}様", {"candidate_name": "山田 太郎"}).text == "山田 太郎様\n"
