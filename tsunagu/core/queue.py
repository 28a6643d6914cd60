"""Huey storage on PostgreSQL (TSUNAGU_QUEUE_URL=postgresql://...)."""

from huey import Huey
from huey.contrib.sql_huey import SqlStorage
from playhouse.db_url import connect


def PostgresHuey(name, url, **kwargs):  # noqa: N802 - used as a class by djhuey
    # peewee's "psycopg3" scheme uses the same driver as Django.
    database = connect("psycopg3://" + url.split("://", 1)[1])
    return Huey(name, storage_class=SqlStorage, database=database, **kwargs)
