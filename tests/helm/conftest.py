"""Fixtures for the chart tests: the chart loaded once, each CI scenario rendered once.

Rendering goes through helm-python-sdk, i.e. Helm's own Go engine (schema validation,
template functions, `.Files`), so no `helm` binary is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART_DIR = REPO / "helm" / "smsgateway"
RELEASE = "smsgw"
NAMESPACE = "sms"
SCENARIOS = sorted(p.name.removesuffix("-values.yaml") for p in CHART_DIR.glob("ci/*-values.yaml"))

Manifest = dict[str, Any]


def load_scenario(name: str) -> dict[str, Any]:
    """The values of `ci/<name>-values.yaml`."""
    values = yaml.safe_load((CHART_DIR / "ci" / f"{name}-values.yaml").read_text()) or {}
    assert isinstance(values, dict)
    return values


def parse_manifests(rendered: dict[str, str]) -> list[Manifest]:
    """Every object of a render, in template order (NOTES.txt and empty templates skipped)."""
    objects: list[Manifest] = []
    for path in sorted(rendered):
        if path.endswith("NOTES.txt"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(rendered[path]) if doc)
    return objects


class Render:
    """One render of the chart: its raw templates, its objects and the values behind it."""

    def __init__(self, chart: helm.Chart, values: dict[str, Any]) -> None:
        self.values = values
        self.merged = chart.merge_values(values)
        self.raw = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
        self.objects = parse_manifests(self.raw)
        self.notes = next((t for p, t in self.raw.items() if p.endswith("NOTES.txt")), "")

    def all(self, kind: str) -> list[Manifest]:
        """Every object of this kind."""
        return [o for o in self.objects if o["kind"] == kind]

    def one(self, kind: str, *, suffix: str = "") -> Manifest:
        """The single object of this kind (whose name ends with `suffix`, when given)."""
        found = [o for o in self.all(kind) if o["metadata"]["name"].endswith(suffix)]
        assert len(found) == 1, f"expected one {kind}, found {[o['metadata'] for o in found]}"
        return found[0]

    @property
    def deployment(self) -> Manifest:
        return self.one("Deployment")

    @property
    def container(self) -> Manifest:
        containers = self.deployment["spec"]["template"]["spec"]["containers"]
        assert len(containers) == 1
        container: Manifest = containers[0]
        return container

    @property
    def pod_spec(self) -> Manifest:
        spec: Manifest = self.deployment["spec"]["template"]["spec"]
        return spec

    @property
    def volumes(self) -> dict[str, Manifest]:
        """The pod's volumes by name."""
        return {v["name"]: v for v in self.pod_spec.get("volumes", [])}

    @property
    def mounts(self) -> dict[str, Manifest]:
        """The server container's volume mounts by mount path."""
        return {m["mountPath"]: m for m in self.container.get("volumeMounts", [])}

    @property
    def config(self) -> dict[str, str]:
        """The service's ConfigMap data (not the dashboard's)."""
        data: dict[str, str] = next(
            o["data"]
            for o in self.all("ConfigMap")
            if not o["metadata"]["name"].endswith("-dashboard")
        )
        return data


@pytest.fixture(scope="session")
def chart() -> helm.Chart:
    return helm.Chart.load(CHART_DIR)


@pytest.fixture(scope="module")
def renders(chart: helm.Chart) -> dict[str, Render]:
    """Each CI scenario rendered once per module."""
    return {name: Render(chart, load_scenario(name)) for name in SCENARIOS}


@pytest.fixture
def render(chart: helm.Chart) -> Any:
    """Render the chart with ad-hoc values."""

    def _render(values: dict[str, Any]) -> Render:
        return Render(chart, values)

    return _render
