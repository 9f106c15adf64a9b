"""Fixtures for the HA scenarios: `make_cluster` starts Redis (AOF, appendfsync always), the
standalone sandbox and N gateway processes for one test, and stops all of them after it,
whatever happened. Redis tests never skip: without redis-server they fail saying so."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path

import pytest

# Test modules import `ha_cluster` by name (unique across areas).
sys.path.insert(0, str(Path(__file__).parent))

from ha_cluster import Cluster

MakeCluster = Callable[..., Awaitable[Cluster]]


@pytest.fixture
async def make_cluster(tmp_path: Path) -> AsyncIterator[MakeCluster]:
    """`await make_cluster(replicas=3, env={...}, sandbox_args=(...), redis_tls=False)`: a
    started cluster (`redis_tls`: Redis serves TLS only, the gateways verify it with a CA file)."""
    started: list[Cluster] = []

    async def make(
        *,
        replicas: int = 3,
        env: Mapping[str, str] | None = None,
        sandbox_args: tuple[str, ...] = (),
        redis_tls: bool = False,
    ) -> Cluster:
        cluster = Cluster(
            tmp_path / f"cluster-{len(started)}",
            replicas=replicas,
            env=dict(env or {}),
            sandbox_args=sandbox_args,
            redis_tls=redis_tls,
        )
        started.append(cluster)
        await cluster.start()
        return cluster

    try:
        yield make
    finally:
        for cluster in started:
            await cluster.close()
