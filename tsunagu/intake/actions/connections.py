"""Connecting a company to an ATS, and the names the connection maps onto Tsunagu's."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from tsunagu.companies.models import Company
from tsunagu.intake.adapters import find_adapter
from tsunagu.intake.models import AtsConnection
from tsunagu.lib import outbound
from tsunagu.talent.stages import Stage


def add_connection(company: Company, *, kind: str, secret: str = "", api_key: str = "",
                   api_base_url: str = "") -> AtsConnection:
    """A new connection, its credentials checked by the ATS's adapter (which also gives its first mapping)."""
    adapter = find_adapter(kind)
    if adapter is None:
        raise ValidationError({"kind": _("対応していない種類です: %(kind)s") % {"kind": kind}})
    adapter.check_credentials(secret=secret or "", api_key=api_key or "")
    if (api_base_url or "").strip():
        # The server will send the tenant's key there: https, a public address, nothing that bends the path.
        try:
            api_base_url = outbound.check_base_url(api_base_url)
        except ValidationError as exc:
            raise ValidationError({"api_base_url": exc.messages}) from None
    else:
        api_base_url = ""
    connection = AtsConnection(company=company, kind=kind, secret=secret if adapter.uses_secret else "",
                               api_key=(api_key or "").strip(), api_base_url=api_base_url,
                               stage_mapping=dict(adapter.default_stage_mapping))
    connection.full_clean()
    connection.save()
    return connection


def update_mappings(connection: AtsConnection, *, stage_mapping: dict, reason_mapping: dict) -> AtsConnection:
    valid_stages = {str(stage.value) for stage in Stage}
    bad = [name for name, value in stage_mapping.items() if str(value) not in valid_stages]
    if bad:
        raise ValidationError(_("選考ステップの対応が正しくありません: %(names)s") % {"names": ", ".join(bad)})
    connection.stage_mapping = {str(k).strip(): int(v) for k, v in stage_mapping.items() if str(k).strip()}
    connection.reason_mapping = {str(k).strip(): str(v).strip() for k, v in reason_mapping.items()
                                 if str(k).strip() and str(v).strip()}
    connection.save(update_fields=["stage_mapping", "reason_mapping"])
    return connection
