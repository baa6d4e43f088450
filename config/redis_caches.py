"""The ``CACHES`` of this site: both caches (``default`` and ``sessions``) on one Redis
(``REDIS_URL``), on the primary that Redis Sentinel names (``REDIS_SENTINELS``), or on a Redis
Cluster (``REDIS_CLUSTER=1``, ``REDIS_URL`` naming one or more of its nodes), through django-redis.
Read only by ``config.settings``; docs/configuration.md lists the variables.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from config.environment import env_bool, env_list, env_str


def redis_caches(redis_url: str, key_prefix: str) -> dict[str, dict[str, Any]]:
    options: dict[str, object] = {
        "CLIENT_CLASS": "django_redis.client.DefaultClient",
        # JSON, not pickle: a value read back from Redis never runs code.
        "SERIALIZER": "django_redis.serializers.json.JSONSerializer",
        # Fail fast: a request waiting on a dead Redis is worse than a clear 503.
        "SOCKET_CONNECT_TIMEOUT": 2,
        "SOCKET_TIMEOUT": 2,
        # Never pretend a session is empty because Redis did not answer: that would log users out.
        "IGNORE_EXCEPTIONS": False,
    }
    location: str | list[str] = redis_url
    sentinels = host_ports("REDIS_SENTINELS")
    if env_bool("REDIS_CLUSTER", default=False):
        if sentinels:
            raise ImproperlyConfigured(
                "REDIS_CLUSTER and REDIS_SENTINELS are both set: a Redis Cluster fails over by "
                "itself, without sentinels. Set one of them."
            )
        location, options = _cluster(redis_url, options)
    elif sentinels:
        location, options = _sentinel(sentinels, options)
    return {
        alias: {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": key_prefix,
            # A copy each: django-redis writes defaults into the options it is given.
            "OPTIONS": dict(options),
        }
        for alias in ("default", "sessions")
    }


# Redis Sentinel (docs/redis-sentinel.md): with REDIS_SENTINELS set, the sentinels name the
# primary and REDIS_URL is not used. A failover moves every process to the promoted replica on
# its next connection, without a restart.
def _sentinel(
    sentinels: list[tuple[str, int]], options: dict[str, object]
) -> tuple[list[str], dict[str, object]]:
    master = env_str("REDIS_SENTINEL_MASTER", "mymaster")
    db = env_str("REDIS_SENTINEL_DB", "0")
    if not db.isdigit():
        raise ImproperlyConfigured(f"REDIS_SENTINEL_DB must be a number; got {db!r}")
    sentinel_kwargs: dict[str, object] = {"socket_connect_timeout": 2, "socket_timeout": 2}
    if env_str("REDIS_SENTINEL_PASSWORD"):
        sentinel_kwargs["password"] = env_str("REDIS_SENTINEL_PASSWORD")
    options = options | {
        "CLIENT_CLASS": "django_redis.client.SentinelClient",
        "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
        "SENTINELS": sentinels,
        "SENTINEL_KWARGS": sentinel_kwargs,
    }
    if env_str("REDIS_PASSWORD"):
        options["PASSWORD"] = env_str("REDIS_PASSWORD")
    # One location, the primary. django-redis's SentinelClient would otherwise add the replicas
    # for reads, and replication is asynchronous: a session just written could read as missing
    # (the user would look logged out), and the holder of the refresh lock must re-read the
    # token record where it was last written.
    return [f"redis://{master}/{db}"], options


# Redis Cluster (docs/deployment.md): REDIS_URL names one node or several, comma-separated (any
# node will do; the client discovers the others and which slots each serves). Every key of one
# session shares a hash tag, so a request's reads and writes stay on one node.
def _cluster(redis_url: str, options: dict[str, object]) -> tuple[list[str], dict[str, object]]:
    nodes = [url.strip() for url in redis_url.split(",") if url.strip()]
    wait = env_str("REDIS_CLUSTER_FAILOVER_WAIT", "3")
    try:
        failover_wait = float(wait)
    except ValueError:
        failover_wait = -1
    if not 0 <= failover_wait <= 60:
        raise ImproperlyConfigured(
            f"REDIS_CLUSTER_FAILOVER_WAIT must be seconds between 0 and 60; got {wait!r}"
        )
    options = options | {
        "CLIENT_CLASS": "accounts.cluster.client.ClusterClient",
        "FAILOVER_WAIT": failover_wait,
    }
    if env_str("REDIS_PASSWORD"):
        options["PASSWORD"] = env_str("REDIS_PASSWORD")
    return nodes, options


def host_ports(name: str) -> list[tuple[str, int]]:
    addresses = []
    for item in env_list(name):
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ImproperlyConfigured(f"{name}: {item!r} is not host:port")
        addresses.append((host.removeprefix("[").removesuffix("]"), int(port)))
    return addresses
