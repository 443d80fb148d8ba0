"""The metrics under LiteLLM's names and label sets, recorded through the Metrics methods."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from stargate.core import Usage
from stargate.errors import ConfigError
from stargate.telemetry import (
    BudgetOwner,
    DeploymentLabels,
    DeploymentState,
    Metrics,
    RequestLabels,
)
from stargate.telemetry.metric_labels import OVERFLOW, BoundedCache, LabelCap
from tests.unit.telemetry.exposition import parse_samples, value

LABELS = RequestLabels(
    requested_model="claude-sonnet",
    model="us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    model_id="sonnet-use1",
    hashed_api_key="88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
    api_key_alias="ci-bot",
    team="team-1",
    team_alias="platform",
    user="user-7",
    user_email="ada@example.com",
    route="/v1/chat/completions",
    api_provider="bedrock",
    api_base="https://bedrock-runtime.us-east-1.amazonaws.com",
    client_ip="10.0.0.7",
    user_agent="openai-python/1.0",
)

# LiteLLM's label sets (shared/reference §C.1), org labels aside.
LITELLM_LABELS = {
    "litellm_proxy_total_requests_metric": {
        "end_user", "hashed_api_key", "api_key_alias", "requested_model", "team", "team_alias",
        "user", "status_code", "user_email", "route", "client_ip", "user_agent", "model_id",
    },
    "litellm_proxy_failed_requests_metric": {
        "end_user", "hashed_api_key", "api_key_alias", "requested_model", "team", "team_alias",
        "user", "user_email", "exception_status", "exception_class", "route", "client_ip",
        "user_agent", "model_id",
    },
    "litellm_spend_metric": {
        "end_user", "hashed_api_key", "api_key_alias", "model", "team", "team_alias", "user",
        "user_email", "client_ip", "user_agent", "model_id", "api_provider",
    },
    "litellm_requests_metric": {
        "end_user", "hashed_api_key", "api_key_alias", "model", "team", "team_alias", "user",
        "user_email", "client_ip", "user_agent", "model_id", "api_provider",
    },
    **{
        name: {
            "end_user", "hashed_api_key", "api_key_alias", "model", "team", "team_alias",
            "user", "user_email", "requested_model", "model_id",
        }
        for name in (
            "litellm_total_tokens_metric", "litellm_input_tokens_metric",
            "litellm_output_tokens_metric",
        )
    },
    **{
        name: {
            "end_user", "hashed_api_key", "api_key_alias", "requested_model", "team",
            "team_alias", "user", "model", "model_id",
        }
        for name in (
            "litellm_request_total_latency_metric", "litellm_llm_api_latency_metric",
            "litellm_llm_api_time_to_first_token_metric",
        )
    },
    "litellm_overhead_latency_metric": {
        "model_group", "api_provider", "api_base", "litellm_model_name", "hashed_api_key",
        "api_key_alias", "model_id",
    },
    "litellm_remaining_team_budget_metric": {"team", "team_alias"},
    "litellm_team_max_budget_metric": {"team", "team_alias"},
    "litellm_team_budget_remaining_hours_metric": {"team", "team_alias"},
    "litellm_remaining_api_key_budget_metric": {"hashed_api_key", "api_key_alias"},
    "litellm_api_key_max_budget_metric": {"hashed_api_key", "api_key_alias"},
    "litellm_api_key_budget_remaining_hours_metric": {"hashed_api_key", "api_key_alias"},
    "litellm_remaining_user_budget_metric": {"user"},
    "litellm_user_max_budget_metric": {"user"},
    "litellm_user_budget_remaining_hours_metric": {"user"},
    "litellm_deployment_state": {"litellm_model_name", "model_id", "api_base", "api_provider"},
    "litellm_deployment_cooled_down": {
        "litellm_model_name", "model_id", "api_base", "api_provider", "exception_status",
    },
    "litellm_deployment_total_requests": {
        "requested_model", "litellm_model_name", "model_id", "api_base", "api_provider",
        "hashed_api_key", "api_key_alias", "team", "team_alias", "client_ip", "user_agent",
    },
    "litellm_in_flight_requests": set(),
}  # fmt: skip


def label_names(metrics: Metrics) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for family in metrics.registry.collect():
        for sample in family.samples:
            out.setdefault(family.name, set()).update(set(sample.labels) - {"le"})
    return out


def record_everything(metrics: Metrics) -> None:
    usage = Usage(input_tokens=100, output_tokens=20, cache_read_tokens=30)
    metrics.observe_success(
        LABELS, usage=usage, cost_micro=1234, upstream_s=0.2, total_s=0.25, ttft_s=0.05
    )
    metrics.record_failure(LABELS, status=429, exception_class="RateLimited")
    metrics.observe_attempt(LABELS)
    deployment = DeploymentLabels("m", "sonnet-use1", "bedrock", "https://b")
    metrics.set_deployment_state(deployment, DeploymentState.PARTIAL_OUTAGE)
    metrics.observe_cooldown(deployment, exception_status=429)
    for owner in (
        BudgetOwner("key", LABELS.hashed_api_key, "ci-bot"),
        BudgetOwner("user", "user-7"),
        BudgetOwner("team", "team-1", "platform"),
    ):
        metrics.set_budget(owner, max_micro=10_000_000, spent_micro=2_500_000, reset_at=7200.0,
                           now=0.0)  # fmt: skip


def test_every_litellm_metric_carries_litellm_label_set() -> None:
    metrics = Metrics()
    metrics.request_started()
    record_everything(metrics)
    names = label_names(metrics)
    for metric, expected in LITELLM_LABELS.items():
        assert names.get(metric, set()) == expected, metric


def test_success_counts_tokens_spend_and_latencies() -> None:
    metrics = Metrics()
    usage = Usage(input_tokens=100, output_tokens=20, cache_read_tokens=30, cache_write_tokens=5)
    for _ in range(2):
        metrics.observe_success(
            LABELS, usage=usage, cost_micro=1234, upstream_s=0.2, total_s=0.25, ttft_s=0.05
        )
    s = parse_samples(metrics.exposition())
    assert value(s, "litellm_proxy_total_requests_metric_total", status_code="200") == 2
    assert value(s, "litellm_input_tokens_metric_total") == 2 * 135  # cache tokens included
    assert value(s, "litellm_output_tokens_metric_total") == 40
    assert value(s, "litellm_total_tokens_metric_total", model=LABELS.model) == 2 * 155
    assert value(s, "litellm_spend_metric_total", user="user-7") == pytest.approx(0.002468)
    assert value(s, "litellm_request_total_latency_metric_sum") == pytest.approx(0.5)
    assert value(s, "litellm_llm_api_latency_metric_sum") == pytest.approx(0.4)
    assert value(s, "litellm_llm_api_time_to_first_token_metric_count") == 2
    assert value(s, "litellm_overhead_latency_metric_sum") == pytest.approx(0.1)
    assert value(s, "litellm_overhead_latency_metric_count", model_group="claude-sonnet") == 2
    assert value(s, "litellm_requests_metric_total", api_provider="bedrock") == 2


def test_success_without_usage_cost_or_stream_records_only_what_is_known() -> None:
    metrics = Metrics()
    metrics.observe_success(LABELS, usage=None, cost_micro=None, upstream_s=0.1, total_s=0.1)
    s = parse_samples(metrics.exposition())
    assert value(s, "litellm_proxy_total_requests_metric_total") == 1
    assert value(s, "litellm_total_tokens_metric_total") == 0
    assert value(s, "litellm_spend_metric_total") == 0
    assert value(s, "litellm_llm_api_time_to_first_token_metric_count") == 0
    assert value(s, "litellm_overhead_latency_metric_sum") == 0


def test_legacy_record_success_counts_the_pipeline_tokens() -> None:
    metrics = Metrics()
    metrics.record_success(LABELS, input_tokens=7, output_tokens=3, total_seconds=1.0,
                           upstream_seconds=0.5)  # fmt: skip
    s = parse_samples(metrics.exposition())
    assert value(s, "litellm_total_tokens_metric_total") == 10
    assert value(s, "litellm_overhead_latency_metric_sum") == pytest.approx(0.5)


def test_failure_counts_in_total_with_status_and_in_failures_with_class() -> None:
    metrics = Metrics()
    metrics.record_failure(LABELS, status=429, exception_class="RateLimited")
    metrics.record_failure(LABELS, status=429, exception_class="RateLimited")
    metrics.record_failure(LABELS, status=502, exception_class="UpstreamError")
    s = parse_samples(metrics.exposition())
    assert value(s, "litellm_proxy_total_requests_metric_total", status_code="429") == 2
    assert value(s, "litellm_proxy_failed_requests_metric_total",
                 exception_status="429", exception_class="RateLimited") == 2  # fmt: skip
    assert value(s, "litellm_proxy_failed_requests_metric_total", exception_status="502") == 1


def test_in_flight_goes_up_and_down() -> None:
    metrics = Metrics()
    metrics.request_started()
    metrics.request_started()
    metrics.request_finished()
    assert value(parse_samples(metrics.exposition()), "litellm_in_flight_requests") == 1


def test_attempts_count_per_deployment_with_outcome() -> None:
    metrics = Metrics()
    metrics.observe_attempt(LABELS, status=503, exception_class="UpstreamUnavailable")
    metrics.observe_attempt(LABELS)
    s = parse_samples(metrics.exposition())
    assert value(s, "litellm_deployment_total_requests_total", model_id="sonnet-use1") == 2
    assert value(s, "litellm_deployment_success_responses_total") == 1
    assert value(s, "litellm_deployment_failure_responses_total",
                 exception_class="UpstreamUnavailable", exception_status="503") == 1  # fmt: skip


def test_budgets_are_usd_with_hours_to_reset_and_reset_time() -> None:
    metrics = Metrics()
    record_everything(metrics)
    s = parse_samples(metrics.exposition())
    assert value(s, "litellm_remaining_team_budget_metric", team_alias="platform") == 7.5
    assert value(s, "litellm_team_max_budget_metric", team="team-1") == 10.0
    assert value(s, "litellm_team_budget_remaining_hours_metric") == 2.0
    assert value(s, "litellm_remaining_user_budget_metric", user="user-7") == 7.5
    assert value(s, "litellm_api_key_max_budget_metric", api_key_alias="ci-bot") == 10.0
    assert value(s, "stargate_budget_reset_timestamp_seconds", scope="team", team="team-1") == 7200


def test_overspent_budget_reports_negative_remaining() -> None:
    metrics = Metrics()
    metrics.set_budget(BudgetOwner("team", "t"), max_micro=1_000_000, spent_micro=1_500_000,
                       reset_at=None)  # fmt: skip
    s = parse_samples(metrics.exposition())
    assert value(s, "litellm_remaining_team_budget_metric") == -0.5


def test_deployment_state_cooldowns_and_internals() -> None:
    metrics = Metrics()
    record_everything(metrics)
    metrics.set_ledger_queue_depth(12)
    metrics.set_journal_bytes(4096)
    metrics.observe_admission("admitted")
    metrics.observe_admission("budget_exceeded")
    metrics.observe_admission("admitted")
    metrics.observe_redis("admit", 0.002)
    metrics.observe_callback_failure("langfuse")
    s = parse_samples(metrics.exposition())
    assert value(s, "litellm_deployment_state", model_id="sonnet-use1") == 1
    assert value(s, "litellm_deployment_cooled_down_total", exception_status="429") == 1
    assert value(s, "stargate_ledger_queue_depth") == 12
    assert value(s, "stargate_journal_bytes") == 4096
    assert value(s, "stargate_admission_decisions_total", outcome="admitted") == 2
    assert value(s, "stargate_redis_latency_seconds_count", operation="admit") == 1
    assert value(s, "litellm_callback_logging_failures_metric_total", callback_name="langfuse") == 1


def test_dropping_high_cardinality_labels_removes_them_everywhere() -> None:
    metrics = Metrics(drop_high_cardinality_labels=True)
    record_everything(metrics)
    dropped = {"hashed_api_key", "user", "user_email", "end_user", "client_ip", "user_agent"}
    for metric, names in label_names(metrics).items():
        assert not names & dropped, metric
    s = parse_samples(metrics.exposition())
    assert value(s, "litellm_spend_metric_total", api_key_alias="ci-bot") == pytest.approx(0.001234)
    # A user budget has no label left to tell users apart: it is not reported.
    assert not any(name == "litellm_remaining_user_budget_metric" for name, _ in s)
    assert value(s, "litellm_remaining_api_key_budget_metric", api_key_alias="ci-bot") == 7.5


def test_high_cardinality_values_beyond_the_cap_fold_into_other() -> None:
    metrics = Metrics(max_label_values=2)
    for user in ("u1", "u2", "u3", "u4", "u1"):
        labels = RequestLabels("m", user=user)
        metrics.observe_success(labels, usage=Usage(1, 1), cost_micro=1, upstream_s=0.1,
                                total_s=0.1)  # fmt: skip
    s = parse_samples(metrics.exposition())
    assert value(s, "litellm_proxy_total_requests_metric_total", user="u1") == 2
    assert value(s, "litellm_proxy_total_requests_metric_total", user="u2") == 1
    assert value(s, "litellm_proxy_total_requests_metric_total", user=OVERFLOW) == 2
    users = {dict(ls).get("user") for n, ls in s if n == "litellm_spend_metric_total"}
    assert users == {"u1", "u2", OVERFLOW}


def test_cache_of_bound_children_stays_bounded_and_counts_stay_exact() -> None:
    metrics = Metrics(cache_size=3)
    for round_ in range(3):
        for i in range(10):
            metrics.observe_success(RequestLabels("m", user=f"u{i}"), usage=Usage(1, 0),
                                    cost_micro=None, upstream_s=0.1, total_s=0.1)  # fmt: skip
        assert len(metrics._success) == 3, round_
    s = parse_samples(metrics.exposition())
    assert value(s, "litellm_proxy_total_requests_metric_total", user="u4") == 3
    assert value(s, "litellm_proxy_total_requests_metric_total") == 30


def test_series_names_include_suffixes() -> None:
    names = Metrics().series_names()
    assert {
        "litellm_proxy_total_requests_metric_total",
        "litellm_spend_metric_total",
        "litellm_llm_api_latency_metric_bucket",
        "litellm_llm_api_latency_metric_sum",
        "litellm_llm_api_latency_metric_count",
        "litellm_in_flight_requests",
        "litellm_remaining_team_budget_metric",
        "stargate_admission_decisions_total",
    } <= names
    assert "litellm_spend_metric" not in names


def test_exposition_parses_as_prometheus_text() -> None:
    metrics = Metrics()
    record_everything(metrics)
    families = {f.name for f in text_string_to_metric_families(metrics.exposition().decode())}
    assert {"litellm_spend_metric", "litellm_llm_api_latency_metric"} <= families


def test_multiprocess_dir_without_the_environment_at_start_is_refused(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    with pytest.raises(ConfigError, match="PROMETHEUS_MULTIPROC_DIR"):
        Metrics(multiprocess_dir=tmp_path)


def test_label_cap_and_cache_refuse_nonsense_sizes() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        LabelCap(0)
    with pytest.raises(ValueError, match="at least 1"):
        BoundedCache[str, str](0)


def test_label_cap_passes_empty_and_low_cardinality_values() -> None:
    cap = LabelCap(1)
    assert cap.admit("user", "a") == "a"
    assert cap.admit("user", "b") == OVERFLOW
    assert cap.admit("user", "") == ""
    assert cap.admit("requested_model", "anything") == "anything"


@pytest.mark.parametrize("drop", [False, True])
def test_an_answered_request_counts_as_an_attempt_and_a_success(drop: bool) -> None:
    apart, together = (Metrics(drop_high_cardinality_labels=drop) for _ in range(2))
    usage = Usage(input_tokens=100, output_tokens=20, cache_read_tokens=30)
    for n in range(3):
        timing = {"upstream_s": 0.2 * n, "total_s": 0.25 * n, "ttft_s": 0.05 if n else None}
        labels = LABELS._replace(model_id=f"sonnet-{n % 2}")
        apart.observe_attempt(labels)
        apart.observe_success(labels, usage=usage, cost_micro=1234 * n, **timing)
        together.observe_answered(labels, usage=usage, cost_micro=1234 * n, **timing)
    samples = [
        {key: v for key, v in parse_samples(m.exposition()).items() if "_created" not in key[0]}
        for m in (apart, together)
    ]
    assert samples[0] == samples[1]
    assert value(samples[1], "litellm_deployment_success_responses_total") == 3
