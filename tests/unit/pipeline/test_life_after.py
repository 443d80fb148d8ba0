"""With the API layer's after-response list, settlement waits until the response is out."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from stargate.config.deployment import Deployment, ModelInfo
from stargate.core import (
    ChatRequest,
    ChatResponse,
    Message,
    MessageStart,
    MessageStop,
    StopReason,
    StreamEvent,
    TextDelta,
    TextPart,
    Usage,
    UsageReport,
)
from stargate.governance.durations import parse_window
from stargate.governance.policy import BudgetWindow, Limits
from stargate.pipeline import Gate, Pipeline, Principal, RequestContext, gate, records
from stargate.pipeline.after import AfterResponse
from stargate.pipeline.records import Outcome, Recorder
from stargate.providers.base import CallContext, Provider
from stargate.routing import Router
from stargate.store.counters_memory import MemoryCounters
from stargate.telemetry import Metrics

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
PRICED = ModelInfo(
    input_cost_per_token=Decimal("0.000001"), output_cost_per_token=Decimal("0.000005")
)
WINDOW = parse_window("1d")
PRINCIPAL = Principal(
    "key", "h", "alias", scopes=(("key:h", Limits(budgets=(BudgetWindow(10**6, WINDOW),))),)
)


class Answers:
    async def complete(self, request: ChatRequest, call: CallContext) -> ChatResponse:
        return ChatResponse(id="x", model="x", content=[TextPart("hi")],
                            stop_reason=StopReason.END_TURN, usage=Usage(100, 10))  # fmt: skip

    async def stream(
        self, request: ChatRequest, call: CallContext
    ) -> AsyncGenerator[StreamEvent, None]:
        yield MessageStart("x", "x")
        yield TextDelta(0, "hi" * 30)  # 60 characters relayed: 20 tokens when cut short
        yield MessageStop(StopReason.END_TURN)
        yield UsageReport(Usage(100, 10))


class Providers:
    def get(self, deployment_id: str) -> Provider:
        return Answers()  # type: ignore[return-value]


def pipeline(counters: MemoryCounters, recorder: Recorder | None = None) -> Pipeline:
    deployment = Deployment(id="d", model_name="m", provider="bedrock", model="x", info=PRICED)
    return Pipeline(
        router=Router([deployment]),
        providers=Providers(),
        recorder=recorder or Recorder(Metrics()),
        master_key=None,
        gate=Gate(counters, clock=lambda: NOW, access_groups_of=lambda _: frozenset()),
    )


def chat() -> ChatRequest:
    return ChatRequest(model="m", messages=[Message("user", [TextPart("hi")])], max_tokens=1000)


async def test_settlement_waits_for_the_after_response_work() -> None:
    counters = MemoryCounters(clock=lambda: NOW)
    after = AfterResponse()
    ctx = RequestContext("r1", "/v1/chat/completions", 0.0, after=after)
    await pipeline(counters).complete(chat(), PRINCIPAL, ctx)
    key = WINDOW.key_at(NOW)
    assert await counters.spent("key:h", key) == 0  # reserved, not settled yet
    await after.run()
    assert await counters.spent("key:h", key) == 150  # 100 x $1/M + 10 x $5/M


async def test_without_it_or_once_it_ran_settlement_happens_before_returning() -> None:
    counters = MemoryCounters(clock=lambda: NOW)
    closed = AfterResponse()
    await closed.run()
    key = WINDOW.key_at(NOW)
    for number, after in enumerate((None, closed), start=1):
        ctx = RequestContext(f"r{number}", "/v1/chat/completions", 0.0, after=after)
        await pipeline(counters).complete(chat(), PRINCIPAL, ctx)
        assert await counters.spent("key:h", key) == 150 * number


def _requests_counted(metrics: Metrics) -> bool:
    return b"litellm_proxy_total_requests_metric_total{" in metrics.exposition()


async def test_the_ledger_row_is_recorded_before_the_response_and_the_metrics_after() -> None:
    outcomes: list[Outcome] = []
    metrics = Metrics()
    recorder = Recorder(metrics, on_outcome=outcomes.append)
    after = AfterResponse()
    ctx = RequestContext("r1", "/v1/chat/completions", 0.0, after=after)
    await pipeline(MemoryCounters(clock=lambda: NOW), recorder).complete(chat(), PRINCIPAL, ctx)
    assert [o.request_id for o in outcomes] == ["r1"]  # journaled before the answer goes out
    assert outcomes[0].cost_micro == ctx.cost_micro == 150  # the cost headers have it too
    assert not _requests_counted(metrics)
    await after.run()
    assert _requests_counted(metrics)


async def test_an_answered_call_settles_at_the_cost_its_ledger_row_has_priced_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    priced: list[Usage] = []
    real = records.cost_micro

    def counted(usage: Usage, prices: ModelInfo) -> int | None:
        priced.append(usage)
        return real(usage, prices)

    monkeypatch.setattr(records, "cost_micro", counted)
    monkeypatch.setattr(gate, "cost_micro", counted)
    outcomes: list[Outcome] = []
    counters = MemoryCounters(clock=lambda: NOW)
    recorder = Recorder(Metrics(), on_outcome=outcomes.append)
    for number, after in enumerate((AfterResponse(), None), start=1):
        ctx = RequestContext(f"r{number}", "/v1/chat/completions", 0.0, after=after)
        await pipeline(counters, recorder).complete(chat(), PRINCIPAL, ctx)
        if after is not None:
            await after.run()
        assert len(priced) == number  # once per request: the ledger row's price, reused
    assert await counters.spent("key:h", WINDOW.key_at(NOW)) == 300 == 2 * outcomes[0].cost_micro


async def test_an_unpriced_answer_settles_its_tokens_and_no_money() -> None:
    free = Deployment(id="d", model_name="m", provider="bedrock", model="x", info=ModelInfo())
    counters = MemoryCounters(clock=lambda: NOW)
    tpm = Principal("key", "h", "alias", scopes=(("key:h", Limits(
        budgets=(BudgetWindow(10**6, WINDOW),), tpm=10**6)),))  # fmt: skip
    g = Gate(counters, clock=lambda: NOW, access_groups_of=lambda _: frozenset())
    p = Pipeline(router=Router([free]), providers=Providers(), recorder=Recorder(Metrics()),
                 master_key=None, gate=g)  # fmt: skip
    ctx = RequestContext("r1", "/v1/chat/completions", 0.0)
    await p.complete(chat(), tpm, ctx)
    assert ctx.cost_micro is None
    assert await counters.spent("key:h", WINDOW.key_at(NOW)) == 0
    assert counters._tpm["key:h"].total == 110  # the real tokens, not the reservation


async def test_a_stream_settles_at_the_cost_its_ledger_row_has_priced_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    priced: list[Usage] = []
    real = records.cost_micro

    def counted(usage: Usage, prices: ModelInfo) -> int | None:
        priced.append(usage)
        return real(usage, prices)

    monkeypatch.setattr(records, "cost_micro", counted)
    monkeypatch.setattr(gate, "cost_micro", counted)
    outcomes: list[Outcome] = []
    counters = MemoryCounters(clock=lambda: NOW)
    p = pipeline(counters, Recorder(Metrics(), on_outcome=outcomes.append))
    key = WINDOW.key_at(NOW)
    for number, after in enumerate((AfterResponse(), None), start=1):
        ctx = RequestContext(f"r{number}", "/v1/chat/completions", 0.0, after=after)
        events = await p.stream(chat(), PRINCIPAL, ctx)
        assert len([event async for event in events]) == 4
        if after is not None:
            assert await counters.spent("key:h", key) == 150 * (number - 1)  # after the answer
            await after.run()
        assert priced == [Usage(100, 10)] * number  # once per stream: the ledger row's price
        assert ctx.cost_micro == outcomes[-1].cost_micro == 150
        assert await counters.spent("key:h", key) == 150 * number
    # A stream cut after its first delta settles at its estimate, as its ledger row has it.
    ctx = RequestContext("r3", "/v1/chat/completions", 0.0)
    events = await p.stream(chat(), PRINCIPAL, ctx)
    assert isinstance(await anext(events), MessageStart)
    assert isinstance(await anext(events), TextDelta)
    await events.aclose()
    cut = outcomes[-1]
    assert (cut.request_id, cut.usage) == ("r3", Usage(priced[-1].input_tokens, 20))
    assert cut.cost_micro is not None
    assert ctx.cost_micro is None  # a cut stream's settlement prices its estimate itself
    assert await counters.spent("key:h", key) == 300 + cut.cost_micro
