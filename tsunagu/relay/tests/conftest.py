"""Fixtures of the relay's tests: a client company, and the test client logged in as operator staff."""

import pytest

from tsunagu.relay.tests.desk_factories import operator_login


@pytest.fixture
def acme(make_company):
    """A client company (tests that need its API key too define their own `acme`)."""
    return make_company(slug="acme", name="株式会社アクメ")[0]


@pytest.fixture
def desk(client):
    """The test client, logged in as relay-operator staff."""
    return operator_login(client)
