"""values.yaml and values.schema.json: bad values are refused before anything is deployed.

Helm validates the merged values against the schema on install, upgrade, template and lint;
helm-python-sdk runs the same Go code, so a refusal here is a refusal for `helm install`.
Rules the schema cannot express (comparisons between two values) are `fail` calls in the
templates and are checked the same way.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART_DIR = REPO / "helm" / "smsgateway"
REAL = {"config": {"upstreamUrl": "https://sms-api.example.com"}}
CREDS = {"credentials": {"appId": "app1", "secret": "s3cret"}}
OPEN = {"auth": {"allowUnauthenticated": True, "allowUnauthenticatedPushes": True}}
CALLER = {
    "name": "billing",
    "key_sha256": "ab" * 32,
    "permissions": ["send"],
    "signs": ["Acme"],
}


def _render(chart: helm.Chart, values: dict[str, Any]) -> dict[str, str]:
    return chart.render(values, name="smsgw", namespace="sms")


@pytest.mark.parametrize(
    ("values", "where"),
    [
        # Wrong types.
        ({"replicaCount": "1"}, "/replicaCount"),
        ({"config": {"shutdownGraceSeconds": "20"}}, "/config/shutdownGraceSeconds"),
        ({"serviceAccount": {"automount": "false"}}, "/serviceAccount/automount"),
        ({"ingress": {"hosts": "sms.example.com"}}, "/ingress/hosts"),
        ({"containerPorts": {"grpc": 70000}}, "/containerPorts/grpc"),
        ({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
        ({"config": {"logLevel": "TRACE"}}, "/config/logLevel"),
        ({"config": {"upstreamUrl": "sms-api.example.com"}}, "/config/upstreamUrl"),
        ({"config": {"callbacks": {"reportPath": "callbacks"}}}, "/config/callbacks/reportPath"),
        ({"config": {"callbacks": {"allowedNetworks": ["10.0.0.1"]}}}, "allowedNetworks/0"),
        ({"redis": {"url": "http://redis:6379"}}, "/redis/url"),
        ({"credentials": {"appId": "an-app-id-longer-than-10"}}, "/credentials/appId"),
        ({"image": {"digest": "sha256:abc"}}, "/image/digest"),
        # Unknown keys, at the top and nested (a typo must not be silently ignored).
        ({"replicas": 2}, "additional properties 'replicas'"),
        ({"config": {"upstreamURL": "https://x"}}, "additional properties 'upstreamURL'"),
        ({"ingress": {"paths": ["/"]}}, "additional properties 'paths'"),
        ({"credentials": {"password": "x"}}, "additional properties 'password'"),
        ({"config": {"extraSettings": {"PATH": "/bin"}}}, "PATH"),
        # Secret settings only through secretKeyRef, never as literals.
        ({"extraEnv": [{"name": "SMSGW_SECRET", "value": "s3cret"}]}, "/extraEnv/0"),
        ({"extraEnv": [{"name": "SMSGW_REDIS_URL", "value": "redis://:pw@r"}]}, "/extraEnv/0"),
        # Polling needs a sign (the provider requires one).
        ({"config": {"poll": {"enabled": True}}}, "/config/poll/sign"),
        # Callers: digests only (never a key), known permissions, bounded names.
        ({"callers": {"entries": [CALLER | {"key": "plain"}]}}, "additional properties 'key'"),
        ({"callers": {"entries": [CALLER | {"key_sha256": "abc"}]}}, "key_sha256"),
        ({"callers": {"entries": [CALLER | {"permissions": ["root"]}]}}, "permissions/0"),
        ({"callers": {"entries": [CALLER | {"permissions": []}]}}, "permissions"),
        ({"callers": {"entries": [CALLER | {"name": "a b"}]}}, "entries/0/name"),
        ({"callers": {"entries": [CALLER | {"rate_limit_per_second": 0}]}}, "rate_limit"),
        ({"callers": {"entries": [{"name": "x", "permissions": ["send"]}]}}, "key_sha256"),
        ({"callers": {"entries": [CALLER | {"name": "a.b"}]}}, "entries/0/name"),
        ({"callers": {"entries": [CALLER | {"name": "anonymous"}]}}, "entries/0"),
        ({"callers": {"entries": [{k: v for k, v in CALLER.items() if k != "signs"}]}}, "signs"),
        ({"auth": {"allowUnauthenticated": "yes"}}, "/auth/allowUnauthenticated"),
        # Mutual TLS needs the server certificate.
        ({"tls": {"clientCA": {"existingSecret": "ca"}}}, "/tls/existingSecret"),
        ({"redis": {"waitReplicas": -1}}, "/redis/waitReplicas"),
        ({"redis": {"keyPrefix": "has space"}}, "/redis/keyPrefix"),
        ({"podSpread": {"antiAffinity": "strict"}}, "/podSpread/antiAffinity"),
        ({"podDisruptionBudget": {"maxUnavailable": 1}}, "/podDisruptionBudget"),
        # What the chart sets itself cannot be overridden (or its checks bypassed).
        (
            {"config": {"extraSettings": {"SMSGW_ALLOW_UNAUTHENTICATED": "true"}}},
            "invalid propertyName 'SMSGW_ALLOW_UNAUTHENTICATED'",
        ),
        (
            {"config": {"extraSettings": {"SMSGW_GRPC_PORT": "1"}}},
            "invalid propertyName 'SMSGW_GRPC_PORT'",
        ),
    ],
)
def test_schema_rejects_bad_values(chart: helm.Chart, values: dict[str, Any], where: str) -> None:
    with pytest.raises(helm.HelmValuesError) as caught:
        chart.validate_schema(chart.merge_values(values))
    assert where in str(caught.value)
    # Rendering (what install does) refuses them too.
    with pytest.raises(helm.HelmValuesError):
        _render(chart, values)


@pytest.mark.parametrize(
    "values",
    [
        {"replicaCount": 2},
        {"replicaCount": 3, "redis": {"url": ""}},
        {"autoscaling": {"enabled": True}},
        {"autoscaling": {"enabled": True, "minReplicas": 1}},
    ],
)
def test_more_than_one_pod_without_redis_is_refused(
    chart: helm.Chart, values: dict[str, Any]
) -> None:
    with pytest.raises(helm.HelmValuesError) as caught:
        _render(chart, values)
    assert "/redis" in str(caught.value)
    report = helm.lint(CHART_DIR, values)
    assert report["errors"], "lint must report it as an error"


@pytest.mark.parametrize(
    "redis",
    [
        {"url": "redis://:pw@redis:6379/0"},
        {"url": "rediss://redis.example.com:6380"},
        {"existingSecret": "redis-credentials"},
    ],
)
def test_more_than_one_pod_with_redis_is_accepted(chart: helm.Chart, redis: dict[str, Any]) -> None:
    for values in (
        OPEN | {"replicaCount": 3, "redis": redis},
        OPEN | {"autoscaling": {"enabled": True}, "redis": redis},
    ):
        chart.validate_schema(chart.merge_values(values))
        assert "kind: Deployment" in _render(chart, values)["smsgateway/templates/deployment.yaml"]


def test_without_the_schema_the_templates_still_refuse_replicas_without_redis(
    tmp_path: Path,
) -> None:
    """The same rule is a template `fail`, for `helm template --skip-schema-validation`."""
    copy = tmp_path / "smsgateway"
    shutil.copytree(CHART_DIR, copy)
    (copy / "values.schema.json").unlink()
    with helm.Chart.load(copy) as schemaless:
        assert schemaless.schema is None
        for values in ({"replicaCount": 2}, {"autoscaling": {"enabled": True}}):
            with pytest.raises(helm.HelmRenderError) as caught:
                _render(schemaless, values)
            assert "the embedded SQLite store cannot be shared" in str(caught.value)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"terminationGracePeriodSeconds": 25}, "must exceed preStopSleepSeconds"),
        (
            {"terminationGracePeriodSeconds": 40, "config": {"shutdownGraceSeconds": 40}},
            "must exceed",
        ),
        (REAL, "give credentials.appId and credentials.secret"),
        (REAL | {"credentials": {"appId": "app1"}}, "give credentials.appId"),
        (
            {"autoscaling": {"enabled": True, "minReplicas": 4, "maxReplicas": 2}}
            | {"redis": {"url": "redis://r:6379"}},
            "maxReplicas must be at least",
        ),
        ({}, "no callers are declared"),
        (OPEN | {"callers": {"entries": [CALLER]}}, "auth.allowUnauthenticated is for running"),
        (OPEN | {"callers": {"existingSecret": "c"}}, "auth.allowUnauthenticated is for running"),
        ({"callers": {"entries": [CALLER, CALLER]}}, 'the name "billing" is declared twice'),
        (OPEN | {"ingress": {"enabled": True}}, "ingress.enabled exposes the push endpoints"),
        (
            {"auth": {"allowUnauthenticated": True}},
            "the push endpoints listen on 0.0.0.0 unprotected",
        ),
        (
            OPEN | {"redis": {"tlsCA": {"existingSecret": "ca"}}},
            "redis.tlsCA.existingSecret needs redis.url",
        ),
        (
            OPEN | {"redis": {"url": "redis://r:6379", "tlsCA": {"existingSecret": "ca"}}},
            "redis.url must start with rediss://",
        ),
        (
            OPEN | {"redis": {"password": {"existingSecret": "pw"}}},
            "redis.password.existingSecret needs redis.url",
        ),
    ],
)
def test_templates_refuse_inconsistent_values(
    chart: helm.Chart, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(helm.HelmRenderError) as caught:
        _render(chart, values)
    assert message in str(caught.value)


def test_consistent_values_render(chart: helm.Chart) -> None:
    values = (
        REAL
        | OPEN
        | CREDS
        | {"terminationGracePeriodSeconds": 70, "preStopSleepSeconds": 0}
        | {"config": {"upstreamUrl": "https://x.example.com", "shutdownGraceSeconds": 60}}
    )
    rendered = yaml.safe_load(_render(chart, values)["smsgateway/templates/deployment.yaml"])
    pod = rendered["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 70
    assert "lifecycle" not in pod["containers"][0]
    # An existing Secret stands in for the credentials.
    _render(chart, REAL | OPEN | {"credentials": {"existingSecret": "provider"}})


def test_schema_is_draft_07_and_closed(chart: helm.Chart) -> None:
    schema = chart.schema
    assert schema is not None
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                assert node.get("additionalProperties") is False, f"{path} is open"
            for key, child in node.items():
                walk(child, f"{path}/{key}")
        elif isinstance(node, list):
            for i, child in enumerate(node):
                walk(child, f"{path}/{i}")

    walk(schema, "#")
    # Every top-level value is described by the schema and required to be there.
    defaults = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    assert set(defaults) == set(schema["required"]) == set(schema["properties"]) - {"global"}


def test_defaults_pass_the_schema(chart: helm.Chart) -> None:
    chart.validate_schema(chart.merge_values({}))
    assert json.loads((CHART_DIR / "values.schema.json").read_text()) == chart.schema


_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][\w.-]*):(?P<value>.*)$")


def test_every_value_is_documented() -> None:
    """Each leaf value has a helm-docs `# --` comment (on itself or on a documented parent)."""
    lines = (CHART_DIR / "values.yaml").read_text().splitlines()
    stack: list[tuple[int, bool]] = []  # (indent, documented) of the enclosing keys
    undocumented: list[str] = []
    for number, line in enumerate(lines):
        match = _KEY.match(line)
        if match is None:
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        # The comment block right above the key must start with `# --`.
        above = number - 1
        while above >= 0 and lines[above].strip().startswith("#"):
            above -= 1
        block = [lines[i].strip() for i in range(above + 1, number)]
        documented = bool(block) and block[0].startswith("# --")
        documented = documented or any(doc for _, doc in stack)
        following = next(
            (ln for ln in lines[number + 1 :] if ln.strip() and not ln.strip().startswith("#")), ""
        )
        following_indent = len(following) - len(following.lstrip())
        is_leaf = (
            match["value"].strip() != ""
            or following_indent <= indent
            or following.lstrip().startswith("- ")
        )
        if is_leaf and not documented:
            undocumented.append(f"line {number + 1}: {match['key']}")
        stack.append((indent, documented))
    assert undocumented == []
