"""A real Redis Cluster on loopback for the deployment tests: six ``redis-server`` processes with
``--cluster-enabled yes`` (three primaries, each with one replica), joined by
``redis-cli --cluster create``. Nothing is saved to disk; ``cluster-node-timeout`` is one second,
so a killed primary's replica takes over within a few seconds.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import redis
from redis.crc import key_slot

from tests.stack import RedisNode, free_port, wait_until

NODE_TIMEOUT_MS = 1000


class TestCluster:
    __test__ = False  # not a test class, whatever its name says

    def __init__(self, directory: Path, *, primaries: int = 3) -> None:
        self.directory = directory
        self._clients: dict[int, redis.Redis] = {}
        self.nodes: list[RedisNode] = []
        for _ in range(primaries * 2):
            node = RedisNode("redis-cluster", directory, [])
            # The cluster bus's port is the node's + 10000 unless given: give a free one.
            node._argv = [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                str(directory / f"nodes-{node.port}.conf"),
                "--cluster-node-timeout",
                str(NODE_TIMEOUT_MS),
                "--cluster-port",
                str(free_port()),
            ]
            self.nodes.append(node)

    def start(self) -> TestCluster:
        try:
            for node in self.nodes:
                node.start()
            cli = shutil.which("redis-cli")
            if cli is None:
                raise RuntimeError("redis-cli is not installed (./dev/test installs it)")
            subprocess.run(
                [
                    cli,
                    "--cluster",
                    "create",
                    *(f"127.0.0.1:{node.port}" for node in self.nodes),
                    "--cluster-replicas",
                    "1",
                    "--cluster-yes",
                ],
                check=True,
                capture_output=True,
                timeout=60,
            )
            wait_until(self._settled, 30, "the cluster to cover every slot with a replica each")
        except BaseException:
            self.stop()
            raise
        return self

    def _settled(self) -> bool:
        live = self.live_nodes()
        if any(self.node_client(n).cluster("info")["cluster_state"] != "ok" for n in live):
            return False
        return len(self.primaries()) == len(self.nodes) // 2 and all(
            self.replica_of(p) is not None for p in self.primaries()
        )

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    # --- what the site is given ---------------------------------------------------------------
    def url(self) -> str:
        """``REDIS_URL`` for the site: two nodes (either is enough to find the rest)."""
        return ",".join(f"redis://127.0.0.1:{node.port}" for node in self.nodes[:2])

    # --- who is who ---------------------------------------------------------------------------
    def live_nodes(self) -> list[RedisNode]:
        return [n for n in self.nodes if n.process is not None and n.process.alive()]

    def node_client(self, node: RedisNode) -> redis.Redis:
        """One kept connection per node: a new one would count its own handshake (HELLO) in the
        node's command statistics."""
        return self._clients.setdefault(node.port, node.client())

    def role(self, node: RedisNode) -> str:
        try:
            return str(self.node_client(node).info("replication")["role"])
        except redis.ConnectionError:
            return "dead"

    def primaries(self) -> list[RedisNode]:
        return [n for n in self.live_nodes() if self.role(n) == "master"]

    def replica_of(self, primary: RedisNode) -> RedisNode | None:
        for node in self.live_nodes():
            info = self.node_client(node).info("replication")
            if (
                info["role"] == "slave"
                and int(info["master_port"]) == primary.port
                and info["master_link_status"] == "up"
            ):
                return node
        return None

    def primary_holding(self, key: str) -> RedisNode:
        """The live primary that serves ``key``'s slot, as the cluster itself says."""
        slot = key_slot(key.encode())
        for start, end, (_host, port, *_), *_replicas in self.node_client(
            self.live_nodes()[0]
        ).execute_command("CLUSTER SLOTS"):
            if int(start) <= slot <= int(end):
                return next(n for n in self.live_nodes() if n.port == int(port))
        raise LookupError(f"no primary serves slot {slot}")

    def keys(self, pattern: str = "*") -> list[bytes]:
        found: list[bytes] = []
        for node in self.primaries():
            found.extend(
                k if isinstance(k, bytes) else k.encode()
                for k in self.node_client(node).keys(pattern)
            )
        return sorted(found)

    def flush(self) -> None:
        for node in self.primaries():
            self.node_client(node).flushall()

    def command_calls(self) -> dict[str, int]:
        """Calls per command summed over the primaries (``INFO commandstats``)."""
        totals: dict[str, int] = {}
        for node in self.primaries():
            for name, stats in self.node_client(node).info("commandstats").items():
                command = name.removeprefix("cmdstat_")
                # Left out: this helper's own INFO, and replication's REPLCONF between nodes.
                if command not in {"info", "replconf"}:
                    totals[command] = totals.get(command, 0) + int(stats["calls"])
        return totals
