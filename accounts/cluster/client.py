"""django-redis on a Redis Cluster, and the redis-py clients built from the same cache entry.

django-redis has no cluster client: its ``DefaultClient`` reads several ``LOCATION`` entries as a
primary and its read replicas, and its ``mget``, ``delete`` and ``exists`` would be refused across
slots. ``ClusterClient`` is a ``DefaultClient`` whose connection is one ``RedisCluster`` per
process, found from every URL in ``LOCATION`` (any node will do: the rest are discovered), and
whose multi-key operations send one command when the keys share a slot, as a session's keys do
(``accounts.sessions.keys``), and split by slot otherwise. A cache entry uses it with::

    "LOCATION": ["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"],
    "OPTIONS": {"CLIENT_CLASS": "accounts.cluster.client.ClusterClient", "FAILOVER_WAIT": 3, ...}

The asyncio edge builds its client from the same entry (``async_cluster``), so both speak to the
same nodes with the same password, TLS, timeouts and failover wait.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django_redis.client import DefaultClient
from django_redis.exceptions import ConnectionInterrupted
from redis.asyncio.cluster import ClusterNode as AsyncClusterNode
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode
from redis.connection import parse_url
from redis.crc import key_slot
from redis.exceptions import RedisClusterException, RedisError
from redis.retry import Retry

from accounts.cluster.failover import (
    AsyncFailoverWaitingCluster,
    ClusterUnavailable,
    FailoverWaitingCluster,
)

# Seconds a command waits out a failover before the request gets its 503 (accounts.cluster.
# failover). About twice cluster-node-timeout covers a promotion; page threads wait that long.
DEFAULT_FAILOVER_WAIT = 3.0

# The connection arguments a URL may carry that are not about which node to reach.
_NODE_ONLY = ("host", "port", "db", "path", "connection_class")


def cluster_parameters(
    locations: Sequence[str], options: Mapping[str, Any]
) -> tuple[list[tuple[str, int]], dict[str, Any]]:
    """The startup nodes and the connection arguments for a cluster client, from a cache entry's
    ``LOCATION`` and ``OPTIONS``: every URL names a node; the first also gives TLS (``rediss``),
    credentials and query-string options for all."""
    if not locations:
        raise ImproperlyConfigured("A Redis Cluster cache needs at least one node in LOCATION.")
    nodes: list[tuple[str, int]] = []
    kwargs: dict[str, Any] = {}
    for index, location in enumerate(locations):
        scheme = urlsplit(location).scheme
        if scheme not in {"redis", "rediss"}:
            raise ImproperlyConfigured(f"{location!r}: a cluster node is a redis:// URL")
        parsed = parse_url(location)  # type: ignore[no-untyped-call]
        if int(parsed.get("db") or 0) != 0:
            raise ImproperlyConfigured(
                f"{location!r}: a Redis Cluster has database 0 only; drop the /{parsed['db']}"
            )
        nodes.append((str(parsed.get("host") or "127.0.0.1"), int(parsed.get("port") or 6379)))
        if index == 0:
            kwargs = {k: v for k, v in parsed.items() if k not in _NODE_ONLY}
            kwargs["ssl"] = scheme == "rediss"
    for option, argument in (
        ("SOCKET_TIMEOUT", "socket_timeout"),
        ("SOCKET_CONNECT_TIMEOUT", "socket_connect_timeout"),
        ("USERNAME", "username"),
        ("PASSWORD", "password"),
    ):
        if options.get(option):
            kwargs[argument] = options[option]
    # One quick retry inside redis-py (it refreshes the slot map from the other nodes); the
    # failover wait does the waiting, with pauses, within its bound.
    kwargs["retry"] = Retry(NoBackoff(), retries=1)
    return nodes, kwargs


def failover_wait(options: Mapping[str, Any]) -> float:
    return float(options.get("FAILOVER_WAIT", DEFAULT_FAILOVER_WAIT))


_clients: dict[str, FailoverWaitingCluster] = {}
_clients_guard = threading.Lock()


def sync_cluster(locations: Sequence[str], options: Mapping[str, Any]) -> FailoverWaitingCluster:
    """This process's client for the cluster (one for every thread: it is thread-safe)."""
    key = repr((list(locations), sorted((k, repr(v)) for k, v in options.items())))
    with _clients_guard:
        client = _clients.get(key)
        if client is None:
            nodes, kwargs = cluster_parameters(locations, options)
            try:
                client = FailoverWaitingCluster(
                    startup_nodes=[ClusterNode(host, port) for host, port in nodes],  # type: ignore[no-untyped-call]
                    **kwargs,
                )
            except (RedisClusterException, RedisError) as exc:
                # No node answered: this request gets a 503; the next one tries again.
                raise ClusterUnavailable(f"no node of the Redis Cluster answered: {exc}") from exc
            client.failover_wait = failover_wait(options)
            _clients[key] = client
    return client


def async_cluster(
    locations: Sequence[str], options: Mapping[str, Any]
) -> AsyncFailoverWaitingCluster:
    """A new asyncio client for the cluster (it belongs to the loop that first uses it)."""
    nodes, kwargs = cluster_parameters(locations, options)
    client = AsyncFailoverWaitingCluster(
        startup_nodes=[AsyncClusterNode(host, port) for host, port in nodes], **kwargs
    )
    client.failover_wait = failover_wait(options)
    return client


def one_slot(keys: Iterable[str]) -> bool:
    return len({key_slot(key.encode()) for key in keys}) <= 1


class ClusterClient(DefaultClient):  # type: ignore[misc]
    """django-redis's client for a Redis Cluster (``OPTIONS["CLIENT_CLASS"]``)."""

    def get_next_client_index(self, write: bool = True, tried: list[int] | None = None) -> int:
        # LOCATION lists nodes to discover the cluster from, not a primary and its replicas.
        return 0

    def connect(self, index: int = 0) -> Any:
        return sync_cluster(list(self._server), self._options)

    def disconnect(self, index: int = 0, client: Any = None) -> None:
        # The process's one cluster client is shared by every thread and cache: it stays.
        return None

    def get_many(
        self, keys: Collection[str], version: int | None = None, client: Any = None
    ) -> dict[str, Any]:
        client = client or self.get_client(write=False)
        named = {str(self.make_key(k, version=version)): k for k in keys}
        if not named:
            return {}
        try:
            if one_slot(named):
                values = client.mget(list(named))
            else:
                values = client.mget_nonatomic(list(named))
        except (RedisError, OSError) as exc:
            raise ConnectionInterrupted(connection=client) from exc
        return {
            named[key]: self.decode(value)
            for key, value in zip(named, values, strict=True)
            if value is not None
        }

    def delete_many(
        self, keys: Iterable[str], version: int | None = None, client: Any = None
    ) -> int:
        client = client or self.get_client(write=True)
        made = [str(self.make_key(k, version=version)) for k in keys]
        if not made:
            return 0
        try:
            if one_slot(made):
                return int(client.execute_command("DEL", *made))
            return int(client.delete(*made))
        except (RedisError, OSError) as exc:
            raise ConnectionInterrupted(connection=client) from exc

    def has_key(self, key: str, version: int | None = None, client: Any = None) -> bool:
        client = client or self.get_client(write=False)
        try:
            # One key: one EXISTS (redis-py's exists() splits by slot through a pipeline).
            return bool(client.execute_command("EXISTS", self.make_key(key, version=version)))
        except (RedisError, OSError) as exc:
            raise ConnectionInterrupted(connection=client) from exc

    def keys(self, search: str, version: int | None = None, client: Any = None) -> list[Any]:
        # KEYS would ask one node; the cluster's SCAN visits every primary.
        return list(self.iter_keys(search, version=version, client=client))


def is_cluster(cache: Any) -> bool:
    """Whether ``cache`` (a Django cache) speaks to a Redis Cluster through ``ClusterClient``."""
    return isinstance(getattr(cache, "client", None), ClusterClient)


def connection_for_key(redis: Any, key: str) -> Any:
    """A plain client on the node that holds ``key`` (``redis`` itself outside a cluster): for a
    command that must follow a write on the same connection, as ``WAIT`` must."""
    if isinstance(redis, FailoverWaitingCluster):
        return redis.get_redis_connection(redis.get_node_from_key(key))  # type: ignore[no-untyped-call]
    return redis
