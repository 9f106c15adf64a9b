"""Who may reach what: callers from a Secret (or running open, said explicitly), TLS and
mutual TLS on gRPC, and push endpoints that are public only behind a callback token.

The refusals themselves (no callers, callers and open together, an Ingress without a token)
are in test_helm_values.py; here are the objects the chart renders when the values are right.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

CHART_DIR = Path(__file__).resolve().parents[2] / "helm" / "smsgateway"
SCENARIOS = sorted(p.name.removesuffix("-values.yaml") for p in CHART_DIR.glob("ci/*-values.yaml"))

OPEN = {"auth": {"allowUnauthenticated": True, "allowUnauthenticatedPushes": True}}
CALLER = {
    "name": "billing",
    "key_sha256": "ab" * 32,
    "permissions": ["send"],
    "signs": ["Acme"],
}
CALLERS_FILE = "/etc/smsgateway/callers/callers.yaml"


def _env_refs(render: Any) -> dict[str, dict[str, Any]]:
    return {
        v["name"]: v["valueFrom"]["secretKeyRef"]
        for v in render.container["env"]
        if "secretKeyRef" in v.get("valueFrom", {})
    }


# --- callers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_declares_callers_or_says_it_runs_open(
    renders: dict[str, Any], scenario: str
) -> None:
    config = renders[scenario].config
    with_callers = config.get("SMSGW_CALLERS_FILE") == CALLERS_FILE
    runs_open = config.get("SMSGW_ALLOW_UNAUTHENTICATED") == "true"
    assert with_callers != runs_open
    assert ("WARNING: auth.allowUnauthenticated is true" in renders[scenario].notes) == runs_open
    if with_callers:
        assert 'authorization: Bearer $SMSGW_KEY"' in renders[scenario].notes


def test_inline_callers_become_a_read_only_callers_file(renders: dict[str, Any]) -> None:
    render = renders["secure"]
    secret = render.one("Secret", suffix="-callers")
    text = base64.b64decode(secret["data"]["callers.yaml"]).decode()
    assert yaml.safe_load(text) == {"callers": render.values["callers"]["entries"]}
    mount = render.mounts["/etc/smsgateway/callers"]
    assert mount["readOnly"] is True
    volume = render.volumes[mount["name"]]["secret"]
    assert volume["secretName"] == secret["metadata"]["name"]
    assert volume["items"] == [{"key": "callers.yaml", "path": "callers.yaml"}]
    assert "SMSGW_ALLOW_UNAUTHENTICATED" not in render.config


def test_existing_callers_secret_is_mounted_not_created(renders: dict[str, Any]) -> None:
    render = renders["existing-secret"]
    assert not [s for s in render.all("Secret") if s["metadata"]["name"].endswith("-callers")]
    volume = render.volumes[render.mounts["/etc/smsgateway/callers"]["name"]]["secret"]
    assert volume["secretName"] == "smsgateway-callers"
    assert volume["items"] == [{"key": "callers", "path": "callers.yaml"}]
    assert render.config["SMSGW_CALLERS_FILE"] == CALLERS_FILE


def test_editing_callers_rolls_no_pod(render: Any) -> None:
    """The process reloads the mounted file: a new caller must not restart every pod."""
    token = {"credentials": {"callbackToken": "t0ken-1"}}
    before = render(token | {"callers": {"entries": [CALLER]}})
    after = render(token | {"callers": {"entries": [CALLER, CALLER | {"name": "support"}]}})
    assert before.deployment["spec"]["template"] == after.deployment["spec"]["template"]
    assert before.one("Secret", suffix="-callers") != after.one("Secret", suffix="-callers")


# --- TLS --------------------------------------------------------------------------------------


def test_plaintext_grpc_by_default(renders: dict[str, Any]) -> None:
    render = renders["default"]
    assert not {k for k in render.config if k.startswith("SMSGW_TLS_")}
    test_pod = render.one("Pod")
    assert test_pod["spec"]["containers"][0]["command"][3:] == ["smsgw-smsgateway:50051"]
    assert "volumes" not in test_pod["spec"]
    assert "grpcurl -plaintext localhost:50051 list" in render.notes


def test_tls_serves_the_certificate_of_its_secret(renders: dict[str, Any]) -> None:
    render = renders["secure"]
    assert render.config["SMSGW_TLS_CERT_FILE"] == "/etc/smsgateway/tls/tls.crt"
    assert render.config["SMSGW_TLS_KEY_FILE"] == "/etc/smsgateway/tls/tls.key"
    assert "SMSGW_TLS_CLIENT_CA_FILE" not in render.config
    volume = render.volumes[render.mounts["/etc/smsgateway/tls"]["name"]]["secret"]
    assert volume["secretName"] == "smsgateway-grpc-tls"
    assert [i["key"] for i in volume["items"]] == ["tls.crt", "tls.key"]
    # The test pod gets the CA certificate of that Secret and nothing else (never the key).
    test_pod = render.one("Pod")["spec"]
    (ca_volume,) = test_pod["volumes"]
    assert ca_volume["secret"]["secretName"] == "smsgateway-grpc-tls"
    assert ca_volume["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]
    assert ca_volume["secret"]["optional"] is True
    assert test_pod["securityContext"]["fsGroup"] == 10001
    assert "grpcurl -cacert ca.crt -authority smsgw-smsgateway localhost:50051 list" in render.notes


def test_mutual_tls_asks_for_client_certificates(renders: dict[str, Any]) -> None:
    render = renders["mtls"]
    assert render.config["SMSGW_TLS_CLIENT_CA_FILE"] == "/etc/smsgateway/client-ca/ca.crt"
    volume = render.volumes[render.mounts["/etc/smsgateway/client-ca"]["name"]]["secret"]
    assert volume["secretName"] == "smsgateway-client-ca"
    assert volume["items"] == [{"key": "bundle.pem", "path": "ca.crt"}]
    test_volumes = {v["name"]: v["secret"] for v in render.one("Pod")["spec"]["volumes"]}
    assert test_volumes["client"]["secretName"] == "smsgateway-helm-test-client"
    assert "-cert client.crt -key client.key" in render.notes


def test_mutual_tls_without_a_test_certificate_renders_no_test_pod(render: Any) -> None:
    values = OPEN | {"tls": {"existingSecret": "tls", "clientCA": {"existingSecret": "ca"}}}
    out = render(values)
    assert out.all("Pod") == []
    assert out.config["SMSGW_TLS_CLIENT_CA_FILE"] == "/etc/smsgateway/client-ca/ca.crt"


# --- push endpoints ---------------------------------------------------------------------------


def test_the_token_key_of_an_existing_secret_is_required_when_it_protects_the_pushes(
    renders: dict[str, Any], render: Any
) -> None:
    """Behind an Ingress, or with no allowlist, a missing token key stops the pod from starting
    rather than leaving the push endpoints open; with an allowlist the key is optional."""
    public = renders["full-observability"]
    assert public.one("Ingress") and public.config["SMSGW_CALLBACK_ALLOWED_NETWORKS"]
    ref = _env_refs(public)["SMSGW_CALLBACK_TOKEN"]
    assert ref == {"name": "smsgateway-provider", "key": "callback-token"}
    existing = {"credentials": {"existingSecret": "provider"}}
    open_api = {"auth": {"allowUnauthenticated": True}}
    internal = render(open_api | existing)
    assert "optional" not in _env_refs(internal)["SMSGW_CALLBACK_TOKEN"]
    networks = {"config": {"callbacks": {"allowedNetworks": ["10.0.0.0/8"]}}}
    allowlisted = render(open_api | existing | networks)
    assert _env_refs(allowlisted)["SMSGW_CALLBACK_TOKEN"]["optional"] is True
    assert "SMSGW_ALLOW_UNAUTHENTICATED_PUSH" not in allowlisted.config
    inline = render(
        OPEN | {"ingress": {"enabled": True}, "credentials": {"callbackToken": "t0ken-1"}}
    )
    assert _env_refs(inline)["SMSGW_CALLBACK_TOKEN"]["key"] == "callback-token"
    assert "pushes without it are refused" in inline.notes


def test_open_pushes_are_said_explicitly(renders: dict[str, Any]) -> None:
    demo = renders["sandbox-demo"]
    assert demo.config["SMSGW_ALLOW_UNAUTHENTICATED_PUSH"] == "true"
    for scenario in set(SCENARIOS) - {"sandbox-demo"}:
        assert "SMSGW_ALLOW_UNAUTHENTICATED_PUSH" not in renders[scenario].config, scenario


def test_secure_scenario_locks_the_network_down(renders: dict[str, Any]) -> None:
    render = renders["secure"]
    spec = render.one("NetworkPolicy")["spec"]
    by_port = {rule["ports"][0]["port"]: rule for rule in spec["ingress"]}
    assert {"namespaceSelector": {"matchLabels": {"smsgateway-client": "true"}}} in by_port["grpc"][
        "from"
    ]
    assert by_port["http"]["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    ]
    assert render.config["SMSGW_CALLBACK_TRUST_FORWARDED_FOR"] == "true"
    assert render.config["SMSGW_CALLBACK_ALLOWED_NETWORKS"] == "203.0.113.0/24"
