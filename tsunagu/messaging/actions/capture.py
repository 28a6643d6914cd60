"""Keeping mail in the database instead of sending it: the capture:// transport (development and demos)."""

from __future__ import annotations

from tsunagu.messaging.models import CapturedMail


def capture_mail(email_messages) -> int:
    """Store each mail as it would have gone out (its MIME text); returns how many."""
    rows = []
    for message in email_messages:
        mime = message.message()
        rows.append(
            CapturedMail(
                message_id=mime.get("Message-ID", ""),
                to=", ".join(message.recipients()),
                subject=message.subject,
                raw=mime.as_string(),
            )
        )
    CapturedMail.objects.bulk_create(rows)
    return len(rows)
