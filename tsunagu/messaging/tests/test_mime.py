"""The hand-assembled MIME: any text survives RFC 2047 encoding, and no line outgrows RFC 5322's 78."""

import email
from email.header import decode_header, make_header

from hypothesis import given
from hypothesis import strategies as st

from tsunagu.messaging.mime import NoticeEmail, encoded_words

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=200)


@given(value=TEXT, used=st.integers(min_value=4, max_value=30))
def test_encoded_words_decode_to_the_original_and_fit_the_line(value, used):
    encoded = encoded_words(value, first_line_used=used)
    lines = encoded.split("\n")
    assert len(lines[0]) + used <= 78
    assert all(len(line) <= 78 for line in lines)
    assert all(len(word.strip()) <= 75 for word in lines)  # RFC 2047's limit per encoded word
    assert str(make_header(decode_header(encoded))) == value


@given(subject=TEXT, name=TEXT, body=st.text(min_size=1, max_size=3000))
def test_a_built_mail_parses_back_to_what_was_put_in(subject, name, body):
    subject = " ".join(subject.split()) or "件名"
    name = " ".join(name.split()) or "名前"
    mail = NoticeEmail(subject=subject, text=body, html=f"<p>{body}</p>", from_name="株式会社アクメ 採用担当",
                       from_email="recruit@acme.example", to_name=name, to_email="c@example.jp",
                       message_id="<1@acme.example>").message()
    raw = mail.as_bytes(linesep="\r\n")
    assert all(len(line) <= 78 for line in raw.split(b"\r\n"))
    parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert str(make_header(decode_header(parsed["Subject"]))) == subject
    assert str(make_header(decode_header(parsed["To"]))).endswith(" <c@example.jp>")
    assert str(make_header(decode_header(parsed["To"]))).startswith(name) or len(name) < 60
    text, html = (part.get_payload(decode=True).decode("utf-8") for part in parsed.walk() if not part.is_multipart())
    assert text == body and html == f"<p>{body}</p>"
