"""The Grafana dashboards ask only for what the gateway exports, with labels it really sets."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from stargate.core import Usage
from stargate.telemetry import (
    BudgetOwner,
    DeploymentLabels,
    DeploymentState,
    Metrics,
    RequestLabels,
)
from tests.unit.telemetry.promql import Node, Scrape, Store, evaluate, parse, substitute

GRAFANA = Path(__file__).parents[3] / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
SEED_EXPRESSIONS = (
    "sum(litellm_proxy_total_requests_metric_total)",
    "sum(litellm_total_tokens_metric_total) by (model)",
    "sum(litellm_spend_metric_total) by (user)",
    "histogram_quantile(0.95, sum(rate(litellm_llm_api_latency_metric_bucket",
)


def exported_labels() -> dict[str, set[str]]:
    """Sample name → its label names, for every metric the gateway defines."""
    out: dict[str, set[str]] = {}
    for metric in vars(Metrics()).values():
        candidates = metric.values() if isinstance(metric, dict) else [metric]
        for candidate in candidates:
            for wrapper in candidate if isinstance(candidate, tuple) else [candidate]:
                if not isinstance(wrapper, MetricWrapperBase):
                    continue
                name, labels = wrapper._name, set(wrapper._labelnames)
                match wrapper._type:
                    case "counter":
                        out[name + "_total"] = labels
                    case "histogram":
                        out[name + "_bucket"] = labels | {"le"}
                        out[name + "_sum"] = labels
                        out[name + "_count"] = labels
                    case _:
                        out[name] = labels
    return out


EXPORTED = exported_labels()


def load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return [p for p in out if p["type"] != "row"]


def expressions() -> list[tuple[str, str, str]]:
    return [
        (path.name, panel["title"], target["expr"])
        for path in DASHBOARDS
        for panel in panels(load(path))
        for target in panel["targets"]
    ]


def selectors(node: Node) -> list[Node]:
    found = [node] if node.kind == "selector" else []
    for arg in node.args:
        found.extend(selectors(arg))
    return found


def check_labels(node: Node) -> None:
    """Matchers name labels of their metric; by/without name labels of the metrics below."""
    if node.kind == "selector":
        known = EXPORTED[node.text]
        for label, _, _ in node.matchers:
            assert label in known, f"{node.text} has no label {label!r}"
    if node.kind == "agg" and node.grouping:
        below = set().union(*(EXPORTED[s.text] for s in selectors(node)))
        assert set(node.grouping) <= below, f"{node.grouping} not among {sorted(below)}"
    for arg in node.args:
        check_labels(arg)


def test_there_are_the_four_dashboards() -> None:
    assert [p.stem for p in DASHBOARDS] == [
        "stargate-budgets", "stargate-gateway", "stargate-latency-errors", "stargate-usage",
    ]  # fmt: skip


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_is_provisionable(path: Path) -> None:
    dashboard = load(path)
    assert dashboard["uid"] == path.stem
    assert dashboard["title"].startswith("Stargate")
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels(dashboard):
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}"
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24


@pytest.mark.parametrize(("dashboard", "panel", "expr"), expressions())
def test_every_expression_names_only_exported_metrics_and_labels(
    dashboard: str, panel: str, expr: str
) -> None:
    node = parse(substitute(expr, {"model": ".*", "team": ".*"}))
    names = {s.text for s in selectors(node)}
    assert names, "an expression selects at least one metric"
    assert names <= EXPORTED.keys(), f"not exported: {sorted(names - EXPORTED.keys())}"
    check_labels(node)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_template_variables_query_exported_labels(path: Path) -> None:
    for variable in load(path)["templating"]["list"]:
        if variable["type"] != "query":
            continue
        match = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", variable["definition"])
        assert match, variable["definition"]
        metric, label = match.groups()
        assert label in EXPORTED[metric], variable["definition"]


def test_the_seed_queries_are_on_the_dashboards() -> None:
    every = " ".join(expr for _, _, expr in expressions())
    for seed in SEED_EXPRESSIONS:
        assert seed in every, seed


def test_every_expression_evaluates_over_recorded_traffic() -> None:
    metrics = Metrics()
    deployment = DeploymentLabels("nova-micro", "cheap-1", "bedrock")
    scrapes = []
    for second in (0.0, 60.0):
        for user, team in (("ada", "research"), ("bob", "platform")):
            labels = RequestLabels("model-cheap", model="nova-micro", model_id="cheap-1",
                                   user=user, team=team, team_alias=team,
                                   api_key_alias=f"{user}-key")  # fmt: skip
            metrics.observe_success(labels, usage=Usage(100, 10), cost_micro=50,
                                    upstream_s=0.3, total_s=0.31, ttft_s=0.1)  # fmt: skip
            metrics.observe_attempt(labels)
            metrics.record_failure(labels, status=429, exception_class="RateLimited")
            metrics.set_budget(BudgetOwner("team", team, team), max_micro=10_000_000,
                               spent_micro=1_000, reset_at=3600.0, now=second)  # fmt: skip
            metrics.set_budget(BudgetOwner("user", user), max_micro=5_000_000, spent_micro=500,
                               reset_at=7200.0, now=second)  # fmt: skip
            metrics.set_budget(BudgetOwner("key", "h-" + user, f"{user}-key"),
                               max_micro=1_000_000, spent_micro=50, reset_at=None)  # fmt: skip
        metrics.set_deployment_state(deployment, DeploymentState.HEALTHY)
        metrics.observe_cooldown(deployment, exception_status=429)
        metrics.observe_attempt(RequestLabels("model-cheap", model_id="cheap-1"), status=503,
                                exception_class="UpstreamUnavailable")  # fmt: skip
        metrics.observe_admission("admitted")
        metrics.observe_redis("admit", 0.002)
        metrics.observe_callback_failure("otlp")
        metrics.set_ledger_queue_depth(2)
        metrics.set_journal_bytes(2048)
        metrics.request_started()
        scrapes.append(Scrape(second, metrics.exposition().decode()))
    store = Store.of(scrapes)
    empty = []
    for dashboard, panel, expr in expressions():
        result = evaluate(substitute(expr, {"model": ".*", "team": ".*"}), store, 60.0)
        if result == []:
            empty.append((dashboard, panel, expr))
    assert empty == []


def test_provisioning_files() -> None:
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/stargate.yaml").read_text())
    (entry,) = provider["providers"]
    assert entry["type"] == "file"
    assert entry["options"]["path"].endswith("/stargate")
    source = yaml.safe_load(
        (GRAFANA / "provisioning/datasources/stargate-prometheus.yaml").read_text()
    )
    (datasource,) = source["datasources"]
    assert datasource["type"] == "prometheus"


@pytest.mark.parametrize(
    "expr",
    [
        "sum by (nope) (litellm_spend_metric_total)",
        'litellm_spend_metric_total{route="/v1/chat/completions"}',
        "sum(litellm_spend_metric)",  # the family name, without _total
    ],
)
def test_the_checks_catch_unknown_metrics_and_labels(expr: str) -> None:
    node = parse(expr)
    with pytest.raises((AssertionError, KeyError)):
        assert {s.text for s in selectors(node)} <= EXPORTED.keys()
        check_labels(node)
