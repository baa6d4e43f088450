"""REDIS_CLUSTER=1 turns both caches into Redis Cluster clients on the nodes REDIS_URL names."""

import os
import subprocess
import sys

import pytest

from tests.config.test_settings import ROOT, settings_in_subprocess

NODES = "redis://10.0.0.1:7000, redis://10.0.0.2:7000"


def test_the_cluster_switch_configures_both_caches():
    caches = settings_in_subprocess(
        {"REDIS_CLUSTER": "1", "REDIS_URL": NODES, "REDIS_PASSWORD": "data-secret"}, "s.CACHES"
    )
    for alias in ("default", "sessions"):
        cache, options = caches[alias], caches[alias]["OPTIONS"]
        assert cache["LOCATION"] == ["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"]
        assert cache["KEY_PREFIX"] == "bff"
        assert options["CLIENT_CLASS"] == "accounts.cluster.client.ClusterClient"
        assert options["FAILOVER_WAIT"] == 3.0
        assert options["PASSWORD"] == "data-secret"
        # The same serializer, timeouts and failure policy as with a single Redis.
        assert options["SERIALIZER"] == "django_redis.serializers.json.JSONSerializer"
        assert (options["SOCKET_CONNECT_TIMEOUT"], options["SOCKET_TIMEOUT"]) == (2, 2)
        assert options["IGNORE_EXCEPTIONS"] is False


def test_the_failover_wait_can_be_set_or_switched_off():
    options = settings_in_subprocess(
        {"REDIS_CLUSTER": "yes", "REDIS_URL": NODES, "REDIS_CLUSTER_FAILOVER_WAIT": "0"},
        's.CACHES["sessions"]["OPTIONS"]',
    )
    assert options["FAILOVER_WAIT"] == 0.0


def test_without_the_switch_redis_url_is_one_redis():
    options = settings_in_subprocess(
        {"REDIS_URL": "redis://10.0.0.1:6379/0"}, 's.CACHES["sessions"]'
    )
    assert options["OPTIONS"]["CLIENT_CLASS"] == "django_redis.client.DefaultClient"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"REDIS_CLUSTER": "maybe"}, "REDIS_CLUSTER"),
        ({"REDIS_CLUSTER": "1", "REDIS_SENTINELS": "10.0.0.1:26379"}, "REDIS_SENTINELS"),
        ({"REDIS_CLUSTER": "1", "REDIS_CLUSTER_FAILOVER_WAIT": "soon"}, "REDIS_CLUSTER_FAILOVER"),
        ({"REDIS_CLUSTER": "1", "REDIS_CLUSTER_FAILOVER_WAIT": "600"}, "REDIS_CLUSTER_FAILOVER"),
    ],
)
def test_a_contradiction_or_malformed_value_stops_start_up_naming_it(env, named):
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "REDIS_URL": NODES, **env},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr
