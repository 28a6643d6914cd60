"""Every schema of the API has its own name: the OpenAPI document keys its components by class name, so a
second `JobIn` elsewhere would silently replace the first in the document (and clients generated from it)."""

from collections import defaultdict

from ninja import Schema

import tsunagu.api  # noqa: F401 - imports every router and its schemas


def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)


def test_schema_class_names_are_unique():
    modules = defaultdict(set)
    for schema in subclasses(Schema):
        if schema.__module__.startswith("tsunagu."):
            modules[schema.__name__].add(schema.__module__)
    assert {name: places for name, places in modules.items() if len(places) > 1} == {}
