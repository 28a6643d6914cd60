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

from django.db.models import BooleanField, Expression, F

from tsunagu.talent.search_index import fts_phrase, tsquery_lexeme

FTS_TABLE = "talent_candidate_fts"
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
