"""The full-text index over Candidate.search_tokens, one condition for both databases.

The tokens (talent.search_index) are words of letters, digits and marks separated by single spaces, already
folded as queries are: matching is exact token equality, so neither database may parse them again.

- SQLite: an FTS5 external-content table `talent_candidate_fts` (tokenizer unicode61, which keeps each such
  token whole), kept in sync by triggers on talent_candidate (migration 0005): rows written by bulk
  statements (lib.bulk) are indexed too.
- PostgreSQL: a stored generated column `search_vector` = `array_to_tsvector(string_to_array(search_tokens,
  ' '))` with a GIN index (migration 0005): the tokens as lexemes as they are, whatever the database's locale
  (to_tsvector's parser drops Japanese letters under LC_CTYPE=C and splits 2023年 in two), queried with a
  tsquery of quoted lexemes. No extension needed. The column is not on the model: Django never writes it.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connections, transaction
from django.db.models import BooleanField, Expression, F, Field, Func, QuerySet

from tsunagu.talent.search_index import fts_phrase, tsquery_lexeme

FTS_TABLE = "talent_candidate_fts"
RECENCY_INDEX = "candidate_recent_idx"  # (company, -last_applied_at) of talent.models.Candidate
# PostgreSQL's generated column of the tokens as a tsvector (indexed with GIN).
PG_VECTOR_COLUMN = "search_vector"


def fts5_expression(groups: list[list[list[str]]]) -> str:
    """FTS5 MATCH text: every group (a query word) must match; a group matches if all tokens of one of its
    token sets are there."""
    return " AND ".join(
        "(" + " OR ".join("(" + " AND ".join(fts_phrase(t) for t in tokens) + ")" for tokens in group) + ")"
        for group in groups
    )


def tsquery_expression(groups: list[list[list[str]]]) -> str:
    """The same as a PostgreSQL tsquery literal (cast with ::tsquery, not parsed by to_tsquery)."""
    return " & ".join(
        "(" + " | ".join("(" + " & ".join(tsquery_lexeme(t) for t in tokens) + ")" for tokens in group) + ")"
        for group in groups
    )


def clean_groups(groups) -> list[list[list[str]]]:
    """Token sets without empty tokens or empty sets; groups left without any set are dropped."""
    cleaned = []
    for group in groups:
        sets = [[token for token in tokens if token] for tokens in group]
        sets = [tokens for tokens in sets if tokens]
        if sets:
            cleaned.append(sets)
    return cleaned


class TokensMatch(Expression):
    """A boolean condition on Candidate: its search_tokens match `groups` (see fts5_expression). Compiled
    against the query's own alias of the candidate table, so it works inside subqueries too."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, groups: list[list[list[str]]], pk=None, tokens=None):
        super().__init__()
        self.groups = groups
        self.pk = pk if pk is not None else F("pk")
        self.tokens = tokens if tokens is not None else F("search_tokens")

    def get_source_expressions(self):
        return [self.pk, self.tokens]

    def set_source_expressions(self, exprs):
        self.pk, self.tokens = exprs

    def as_sql(self, compiler, connection):
        if connection.vendor == "postgresql":
            column, params = compiler.compile(self.tokens)  # "<alias>"."search_tokens" of this query
            vector = column[: column.rindex(".") + 1] + connection.ops.quote_name(PG_VECTOR_COLUMN)
            return f"{vector} @@ %s::tsquery", [*params, tsquery_expression(self.groups)]
        if connection.vendor == "sqlite":
            column, params = compiler.compile(self.pk)
            return (f"{column} IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s)",
                    [*params, fts5_expression(self.groups)])
        raise NotImplementedError(f"no full-text index on {connection.vendor}")

    def get_group_by_cols(self):
        return []


def newest_in_walk(rows: QuerySet, groups: list[list[list[str]]], start: int, stop: int) -> list:
    """rows[start:stop] of `rows` matching `groups`, most recently applied first, read by
    walking the recency index and checking each row: for a match too broad to sort whole (the caller knows it is
    broad), the first rows fill a page. Both planners would otherwise read every match first: SQLite
    because the id leads its plan, PostgreSQL because it underestimates a match of several words (134 rows
    estimated for 14,497 found, 110 ms against 21 ms for the walk, measured at 1,000,000 people)."""
    connection = connections[rows.db]
    if connection.vendor == "sqlite" and groups:
        # The recency index by name: with a filter that has its own index (stage), SQLite took that one and
        # sorted every row it found (228 ms for たかはし from 一次面接 on, measured at 1,000,000 people).
        ids = [row[0] for row in _select_matching(
            rows, groups, '{table}."id"', f"{{table}} INDEXED BY {RECENCY_INDEX}",
            f'{{table}}."id" IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s)',
            '{table}."last_applied_at" DESC, {table}."id" DESC LIMIT %s OFFSET %s', [stop - start, start])]
        found = rows.model.objects.in_bulk(ids)
        return [found[pk] for pk in ids if pk in found]
    walk = rows.filter(TokensMatch(groups)) if groups else rows
    walk = walk.order_by("-last_applied_at", "-pk")[start:stop]
    if connection.vendor != "postgresql" or not groups:
        return list(walk)
    with planner_without(connection, "enable_bitmapscan", "enable_seqscan"):
        return list(walk)


@contextmanager
def planner_without(connection, *settings: str):
    """PostgreSQL: these planner methods (enable_bitmapscan, …) off for the queries inside, in a transaction
    (SET LOCAL), and as they were again afterwards: in a caller's longer transaction, SET LOCAL alone would
    last to its end and spoil the plans of every query after."""
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        # One round trip each way (each costs about a millisecond on a page that makes twenty).
        cursor.execute(f"SELECT {', '.join('current_setting(%s)' for _ in settings)}", list(settings))
        before = cursor.fetchone()
        cursor.execute(f"SELECT {', '.join('set_config(%s, %s, true)' for _ in settings)}",
                       [value for name in settings for value in (name, "off")])
        try:
            yield
        finally:
            cursor.execute(f"SELECT {', '.join('set_config(%s, %s, true)' for _ in settings)}",
                           [value for pair in zip(settings, before, strict=True) for value in pair])


class RecencyKey(Func):
    """A candidate's last application as a key that sorts as the database sorts the column, cheaper to read
    than a datetime (parsing 2,000 of them was a third of reading the rows on PostgreSQL): SQLite's stored
    text (what its ORDER BY compares), PostgreSQL's epoch seconds (float8 keeps every microsecond apart).
    None when there is no application date."""

    output_field = Field()  # text on SQLite, a float on PostgreSQL: only compared, never shown

    def __init__(self):
        super().__init__(F("last_applied_at"))

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="CAST(%(expressions)s AS TEXT)", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::float8", **extra)


def newest_matches(rows: QuerySet, groups: list[list[list[str]]], limit: int, columns: tuple[str, ...]) -> list[tuple]:
    """(pk, RecencyKey, *columns (plain fields of the candidate)) of up to `limit` of `rows` (candidates, any
    filters, unordered) matching `groups`, read in the index's own order so that the work stops with the
    limit, however many match: on SQLite led by the FTS5 table, newest id first (the ORM's `id IN (SELECT
    rowid ...)` would read every match first); on PostgreSQL in the GIN bitmap's (physical) order."""
    if connections[rows.db].vendor != "sqlite":
        return list(rows.filter(TokensMatch(groups)).order_by().annotate(recency_key=RecencyKey())
                    .values_list("pk", "recency_key", *columns)[:limit])
    meta = rows.model._meta
    select = ", ".join(['{table}."id"', 'CAST({table}."last_applied_at" AS TEXT)',
                        *(f'{{table}}."{meta.get_field(name).column}"' for name in columns)])
    return _select_matching(rows, groups, select, f'{FTS_TABLE} JOIN {{table}} ON {{table}}."id" = {FTS_TABLE}.rowid',
                            f"{FTS_TABLE} MATCH %s", f"{FTS_TABLE}.rowid DESC LIMIT %s", [limit])


def _select_matching(rows: QuerySet, groups, select: str, source: str, match: str, order: str,
                     order_params: list) -> list[tuple]:
    """SELECT `select` FROM `source` WHERE `match` (one %s: the FTS5 expression of `groups`) AND `rows`'
    conditions (compiled by the ORM) ORDER BY `order`; {table} stands for the candidate table."""
    connection = connections[rows.db]
    query = rows.order_by().query
    compiler = query.get_compiler(using=rows.db)
    compiler.setup_query()
    where, where_params = compiler.compile(query.where)
    names = {"table": connection.ops.quote_name(rows.model._meta.db_table)}
    select, source, match, order = (part.format(**names) for part in (select, source, match, order))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select} FROM {source} WHERE {match} AND {where} ORDER BY {order}",
                       [fts5_expression(groups), *where_params, *order_params])
        return cursor.fetchall()
