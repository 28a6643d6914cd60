"""TSUNAGU_EMAIL_URL provider schemes and the event-webhook secret (tsunagu.config)."""

import json

import pytest
from django.core.management import call_command

from tsunagu import config


def test_sendgrid_url_keeps_the_key_as_written_and_reads_the_signed_webhook_key():
    parsed = config.email("sendgrid://SG.AbCd-Ef_gh.IjKlMn?webhook_key=MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE+ab/cd==")
    assert parsed.backend == "tsunagu.messaging.provider_backends.SendGridBackend"
    assert parsed.provider == "sendgrid"
    assert parsed.anymail["SENDGRID_API_KEY"] == "SG.AbCd-Ef_gh.IjKlMn"
    # An unencoded "+" in the query survives (base64 keys are pasted as SendGrid shows them).
    assert parsed.anymail["SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY"] == "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE+ab/cd=="
    assert parsed.anymail["REQUESTS_TIMEOUT"] == 30
    assert "SENDGRID_API_URL" not in parsed.anymail


def test_postmark_url_with_api_url_and_timeout():
    parsed = config.email("postmark://0f3b5c3e-1111-2222-3333-444455556666?api_url=http://127.0.0.1:9/&timeout=7")
    assert parsed.backend.endswith("PostmarkBackend")
    assert parsed.anymail == {"POSTMARK_SERVER_TOKEN": "0f3b5c3e-1111-2222-3333-444455556666",
                              "REQUESTS_TIMEOUT": 7, "POSTMARK_API_URL": "http://127.0.0.1:9/"}


def test_mailgun_url_with_domain_region_and_signing_key():
    parsed = config.email("mailgun://key-AbC123@mg.Acme.example?region=eu&webhook_key=whsec-XyZ")
    assert parsed.backend.endswith("MailgunBackend")
    assert parsed.anymail["MAILGUN_API_KEY"] == "key-AbC123"
    assert parsed.anymail["MAILGUN_SENDER_DOMAIN"] == "mg.acme.example"
    assert parsed.anymail["MAILGUN_API_URL"] == "https://api.eu.mailgun.net/v3"
    assert parsed.anymail["MAILGUN_WEBHOOK_SIGNING_KEY"] == "whsec-XyZ"
    # Without a domain each mail goes through its sender's domain; the US region is the default.
    bare = config.email("mailgun://key-AbC123@")
    assert "MAILGUN_SENDER_DOMAIN" not in bare.anymail
    assert bare.anymail["MAILGUN_API_URL"] == "https://api.mailgun.net/v3"


def test_ses_url_region_credentials_configuration_set_and_topics():
    parsed = config.email("ses://?region=ap-northeast-1")
    assert parsed.backend.endswith("AmazonSESBackend")
    assert parsed.provider == "amazon_ses"
    assert parsed.anymail == {"AMAZON_SES_SESSION_PARAMS": {},
                              "AMAZON_SES_CLIENT_PARAMS": {"region_name": "ap-northeast-1"}}
    full = config.email("ses://AKIAEXAMPLE:wJalr%2FK7MDENG%2BbPx@?region=us-east-1&configuration_set=tsunagu"
                        "&topic=arn:aws:sns:us-east-1:123456789012:ses-events"
                        "&topic=arn:aws:sns:us-east-1:123456789012:ses-bounces")
    assert full.anymail["AMAZON_SES_SESSION_PARAMS"] == {"aws_access_key_id": "AKIAEXAMPLE",
                                                         "aws_secret_access_key": "wJalr/K7MDENG+bPx"}
    assert full.anymail["AMAZON_SES_CONFIGURATION_SET_NAME"] == "tsunagu"
    assert full.sns_topic_arns == ("arn:aws:sns:us-east-1:123456789012:ses-events",
                                   "arn:aws:sns:us-east-1:123456789012:ses-bounces")
    # No region: boto3 reads AWS_REGION / AWS_DEFAULT_REGION like any AWS tool.
    assert config.email("ses://").anymail["AMAZON_SES_CLIENT_PARAMS"] == {}


@pytest.mark.parametrize(("url", "message"), [
    ("sendgrid://", "put the API key after sendgrid://"),
    ("sendgrid://user:pass@host", "put the API key after sendgrid://"),
    ("postmark://", "put the server token after postmark://"),
    ("postmark://token?region=eu", "unknown parameter 'region'"),
    ("postmark://token?timeout=soon", "timeout must be a number of seconds"),
    ("postmark://token?api_url=ftp://x", r"is not an http\(s\) URL"),
    ("mailgun://mg.acme.example", "write Mailgun as mailgun://API_KEY@SENDING_DOMAIN"),
    ("mailgun://key-1@mg.acme.example?region=asia", "Mailgun region 'asia' is unknown"),
    ("ses://?region=tokyo", "'tokyo' is not an AWS region"),
    ("ses://mail.example.com?region=us-east-1", "write Amazon SES as ses://"),
    ("ses://AKIAONLY@?region=us-east-1", "needs both the access key id and the secret"),
    ("ses://?topic=ses-events", "is not an SNS topic ARN"),
    ("ses://?region=us-east-1&region=eu-west-1", "given twice"),
    ("smtp://mail.example.jp?tls=yes", "unknown parameter 'tls'"),
    ("smtp://mail.example.jp:99999", "bad port"),
    ("pigeon://coop", "unsupported scheme 'pigeon'"),
])
def test_malformed_email_urls_are_refused_with_a_clear_error(url, message):
    with pytest.raises(config.ConfigError, match=message):
        config.email(url)


def test_errors_do_not_print_the_secret():
    with pytest.raises(config.ConfigError) as caught:
        config.email("postmark://super-secret-token?bogus=1")
    assert "super-secret-token" not in str(caught.value)
    with pytest.raises(config.ConfigError) as caught:
        config.email("mailgun://key-super-secret@mg.acme.example?region=mars")
    assert "key-super-secret" not in str(caught.value)


def test_webhook_secret_is_made_once_and_kept_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("TSUNAGU_EMAIL_WEBHOOK_SECRET", raising=False)
    first = config.email_webhook_secret(tmp_path)
    user, _, password = first.partition(":")
    assert user == "tsunagu" and len(password) >= 30
    assert config.email_webhook_secret(tmp_path) == first
    assert (tmp_path / "email_webhook_secret").stat().st_mode & 0o777 == 0o600


def test_webhook_secret_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TSUNAGU_EMAIL_WEBHOOK_SECRET", "hooks:s3cret")
    assert config.email_webhook_secret(tmp_path) == "hooks:s3cret"
    monkeypatch.setenv("TSUNAGU_EMAIL_WEBHOOK_SECRET", "no-colon")
    with pytest.raises(config.ConfigError, match="user:password"):
        config.email_webhook_secret(tmp_path)


def test_email_webhooks_command_prints_the_urls_with_the_secret(settings, capsys):
    settings.BASE_URL = "https://tsunagu.example.jp"
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": "tsunagu:p@ss"}
    settings.TSUNAGU_EMAIL_PROVIDER = "postmark"
    call_command("email_webhooks")
    printed = json.loads(capsys.readouterr().out)
    assert printed["provider"] == "postmark"
    assert printed["webhook_url"] == "https://tsunagu:p%40ss@tsunagu.example.jp/mail/events/postmark/tracking/"
    assert set(printed["all"]) == {"sendgrid", "amazon_ses", "postmark", "mailgun"}
    assert printed["all"]["amazon_ses"].endswith("/mail/events/amazon_ses/tracking/")
