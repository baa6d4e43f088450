import pytest


@pytest.fixture(autouse=True)
def _fresh_state():
    """These tests start Redis servers of their own and never touch the shared test database, so
    the suite-wide flush (and the check that TEST_REDIS_URL answers) does not apply here."""
