"""The cluster client's parameters from a cache entry, as the sync and asyncio clients share them,
and the multi-key operations that must stay one command for one slot."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from accounts.cluster.client import DEFAULT_FAILOVER_WAIT, cluster_parameters, failover_wait


def test_every_url_is_a_startup_node_and_the_first_gives_credentials_and_tls():
    nodes, kwargs = cluster_parameters(
        ["rediss://user:s%40cret@10.0.0.1:7000", "rediss://10.0.0.2:7001/0"],
        {"SOCKET_TIMEOUT": 2, "SOCKET_CONNECT_TIMEOUT": 1},
    )
    assert nodes == [("10.0.0.1", 7000), ("10.0.0.2", 7001)]
    assert kwargs["ssl"] is True
    assert (kwargs["username"], kwargs["password"]) == ("user", "s@cret")
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (2, 1)
    # redis-py retries once itself; the failover wait does the waiting.
    assert kwargs["retry"].get_retries() == 1
    assert "db" not in kwargs
    assert "host" not in kwargs


def test_a_password_in_the_options_wins_and_plain_redis_is_not_tls():
    _, kwargs = cluster_parameters(["redis://10.0.0.1"], {"PASSWORD": "from-env"})
    assert kwargs["password"] == "from-env"
    assert kwargs["ssl"] is False


@pytest.mark.parametrize(
    ("locations", "complaint"),
    [
        ([], "at least one node"),
        (["redis://10.0.0.1:7000/3"], "database 0 only"),
        (["http://10.0.0.1:7000"], "redis:// URL"),
        (["unix:///run/redis.sock"], "redis:// URL"),
    ],
)
def test_what_cannot_name_a_cluster_node_is_refused(locations, complaint):
    with pytest.raises(ImproperlyConfigured, match=complaint):
        cluster_parameters(locations, {})


def test_the_failover_wait_comes_from_the_options():
    assert failover_wait({}) == DEFAULT_FAILOVER_WAIT
    assert failover_wait({"FAILOVER_WAIT": 0}) == 0.0
