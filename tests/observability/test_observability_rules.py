"""Alert rules and dashboard: promtool checks and unit tests; no reference to a missing metric."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from smsgateway.observability import metrics

FILES = Path(__file__).resolve().parents[2] / "helm" / "smsgateway" / "files"
RULES = FILES / "alerts" / "smsgateway-rules.yaml"
RULE_TESTS = FILES / "alerts" / "smsgateway-rules.test.yaml"
DASHBOARD = FILES / "dashboards" / "smsgateway.json"

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not on PATH (apt-get install prometheus)"
)

EXPECTED_ALERTS = {
    "SmsGatewayDown",
    "SmsGatewayUpstreamErrorRate",
    "SmsGatewayTokenFetchFailures",
    "SmsGatewayLowBalance",
    "SmsGatewayBalanceStale",
    "SmsGatewayNoDeliveryReports",
    "SmsGatewaySubscriberBacklog",
    "SmsGatewayDeadLetters",
    "SmsGatewayGrpcServerErrors",
}

_METRIC_NAME = re.compile(r"\b((?:smsgateway|process|python)_[a-z0-9_]+)\b")


def _exposed_names() -> set[str]:
    """Every sample name the registry can expose (including label-less families)."""
    names: set[str] = set()
    for family in metrics.REGISTRY.collect():
        base = family.name
        if family.type == "counter":
            names |= {f"{base}_total", f"{base}_created"}
        elif family.type == "histogram":
            names |= {f"{base}_bucket", f"{base}_count", f"{base}_sum", f"{base}_created"}
        elif family.type == "info":
            names.add(f"{base}_info")
        else:
            names.add(base)
        names |= {s.name for s in family.samples}
    return names


def _rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    rules: list[dict[str, Any]] = [r for g in doc["groups"] for r in g["rules"]]
    return rules


def _dashboard_exprs() -> list[tuple[str, str]]:
    board = json.loads(DASHBOARD.read_text())
    exprs = []
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            exprs.append((panel["title"], target["expr"]))
    return exprs


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


@needs_promtool
def test_promtool_check_rules() -> None:
    done = _promtool("check", "rules", RULES.name, cwd=RULES.parent)
    assert done.returncode == 0, done.stdout + done.stderr


@needs_promtool
def test_promtool_rule_unit_tests_pass() -> None:
    done = _promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_is_present_annotated_and_unit_tested() -> None:
    rules = _rules()
    assert {r["alert"] for r in rules} == EXPECTED_ALERTS
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert {"summary", "description", "runbook"} <= rule["annotations"].keys(), rule["alert"]
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    tested: dict[str, list[bool]] = {}
    for case in tests:
        for check in case["alert_rule_test"]:
            tested.setdefault(check["alertname"], []).append(bool(check["exp_alerts"]))
    for alert in EXPECTED_ALERTS:
        outcomes = tested.get(alert, [])
        assert True in outcomes and False in outcomes, f"{alert} must be tested firing and not"


def test_rules_reference_only_existing_metrics() -> None:
    exposed = _exposed_names()
    for rule in _rules():
        for name in _METRIC_NAME.findall(rule["expr"]):
            assert name in exposed, f"{rule['alert']} uses unknown metric {name}"


def test_dashboard_loads_and_references_only_existing_metrics() -> None:
    board = json.loads(DASHBOARD.read_text())
    assert board["uid"] == "smsgateway"
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    exposed = _exposed_names()
    exprs = _dashboard_exprs()
    assert len(exprs) >= 25
    for title, expr in exprs:
        names = _METRIC_NAME.findall(expr)
        assert names, title
        for name in names:
            assert name in exposed, f"panel {title!r} uses unknown metric {name}"
    for panel in board["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))


def test_dashboard_covers_the_issue_panels() -> None:
    text = DASHBOARD.read_text()
    for metric in (
        "smsgateway_recipients_total",
        "smsgateway_grpc_requests_total",
        "smsgateway_grpc_request_duration_seconds_bucket",
        "smsgateway_upstream_request_duration_seconds_bucket",
        "smsgateway_upstream_requests_total",
        "smsgateway_token_expiry_seconds",
        "smsgateway_balance",
        "smsgateway_delivery_reports_total",
        "smsgateway_uplinks_total",
        "smsgateway_dead_letters_total",
        "smsgateway_active_subscribers",
        "smsgateway_consumer_group_backlog_events",
    ):
        assert metric in text, metric


@needs_promtool
def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    # promtool has no offline "check expression"; recording rules get their PromQL parsed.
    rules = []
    for i, (_title, expr) in enumerate(_dashboard_exprs()):
        concrete = (
            expr.replace("$__rate_interval", "5m").replace("$job", ".*").replace("$instance", ".*")
        )
        rules.append({"record": f"dashboard:query_{i}", "expr": concrete})
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = _promtool("check", "rules", path.name, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
