"""Observability of a real gateway process: the seeds' PromQL over scraped /metrics, the metrics
auth switch, and no secret in logs, metrics or traces."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx2 as httpx
import pytest

from stargate.governance.keys import hash_key
from tests.e2e.admin_client import new_key
from tests.e2e.processes import (
    MASTER_KEY,
    TEST_SECRET_ACCESS_KEY,
    Emulator,
    Gateway,
    run_gateway,
    stop,
)
from tests.redis_service import require_redis
from tests.unit.telemetry.otlp_receiver import threaded_receiver
from tests.unit.telemetry.promql import Scrape, Store, evaluate

pytestmark = pytest.mark.e2e

SLOW = "[[fault:slow-first-byte=300]]"  # the emulator answers after 300 ms


def chat(gateway: Gateway, model: str, text: str, key: str = MASTER_KEY) -> httpx.Response:
    return httpx.post(
        gateway.url + "/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": text}]},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )


def scrape(gateway: Gateway) -> Scrape:
    response = httpx.get(gateway.url + "/metrics", timeout=10)
    response.raise_for_status()
    return Scrape(time.time(), response.text)


def test_seed_queries_give_the_traffic_the_gateway_served(
    emulator: Emulator, tmp_path: Path
) -> None:
    with run_gateway(emulator.url, tmp_path) as gateway:
        tokens: dict[str, int] = {"model-cheap": 0, "claude-haiku-4-5": 0}
        cost = [0.0]

        def ok(model: str) -> None:
            response = chat(gateway, model, f"observe me {SLOW}")
            assert response.status_code == 200, response.text
            tokens[model] += response.json()["usage"]["total_tokens"]
            # What the gateway says the request cost (LiteLLM's header), once it says it.
            cost[0] += float(response.headers.get("x-litellm-response-cost", "0"))

        # Every series exists before the first scrape (a series born between two scrapes has
        # no rate, in Prometheus as here).
        ok("model-cheap")
        ok("claude-haiku-4-5")
        first = scrape(gateway)
        for _ in range(6):
            ok("model-cheap")
        for _ in range(4):
            ok("claude-haiku-4-5")
        for _ in range(2):
            assert chat(gateway, "model-cheap", "[[fault:access-denied]]").status_code == 403
        second = scrape(gateway)
    store = Store.of([first, second])
    at = second.time

    assert evaluate("sum(litellm_proxy_total_requests_metric_total)", store, at) == [({}, 14.0)]

    by_model = evaluate("sum(litellm_total_tokens_metric_total) by (model)", store, at)
    assert isinstance(by_model, list)
    assert {labels["model"] for labels, _ in by_model} == {
        "us.amazon.nova-micro-v1:0",
        "us.anthropic.claude-haiku-4-5-20251001-v1:0",
    }
    assert sorted(v for _, v in by_model) == sorted(float(t) for t in tokens.values())

    # Spend by user: the master key has no user, so one series without the label, worth what
    # the responses said they cost (nothing while the pipeline reports no cost to the metrics).
    spend = evaluate("sum(litellm_spend_metric_total) by (user)", store, at)
    assert spend == [({}, pytest.approx(cost[0], abs=1e-9))]

    # The ten answers between the scrapes each took 300 ms and a little upstream: all in the
    # (0.25, 0.5] bucket, where the 95th percentile interpolates to 0.25 + 0.25 * 0.95.
    p95 = evaluate(
        "histogram_quantile(0.95, sum(rate(litellm_llm_api_latency_metric_bucket[5m])) by (le))",
        store,
        at,
    )
    assert p95 == [({}, pytest.approx(0.4875))]


CONFIG = """\
model_list:
  - model_name: model-cheap
    litellm_params:
      model: bedrock/us.amazon.nova-micro-v1:0
      aws_region_name: us-east-1
litellm_settings:
  require_auth_for_metrics_endpoint: true
  callbacks: ["prometheus"]
"""


def test_metrics_can_require_a_key(emulator: Emulator, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    with run_gateway(emulator.url, tmp_path, "--config", str(config)) as gateway:
        refused = httpx.get(gateway.url + "/metrics", timeout=5)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "missing_api_key"
        allowed = httpx.get(gateway.url + "/metrics", headers={"x-api-key": MASTER_KEY}, timeout=5)
        assert allowed.status_code == 200
        assert "litellm_proxy_total_requests_metric" in allowed.text


def test_no_key_or_secret_in_logs_metrics_or_traces(emulator: Emulator, tmp_path: Path) -> None:
    with threaded_receiver() as otlp:
        with run_gateway(
            emulator.url,
            tmp_path,
            STARGATE_LOG_FORMAT="json",
            STARGATE_LOG_LEVEL="DEBUG",
            OTEL_EXPORTER_OTLP_ENDPOINT=otlp.url,
            OTEL_BSP_SCHEDULE_DELAY="100",
        ) as gateway:
            assert chat(gateway, "model-cheap", "hello").status_code == 200
            assert chat(gateway, "model-cheap", "[[fault:server-error]]").status_code >= 500
            assert chat(gateway, "model-cheap", "hi", key="sk-not-a-real-key-42").status_code == 401
            metrics_text = httpx.get(gateway.url + "/metrics", timeout=5).text
            stop(gateway.proc)  # flushes logs and queued spans
        exported = b"".join(export.body for export in otlp.exports)
    log = gateway.log.read_text()
    json_lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert json_lines, "the gateway logs JSON lines"
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in json_lines)
    assert hash_key(MASTER_KEY) in metrics_text  # keys appear hashed, as LiteLLM labels them
    for secret in (MASTER_KEY, TEST_SECRET_ACCESS_KEY, "sk-not-a-real-key-42"):
        assert secret not in log
        assert secret not in metrics_text
        assert secret.encode() not in exported


PAIR_CONFIG = """\
model_list:
  - model_name: pair
    litellm_params:
      model: bedrock/us.amazon.nova-micro-v1:0
      aws_region_name: us-east-1
    model_info: {id: pair-east}
  - model_name: pair
    litellm_params:
      model: bedrock/us.amazon.nova-micro-v1:0
      aws_region_name: us-west-2
    model_info: {id: pair-west}
  - model_name: solo
    litellm_params:
      model: bedrock/us.amazon.nova-micro-v1:0
      aws_region_name: us-east-1
router_settings:
  allowed_fails: 1
  cooldown_time: 60
"""


def test_gateway_internals_are_reported_from_real_traffic(
    emulator: Emulator, tmp_path: Path
) -> None:
    """Deployment state and cooldowns, admission decisions, Redis round trips and the ledger's
    queue and journal, as the gateway itself reports them (nothing fed by the test)."""
    config = tmp_path / "config.yaml"
    config.write_text(PAIR_CONFIG)
    with run_gateway(emulator.url, tmp_path, "--config", str(config),
                     STARGATE_REDIS_URL=require_redis()) as gateway:  # fmt: skip
        rich = new_key(gateway, models=["pair"], max_budget=5.0)
        poor = new_key(gateway, models=["pair"], max_budget=0.0000001)
        assert chat(gateway, "pair", "hello", rich).status_code == 200
        assert chat(gateway, "pair", "hello", poor).status_code == 429  # budget exceeded
        assert chat(gateway, "solo", "hello", rich).status_code == 403  # not on its list
        # Both deployments throttled twice: more than allowed_fails (1) in a minute.
        for _ in range(2):
            assert chat(gateway, "pair", "[[fault:throttle]]", rich).status_code == 429
        text = scrape(gateway).text
        assert chat(gateway, "pair", "well again", rich).status_code == 200
        after = scrape(gateway).text

    def value(exposition: str, name: str, **labels: str) -> float:
        store = Store.of([Scrape(0.0, exposition)])
        matcher = ",".join(f'{k}="{v}"' for k, v in labels.items())
        result = evaluate(f"sum({name}{{{matcher}}})", store, 0.0)
        assert isinstance(result, list)
        return result[0][1] if result else 0.0

    for deployment in ("pair-east", "pair-west"):
        assert value(text, "litellm_deployment_state", model_id=deployment) == 2.0
        assert value(text, "litellm_deployment_cooled_down_total", model_id=deployment,
                     exception_status="429") == 1.0  # fmt: skip
    # The request after the cooldowns was served by one of them, which is healthy again.
    states = sorted(
        value(after, "litellm_deployment_state", model_id=d) for d in ("pair-east", "pair-west")
    )
    assert states == [0.0, 2.0]
    assert value(after, "stargate_admission_decisions_total", outcome="admitted") == 4.0
    assert value(after, "stargate_admission_decisions_total", outcome="budget_exceeded") == 1.0
    assert value(after, "stargate_admission_decisions_total", outcome="denied") == 1.0
    # One round trip per admission that reached the counters (the refused model did not), one
    # per settlement of an admitted request.
    assert value(after, "stargate_redis_latency_seconds_count", operation="admit") == 5.0
    assert value(after, "stargate_redis_latency_seconds_count", operation="settle") == 4.0
    assert "stargate_ledger_queue_depth" in after
    assert "stargate_journal_bytes" in after
    assert value(after, "stargate_event_loop_tasks") >= 1  # this scrape's own task, at least
