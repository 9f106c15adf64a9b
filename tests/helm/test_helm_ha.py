"""Many replicas on Redis: rolling without downtime, a disruption budget, spreading, and the
Redis settings (URL and password from Secrets, key prefix, WAIT) reaching the pods.

More than one pod without Redis is refused (test_helm_values.py); here is what the chart
renders once Redis is configured, and what it leaves out for a single pod.
"""

from __future__ import annotations

from typing import Any

import pytest

OPEN = {"auth": {"allowUnauthenticated": True, "allowUnauthenticatedPushes": True}}
REDIS = {"redis": {"url": "redis://redis.data.svc:6379/0"}}
SELECTOR = {
    "app.kubernetes.io/name": "smsgateway",
    "app.kubernetes.io/instance": "smsgw",
    "app.kubernetes.io/component": "server",
}
SOFT_ANTI_AFFINITY = {
    "podAntiAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {
                "weight": 100,
                "podAffinityTerm": {
                    "topologyKey": "kubernetes.io/hostname",
                    "labelSelector": {"matchLabels": SELECTOR},
                },
            }
        ]
    }
}
ZONE_SPREAD = [
    {
        "maxSkew": 1,
        "topologyKey": "topology.kubernetes.io/zone",
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": SELECTOR},
        "matchLabelKeys": ["pod-template-hash"],
    }
]


def test_ha_scenario_runs_three_pods_that_roll_without_downtime(renders: dict[str, Any]) -> None:
    render = renders["ha"]
    spec = render.deployment["spec"]
    assert "replicas" not in spec  # the HPA owns the count
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    hpa = render.one("HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 6)
    pdb = render.one("PodDisruptionBudget")["spec"]
    assert pdb["minAvailable"] == 1 and "maxUnavailable" not in pdb
    assert pdb["selector"]["matchLabels"] == spec["selector"]["matchLabels"] == SELECTOR
    # No claim: the data directory is per-pod scratch space.
    assert render.all("PersistentVolumeClaim") == []
    assert render.volumes["data"] == {"name": "data", "emptyDir": {}}
    # Spread softly by default: pods still schedule on a single node or zone.
    assert render.pod_spec["affinity"] == SOFT_ANTI_AFFINITY
    assert render.pod_spec["topologySpreadConstraints"] == ZONE_SPREAD


def test_ha_scenario_wires_redis_from_secrets(renders: dict[str, Any]) -> None:
    render = renders["ha"]
    refs = {
        v["name"]: v["valueFrom"]["secretKeyRef"]
        for v in render.container["env"]
        if "secretKeyRef" in v.get("valueFrom", {})
    }
    assert refs["SMSGW_REDIS_URL"] == {"name": "smsgateway-redis", "key": "url"}
    assert render.config["SMSGW_REDIS_PASSWORD_FILE"] == "/etc/smsgateway/redis/password"
    mount = render.mounts["/etc/smsgateway/redis"]
    assert mount["readOnly"] is True
    assert render.volumes[mount["name"]]["secret"] == {
        "secretName": "smsgateway-redis",
        "defaultMode": 0o440,
        "items": [{"key": "password", "path": "password"}],
    }
    assert render.config["SMSGW_REDIS_KEY_PREFIX"] == "sms-prod"
    assert render.config["SMSGW_REDIS_WAIT_REPLICAS"] == "1"
    # Polling runs on one replica at a time (a Redis lease), so it may stay on with many.
    assert render.config["SMSGW_POLL_ENABLED"] == "true"
    assert "State is shared through Redis (key prefix sms-prod)" in render.notes


@pytest.mark.parametrize("scenario", ["default", "existing-secret", "sandbox-demo", "secure"])
def test_a_single_pod_gets_no_budget_no_spreading_no_redis(
    renders: dict[str, Any], scenario: str
) -> None:
    render = renders[scenario]
    assert render.deployment["spec"]["replicas"] == 1
    assert render.all("PodDisruptionBudget") == []
    assert "affinity" not in render.pod_spec
    assert "topologySpreadConstraints" not in render.pod_spec
    assert not {k for k in render.config if k.startswith("SMSGW_REDIS_")}


def test_key_prefix_defaults_to_the_release(render: Any) -> None:
    """Two releases on one Redis never share state by accident."""
    out = render(OPEN | REDIS | {"replicaCount": 2})
    assert out.config["SMSGW_REDIS_KEY_PREFIX"] == "smsgw-smsgateway"
    assert out.config["SMSGW_REDIS_WAIT_REPLICAS"] == "0"
    assert "SMSGW_REDIS_PASSWORD_FILE" not in out.config
    assert "/etc/smsgateway/redis" not in out.mounts


@pytest.mark.parametrize(
    ("values", "budget"),
    [
        ({"replicaCount": 2}, {"minAvailable": 1}),
        ({"replicaCount": 1}, None),
        # An HPA that may scale down to one pod: a budget of one would block every drain.
        ({"autoscaling": {"enabled": True, "minReplicas": 1}}, None),
        ({"autoscaling": {"enabled": True, "minReplicas": 2}}, {"minAvailable": 1}),
        (
            {"replicaCount": 4, "podDisruptionBudget": {"minAvailable": "50%"}},
            {"minAvailable": "50%"},
        ),
        (
            {"replicaCount": 4, "podDisruptionBudget": {"minAvailable": None, "maxUnavailable": 2}},
            {"maxUnavailable": 2},
        ),
        ({"replicaCount": 3, "podDisruptionBudget": {"enabled": False}}, None),
    ],
)
def test_disruption_budget_only_when_several_pods_always_run(
    render: Any, values: dict[str, Any], budget: dict[str, Any] | None
) -> None:
    out = render(OPEN | REDIS | values)
    pdbs = out.all("PodDisruptionBudget")
    if budget is None:
        assert pdbs == []
        return
    (pdb,) = pdbs
    spec = dict(pdb["spec"])
    assert spec.pop("selector") == {"matchLabels": SELECTOR}
    assert spec.pop("unhealthyPodEvictionPolicy") == "AlwaysAllow"
    assert spec == budget


def test_spreading_follows_the_preset_and_yields_to_explicit_rules(
    renders: dict[str, Any], render: Any
) -> None:
    # An HPA may add pods at any time: spread from the start, even from one.
    scaling = render(OPEN | REDIS | {"autoscaling": {"enabled": True, "minReplicas": 1}})
    assert scaling.pod_spec["affinity"] == SOFT_ANTI_AFFINITY
    # `hard` requires distinct nodes; an empty zone key adds no zone spread (mtls scenario).
    mtls = renders["mtls"].pod_spec
    assert mtls["affinity"] == {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {
                    "topologyKey": "kubernetes.io/hostname",
                    "labelSelector": {"matchLabels": SELECTOR},
                }
            ]
        }
    }
    assert "topologySpreadConstraints" not in mtls
    # Explicit constraints win over the preset; the anti-affinity preset still applies.
    own = renders["redis-multi-replica"]
    assert own.pod_spec["topologySpreadConstraints"] == own.values["topologySpreadConstraints"]
    assert own.pod_spec["affinity"] == SOFT_ANTI_AFFINITY
    mine = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}}
    explicit = render(OPEN | REDIS | {"replicaCount": 2, "affinity": mine})
    assert explicit.pod_spec["affinity"] == mine
    off = render(
        OPEN
        | REDIS
        | {"replicaCount": 2, "podSpread": {"antiAffinity": "none", "zoneTopologyKey": ""}}
    )
    assert "affinity" not in off.pod_spec and "topologySpreadConstraints" not in off.pod_spec


def test_redis_wins_over_persistence(render: Any) -> None:
    """persistence.enabled is on by default; with Redis the pods still roll and share no claim."""
    out = render(OPEN | REDIS | {"replicaCount": 2, "persistence": {"enabled": True}})
    assert out.deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert out.all("PersistentVolumeClaim") == []
    assert out.volumes["data"] == {"name": "data", "emptyDir": {}}
