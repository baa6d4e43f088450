"""REDIS_SENTINELS and its companions turn both caches into django-redis Sentinel clients."""

import os
import subprocess
import sys

import pytest

from tests.config.test_settings import ROOT, settings_in_subprocess

SENTINELS = {"REDIS_SENTINELS": "10.0.0.1:26379, 10.0.0.2:26379 [fd00::3]:26380"}


def test_without_sentinels_both_caches_use_redis_url():
    caches = settings_in_subprocess({"REDIS_URL": "redis://cache.internal:6380/2"}, "s.CACHES")
    for alias in ("default", "sessions"):
        assert caches[alias]["LOCATION"] == "redis://cache.internal:6380/2"
        assert caches[alias]["OPTIONS"]["CLIENT_CLASS"] == "django_redis.client.DefaultClient"


def test_sentinels_configure_both_caches_for_the_primary_only():
    caches = settings_in_subprocess(
        {**SENTINELS, "REDIS_SENTINEL_MASTER": "sessions-primary", "REDIS_SENTINEL_DB": "3"},
        "s.CACHES",
    )
    for alias in ("default", "sessions"):
        cache, options = caches[alias], caches[alias]["OPTIONS"]
        # One location: reads never go to a replica, which may lag behind.
        assert cache["LOCATION"] == ["redis://sessions-primary/3"]
        assert cache["KEY_PREFIX"] == "bff"
        assert options["CLIENT_CLASS"] == "django_redis.client.SentinelClient"
        assert options["CONNECTION_FACTORY"] == "django_redis.pool.SentinelConnectionFactory"
        assert options["SENTINELS"] == [
            ("10.0.0.1", 26379),
            ("10.0.0.2", 26379),
            ("fd00::3", 26380),
        ]
        assert options["SENTINEL_KWARGS"] == {"socket_connect_timeout": 2, "socket_timeout": 2}
        # The same serializer, timeouts and failure policy as with a single Redis.
        assert options["SERIALIZER"] == "django_redis.serializers.json.JSONSerializer"
        assert (options["SOCKET_CONNECT_TIMEOUT"], options["SOCKET_TIMEOUT"]) == (2, 2)
        assert options["IGNORE_EXCEPTIONS"] is False
        assert "PASSWORD" not in options


def test_passwords_for_the_data_nodes_and_for_the_sentinels():
    options = settings_in_subprocess(
        {
            **SENTINELS,
            "REDIS_PASSWORD": "data-secret",
            "REDIS_SENTINEL_PASSWORD": "sentinel-secret",
        },
        's.CACHES["sessions"]["OPTIONS"]',
    )
    assert options["PASSWORD"] == "data-secret"
    assert options["SENTINEL_KWARGS"]["password"] == "sentinel-secret"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REDIS_SENTINELS", "10.0.0.1"),
        ("REDIS_SENTINELS", "10.0.0.1:sentinel"),
        ("REDIS_SENTINEL_DB", "two"),
    ],
)
def test_a_malformed_value_stops_start_up_naming_it(name, value):
    env = {"PATH": os.environ["PATH"], **SENTINELS, name: value}
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr
