"""One module per ATS, each turning the vendor's requests or records into normalised application events.

Adding an ATS = adding one module here with an `ADAPTER` object (see base.Adapter, or base.PolledAdapter for
an ATS Tsunagu polls) and its tests: the registry below finds it, and the connection form, the command line,
the webhook endpoint and the scheduler take their lists of kinds from the registry. A module without
`ADAPTER` (base, or the API client a large adapter keeps apart) is not an ATS.
"""

from __future__ import annotations

import pkgutil
from functools import cache
from importlib import import_module

from tsunagu.intake.adapters.base import Adapter


@cache
def _registry() -> dict[str, Adapter]:
    found = []
    for module in pkgutil.iter_modules(__path__):
        adapter = getattr(import_module(f"{__name__}.{module.name}"), "ADAPTER", None)
        if isinstance(adapter, Adapter):
            found.append(adapter)
    return {adapter.kind: adapter for adapter in sorted(found, key=lambda a: (a.position, a.kind))}


def all_adapters() -> list[Adapter]:
    """Every ATS, in the order the console and the command line list them."""
    return list(_registry().values())


def adapter_for(kind: str) -> Adapter:
    """The adapter of a known kind (KeyError for any other)."""
    return _registry()[kind]


def find_adapter(kind: str) -> Adapter | None:
    return _registry().get(kind)


def kinds() -> list[str]:
    return list(_registry())


def pushed_kinds() -> list[str]:
    """The ATSs that post webhooks."""
    return [adapter.kind for adapter in all_adapters() if not adapter.pulled]


def pulled_kinds() -> list[str]:
    """The ATSs Tsunagu polls."""
    return [adapter.kind for adapter in all_adapters() if adapter.pulled]


def kind_choices() -> list[tuple[str, str]]:
    """(kind, label) of every ATS: the choices of AtsConnection.kind, so a new ATS needs no migration."""
    return [(adapter.kind, adapter.label) for adapter in all_adapters()]
