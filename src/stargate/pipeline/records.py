"""What one request leaves behind: metrics, a trace, an access-log line and (with the ledger) a
spend row. The request life calls a :class:`RequestRecord` at each step; this module decides
what each sink gets, so the life itself stays a list of steps."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from stargate.config.deployment import Deployment
from stargate.core import Usage
from stargate.core.cost import cost_micro
from stargate.errors import StargateError
from stargate.governance.admission import BudgetState
from stargate.pipeline.after import AfterResponse
from stargate.pipeline.principals import Principal
from stargate.routing.health import Health
from stargate.telemetry import Metrics, RequestLabels
from stargate.telemetry.logging import AccessLog
from stargate.telemetry.metric_labels import BudgetOwner, DeploymentLabels, DeploymentState
from stargate.telemetry.tracing import AttemptTrace, RequestTrace, Tracer

__all__ = ["Outcome", "Recorder", "RequestRecord"]

log = logging.getLogger("stargate")


@dataclass(slots=True)
class Outcome:
    """How a request ended, for the sinks that keep it (the ledger)."""

    request_id: str
    route: str
    requested_model: str
    principal: Principal
    deployment: Deployment | None
    usage: Usage | None
    cost_micro: int | None
    status: int
    error_class: str
    stream: bool
    latency_s: float
    ttft_s: float | None
    started_at: float  # time.time()


class Recorder:
    """The sinks, shared by every request."""

    def __init__(
        self,
        metrics: Metrics,
        tracer: Tracer | None = None,
        access_log: AccessLog | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.metrics = metrics
        self.tracer = tracer or Tracer.disabled()
        self.access_log = access_log or AccessLog()
        self.on_outcome = on_outcome
        self.clock = clock
        # Admissions whose budget gauges wait for the event loop (``report_budgets``).
        self._budget_reports: list[tuple[Principal, Sequence[BudgetState]]] = []

    def report_health(
        self, deployment: Deployment, health: Health, cooled_status: int | None
    ) -> None:
        """A deployment's health changed (``DeploymentHealth``'s reporter): the
        ``litellm_deployment_state`` gauge, and ``litellm_deployment_cooled_down`` when the change
        put it in cooldown."""
        labels = DeploymentLabels(
            litellm_model_name=deployment.model,
            model_id=deployment.id,
            api_provider=deployment.provider,
        )
        self.metrics.set_deployment_state(labels, DeploymentState(int(health)))
        if cooled_status is not None:
            self.metrics.observe_cooldown(labels, exception_status=cooled_status)

    def report_budgets(self, principal: Principal, budgets: Sequence[BudgetState]) -> None:
        """Feed the remaining/max budget gauges of the key, user and team from an admission:
        per scope, its tightest window (what is spent there includes reservations).

        In the event loop, the gauges are set when it is next free (one callback for the
        admissions of a loop turn): an admitted request goes on to its upstream first, as the
        gauges change nothing it receives. Outside a loop, at once."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._report_budgets(principal, budgets)
            return
        waiting = self._budget_reports
        if not waiting:
            loop.call_soon(self._report_waiting_budgets)
        waiting.append((principal, budgets))

    def _report_waiting_budgets(self) -> None:
        """The gauges of a loop turn's admissions. A gauge keeps only the last value set, so of
        the reports that set the same gauges (one principal's scope kind, with or without a reset
        time) only the last is written: the others would be overwritten in the same turn. What is
        written keeps its order, so every gauge ends as if every report had been written (at
        c32 a turn holds about a dozen admissions, mostly of the same keys)."""
        waiting = self._budget_reports
        self._budget_reports = []
        latest: dict[tuple[int, str, bool], tuple[Principal, str, BudgetState]] = {}
        for principal, budgets in waiting:  # the principals are alive: their ids are distinct
            for kind, state in _tightest(budgets).items():
                key = (id(principal), kind, state.reset_at is None)
                latest.pop(key, None)  # to the end: in the order of the last reports
                latest[key] = (principal, kind, state)
        now = time.time()
        for principal, kind, state in latest.values():
            try:
                self._report_budget(principal, kind, state, now)
            except Exception:  # a gauge never fails; if one does, the others are still set
                log.exception("budget gauges not reported")

    def _report_budgets(self, principal: Principal, budgets: Sequence[BudgetState]) -> None:
        now = time.time()
        for kind, state in _tightest(budgets).items():
            self._report_budget(principal, kind, state, now)

    def _report_budget(self, principal: Principal, kind: str, state: BudgetState,
                       now: float) -> None:  # fmt: skip
        if kind == "key":
            owner = BudgetOwner("key", principal.key_hash, principal.key_alias)
        elif kind == "user" and principal.user_id:
            owner = BudgetOwner("user", principal.user_id)
        elif kind == "team" and principal.team_id:
            owner = BudgetOwner("team", principal.team_id, principal.team_alias or "")
        else:
            return
        limit, reset_at = state.limit_micro, state.reset_at
        self.metrics.set_budget(owner, max_micro=limit, spent_micro=limit - state.headroom_micro,
                                reset_at=reset_at.timestamp() if reset_at else None,
                                now=now)  # fmt: skip

    def begin(
        self,
        *,
        request_id: str,
        route: str,
        model: str,
        principal: Principal,
        started: float,
        stream: bool,
        max_tokens: int | None,
        traceparent: str | None = None,
    ) -> RequestRecord:
        self.metrics.request_started()
        tracer = self.tracer
        if tracer.enabled:
            trace = tracer.start_request(
                request_id=request_id,
                route=route,
                requested_model=model,
                stream=stream,
                max_tokens=max_tokens,
                key_alias=principal.key_alias,
                user=principal.user_id or "",
                team=principal.team_id or "",
                team_alias=principal.team_alias or "",
                traceparent=traceparent,
            )
        else:
            trace = tracer.off
        return RequestRecord(self, request_id, route, model, principal, started, stream, trace)


def _tightest(budgets: Sequence[BudgetState]) -> dict[str, BudgetState]:
    """Per scope kind (``key``, ``user``, ``team``), its tightest window: the least headroom."""
    tightest: dict[str, BudgetState] = {}
    for state in budgets:
        kind = state.scope.partition(":")[0]
        known = tightest.get(kind)
        if known is None or state.headroom_micro < known.headroom_micro:
            tightest[kind] = state
    return tightest


@dataclass(slots=True)
class RequestRecord:
    recorder: Recorder
    request_id: str
    route: str
    model: str
    principal: Principal
    started: float
    stream: bool
    trace: RequestTrace
    wall_started: float = field(default_factory=time.time)
    attempt_trace: AttemptTrace | None = None
    upstream_started: float = 0.0
    first_item_at: float | None = None
    finished: bool = False
    cost_micro: int | None = None  # what the request cost, once it ended
    served_by: Deployment | None = None
    usage: Usage | None = None  # of an answered request, once it ended
    ended: float = 0.0  # when it ended (``recorder.clock()``)
    ttft: float | None = None  # its time to first token, streamed

    def labels(self, deployment: Deployment | None) -> RequestLabels:
        p = self.principal
        # Positional, in RequestLabels' field order (per request: twice as fast as keywords).
        return RequestLabels(
            self.model,  # requested_model
            deployment.model if deployment else "",  # model
            deployment.id if deployment else "",  # model_id
            p.key_hash,  # hashed_api_key
            p.key_alias,  # api_key_alias
            p.team_id or "",  # team
            p.team_alias or "",  # team_alias
            p.user_id or "",  # user
            p.user_email or "",  # user_email
            "",  # end_user
            self.route,  # route
            deployment.provider if deployment else "",  # api_provider
        )

    def attempt(self, deployment: Deployment) -> None:
        self.upstream_started = self.recorder.clock()
        self.attempt_trace = self.trace.start_attempt(
            provider=deployment.provider, model=deployment.model, deployment_id=deployment.id
        )

    def attempt_failed(self, deployment: Deployment, err: StargateError, *, retry: bool) -> None:
        self.recorder.metrics.observe_attempt(
            self.labels(deployment), status=err.status, exception_class=type(err).__name__
        )
        if self.attempt_trace is not None:
            self.attempt_trace.fail(
                status=err.status, error_class=type(err).__name__, will_retry=retry
            )
            self.attempt_trace = None

    def first_item(self) -> None:
        if self.first_item_at is None:
            self.first_item_at = self.recorder.clock()

    def succeeded(
        self, deployment: Deployment, usage: Usage | None, after: AfterResponse | None = None
    ) -> None:
        """The request was answered. Its ledger row is recorded now (before the response goes
        out: a process killed right after answering still has it); its metrics, trace and
        access-log line, which change nothing the caller receives, wait for ``after`` when
        given (the response is sent first)."""
        if self.finished:
            return
        self.finished = True
        now = self.recorder.clock()
        cost = cost_micro(usage, deployment.info) if usage is not None else None
        ttft = self.first_item_at - self.upstream_started if self.first_item_at else None
        self.cost_micro, self.served_by, self.usage = cost, deployment, usage
        self.ended, self.ttft = now, ttft
        self._spend(deployment, usage, cost, 200, "", now, ttft)
        if after is None or not after.add(self._report_later):
            self._report_success(deployment, usage, cost, now, ttft)

    async def _report_later(self) -> None:
        """:meth:`_report_success` of the request :meth:`succeeded` recorded, once its response
        is sent."""
        deployment = self.served_by
        assert deployment is not None
        self._report_success(deployment, self.usage, self.cost_micro, self.ended, self.ttft)

    def _report_success(self, deployment: Deployment, usage: Usage | None, cost: int | None,
                        now: float, ttft: float | None) -> None:  # fmt: skip
        labels = self.labels(deployment)
        metrics = self.recorder.metrics
        metrics.observe_answered(
            labels, usage=usage, cost_micro=cost, upstream_s=now - self.upstream_started,
            total_s=now - self.started, ttft_s=ttft,
        )  # fmt: skip
        if self.attempt_trace is not None:
            self.attempt_trace.succeed(usage=usage, response_model=deployment.model)
            self.attempt_trace = None
        self.trace.succeed(usage=usage, cost_micro=cost, response_model=deployment.model,
                           ttft_s=ttft)  # fmt: skip
        self._report_end(deployment, usage, cost, 200, "", now)

    def failed(
        self, deployment: Deployment | None, err: BaseException, usage: Usage | None = None
    ) -> None:
        """The request failed, or (not an ``Exception``: cancelled, closed) the caller left; a
        stream cut short passes the ``usage`` it is settled at, so its cost is kept."""
        if self.finished:
            return
        self.finished = True
        now = self.recorder.clock()
        if isinstance(err, StargateError):
            status, error_class = err.status, type(err).__name__
        elif isinstance(err, Exception):
            status, error_class = 500, type(err).__name__
        else:
            status, error_class = 499, "ClientDisconnected"
        cost = cost_micro(usage, deployment.info) if usage and deployment else None
        self.recorder.metrics.record_failure(
            self.labels(deployment), status=status, exception_class=error_class
        )
        if self.attempt_trace is not None:
            self.attempt_trace.fail(status=status, error_class=error_class)
            self.attempt_trace = None
        self.trace.fail(status=status, error_class=error_class)
        self._spend(deployment, usage, cost, status, error_class, now, None)
        self._report_end(deployment, usage, cost, status, error_class, now)

    def _report_end(self, deployment: Deployment | None, usage: Usage | None, cost: int | None,
                    status: int, error_class: str, now: float) -> None:  # fmt: skip
        recorder = self.recorder
        recorder.metrics.request_finished()
        recorder.access_log.request(
            request_id=self.request_id, route=self.route, model=self.model, status=status,
            latency_s=now - self.started, usage=usage, cost_micro=cost,
            key_alias=self.principal.key_alias,
            deployment_id=deployment.id if deployment else "", stream=self.stream,
            error_class=error_class, trace_id=self.trace.trace_id,
        )  # fmt: skip

    def _spend(self, deployment: Deployment | None, usage: Usage | None, cost: int | None,
               status: int, error_class: str, now: float, ttft: float | None) -> None:  # fmt: skip
        on_outcome = self.recorder.on_outcome
        if on_outcome is not None:
            on_outcome(
                Outcome(
                    self.request_id,
                    self.route,
                    self.model,
                    self.principal,
                    deployment,
                    usage,
                    cost,
                    status,
                    error_class,
                    self.stream,
                    now - self.started,
                    ttft,
                    self.wall_started,
                )
            )
