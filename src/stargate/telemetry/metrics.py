"""Every metric the gateway exports, defined once, under LiteLLM's names and label sets.

A :class:`Metrics` instance owns its registry (no process globals), so tests and several
gateways in one process never collide. Recording is on the hot path: each method looks up the
pre-bound series of its label tuple in a bounded cache and adds to them; label values are only
checked (high-cardinality cap, dropped labels) when a tuple is first seen. The per-request
series keep their totals in plain Python and fold them into prometheus_client when the registry
is read (a scrape sees everything recorded before it; in multiprocess mode every update is
written through): see :mod:`stargate.telemetry.metric_values`.

Money stays integer micro-USD until the exposition boundary: ``litellm_spend_metric`` and the
budget gauges are in USD, as LiteLLM exports them, so the division happens when a total is
folded into its prometheus_client value and nowhere else.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from stargate.core import Usage
from stargate.core.money import MICRO_PER_USD
from stargate.errors import ConfigError
from stargate.telemetry import multiprocess
from stargate.telemetry.metric_labels import (
    HIGH_CARDINALITY_LABELS,
    BoundedCache,
    BudgetOwner,
    DeploymentLabels,
    DeploymentState,
    LabelCap,
    RequestLabels,
)
from stargate.telemetry.metric_values import (
    CounterSeries,
    FoldingRegistry,
    GaugeSeries,
    HistogramSeries,
    SeriesTable,
)

__all__ = ["CONTENT_TYPE_LATEST", "LATENCY_BUCKETS", "Metrics", "RequestLabels"]

LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0,
    60.0, 120.0, 300.0, 600.0,
)  # fmt: skip
"""LiteLLM's latency buckets: 5 ms to 600 s (and +Inf)."""

_REDIS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

# LiteLLM's label sets (``litellm/types/integrations/prometheus.py``; org labels omitted: Stargate
# has no organisations).
_WHO = ("end_user", "hashed_api_key", "api_key_alias", "team", "team_alias", "user", "user_email")
_REQUESTS = (*_WHO, "requested_model", "status_code", "route", "client_ip", "user_agent",
             "model_id")  # fmt: skip
_FAILED = (*_WHO, "requested_model", "exception_status", "exception_class", "route",
           "client_ip", "user_agent", "model_id")  # fmt: skip
_LEGACY_REQUESTS = (*_WHO, "model", "client_ip", "user_agent", "model_id", "api_provider")
_SPEND = (*_WHO, "model", "client_ip", "user_agent", "model_id", "api_provider")
_TOKENS = (*_WHO, "model", "requested_model", "model_id")
_LATENCY = ("end_user", "hashed_api_key", "api_key_alias", "team", "team_alias", "user",
            "requested_model", "model", "model_id")  # fmt: skip
_OVERHEAD = ("model_group", "api_provider", "api_base", "litellm_model_name", "hashed_api_key",
             "api_key_alias", "model_id")  # fmt: skip
_ATTEMPT = ("requested_model", "litellm_model_name", "model_id", "api_base", "api_provider",
            "hashed_api_key", "api_key_alias", "team", "team_alias", "client_ip",
            "user_agent")  # fmt: skip
_DEPLOYMENT = ("litellm_model_name", "model_id", "api_base", "api_provider")
_BUDGET_LABELS = {
    "key": ("hashed_api_key", "api_key_alias"),
    "user": ("user",),
    "team": ("team", "team_alias"),
}
_BUDGET_NAMES = {  # scope -> (remaining, max, remaining hours), LiteLLM's names
    "key": ("litellm_remaining_api_key_budget_metric", "litellm_api_key_max_budget_metric",
            "litellm_api_key_budget_remaining_hours_metric"),
    "user": ("litellm_remaining_user_budget_metric", "litellm_user_max_budget_metric",
             "litellm_user_budget_remaining_hours_metric"),
    "team": ("litellm_remaining_team_budget_metric", "litellm_team_max_budget_metric",
             "litellm_team_budget_remaining_hours_metric"),
}  # fmt: skip
_BUDGET_RESET = ("scope", "hashed_api_key", "api_key_alias", "user", "team", "team_alias")


class _Budget:
    """One budget's four gauges, bound, and the limit and reset instant they last reported."""

    __slots__ = ("hours", "max_micro", "maximum", "remaining", "reset", "reset_at")

    def __init__(
        self, remaining: GaugeSeries, maximum: GaugeSeries, hours: GaugeSeries, reset: GaugeSeries
    ) -> None:
        self.remaining, self.maximum, self.hours, self.reset = remaining, maximum, hours, reset
        self.max_micro: int | None = None
        self.reset_at: float | None = None


_Outcome = tuple[RequestLabels, int, str]  # labels, status, exception class
_Pair = tuple[CounterSeries, CounterSeries]  # a total and the outcome it counts with
_GaugeMode = Literal["livesum", "livemax", "livemostrecent"]  # live*: a dead worker's go away


@dataclass(slots=True, frozen=True)
class _Success:
    """The series one successful request adds to, bound for one label tuple."""

    requests: CounterSeries
    legacy_requests: CounterSeries
    input_tokens: CounterSeries
    output_tokens: CounterSeries
    total_tokens: CounterSeries
    spend: CounterSeries  # micro-USD
    total_latency: HistogramSeries
    api_latency: HistogramSeries
    ttft: HistogramSeries
    overhead: HistogramSeries


def _count_success(s: _Success, usage: Usage | None, cost_micro: int | None, upstream_s: float,
                   total_s: float, ttft_s: float | None) -> None:  # fmt: skip
    s.requests.inc()
    s.legacy_requests.inc()
    if usage is not None:
        s.input_tokens.inc(usage.prompt_tokens)
        s.output_tokens.inc(usage.output_tokens)
        s.total_tokens.inc(usage.total_tokens)
    if cost_micro is not None:
        s.spend.inc(cost_micro)
    s.total_latency.observe(total_s)
    s.api_latency.observe(upstream_s)
    s.overhead.observe(max(total_s - upstream_s, 0.0))
    if ttft_s is not None:
        s.ttft.observe(ttft_s)


class Metrics:
    """The gateway's metrics. ``drop_high_cardinality_labels`` removes the per-key, per-user and
    per-client labels (:data:`HIGH_CARDINALITY_LABELS`) from every metric; otherwise each such
    label takes at most ``max_label_values`` distinct values (later ones are recorded as
    ``__other__``). ``multiprocess_dir`` is ``PROMETHEUS_MULTIPROC_DIR`` (see
    :mod:`stargate.telemetry.multiprocess`)."""

    def __init__(
        self,
        *,
        drop_high_cardinality_labels: bool = False,
        max_label_values: int = 10_000,
        cache_size: int = 4096,
        multiprocess_dir: Path | None = None,
    ) -> None:
        if multiprocess_dir is not None and not multiprocess.multiprocess_store_active():
            raise ConfigError(
                f"{multiprocess.ENV_VAR} must be in the environment when the process starts",
                source="environment",
                path=multiprocess.ENV_VAR,
            )
        self._drop = HIGH_CARDINALITY_LABELS if drop_high_cardinality_labels else frozenset()
        self._cap = LabelCap(max_label_values)
        self._dir = multiprocess_dir
        if multiprocess_dir is not None:
            multiprocess.fold_dead_workers(multiprocess_dir)
        # Single process: totals folded into the registry when it is read; several: written
        # through, since other workers' scrapes read this one's files.
        self._series = SeriesTable(deferred=multiprocess_dir is None)
        self.registry = FoldingRegistry(self._series.fold)
        self._define_requests()
        self._define_budgets_and_deployments()
        self._define_internals()
        self._success: BoundedCache[RequestLabels, _Success] = BoundedCache(cache_size)
        self._failure: BoundedCache[_Outcome, _Pair] = BoundedCache(cache_size)
        self._attempt: BoundedCache[_Outcome, _Pair] = BoundedCache(cache_size)
        self._answered: BoundedCache[RequestLabels, tuple[_Success, CounterSeries, CounterSeries]]
        self._answered = BoundedCache(cache_size)
        self._budget: BoundedCache[BudgetOwner, _Budget | None] = BoundedCache(cache_size)
        self._admission: dict[str, CounterSeries] = {}
        self._redis: dict[str, HistogramSeries] = {}
        self.in_flight.set(0)  # a reused pid's file may hold a dead worker's count
        self._in_flight = self._series.gauge(self.in_flight)
        self._ledger_queue = self._series.gauge(self.ledger_queue)
        self._journal_bytes = self._series.gauge(self.journal_bytes)

    # --- definitions --------------------------------------------------------------------------

    def _names(self, labels: Sequence[str]) -> list[str]:
        return [name for name in labels if name not in self._drop]

    def _counter(self, name: str, doc: str, labels: Sequence[str]) -> Counter:
        return Counter(name, doc, self._names(labels), registry=self.registry)

    def _histogram(
        self, name: str, doc: str, labels: Sequence[str], buckets: Sequence[float]
    ) -> Histogram:
        return Histogram(name, doc, self._names(labels), buckets=buckets, registry=self.registry)

    def _gauge(self, name: str, doc: str, labels: Sequence[str], mode: _GaugeMode) -> Gauge:
        return Gauge(name, doc, self._names(labels), registry=self.registry, multiprocess_mode=mode)

    def _define_requests(self) -> None:
        self.requests = self._counter(
            "litellm_proxy_total_requests_metric",
            "Requests made to the proxy, by status code",
            _REQUESTS,
        )
        self.failed = self._counter(
            "litellm_proxy_failed_requests_metric",
            "Requests that failed, by exception status and class",
            _FAILED,
        )
        self.legacy_requests = self._counter(
            "litellm_requests_metric", "Successful LLM calls (LiteLLM's legacy count)",
            _LEGACY_REQUESTS,
        )  # fmt: skip
        self.input_tokens = self._counter(
            "litellm_input_tokens_metric", "Input tokens (cache reads and writes included)",
            _TOKENS,
        )  # fmt: skip
        self.output_tokens = self._counter("litellm_output_tokens_metric", "Output tokens", _TOKENS)
        self.total_tokens = self._counter(
            "litellm_total_tokens_metric", "Input + output tokens", _TOKENS
        )
        self.spend = self._counter("litellm_spend_metric", "Spend in USD", _SPEND)
        self.total_latency = self._histogram(
            "litellm_request_total_latency_metric",
            "Whole request latency in seconds, as the caller saw it",
            _LATENCY,
            LATENCY_BUCKETS,
        )
        self.api_latency = self._histogram(
            "litellm_llm_api_latency_metric",
            "Upstream call latency in seconds",
            _LATENCY,
            LATENCY_BUCKETS,
        )
        self.ttft = self._histogram(
            "litellm_llm_api_time_to_first_token_metric",
            "Time to the first streamed token in seconds (streams only)",
            _LATENCY,
            LATENCY_BUCKETS,
        )
        self.overhead = self._histogram(
            "litellm_overhead_latency_metric",
            "Time the gateway added in seconds: total latency less the upstream call",
            _OVERHEAD,
            LATENCY_BUCKETS,
        )
        self.in_flight = self._gauge(
            "litellm_in_flight_requests", "Requests being served now", (), "livesum"
        )

    def _define_budgets_and_deployments(self) -> None:
        self.budget_gauges: dict[str, tuple[Gauge, Gauge, Gauge]] = {}
        for scope, names in _BUDGET_NAMES.items():
            labels = _BUDGET_LABELS[scope]
            if not self._names(labels):
                continue  # nothing left to tell owners apart (high-cardinality labels dropped)
            remaining, maximum, hours = names
            self.budget_gauges[scope] = (
                self._gauge(remaining, f"Remaining {scope} budget in USD", labels,
                            "livemostrecent"),
                self._gauge(maximum, f"Maximum {scope} budget in USD", labels, "livemostrecent"),
                self._gauge(hours, f"Hours until the {scope} budget resets", labels,
                            "livemostrecent"),
            )  # fmt: skip
        self.budget_reset = self._gauge(
            "stargate_budget_reset_timestamp_seconds",
            "When the budget window resets (Unix time), by scope",
            _BUDGET_RESET,
            "livemostrecent",
        )
        self.deployment_state = self._gauge(
            "litellm_deployment_state",
            "Deployment health: 0 healthy, 1 partial outage, 2 outage",
            _DEPLOYMENT,
            "livemax",
        )
        self.deployment_cooled_down = self._counter(
            "litellm_deployment_cooled_down",
            "Times a deployment was put in cooldown",
            (*_DEPLOYMENT, "exception_status"),
        )
        self.deployment_total = self._counter(
            "litellm_deployment_total_requests", "Upstream attempts per deployment", _ATTEMPT
        )
        self.deployment_success = self._counter(
            "litellm_deployment_success_responses",
            "Successful upstream attempts per deployment",
            _ATTEMPT,
        )
        self.deployment_failure = self._counter(
            "litellm_deployment_failure_responses",
            "Failed upstream attempts per deployment",
            (*_ATTEMPT, "exception_status", "exception_class"),
        )

    def _define_internals(self) -> None:
        self.ledger_queue = self._gauge(
            "stargate_ledger_queue_depth", "Ledger rows waiting to be written", (), "livesum"
        )
        self.journal_bytes = self._gauge(
            "stargate_journal_bytes", "Size of the spend journal on disk", (), "livesum"
        )
        self.loop_tasks = self._gauge(
            "stargate_event_loop_tasks",
            "Tasks alive on the event loop when /metrics was scraped",
            (),
            "livesum",
        )
        self.admissions = self._counter(
            "stargate_admission_decisions", "Admission decisions, by outcome", ("outcome",)
        )
        self.callback_failures = self._counter(
            "litellm_callback_logging_failures_metric",
            "Trace batches a destination (otlp, langfuse) failed to take",
            ("callback_name",),
        )
        self.redis_latency = self._histogram(
            "stargate_redis_latency_seconds",
            "Redis round trips in seconds, by operation",
            ("operation",),
            _REDIS_BUCKETS,
        )

    # --- binding ------------------------------------------------------------------------------

    def _counter_of(self, metric: Counter, values: dict[str, str], divisor: int = 1
                    ) -> CounterSeries:  # fmt: skip
        return self._series.counter(metric, [values[n] for n in metric._labelnames],
                                    divisor=divisor)  # fmt: skip

    def _histogram_of(self, metric: Histogram, values: dict[str, str]) -> HistogramSeries:
        return self._series.histogram(metric, [values[n] for n in metric._labelnames])

    def _values(self, labels: RequestLabels, names: Iterable[str]) -> dict[str, str]:
        cap, drop = self._cap, self._drop
        return {name: cap.admit(name, labels.value(name)) for name in names if name not in drop}

    def _bind_success(self, labels: RequestLabels) -> _Success:
        v = self._values(labels, {*_REQUESTS, *_SPEND, *_TOKENS, *_OVERHEAD} - {"status_code"})
        v["status_code"] = "200"
        return _Success(
            requests=self._counter_of(self.requests, v),
            legacy_requests=self._counter_of(self.legacy_requests, v),
            input_tokens=self._counter_of(self.input_tokens, v),
            output_tokens=self._counter_of(self.output_tokens, v),
            total_tokens=self._counter_of(self.total_tokens, v),
            spend=self._counter_of(self.spend, v, MICRO_PER_USD),
            total_latency=self._histogram_of(self.total_latency, v),
            api_latency=self._histogram_of(self.api_latency, v),
            ttft=self._histogram_of(self.ttft, v),
            overhead=self._histogram_of(self.overhead, v),
        )

    def _bind_failure(self, key: _Outcome) -> _Pair:
        labels, status, exception_class = key
        v = self._values(labels, set(_FAILED) - {"exception_status", "exception_class"})
        v.update(status_code=str(status), exception_status=str(status),
                 exception_class=exception_class)  # fmt: skip
        return self._counter_of(self.requests, v), self._counter_of(self.failed, v)

    def _bind_attempt(self, key: _Outcome) -> _Pair:
        labels, status, exception_class = key
        v = self._values(labels, _ATTEMPT)
        v.update(exception_status=str(status), exception_class=exception_class)
        outcome = self.deployment_failure if exception_class else self.deployment_success
        return self._counter_of(self.deployment_total, v), self._counter_of(outcome, v)

    # --- recording: requests ------------------------------------------------------------------

    def request_started(self) -> None:
        self._in_flight.inc()

    def request_finished(self) -> None:
        self._in_flight.dec()

    def observe_success(
        self,
        labels: RequestLabels,
        *,
        usage: Usage | None,
        cost_micro: int | None,
        upstream_s: float,
        total_s: float,
        ttft_s: float | None = None,
    ) -> None:
        """One request answered: its count (status 200), tokens, spend, latencies. ``usage``
        ``None`` (the upstream reported none) counts no tokens; ``cost_micro`` ``None`` (an
        unpriced model) adds no spend."""
        s = self._success.get(labels, self._bind_success)
        _count_success(s, usage, cost_micro, upstream_s, total_s, ttft_s)

    def observe_answered(
        self,
        labels: RequestLabels,
        *,
        usage: Usage | None,
        cost_micro: int | None,
        upstream_s: float,
        total_s: float,
        ttft_s: float | None = None,
    ) -> None:
        """A request its upstream attempt answered: :meth:`observe_attempt` (a success) and
        :meth:`observe_success`, with one look-up of the series of both."""
        s, attempts, successes = self._answered.get(labels, self._bind_answered)
        attempts.inc()
        successes.inc()
        _count_success(s, usage, cost_micro, upstream_s, total_s, ttft_s)

    def _bind_answered(
        self, labels: RequestLabels
    ) -> tuple[_Success, CounterSeries, CounterSeries]:
        attempts, successes = self._attempt.get((labels, 200, ""), self._bind_attempt)
        return self._success.get(labels, self._bind_success), attempts, successes

    def record_failure(self, labels: RequestLabels, *, status: int, exception_class: str) -> None:
        """One request refused or failed: counted in the total with its status, and in the
        failures with its exception status and class."""
        total, failed = self._failure.get((labels, status, exception_class), self._bind_failure)
        total.inc()
        failed.inc()

    def record_success(
        self,
        labels: RequestLabels,
        *,
        input_tokens: int,
        output_tokens: int,
        total_seconds: float,
        upstream_seconds: float,
    ) -> None:
        """The pipeline's first hook (token counts, two latencies); :meth:`observe_success`
        takes the whole picture."""
        self.observe_success(
            labels,
            usage=Usage(input_tokens=input_tokens, output_tokens=output_tokens),
            cost_micro=None,
            upstream_s=upstream_seconds,
            total_s=total_seconds,
        )

    def observe_attempt(
        self, labels: RequestLabels, *, status: int = 200, exception_class: str = ""
    ) -> None:
        """One upstream attempt on the deployment ``labels`` names (``model``, ``model_id``,
        ``api_provider``, ``api_base``): a success, or a failure with its status and class."""
        total, outcome = self._attempt.get((labels, status, exception_class), self._bind_attempt)
        total.inc()
        outcome.inc()

    # --- recording: deployments, budgets, internals -------------------------------------------

    def set_deployment_state(self, deployment: DeploymentLabels, state: DeploymentState) -> None:
        self.deployment_state.labels(*self._deployment(deployment)).set(int(state))

    def observe_cooldown(self, deployment: DeploymentLabels, *, exception_status: int) -> None:
        self.deployment_cooled_down.labels(
            *self._deployment(deployment), str(exception_status)
        ).inc()

    def _deployment(self, d: DeploymentLabels) -> tuple[str, str, str, str]:
        return d.litellm_model_name, d.model_id, d.api_base, d.api_provider

    def set_budget(
        self,
        owner: BudgetOwner,
        *,
        max_micro: int | None,
        spent_micro: int,
        reset_at: float | None,
        now: float | None = None,
    ) -> None:
        """Report one budget: its limit and what is spent in the current window (integer
        micro-USD), and when the window resets (Unix time; ``None``: never). Remaining is
        ``max - spent`` (negative once overspent, as LiteLLM reports it). A budget without a
        limit reports only the reset time.

        With high-cardinality labels dropped, user budgets are not reported (their only label
        is the user) and key budgets are labelled by alias alone."""
        bound = self._budget.get(owner, self._bind_budget)
        if bound is None:
            return
        # The limit rarely changes and the reset instant is the same for a whole window: one
        # process sets them when they change. Several workers set them every time: a gauge
        # shows the most recent write of any worker, and another worker may have written an
        # older value since this one last wrote the same (``livemostrecent``).
        every_time = not self._series.deferred
        if max_micro is not None:
            if max_micro != bound.max_micro or every_time:
                bound.max_micro = max_micro
                bound.maximum.set(max_micro)
            bound.remaining.set(max_micro - spent_micro)
        if reset_at is not None:
            now = time.time() if now is None else now
            bound.hours.set(max(reset_at - now, 0.0) / 3600)
            if reset_at != bound.reset_at or every_time:
                bound.reset_at = reset_at
                bound.reset.set(reset_at)

    def _bind_budget(self, owner: BudgetOwner) -> _Budget | None:
        gauges = self.budget_gauges.get(owner.scope)
        if gauges is None:
            return None
        values = self._budget_values(owner)
        bound = [values[n] for n in self._names(_BUDGET_LABELS[owner.scope])]
        remaining, maximum, hours = gauges
        reset = {"scope": owner.scope, **values}
        series = self._series
        return _Budget(
            series.gauge(remaining, bound, divisor=MICRO_PER_USD),
            series.gauge(maximum, bound, divisor=MICRO_PER_USD),
            series.gauge(hours, bound),
            series.gauge(self.budget_reset,
                         [reset.get(n, "") for n in self._names(_BUDGET_RESET)]),
        )  # fmt: skip

    def _budget_values(self, owner: BudgetOwner) -> dict[str, str]:
        cap = self._cap
        match owner.scope:
            case "key":
                return {"hashed_api_key": cap.admit("hashed_api_key", owner.id),
                        "api_key_alias": owner.alias}  # fmt: skip
            case "user":
                return {"user": cap.admit("user", owner.id)}
            case "team":
                return {"team": owner.id, "team_alias": owner.alias}

    def set_ledger_queue_depth(self, rows: int) -> None:
        self._ledger_queue.set(rows)

    def set_journal_bytes(self, size: int) -> None:
        self._journal_bytes.set(size)

    def set_event_loop_tasks(self, count: int) -> None:
        self.loop_tasks.set(count)

    def observe_admission(self, outcome: str) -> None:
        """One admission decision: ``admitted``, ``lowered`` (max_tokens cut to fit),
        ``budget_exceeded``, ``rate_limited``, ``denied``, or ``error``."""
        series = self._admission.get(outcome)
        if series is None:
            series = self._admission[outcome] = self._series.counter(self.admissions, (outcome,))
        series.inc()

    def observe_callback_failure(self, callback_name: str) -> None:
        """A trace export that failed (``Tracer.open(..., on_export_failure=...)``)."""
        self.callback_failures.labels(callback_name).inc()

    def observe_redis(self, operation: str, seconds: float) -> None:
        series = self._redis.get(operation)
        if series is None:
            series = self._redis[operation] = self._series.histogram(
                self.redis_latency, (operation,)
            )
        series.observe(seconds)

    # --- exposition ---------------------------------------------------------------------------

    @property
    def multiprocess_dir(self) -> Path | None:
        return self._dir

    def exposition(self) -> bytes:
        """The Prometheus text format: this process's registry, or every worker's values in
        multiprocess mode (file I/O: call it off the event loop)."""
        if self._dir is not None:
            return multiprocess.collect(self._dir)
        return generate_latest(self.registry)

    def series_names(self) -> frozenset[str]:
        """Every sample name the exposition can carry (``_total`` for counters; ``_bucket``,
        ``_sum`` and ``_count`` for histograms), whether recorded yet or not."""
        names: set[str] = set()
        for family in self.registry.collect():
            match family.type:
                case "counter":
                    names.add(family.name + "_total")
                case "histogram":
                    names.update(family.name + s for s in ("_bucket", "_sum", "_count"))
                case _:
                    names.add(family.name)
        return frozenset(names)

    def close(self) -> None:
        """At shutdown. In multiprocess mode, retire this worker's files (live gauges dropped,
        counters and histograms folded into the archives)."""
        if self._dir is not None:
            multiprocess.retire_worker(self._dir)
