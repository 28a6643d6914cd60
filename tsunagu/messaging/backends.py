"""The capture:// transport: keeps each mail in the database instead of sending it."""

from django.core.mail.backends.base import BaseEmailBackend


class CaptureEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        from tsunagu.messaging.models import CapturedMail

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
