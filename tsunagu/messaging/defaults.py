"""The default Japanese templates and follow-up steps every company starts with (editable in the console)."""

from tsunagu.messaging.models import MessageKind
from tsunagu.talent.stages import Stage


def months_to_days(months: int) -> int:
    """How the console turns "N か月" into days (a year is 365 days): 6 -> 182, 12 -> 365."""
    return months * 365 // 12


_FOLLOW_UP_6_MONTHS = {
    "subject": "その後いかがお過ごしでしょうか({{ company_name }})",
    "body_text": """{{ candidate_name }}様

ご無沙汰しております。{{ company_name }}の採用担当です。
以前は「{{ job_title }}」にご応募いただき、誠にありがとうございました。

その後いかがお過ごしでしょうか。
これからのキャリアについてご相談先をお探しでしたら、無料のキャリア支援サービス「{{ service_name }}」をご利用いただけます。専任のアドバイザーが、ご相談から求人のご紹介まで無料でお手伝いします。

▶ ご相談・ご登録はこちら(無料):{{ referral_url }}

ご利用は任意です。今後の弊社へのご応募に影響することはありません。

{{ candidate_name }}様のご健勝とご活躍を心よりお祈り申し上げます。

{{ signature }}
""",
}

_OPEN_POSITIONS = """{% if open_positions %}現在、弊社では次のポジションを募集しております。

{{ open_positions }}

ご経験やご希望に合うものがございましたら、あらためてご応募いただけましたら幸いです。ご関心をお持ちの際は、このメールにご返信ください。{% else %}弊社ではこれからも新しいポジションを公開してまいります。ご経験やご希望に合うものがございましたら、あらためてご応募いただけましたら幸いです。{% endif %}"""

_FOLLOW_UP_12_MONTHS = {
    "subject": "新しいポジションのご案内({{ company_name }})",
    "body_text": """{{ candidate_name }}様

ご無沙汰しております。{{ company_name }}の採用担当です。
以前は「{{ job_title }}」にご応募いただき、誠にありがとうございました。

その後いかがお過ごしでしょうか。
""" + _OPEN_POSITIONS + """

キャリアのご相談には、無料のキャリア支援サービス「{{ service_name }}」もご利用いただけます。
▶ ご相談・ご登録はこちら(無料):{{ referral_url }}

{{ candidate_name }}様のご活躍を心よりお祈り申し上げます。

{{ signature }}
""",
}

DEFAULT_TEMPLATES = {
    MessageKind.REJECTION: {
        "subject": "選考結果のご連絡({{ company_name }})",
        "body_text": """{{ candidate_name }}様

このたびは{{ company_name }}の「{{ job_title }}」にご応募いただき、誠にありがとうございました。
選考に貴重なお時間を割いていただきましたこと、心より御礼申し上げます。

慎重に選考を進めました結果、誠に残念ながら、今回はご期待に添えない結果となりました。

{{ candidate_name }}様のこれからのキャリアを応援したく、弊社が提携する無料のキャリア支援サービス「{{ service_name }}」をご案内いたします。専任のアドバイザーが、キャリアのご相談から求人のご紹介まで無料でお手伝いします。

▶ ご登録はこちら(無料):{{ referral_url }}

ご登録は任意です。ご登録の有無が今後の弊社へのご応募に影響することはありません。

末筆ながら、{{ candidate_name }}様の今後のご活躍を心よりお祈り申し上げます。

{{ signature }}
""",
    },
    # The kind's default: what a follow-up step without wording of its own says.
    MessageKind.FOLLOW_UP: _FOLLOW_UP_6_MONTHS,
    MessageKind.INVITATION: {
        "subject": "新しいポジションのご案内({{ company_name }})",
        "body_text": """{{ candidate_name }}様

{{ company_name }}の採用担当です。
以前は「{{ job_title }}」にご応募いただき、誠にありがとうございました。

{% if new_job_title %}このたび弊社では、新たに「{{ new_job_title }}」の募集を開始いたしました。以前ご応募いただいた際のご経歴から、ぜひ{{ candidate_name }}様にご案内したくご連絡いたしました。

{% endif %}""" + _OPEN_POSITIONS + """

{{ signature }}
""",
    },
    MessageKind.WELCOME_BACK: {
        "subject": "あらためてのご応募ありがとうございます({{ company_name }})",
        "body_text": """{{ candidate_name }}様

このたびは{{ company_name }}の「{{ job_title }}」にご応募いただき、誠にありがとうございます。
以前のご応募に続き、再び弊社に関心をお寄せいただけたこと、心より御礼申し上げます。

選考の結果につきましては、あらためてご連絡いたします。今しばらくお待ちくださいませ。

{{ signature }}
""",
    },
    # The relay operator's mail (installed for the operator's party; a company's copy is never used).
    MessageKind.VERIFICATION: {
        "subject": "【{{ service_name }}】メールアドレスのご確認",
        "body_text": """{{ candidate_name }}様

{{ service_name }}へのご登録のお申し込み、ありがとうございます。{% if via_company %}
({{ via_company }}からのご案内メールをきっかけにお申し込みいただきました。){% endif %}
下のリンクを開き、「登録を完了する」を押してください。ご登録が完了します。

{{ verify_url }}

リンクの有効期限は{{ expires_days }}日間です。
お心当たりのない場合は、このメールを破棄してください。登録は行われません。

――――――――――――――――
{{ service_name }}
運営:{{ operator_name }}{% if licence_number %}(有料職業紹介事業 許可番号 {{ licence_number }}){% endif %}
お問い合わせ:{{ operator_contact }}
""",
    },
}

# Wording of particular follow-up steps, by (kind, step number).
DEFAULT_STEP_TEMPLATES = {
    (MessageKind.FOLLOW_UP, 1): _FOLLOW_UP_6_MONTHS,
    (MessageKind.FOLLOW_UP, 2): _FOLLOW_UP_12_MONTHS,
}

# The follow-up sequence a company starts with: about 6 and 12 months after the rejection, to everyone
# rejected (no stage, tag or reason condition), each with its own wording above.
DEFAULT_FOLLOW_UP_STEPS = (
    {"step": 1, "kind": MessageKind.FOLLOW_UP, "delay_days": months_to_days(6), "min_stage": Stage.UNKNOWN},
    {"step": 2, "kind": MessageKind.FOLLOW_UP, "delay_days": months_to_days(12), "min_stage": Stage.UNKNOWN},
)
