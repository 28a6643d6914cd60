"""What the management commands behind `tsunagu ...` share."""

from django.core.exceptions import ValidationError


def validation_message(exc: ValidationError) -> str:
    """A ValidationError as one line for the command line: `field: message; field: message`."""
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
    return " ".join(exc.messages)
