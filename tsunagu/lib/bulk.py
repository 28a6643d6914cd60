"""Bulk SQL for the measured hot paths (the CSV import): multi-row INSERTs and executemany UPDATEs of plain
models, and `IN` filters over many values, for SQLite and PostgreSQL alike. Knows no app: callers pass their
models. Only writing modules (an app's actions) call the writing functions here."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from operator import attrgetter

from django.db import connections, models, router
from django.db.models import signals
from django.db.models.base import ModelState
from django.db.models.expressions import RawSQL
from django.utils import timezone

# Values per `IN (...)` list: below SQLite's oldest limit of 999 variables per statement, with room for the
# company id and other parameters of the same query.
IN_LIST_SIZE = 900


def in_lists(values: Iterable, size: int = IN_LIST_SIZE) -> Iterator[list]:
    """The values, de-duplicated, in lists short enough for one `IN (...)` each on every database."""
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), size):
        yield unique[start:start + size]


def batch_writes_supported(model: type[models.Model]) -> bool:
    """Whether the database gives new rows' ids back from a multi-row INSERT (RETURNING), which batch
    writers need: PostgreSQL, and SQLite from 3.35 on (Python's own builds have it; some system ones do not)."""
    connection = connections[router.db_for_write(model)]
    return connection.vendor in ("postgresql", "sqlite") and connection.features.can_return_rows_from_bulk_insert


def filter_in(queryset: models.QuerySet, field: str, values: Iterable) -> Iterator[models.QuerySet]:
    """`queryset` filtered by `field IN values`, as the queries to run (none for no values).

    On SQLite an IN list per IN_LIST_SIZE values (its limit of variables per statement). On PostgreSQL one
    query with the values as one array, `IN (SELECT unnest(%s))`: a long IN list made its planner read all
    the company's rows (17 ms for 900 keys among 100,000 events) where the semi-join probes the unique
    index (4 ms), and psycopg parses one placeholder instead of 900.
    """
    values = list(dict.fromkeys(values))
    if not values:
        return
    connection = connections[queryset.db]
    if connection.vendor == "postgresql":
        meta = queryset.model._meta
        model_field = meta.pk if field == "pk" else meta.get_field(field)
        db_type = model_field.db_type(connection).split("(")[0]
        yield queryset.filter(**{f"{field}__in": RawSQL(f"SELECT unnest(%s::{db_type}[])", (values,))})
        return
    for part in in_lists(values):
        yield queryset.filter(**{f"{field}__in": part})


# --- bulk statements -------------------------------------------------------------------------------
# What bulk_create and bulk_update do for these plain models, several times faster on a CSV import: Django
# compiles every value of a bulk_create through several layers (about 15 µs per value, most of a 100,000-row
# import), and bulk_update builds a CASE WHEN per object and field. Here the conversion to a query parameter
# is chosen once per field, datetimes are converted once per distinct value, and the SQL is a multi-row
# INSERT ... RETURNING (SQLite >= 3.35, see batch_writes_supported) or INSERT ... SELECT FROM UNNEST of one
# array per column (PostgreSQL), and an executemany UPDATE. Values are parameters, never part of the SQL.

_STRING_FIELDS = {"CharField", "TextField", "EmailField", "SlugField", "URLField"}
_INTEGER_FIELDS = {"AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField", "SmallIntegerField",
                   "PositiveIntegerField", "PositiveSmallIntegerField", "PositiveBigIntegerField"}


def _parameter(field: models.Field, connection) -> Callable:
    """A function from a field's Python value to its query parameter, as field.get_db_prep_save gives it."""
    kind = field.get_internal_type()
    if field.is_relation:
        kind = field.target_field.get_internal_type()

    def generic(value):
        return field.get_db_prep_save(value, connection)

    if kind in _STRING_FIELDS:
        return lambda value: value if value.__class__ is str else generic(value)
    if kind in _INTEGER_FIELDS:
        return lambda value: value if value is None or value.__class__ is int else int(value)
    if kind == "BooleanField":
        return lambda value: value if value is None or value.__class__ is bool else bool(value)
    if kind == "DateTimeField":
        converted: dict = {}

        def datetime_parameter(value):
            try:
                return converted[value]
            except KeyError:
                converted[value] = result = generic(value)
                return result
            except TypeError:  # not hashable
                return generic(value)

        return datetime_parameter
    return generic


class _Columns:
    """The fields of one statement and how their values become query parameters: strings as they are, the
    others through _parameter, a relation assigned while its object was unsaved by that object's new id."""

    def __init__(self, fields: Sequence[models.Field], connection):
        self.fields = list(fields)
        self.converted = [(index, _parameter(f, connection)) for index, f in enumerate(self.fields)
                          if f.get_internal_type() not in _STRING_FIELDS]
        self.strings = [(index, _parameter(f, connection)) for index, f in enumerate(self.fields)
                        if f.get_internal_type() in _STRING_FIELDS]
        self.relations = [(index, f) for index, f in enumerate(self.fields) if f.is_relation]
        attnames = [f.attname for f in self.fields]
        getter = attrgetter(*attnames)
        self.get = getter if len(attnames) > 1 else (lambda obj: (getter(obj),))

    def values(self, obj: models.Model) -> list:
        return self.convert(list(self.get(obj)), obj)

    def convert(self, row: list, obj: models.Model | None = None) -> list:
        if obj is not None:
            for index, relation in self.relations:
                if row[index] is None:
                    # Assigned while unsaved and saved since (as _prepare_related_fields_for_save does in save()).
                    related = relation.get_cached_value(obj, None)
                    if related is not None and related.pk is not None:
                        row[index] = related.pk
                        setattr(obj, relation.attname, related.pk)
        for index, parameter in self.converted:
            if row[index] is not None:
                row[index] = parameter(row[index])
        for index, parameter in self.strings:
            value = row[index]
            if value is not None and value.__class__ is not str:
                row[index] = parameter(value)
        return row


def new_instance(model: type[models.Model], **values) -> models.Model:
    """model(**values) for attnames (company_id=..., not company=...), without Model.__init__'s per-field work
    (a third of a CSV import's time when it ran twice per row): the instance dict gets the fields' defaults and
    the values, as __init__ leaves it. Models with pre_init/post_init receivers go through __init__."""
    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        return model(**values)
    defaults = _DEFAULTS.get(model)
    if defaults is None:
        defaults = _DEFAULTS[model] = [
            (f.attname, f.default if f.has_default() and callable(f.default) else None,
             None if f.has_default() and callable(f.default) else f.get_default())
            for f in model._meta.concrete_fields
        ]
    obj = model.__new__(model)
    state = obj.__dict__
    for attname, make, constant in defaults:
        state[attname] = make() if make is not None else constant
    state.update(values)
    state["_state"] = ModelState()
    return obj


_DEFAULTS: dict[type, list] = {}


def _rows_per_statement(connection, columns: int) -> int:
    """For SQLite's one placeholder per value: its limit of variables (999 before 3.32, 32766 since)."""
    try:
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    except AttributeError:  # Python < 3.11
        limit = 999
    return max(1, min(limit // columns, 1000))


def _insert(connection, model: type[models.Model], fields: Sequence[models.Field], rows: list[list], *,
            returning: bool) -> list:
    """INSERT rows of query parameters (in the order of `fields`); the new primary keys in row order when
    `returning` (SQLite and PostgreSQL give RETURNING rows in insertion order; bulk_create relies on it too)."""
    meta = model._meta
    quote = connection.ops.quote_name
    head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
    tail = f" RETURNING {quote(meta.pk.column)}" if returning else ""
    pks: list = []
    if connection.vendor == "postgresql":
        # One array per column, as bulk_create does on PostgreSQL: a short statement, parsed once. The arrays go
        # in binary (%b), on a cursor of psycopg's own (Django's quotes every value into the SQL text, which was
        # 5 times slower and most of the import's time); errors are raised as Django's all the same.
        arrays = ", ".join(f"(%b)::{f.db_type(connection).split('(')[0]}[]" for f in fields)
        statement = f"{head}SELECT * FROM UNNEST({arrays}){tail}"
        from psycopg import Cursor  # Django's connection makes ClientCursors, which quote values into the SQL

        with connection.wrap_database_errors, Cursor(connection.connection) as cursor:
            for start in range(0, len(rows), 5000):
                cursor.execute(statement, [list(column) for column in zip(*rows[start:start + 5000], strict=True)])
                if returning:
                    pks.extend(pk for (pk,) in cursor.fetchall())
        return pks
    one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = _rows_per_statement(connection, len(fields))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            batch = rows[start:start + per_statement]
            cursor.execute(f"{head}VALUES {', '.join([one_row] * len(batch))}{tail}", [v for row in batch for v in row])
            if returning:
                pks.extend(pk for (pk,) in cursor.fetchall())
    return pks


def insert_objects(model: type[models.Model], objs: list, *, now: datetime | None = None) -> None:
    """INSERT new instances of `model` (with an auto-increment primary key) and set their primary keys.
    auto_now and auto_now_add fields are set to `now` (default: the current time), as save() does."""
    if not objs:
        return
    connection = connections[router.db_for_write(model)]
    connection.ensure_connection()
    meta = model._meta
    now = now or timezone.now()
    stamps = [f.attname for f in meta.concrete_fields
              if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    for obj in objs:
        for attname in stamps:
            setattr(obj, attname, now)
    fields = [f for f in meta.concrete_fields if f is not meta.pk]
    columns = _Columns(fields, connection)
    pks = _insert(connection, model, fields, [columns.values(obj) for obj in objs], returning=True)
    for obj, pk in zip(objs, pks, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias


def insert_rows(model: type[models.Model], field_names: Sequence[str], rows: Iterable[Sequence]) -> None:
    """INSERT plain rows (values in the order of `field_names`) into the table of `model`, without instances."""
    rows = list(rows)
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    connection.ensure_connection()
    fields = [model._meta.get_field(name) for name in field_names]
    columns = _Columns(fields, connection)
    _insert(connection, model, fields, [columns.convert(list(row)) for row in rows], returning=False)


def update_objects(model: type[models.Model], objs: list, field_names: Sequence[str]) -> None:
    """UPDATE the named fields of saved instances, one parameter set per object (executemany)."""
    if not objs:
        return
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    fields = [meta.get_field(name) for name in field_names]
    columns = _Columns(fields, connection)
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[*columns.values(obj), obj.pk] for obj in objs])
