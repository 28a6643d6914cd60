"""One module per ATS, each turning the vendor's request into normalised application events.

Adding an ATS = adding one module here with an `ADAPTER` object (see base.Adapter) and its tests.
"""

from importlib import import_module

from tsunagu.intake.adapters.base import Adapter


def adapter_for(kind: str) -> Adapter:
    return import_module(f"tsunagu.intake.adapters.{kind}").ADAPTER
