"""The consent texts a candidate agrees to. A change of wording gets a new version."""

from django.conf import settings
from django.utils.translation import gettext as _

CONSENT_VERSION = "2026-11-21"


def consent_texts(company) -> dict[str, str]:
    relay = settings.TSUNAGU_RELAY
    return {
        "purpose": _(
            "%(operator)sは、ご登録いただいた氏名・メールアドレス・希望職種・希望勤務地を、キャリア相談、"
            "求人のご紹介およびそのためのご連絡に限って利用します。保存期間はご登録から%(years)d年間、"
            "またはご本人が削除を依頼されるまでです。"
        ) % {"operator": relay["operator_name"], "years": max(1, company.retention_days // 365)},
        "provision": _(
            "ご本人の同意のもと、求人のご紹介のために、%(operator)sが提携する人材紹介会社および求人企業へ、"
            "上記の情報を提供することがあります。%(company)sには、ご登録があったことのみが通知されます。"
        ) % {"operator": relay["operator_name"], "company": company.name},
    }
