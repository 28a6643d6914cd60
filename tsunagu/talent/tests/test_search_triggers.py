"""SQLite's full-text triggers come back after a migration rebuilt the candidates table without them."""

import pytest
from django.db import connection

from tsunagu.talent.actions.search_index import TRIGGERS, restore_sqlite_triggers
from tsunagu.talent.search import PoolQuery, search_pool
from tsunagu.talent.tests.pool_factories import YOSHIKO, apply

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the triggers are SQLite's (PostgreSQL uses a column)")
def test_missing_triggers_are_restored_and_the_index_rebuilt(make_company):
    company, _key = make_company()
    with connection.cursor() as cursor:
        for name in TRIGGERS:
            cursor.execute(f"DROP TRIGGER {name}")
    apply(company, "A-1", YOSHIKO, "rejected")  # written while the index is detached
    assert not search_pool(company, PoolQuery(q="高橋")).exists()

    assert sorted(restore_sqlite_triggers()) == sorted(TRIGGERS)
    assert [c.name for c in search_pool(company, PoolQuery(q="高橋"))] == ["髙橋 𠮷子"]
    assert restore_sqlite_triggers() == []  # nothing missing: nothing done
