"""The reference the deferred metric values are checked against: the same :class:`Metrics`
(same definitions, same label binding, caps and dropped labels), but every update goes straight
to prometheus_client's own children (``inc``, ``observe``, ``set``), as the recording did before
:mod:`stargate.telemetry.metric_values`. Also a sequence of observations that touches every
recording method, for both to record."""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator, Sequence
from typing import Any

from stargate.core import Usage
from stargate.telemetry import metrics as metrics_module
from stargate.telemetry.metric_labels import (
    BudgetOwner,
    DeploymentLabels,
    DeploymentState,
    RequestLabels,
)
from stargate.telemetry.metric_values import SeriesTable
from stargate.telemetry.metrics import LATENCY_BUCKETS, Metrics

__all__ = ["PlainTable", "normalise", "plain_metrics", "record_sequence"]


class _Divided:
    """prometheus_client's child, fed ``amount / divisor`` per update (the old conversion)."""

    def __init__(self, child: Any, divisor: int) -> None:
        self._child, self._divisor = child, divisor

    def inc(self, amount: float = 1) -> None:
        self._child.inc(amount / self._divisor)

    def dec(self, amount: float = 1) -> None:
        self._child.dec(amount / self._divisor)

    def set(self, value: float) -> None:
        self._child.set(value / self._divisor)


class PlainTable(SeriesTable):
    """Hands out prometheus_client's children themselves: nothing deferred, nothing folded."""

    def __init__(self, *, deferred: bool) -> None:
        super().__init__(deferred=False)

    def counter(self, metric: Any, values: Sequence[str] = (), *, divisor: int = 1) -> Any:
        child = metric.labels(*values) if values else metric
        return child if divisor == 1 else _Divided(child, divisor)

    def gauge(self, metric: Any, values: Sequence[str] = (), *, divisor: int = 1) -> Any:
        return self.counter(metric, values, divisor=divisor)

    def histogram(self, metric: Any, values: Sequence[str] = ()) -> Any:
        return metric.labels(*values) if values else metric


@contextlib.contextmanager
def plain_metrics() -> Iterator[None]:
    """Within: every :class:`Metrics` made records through :class:`PlainTable`."""
    original = metrics_module.SeriesTable
    metrics_module.SeriesTable = PlainTable  # type: ignore[misc]
    try:
        yield
    finally:
        metrics_module.SeriesTable = original  # type: ignore[misc]


_CREATED = re.compile(rb"^(\S+_created(?:\{.*\})?) \S+$", re.MULTILINE)


def normalise(text: bytes) -> bytes:
    """The exposition with the value of every ``_created`` sample (the instant a series was
    first bound, different in two registries) blanked; everything else byte for byte."""
    return _CREATED.sub(rb"\1 T", text)


def _labels(user: str, model: str = "sonnet") -> RequestLabels:
    return RequestLabels(
        requested_model=model, model=f"bedrock-{model}", model_id=f"{model}-1",
        hashed_api_key=f"hash-{user}", api_key_alias=f"alias-{user}", team="team-1",
        team_alias="Platform", user=user, user_email=f"{user}@example.com",
        route="/v1/chat/completions", api_provider="bedrock", api_base="https://b",
        client_ip="10.0.0.7", user_agent="sdk/1.0",
    )  # fmt: skip


# Latencies on bucket boundaries (le is inclusive), just above them, zero, beyond the last
# bound, and in between.
LATENCIES = (0.0, 0.005, 0.0050001, 0.25, 0.3, 1.0, 600.0, 600.5, math.inf, 2.5, 0.01)
COSTS = (250_000, 500_000, 1_250_000, 0)  # quarter dollars: exact in binary floating point


def record_sequence(metrics: Metrics, part: int = 0) -> None:
    """Every recording method, several label sets (more users than a small cap admits), values
    on histogram bucket boundaries, budgets set, changed and set again."""
    users = [f"u{i}" for i in range(5)]
    metrics.request_started()
    metrics.request_started()
    for i, latency in enumerate(LATENCIES):
        user = users[(i + part) % len(users)]
        labels = _labels(user, "sonnet" if i % 3 else "haiku")
        metrics.observe_admission(("admitted", "lowered", "rate_limited")[i % 3])
        metrics.observe_attempt(labels, status=200, exception_class="")
        usage = (
            None if i == 4 else Usage(input_tokens=100 + i, output_tokens=i, cache_read_tokens=3)
        )
        metrics.observe_success(
            labels, usage=usage, cost_micro=None if i == 5 else COSTS[i % len(COSTS)],
            upstream_s=latency / 2, total_s=latency, ttft_s=latency / 4 if i % 2 else None,
        )  # fmt: skip
        metrics.observe_redis(("admit", "settle")[i % 2], LATENCIES[i] / 1000)
    for user in users[:3]:
        metrics.observe_attempt(_labels(user), status=503, exception_class="UpstreamUnavailable")
        metrics.record_failure(_labels(user), status=429, exception_class="RateLimited")
    metrics.record_failure(_labels("u1"), status=429, exception_class="RateLimited")
    metrics.request_finished()
    for spent in (2_500_000, 2_750_000, 12_000_000):
        for owner in (BudgetOwner("key", "hash-u1", "alias-u1"), BudgetOwner("user", "u1"),
                      BudgetOwner("team", "team-1", "Platform")):  # fmt: skip
            metrics.set_budget(owner, max_micro=10_000_000, spent_micro=spent,
                               reset_at=7200.0 + spent, now=float(part))  # fmt: skip
    metrics.set_budget(BudgetOwner("team", "team-2"), max_micro=None, spent_micro=0,
                       reset_at=None)  # fmt: skip
    metrics.set_ledger_queue_depth(7)
    metrics.set_ledger_queue_depth(3 + part)
    metrics.set_journal_bytes(4096)
    deployment = DeploymentLabels("bedrock-sonnet", "sonnet-1", "bedrock", "https://b")
    metrics.set_deployment_state(deployment, DeploymentState.PARTIAL_OUTAGE)
    metrics.observe_cooldown(deployment, exception_status=429)
    metrics.observe_callback_failure("otlp")
    metrics.set_event_loop_tasks(5)
    assert LATENCY_BUCKETS[0] == 0.005  # the boundaries above are LiteLLM's
