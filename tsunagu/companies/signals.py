"""What companies announce to the apps above them, which companies cannot import (layers)."""

from django.dispatch import Signal

# Sent inside create_company's transaction, with `company`: apps give a new company what it needs to start
# (messaging: the default templates and follow-up sequence).
company_created = Signal()
