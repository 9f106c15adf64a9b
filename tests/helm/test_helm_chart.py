"""The chart renders every CI scenario into valid, locked-down Kubernetes objects.

Each scenario under helm/smsgateway/ci/ is rendered once (Helm's Go engine through
helm-python-sdk), linted, validated with kubernetes-validate --strict against every
Kubernetes minor version from 1.29 to the newest it knows, and checked for what an operator
relies on: health probes the kubelet can reach, secrets only through secretKeyRef or read-only
Secret files, an Ingress exposing only the push callbacks, the cross-field rules, and a
configuration the service itself accepts (with the mounted files in place).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import helm_python as helm
import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate
import pytest
import trustme
import yaml
from kubernetes_validate import utils as kv_utils
from packaging.version import Version

from smsgateway.config import ConfigError, Settings
from smsgateway.security.callers import load_callers

REPO = Path(__file__).resolve().parents[2]
CHART_DIR = REPO / "helm" / "smsgateway"
SCENARIOS = sorted(p.name.removesuffix("-values.yaml") for p in CHART_DIR.glob("ci/*-values.yaml"))
RULES_FILE = CHART_DIR / "files" / "alerts" / "smsgateway-rules.yaml"
DASHBOARD_FILE = CHART_DIR / "files" / "dashboards" / "smsgateway.json"
SECRET_ENV = ("SMSGW_APP_ID", "SMSGW_SECRET", "SMSGW_CALLBACK_TOKEN", "SMSGW_REDIS_URL")
Manifest = dict[str, Any]
# The smallest values that render: without callers, running open must be said explicitly.
OPEN: dict[str, Any] = {"auth": {"allowUnauthenticated": True, "allowUnauthenticatedPushes": True}}


def _kube_versions() -> list[str]:
    """1.29 (the oldest supported, see Chart.yaml kubeVersion) up to the newest known."""
    known = sorted({Version(v) for v in kv_utils.all_versions()})
    return [f"{v.major}.{v.minor}.0" for v in known if v >= Version("1.29")]


KUBE_VERSIONS = _kube_versions()


def _secret_values(values: dict[str, Any]) -> list[str]:
    """The secret strings a scenario passes to the chart."""
    creds = values.get("credentials", {})
    found = [creds.get(k, "") for k in ("appId", "secret", "callbackToken")]
    found.append(values.get("redis", {}).get("url", ""))
    return [v for v in found if v]


def _secret_data(render: Any) -> dict[str, dict[str, str]]:
    """Decoded data of every rendered Secret, by Secret name."""
    return {
        s["metadata"]["name"]: {k: base64.b64decode(v).decode() for k, v in s["data"].items()}
        for s in render.all("Secret")
    }


def _pod_env(render: Any, secrets: dict[str, dict[str, str]]) -> dict[str, str]:
    """The environment a pod would get: the ConfigMap plus each resolvable secretKeyRef."""
    env = dict(render.config)
    for var in render.container["env"]:
        source = var.get("valueFrom", {}).get("secretKeyRef")
        if source is not None:
            value = secrets.get(source["name"], {}).get(source["key"])
            if value is not None:
                env[var["name"]] = value
        elif "value" in var:
            env[var["name"]] = var["value"]
    return env


# --- the chart as a whole -------------------------------------------------------------------


def test_ci_scenarios_exist() -> None:
    assert set(SCENARIOS) >= {
        "default",
        "existing-secret",
        "redis-multi-replica",
        "full-observability",
        "sandbox-demo",
        "ha",
        "secure",
        "mtls",
    }


def test_chart_metadata_supports_1_29_and_newer(chart: helm.Chart) -> None:
    meta = chart.metadata
    assert meta["apiVersion"] == "v2"
    assert meta["kubeVersion"] == ">=1.29.0-0"
    assert chart.schema is not None
    assert chart.schema["$schema"] == "http://json-schema.org/draft-07/schema#"


@pytest.mark.parametrize("scenario", [None, *SCENARIOS])
def test_lint_has_no_errors(scenario: str | None) -> None:
    values = None
    if scenario is not None:
        values = yaml.safe_load((CHART_DIR / "ci" / f"{scenario}-values.yaml").read_text())
    report = helm.lint(CHART_DIR, values, strict=True, kube_version="v1.29.0")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and problems == [], report


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_object_passes_strict_kubernetes_validation(
    renders: dict[str, Any], scenario: str
) -> None:
    render = renders[scenario]
    assert render.objects
    for obj in render.objects:
        for version in KUBE_VERSIONS:
            where = f"{scenario}: {obj['kind']}/{obj['metadata']['name']} on {version}"
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kv_utils.SchemaNotFoundError:
                # prometheus-operator CRDs are not core Kubernetes: checked below instead.
                assert obj["apiVersion"] == "monitoring.coreos.com/v1", where
            except kv_utils.ValidationError as exc:
                path = ".".join(str(p) for p in exc.path)
                pytest.fail(f"{where}: {path}: {exc.message}")


# The parts of the prometheus-operator CRDs the chart renders (kubernetes-validate has no CRDs).
_MONITORING_SCHEMAS: dict[str, dict[str, Any]] = {
    "ServiceMonitor": {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "spec": {
                "type": "object",
                "additionalProperties": False,
                "required": ["selector", "endpoints"],
                "properties": {
                    "jobLabel": {"type": "string"},
                    "namespaceSelector": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "matchNames": {"type": "array", "items": {"type": "string"}}
                        },
                    },
                    "selector": {
                        "type": "object",
                        "required": ["matchLabels"],
                        "properties": {"matchLabels": {"type": "object"}},
                    },
                    "endpoints": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["port"],
                            "properties": {
                                "port": {"type": "string"},
                                "path": {"type": "string", "pattern": "^/"},
                                "interval": {"type": "string", "pattern": "^([0-9]+(ms|s|m|h))+$"},
                                "scrapeTimeout": {
                                    "type": "string",
                                    "pattern": "^([0-9]+(ms|s|m|h))+$",
                                },
                                "relabelings": {"type": "array"},
                                "metricRelabelings": {"type": "array"},
                            },
                        },
                    },
                },
            }
        },
    },
    "PrometheusRule": {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "spec": {
                "type": "object",
                "additionalProperties": False,
                "required": ["groups"],
                "properties": {
                    "groups": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["name", "rules"],
                            "properties": {
                                "name": {"type": "string", "minLength": 1},
                                "interval": {"type": "string"},
                                "rules": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["expr"],
                                        "oneOf": [
                                            {"required": ["alert"]},
                                            {"required": ["record"]},
                                        ],
                                        "properties": {
                                            "alert": {"type": "string"},
                                            "record": {"type": "string"},
                                            "expr": {"type": ["string", "integer"]},
                                            "for": {"type": "string"},
                                            "labels": {"type": "object"},
                                            "annotations": {"type": "object"},
                                        },
                                    },
                                },
                            },
                        },
                    }
                },
            }
        },
    },
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_monitoring_objects_are_well_formed(renders: dict[str, Any], scenario: str) -> None:
    render = renders[scenario]
    service = render.one("Service")
    port_names = {p["name"] for p in service["spec"]["ports"]}
    for obj in render.objects:
        if obj["apiVersion"] != "monitoring.coreos.com/v1":
            continue
        jsonschema.validate(obj, _MONITORING_SCHEMAS[obj["kind"]])
        if obj["kind"] == "ServiceMonitor":
            # It must select the Service and scrape a port the Service has.
            selector = obj["spec"]["selector"]["matchLabels"]
            assert selector.items() <= service["metadata"]["labels"].items()
            assert {e["port"] for e in obj["spec"]["endpoints"]} <= port_names
            assert obj["spec"]["namespaceSelector"]["matchNames"] == ["sms"]
            # The job label comes from a label the Service has, whose value the alerts match.
            job = service["metadata"]["labels"][obj["spec"]["jobLabel"]]
            assert "smsgateway" in job


# --- what every scenario must get right -----------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_probes_check_health_where_the_kubelet_can(renders: dict[str, Any], scenario: str) -> None:
    """Native gRPC probes on plaintext gRPC; with TLS (which kubelet gRPC probes cannot speak)
    GET /healthz on the plaintext HTTP port."""
    render = renders[scenario]
    container = render.container
    grpc_port = next(p["containerPort"] for p in container["ports"] if p["name"] == "grpc")
    assert grpc_port == int(render.config["SMSGW_GRPC_PORT"])
    tls = "SMSGW_TLS_CERT_FILE" in render.config
    assert tls == bool(render.merged["tls"]["existingSecret"])
    for probe, values in (
        ("startupProbe", "startup"),
        ("livenessProbe", "liveness"),
        ("readinessProbe", "readiness"),
    ):
        spec = container[probe]
        if tls:
            assert spec["httpGet"] == {"path": "/healthz", "port": "http"}, probe
            assert not {"grpc", "tcpSocket", "exec"} & spec.keys(), probe
        else:
            assert spec["grpc"] == {"port": grpc_port, "service": ""}, probe
            assert not {"httpGet", "tcpSocket", "exec"} & spec.keys(), probe
        expected = render.merged["probes"][values]
        assert {k: spec[k] for k in expected} == expected, probe


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_pods_run_restricted(renders: dict[str, Any], scenario: str) -> None:
    render = renders[scenario]
    pod = render.deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["automountServiceAccountToken"] is False
    assert render.one("ServiceAccount")["automountServiceAccountToken"] is False
    container = render.container
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["runAsNonRoot"] is True
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["resources"]["requests"] and container["resources"]["limits"]
    # The only writable places: the data directory (on a volume) and /tmp.
    writable = {p: m["name"] for p, m in render.mounts.items() if not m.get("readOnly")}
    assert writable == {"/var/lib/smsgateway": "data", "/tmp": "tmp"}
    assert render.config["SMSGW_DATA_DIR"] == "/var/lib/smsgateway"
    volumes = render.volumes
    assert "emptyDir" in volumes["tmp"]
    # Everything else is a Secret's files, read-only, readable by the pod's group only, and
    # mounted as a directory (a subPath mount would never see a rotated file).
    for mount in render.mounts.values():
        if mount.get("readOnly"):
            assert "subPath" not in mount, mount
            secret = volumes[mount["name"]]["secret"]
            assert secret["defaultMode"] == 0o440, mount
    # The listeners must accept traffic from outside the pod.
    assert render.config["SMSGW_BIND_HOST"] == "0.0.0.0"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_termination_grace_outlasts_the_drain(renders: dict[str, Any], scenario: str) -> None:
    render = renders[scenario]
    pod = render.deployment["spec"]["template"]["spec"]
    pre_stop = render.container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    drain = int(pre_stop[1]) + float(render.config["SMSGW_SHUTDOWN_GRACE_SECONDS"])
    assert pod["terminationGracePeriodSeconds"] > drain


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_service_exposes_grpc_http_and_metrics(renders: dict[str, Any], scenario: str) -> None:
    render = renders[scenario]
    service = render.one("Service")
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert set(ports) == {"grpc", "http", "metrics"}
    assert ports["grpc"]["appProtocol"] == "grpc"
    container_ports = {p["name"]: p["containerPort"] for p in render.container["ports"]}
    assert {p["targetPort"] for p in ports.values()} == set(container_ports)
    assert container_ports == {
        "grpc": int(render.config["SMSGW_GRPC_PORT"]),
        "http": int(render.config["SMSGW_HTTP_PORT"]),
        "metrics": int(render.config["SMSGW_METRICS_PORT"]),
    }
    pod_labels = render.deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    # The `helm test` pod must not become an endpoint of the Service.
    test_pod = render.one("Pod")
    assert not service["spec"]["selector"].items() <= test_pod["metadata"]["labels"].items()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_secrets_never_appear_outside_a_secret(renders: dict[str, Any], scenario: str) -> None:
    render = renders[scenario]
    secrets = _secret_values(render.values)
    for obj in render.objects:
        if obj["kind"] == "Secret":
            continue
        text = json.dumps(obj)
        for secret in secrets:
            assert secret not in text, f"{obj['kind']}/{obj['metadata']['name']} leaks a secret"
    for secret in secrets:
        assert secret not in render.notes
    # The secret settings reach the process only through secretKeyRef.
    assert not set(SECRET_ENV) & set(render.config)
    for var in render.container["env"]:
        if var["name"] in SECRET_ENV:
            assert set(var) == {"name", "valueFrom"}, var
            assert set(var["valueFrom"]) == {"secretKeyRef"}, var
    assert "envFrom" not in render.container or all(
        "secretRef" not in source for source in render.container["envFrom"]
    )


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_secret_references_resolve(renders: dict[str, Any], scenario: str) -> None:
    """Every secretKeyRef points at a rendered Secret key or at the declared existing Secret."""
    render = renders[scenario]
    values = render.merged
    data = _secret_data(render)
    external = {values["credentials"]["existingSecret"], values["redis"]["existingSecret"]} - {""}
    refs = {
        v["name"]: v["valueFrom"]["secretKeyRef"]
        for v in render.container["env"]
        if "secretKeyRef" in v.get("valueFrom", {})
    }
    for ref in refs.values():
        if ref["name"] in external:
            assert ref["name"] not in data, "the chart must not create an existing Secret"
        else:
            assert ref["key"] in data[ref["name"]] or ref.get("optional") is True, ref
    # The values given in the scenario are the ones the process receives.
    env = _pod_env(render, data)
    creds = render.values.get("credentials", {})
    if not creds.get("existingSecret"):
        assert env.get("SMSGW_APP_ID") == creds.get("appId")
        assert env.get("SMSGW_SECRET") == creds.get("secret")
        assert env.get("SMSGW_CALLBACK_TOKEN") == creds.get("callbackToken")
    else:
        key = creds.get("existingSecretKeys", {}).get("appId", "app-id")
        assert refs["SMSGW_APP_ID"] == {"name": creds["existingSecret"], "key": key}
    redis = render.values.get("redis", {})
    if redis.get("url") and not redis.get("existingSecret"):
        assert env["SMSGW_REDIS_URL"] == redis["url"]
    elif redis.get("existingSecret"):
        assert refs["SMSGW_REDIS_URL"]["name"] == redis["existingSecret"]
    else:
        assert "SMSGW_REDIS_URL" not in refs


def _existing_secrets(values: dict[str, Any]) -> set[str]:
    """The Secrets a scenario says exist outside the chart."""
    names = {
        values["credentials"]["existingSecret"],
        values["redis"]["existingSecret"],
        values["redis"]["password"]["existingSecret"],
        values["redis"]["tlsCA"]["existingSecret"],
        values["callers"]["existingSecret"],
        values["tls"]["existingSecret"],
        values["tls"]["clientCA"]["existingSecret"],
        values["tls"]["clientCA"]["helmTestSecret"],
    }
    return names - {""}


def _file_settings(render: Any) -> dict[str, tuple[Manifest, str]]:
    """Each SMSGW_*_FILE setting: the Secret volume and the key behind the file it names."""
    found: dict[str, tuple[Manifest, str]] = {}
    for name, path in render.config.items():
        if not name.endswith("_FILE"):
            continue
        directory, _, file_name = path.rpartition("/")
        mount = render.mounts[directory]
        assert mount.get("readOnly") is True, name
        volume = render.volumes[mount["name"]]["secret"]
        (item,) = [i for i in volume["items"] if i["path"] == file_name]
        found[name] = (volume, item["key"])
    return found


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_secret_volumes_resolve(renders: dict[str, Any], scenario: str) -> None:
    """Every mounted Secret is rendered with the keys the pods read, or declared as existing;
    every file setting names a file that is mounted."""
    render = renders[scenario]
    data = _secret_data(render)
    external = _existing_secrets(render.merged)
    pods = [render.pod_spec] + [p["spec"] for p in render.all("Pod")]
    for pod in pods:
        for volume in pod.get("volumes", []):
            secret = volume.get("secret")
            if secret is None:
                continue
            name = secret["secretName"]
            if name in external:
                assert name not in data, "the chart must not create an existing Secret"
            else:
                for item in secret["items"]:
                    assert item["key"] in data[name], (name, item)
    files = _file_settings(render)
    assert set(files) <= {
        "SMSGW_CALLERS_FILE",
        "SMSGW_TLS_CERT_FILE",
        "SMSGW_TLS_KEY_FILE",
        "SMSGW_TLS_CLIENT_CA_FILE",
        "SMSGW_REDIS_PASSWORD_FILE",
        "SMSGW_REDIS_TLS_CA_FILE",
    }
    # Each mounted Secret file is named by a setting (nothing mounted for nobody).
    named = {(volume["secretName"], key) for volume, key in files.values()}
    for mount in render.mounts.values():
        if mount.get("readOnly"):
            secret = render.volumes[mount["name"]]["secret"]
            for item in secret["items"]:
                assert (secret["secretName"], item["key"]) in named, item


# What the pod reads from a Secret that exists outside the chart (environment variables).
_EXTERNAL_ENV = {
    "SMSGW_APP_ID": "extapp",
    "SMSGW_SECRET": "external-secret",
    "SMSGW_CALLBACK_TOKEN": "external-callback-token",
    "SMSGW_REDIS_URL": "rediss://redis.data.svc:6380/0",
}


def _stand_in_files(tmp_path: Path) -> dict[str, bytes]:
    """Contents for files whose Secret exists outside the chart: a callers file, a real
    certificate chain and key, a CA bundle, a password."""
    ca = trustme.CA()
    server = ca.issue_cert("smsgw-smsgateway", "smsgw-smsgateway.sms.svc")
    caller = {
        "name": "ops",
        "key_sha256": hashlib.sha256(b"stand-in key").hexdigest(),
        "permissions": ["admin"],
        "signs": ["*"],
    }
    return {
        "SMSGW_CALLERS_FILE": yaml.safe_dump({"callers": [caller]}).encode(),
        "SMSGW_TLS_CERT_FILE": b"".join(blob.bytes() for blob in server.cert_chain_pems),
        "SMSGW_TLS_KEY_FILE": server.private_key_pem.bytes(),
        "SMSGW_TLS_CLIENT_CA_FILE": ca.cert_pem.bytes(),
        "SMSGW_REDIS_PASSWORD_FILE": b"stand-in-password",
        "SMSGW_REDIS_TLS_CA_FILE": ca.cert_pem.bytes(),
    }


def _materialise_files(render: Any, env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """Write each mounted file (the rendered Secret's content, else a stand-in) under tmp_path
    and point its setting there, as the kubelet would mount it."""
    data = _secret_data(render)
    stand_ins = _stand_in_files(tmp_path)
    env = dict(env)
    for name, (volume, key) in _file_settings(render).items():
        rendered = data.get(volume["secretName"], {}).get(key)
        content = rendered.encode() if rendered is not None else stand_ins[name]
        target = tmp_path / name.lower()
        target.write_bytes(content)
        env[name] = str(target)
    return env


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_service_accepts_the_rendered_configuration(
    renders: dict[str, Any], scenario: str, tmp_path: Path
) -> None:
    """Feed what a pod would get (ConfigMap, Secrets, mounted files) to the service's own
    settings reader; a Secret that exists outside the chart holds every key the pod asks for."""
    render = renders[scenario]
    env = _materialise_files(render, _pod_env(render, _secret_data(render)), tmp_path)
    external = _existing_secrets(render.merged)
    for var in render.container["env"]:
        ref = var.get("valueFrom", {}).get("secretKeyRef")
        if ref is not None and ref["name"] in external:
            env[var["name"]] = _EXTERNAL_ENV[var["name"]]
    try:
        settings = Settings.from_env(env)
        # The callers file the chart renders is one the service loads.
        if settings.callers_file is not None:
            assert load_callers(settings.callers_file).names
    except ConfigError as exc:
        pytest.fail(f"the service refuses the rendered configuration: {exc.problems}")
    assert str(settings.data_dir) == "/var/lib/smsgateway"
    assert settings.bind_host == "0.0.0.0"
    assert settings.upstream_url == (render.merged["config"]["upstreamUrl"].rstrip("/") or None)
    assert settings.report_callback_path == render.merged["config"]["callbacks"]["reportPath"]


# --- Ingress: only the push callbacks -------------------------------------------------------


def test_ingress_exposes_only_the_callback_paths(renders: dict[str, Any]) -> None:
    render = renders["full-observability"]
    ingress = render.one("Ingress")
    service = render.one("Service")
    http_port = next(p["port"] for p in service["spec"]["ports"] if p["name"] == "http")
    callbacks = {
        render.config["SMSGW_REPORT_CALLBACK_PATH"],
        render.config["SMSGW_UPLINK_CALLBACK_PATH"],
    }
    assert "defaultBackend" not in ingress["spec"]
    assert [r["host"] for r in ingress["spec"]["rules"]] == ["sms-callbacks.example.com"]
    for rule in ingress["spec"]["rules"]:
        paths = rule["http"]["paths"]
        assert {p["path"] for p in paths} == callbacks
        assert len(paths) == len(callbacks)
        for path in paths:
            assert path["pathType"] == "Prefix"
            assert path["backend"]["service"] == {
                "name": service["metadata"]["name"],
                "port": {"number": http_port},
            }
    assert ingress["spec"]["tls"] == [
        {"hosts": ["sms-callbacks.example.com"], "secretName": "sms-callbacks-tls"}
    ]
    assert "https://sms-callbacks.example.com/callbacks/uplinks" in render.notes


def test_ingress_follows_custom_callback_paths_and_has_no_path_knob(render: Any) -> None:
    values = OPEN | {
        "ingress": {"enabled": True, "hosts": ["a.example.com", "b.example.com"]},
        "config": {"callbacks": {"reportPath": "/sms/dlr", "uplinkPath": "/sms/mo"}},
        "credentials": {"callbackToken": "t0ken"},
    }
    ingress = render(values).one("Ingress")
    assert len(ingress["spec"]["rules"]) == 2
    for rule in ingress["spec"]["rules"]:
        assert [p["path"] for p in rule["http"]["paths"]] == ["/sms/dlr", "/sms/mo"]
    # Paths come from the callback settings only: the values have no way to add `/`.
    with pytest.raises(helm.HelmValuesError):
        render({"ingress": {"enabled": True, "hosts": [{"host": "a", "paths": [{"path": "/"}]}]}})
    with pytest.raises(helm.HelmValuesError):
        render({"ingress": {"enabled": True, "paths": ["/"]}})


def test_no_ingress_by_default(renders: dict[str, Any], render: Any) -> None:
    assert render(OPEN).all("Ingress") == []
    assert renders["default"].all("Ingress") == []
    assert "The Ingress is disabled" in renders["default"].notes


# --- scenario specifics ---------------------------------------------------------------------


def test_default_single_replica_keeps_sqlite_on_a_claim(renders: dict[str, Any]) -> None:
    render = renders["default"]
    deployment = render.deployment
    assert deployment["spec"]["replicas"] == 1
    # One SQLite writer at a time: the old pod must be gone before the new one opens the store.
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    claim = render.one("PersistentVolumeClaim")
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert render.all("HorizontalPodAutoscaler") == []
    assert render.all("PodDisruptionBudget") == []
    assert render.all("NetworkPolicy") == []
    assert [o["kind"] for o in render.objects if "monitoring.coreos.com" in o["apiVersion"]] == []
    assert render.config["SMSGW_UPSTREAM_URL"] == "https://sms-api.example.com"
    assert "sandbox" not in render.notes.lower()


def test_existing_secret_creates_no_secret(renders: dict[str, Any]) -> None:
    render = renders["existing-secret"]
    assert render.all("Secret") == []
    refs = {
        v["name"]: v["valueFrom"]["secretKeyRef"]
        for v in render.container["env"]
        if "secretKeyRef" in v.get("valueFrom", {})
    }
    assert refs == {
        "SMSGW_APP_ID": {"name": "smsgateway-provider", "key": "APP_ID"},
        "SMSGW_SECRET": {"name": "smsgateway-provider", "key": "APP_SECRET"},
        # Required: with no allowlist the token is what protects the push endpoints.
        "SMSGW_CALLBACK_TOKEN": {"name": "smsgateway-provider", "key": "CALLBACK_TOKEN"},
    }
    volumes = {v["name"]: v for v in render.deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "smsgateway-data"
    assert render.all("PersistentVolumeClaim") == []
    assert render.config["SMSGW_POLL_ENABLED"] == "true"
    assert render.config["SMSGW_POLL_SIGN"] == "Acme"


def test_redis_multi_replica_scales_with_hpa_and_pdb(renders: dict[str, Any]) -> None:
    render = renders["redis-multi-replica"]
    deployment = render.deployment
    # The HPA owns the replica count; a fixed one would fight it on every upgrade.
    assert "replicas" not in deployment["spec"]
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    hpa = render.one("HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 6)
    assert {m["resource"]["name"] for m in hpa["spec"]["metrics"]} == {"cpu", "memory"}
    pdb = render.one("PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 2 and "maxUnavailable" not in pdb["spec"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert pdb["spec"]["selector"]["matchLabels"] == selector
    # With Redis the data directory is per-pod scratch space: no claim to share.
    assert render.all("PersistentVolumeClaim") == []
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"] == {"name": "data", "emptyDir": {}}


def test_full_observability_wires_metrics_traces_and_network(renders: dict[str, Any]) -> None:
    render = renders["full-observability"]
    assert render.one("ServiceMonitor")["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert render.config["OTEL_EXPORTER_OTLP_ENDPOINT"] == (
        "http://otel-collector.observability.svc:4317"
    )
    assert render.config["SMSGW_CALLBACK_ALLOWED_NETWORKS"] == "203.0.113.0/24,2001:db8::/32"
    policy = render.one("NetworkPolicy")
    spec = policy["spec"]
    assert (
        spec["podSelector"]["matchLabels"] == render.deployment["spec"]["selector"]["matchLabels"]
    )
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    named_ports = {p["name"] for p in render.container["ports"]}
    by_port = {rule["ports"][0]["port"]: rule for rule in spec["ingress"]}
    assert set(by_port) == named_ports
    # gRPC: the declared callers plus the chart's own `helm test` pod, nobody else.
    grpc_peers = by_port["grpc"]["from"]
    assert {"namespaceSelector": {"matchLabels": {"smsgateway-client": "true"}}} in grpc_peers
    test_pod_labels = render.one("Pod")["metadata"]["labels"]
    assert any(
        p.get("podSelector", {}).get("matchLabels", {}).items() <= test_pod_labels.items()
        and "podSelector" in p
        for p in grpc_peers
    )
    # Egress: DNS first, then the declared destinations.
    assert {p["port"] for p in spec["egress"][0]["ports"]} == {53}
    assert len(spec["egress"]) == 4


def test_prometheus_rule_ships_the_alert_rules_file(renders: dict[str, Any]) -> None:
    render = renders["full-observability"]
    rules = [o for o in render.objects if o["kind"] == "PrometheusRule"]
    if not RULES_FILE.exists():
        # Rendered only when the rule file is in the chart.
        assert rules == []
        return
    (rule,) = rules
    assert rule["spec"]["groups"] == yaml.safe_load(RULES_FILE.read_text())["groups"]
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_grafana_dashboard_configmap_is_labelled_for_the_sidecar(
    renders: dict[str, Any], render: Any
) -> None:
    maps = [
        o
        for o in renders["full-observability"].all("ConfigMap")
        if o["metadata"]["name"].endswith("-dashboard")
    ]
    if not DASHBOARD_FILE.exists():
        assert maps == []
        return
    (dashboard,) = maps
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert dashboard["metadata"]["annotations"] == {"grafana_folder": "SMS"}
    assert json.loads(dashboard["data"]["smsgateway.json"]) == json.loads(
        DASHBOARD_FILE.read_text()
    )
    # Off by default.
    assert not any(
        o["metadata"]["name"].endswith("-dashboard") for o in render(OPEN).all("ConfigMap")
    )


def test_monitoring_is_off_by_default(render: Any) -> None:
    kinds = {o["kind"] for o in render(OPEN).objects}
    assert not kinds & {"ServiceMonitor", "PrometheusRule", "NetworkPolicy", "Ingress"}


def test_pods_roll_when_configuration_or_secrets_change(render: Any) -> None:
    def checksums(values: dict[str, Any]) -> tuple[str, str]:
        annotations = render(values).deployment["spec"]["template"]["metadata"]["annotations"]
        return annotations["checksum/config"], annotations["checksum/secret"]

    base = OPEN | {"config": {"upstreamUrl": "https://p.example.com"}}
    creds = {"credentials": {"appId": "a1", "secret": "s1"}}
    config_1, secret_1 = checksums(base | creds)
    config_2, secret_2 = checksums(
        OPEN | {"config": {"upstreamUrl": "https://q.example.com"}} | creds
    )
    config_3, secret_3 = checksums(base | {"credentials": {"appId": "a1", "secret": "s2"}})
    assert config_1 != config_2 and secret_1 == secret_2
    assert config_1 == config_3 and secret_1 != secret_3


def test_sandbox_demo_keeps_scratch_data_and_rolls(renders: dict[str, Any]) -> None:
    render = renders["sandbox-demo"]
    spec = render.deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"]["type"] == "RollingUpdate"
    volumes = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
    assert volumes["data"] == {"name": "data", "emptyDir": {}}
    assert render.all("PersistentVolumeClaim") == []
    assert render.all("Secret") == []


def test_platform_assigned_ids_and_pinned_digest(render: Any) -> None:
    """OpenShift-style: null ids leave them to the platform; non-root is still enforced."""
    digest = "sha256:" + "ab" * 32
    out = render(
        OPEN
        | {
            "podSecurityContext": {"runAsUser": None, "runAsGroup": None, "fsGroup": None},
            "image": {
                "repository": "registry.example.com/smsgateway",
                "tag": "9.9",
                "digest": digest,
            },
        }
    )
    security = out.deployment["spec"]["template"]["spec"]["securityContext"]
    assert security == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    assert out.container["image"] == f"registry.example.com/smsgateway@{digest}"


def test_default_values_refuse_to_run_without_callers(render: Any) -> None:
    """The pods listen on 0.0.0.0: without callers, running open must be said explicitly."""
    with pytest.raises(helm.HelmRenderError) as caught:
        render({})
    assert "no callers are declared" in str(caught.value)
    assert "auth.allowUnauthenticated=true" in str(caught.value)


def test_minimal_values_run_the_sandbox_demo_and_say_so(render: Any) -> None:
    demo = render(OPEN)
    assert demo.config["SMSGW_UPSTREAM_URL"] == ""
    assert demo.all("Secret") == []
    assert not any(v["name"] in SECRET_ENV for v in demo.container["env"])
    assert "WARNING: config.upstreamUrl is empty" in demo.notes
    assert "WARNING: auth.allowUnauthenticated is true" in demo.notes
    assert demo.config["SMSGW_ALLOW_UNAUTHENTICATED"] == "true"
    # NOTES tell how to call the service.
    assert "grpcurl -plaintext localhost:50051 list smsgateway.v1.SmsGateway" in demo.notes
    assert "smsgw-smsgateway.sms.svc.cluster.local:50051" in demo.notes
