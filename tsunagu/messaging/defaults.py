"""The default Japanese templates every new company starts with (editable in the console)."""

from tsunagu.messaging.models import MessageKind

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
    MessageKind.VERIFICATION: {
        "subject": "【{{ service_name }}】メールアドレスのご確認",
        "body_text": """{{ candidate_name }}様

{{ service_name }}へのご登録のお申し込み、ありがとうございます。
下のリンクを開き、「登録を完了する」を押してください。ご登録が完了します。

{{ verify_url }}

リンクの有効期限は{{ expires_days }}日間です。
お心当たりのない場合は、このメールを破棄してください。登録は行われません。

{{ service_name }}({{ operator_name }})
""",
    },
}
