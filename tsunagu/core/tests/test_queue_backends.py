"""The queue is replaceable: the loop works with Huey on Redis and on PostgreSQL (TSUNAGU_QUEUE_URL)."""

import os
from contextlib import contextmanager

import pytest
import requests

from tsunagu.core.testrun import PG_URL, postgres_available
from tsunagu.testing import running_tsunagu, scratch_postgres

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# One Redis database per half of `make test` (SQLite and PostgreSQL run at the same time): each flushes its own.
REDIS_URL = f"redis://127.0.0.1:6379/{14 if 'TSUNAGU_DATABASE_URL' in os.environ else 13}"


def redis_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@contextmanager
def queue_url(kind):
    if kind == "redis":
        if not redis_available():
            pytest.skip(f"Redis is not running at {REDIS_URL}")
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        yield REDIS_URL
    else:
        if not postgres_available(PG_URL):
            pytest.skip(f"PostgreSQL is not running at {PG_URL}")
        with scratch_postgres(PG_URL, migrated=False) as url:  # a queue of its own, no schema
            yield url


@pytest.mark.parametrize("kind", ["redis", "postgresql"])
def test_notice_is_delivered_through_each_queue_backend(smtp_server, kind):
    with queue_url(kind) as url, running_tsunagu(smtp_port=smtp_server.port, TSUNAGU_QUEUE_URL=url) as (server, company):
        response = requests.post(server.url + "/api/v1/applications", timeout=10,
                                 headers={"Authorization": f"Bearer {company['api_key']}"},
                                 json={"external_id": "Q-1", "candidate": {"name": "髙橋 𠮷子", "email": "q@example.jp"},
                                       "job": {"title": "法人営業"}, "status": "rejected"})
        assert response.status_code == 201
        [received] = smtp_server.wait_for(1, timeout=20)
        assert received["rcpt"] == ["q@example.jp"]
