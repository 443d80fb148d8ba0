from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from stargate.config.deployment import Deployment, ModelInfo
from stargate.core import Usage
from stargate.errors import BudgetExceeded, ModelAccessDenied, RateLimited
from stargate.governance.admission import Admission, AdmissionRequest
from stargate.governance.counters import CounterStore
from stargate.governance.durations import parse_window
from stargate.governance.policy import BudgetWindow, Limits
from stargate.pipeline import Gate, Principal
from stargate.store.counters_memory import MemoryCounters

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
PRICED = ModelInfo(
    input_cost_per_token=Decimal("0.000001"), output_cost_per_token=Decimal("0.000005")
)
DEPLOYMENT = Deployment(id="d", model_name="m", provider="bedrock", model="x", info=PRICED)


def principal(limit_micro: int, models: tuple[str, ...] = ()) -> Principal:
    limits = Limits(models=models, budgets=(BudgetWindow(limit_micro, parse_window("1d")),))
    return Principal("key", "h", "alias", scopes=(("key:h", limits),))


def gate(counters: MemoryCounters) -> Gate:
    return Gate(counters, clock=lambda: NOW, access_groups_of=lambda _: frozenset())


async def test_worst_case_is_reserved_and_the_real_cost_settled() -> None:
    counters = MemoryCounters(clock=lambda: NOW)
    g = gate(counters)
    # worst case: 100 prompt tokens x $1/M + 1000 x $5/M = 5100 micro-dollars
    ticket = await g.admit(principal(6000), "m", [DEPLOYMENT], request_id="r1",
                           prompt_tokens=lambda: 100, max_tokens=1000)  # fmt: skip
    assert ticket.max_tokens is None
    assert "x-stargate-budget-remaining" in {k.lower() for k in ticket.headers}
    await g.settle(ticket, Usage(input_tokens=100, output_tokens=10), DEPLOYMENT)
    await g.settle(ticket, Usage(input_tokens=100, output_tokens=10), DEPLOYMENT)  # once only
    window = parse_window("1d").key_at(NOW)
    assert await counters.spent("key:h", window) == 150


async def test_max_tokens_is_lowered_when_only_the_prompt_fits() -> None:
    counters = MemoryCounters(clock=lambda: NOW)
    g = gate(counters)
    ticket = await g.admit(principal(1100), "m", [DEPLOYMENT], request_id="r2",
                           prompt_tokens=lambda: 100, max_tokens=1000)  # fmt: skip
    assert ticket.max_tokens == 200  # (1100 - 100) / 5
    assert any("lowered" in k.lower() for k in ticket.headers)


async def test_a_budget_that_cannot_pay_the_prompt_refuses() -> None:
    g = gate(MemoryCounters(clock=lambda: NOW))
    with pytest.raises(BudgetExceeded) as caught:
        await g.admit(principal(50), "m", [DEPLOYMENT], request_id="r3",
                      prompt_tokens=lambda: 100, max_tokens=1000)  # fmt: skip
    assert caught.value.status == 429
    assert caught.value.openai_type == "budget_exceeded"


async def test_model_outside_the_allow_list_is_403_before_counting() -> None:
    counters = MemoryCounters(clock=lambda: NOW)
    g = gate(counters)
    with pytest.raises(ModelAccessDenied) as caught:
        await g.admit(principal(10_000, models=("other",)), "m", [DEPLOYMENT], request_id="r4",
                      prompt_tokens=lambda: 1, max_tokens=1)  # fmt: skip
    assert caught.value.status == 403
    assert caught.value.openai_type == "key_model_access_denied"


async def test_the_master_key_is_not_limited() -> None:
    g = gate(MemoryCounters(clock=lambda: NOW))

    def never() -> int:
        raise AssertionError("no estimate is needed without limits")

    ticket = await g.admit(Principal("master", "h", "master"), "m", [DEPLOYMENT],
                           request_id="r5", prompt_tokens=never, max_tokens=None)  # fmt: skip
    assert ticket.admitted is None
    await g.settle(ticket, Usage(1, 1), DEPLOYMENT)


async def test_every_admission_decision_is_reported_by_outcome() -> None:
    decisions: list[str] = []
    g = Gate(MemoryCounters(clock=lambda: NOW), clock=lambda: NOW,
             access_groups_of=lambda _: frozenset(), on_decision=decisions.append)  # fmt: skip

    async def admit(p: Principal, request_id: str) -> None:
        await g.admit(p, "m", [DEPLOYMENT], request_id=request_id,
                      prompt_tokens=lambda: 100, max_tokens=1000)  # fmt: skip

    def budgeted(name: str, limit_micro: int, models: tuple[str, ...] = ()) -> Principal:
        limits = Limits(models=models, budgets=(BudgetWindow(limit_micro, parse_window("1d")),))
        return Principal("key", name, name, scopes=((f"key:{name}", limits),))

    await admit(budgeted("a", 1_000_000), "a")
    await admit(budgeted("b", 1100), "b")
    with pytest.raises(BudgetExceeded):
        await admit(budgeted("c", 50), "c")
    with pytest.raises(ModelAccessDenied):
        await admit(budgeted("d", 10_000, models=("other",)), "d")
    rpm = Limits(rpm=1)
    limited = Principal("key", "r", "rpm", scopes=(("key:r", rpm),))
    await admit(limited, "e")
    with pytest.raises(RateLimited):
        await admit(limited, "f")
    await admit(Principal("master", "h", "master"), "g")  # no limits: no decision
    assert decisions == [
        "admitted", "lowered", "budget_exceeded", "denied", "admitted", "rate_limited",
    ]  # fmt: skip


class Remote:
    """A store that only answers by awaiting (as the Redis one does): the in-process one's
    admissions and settlements, through its coroutines."""

    def __init__(self, counters: MemoryCounters) -> None:
        self.counters = counters
        self.admitted = 0

    async def admit(self, request: AdmissionRequest) -> Admission:
        self.admitted += 1
        return await self.counters.admit(request)

    async def settle(self, request_id: str, actual_micro: int, actual_tokens: int) -> bool:
        return await self.counters.settle(request_id, actual_micro, actual_tokens)

    async def release(self, request_id: str) -> bool:
        return await self.counters.release(request_id)


class InPlaceOnly(MemoryCounters):
    async def admit(self, request: AdmissionRequest) -> Admission:
        raise AssertionError("an in-process store is admitted in place")


async def test_the_same_tickets_whether_the_store_admits_in_place_or_by_awaiting() -> None:
    remote = Remote(MemoryCounters(clock=lambda: NOW))
    stores: list[CounterStore] = [InPlaceOnly(clock=lambda: NOW), remote]  # type: ignore[list-item]
    tickets = []
    for store in stores:
        g = Gate(store, clock=lambda: NOW, access_groups_of=lambda _: frozenset())
        admitted = []
        for rid in ("r0", "r1"):  # the second one is lowered to what is left
            admitted.append(await g.admit(principal(6000), "m", [DEPLOYMENT], request_id=rid,
                                          prompt_tokens=lambda: 100, max_tokens=1000))  # fmt: skip
        with pytest.raises(BudgetExceeded):
            await g.admit(principal(6000), "m", [DEPLOYMENT], request_id="r2",
                          prompt_tokens=lambda: 100, max_tokens=1000)  # fmt: skip
        tickets.append([(t.admitted, t.max_tokens, t.headers) for t in admitted])
    assert tickets[0] == tickets[1]
    assert tickets[0][1][1] == 160  # (6000 - 5100 - 100) / 5
    assert remote.admitted == 4  # r0, r1 twice (refused, then lowered), r2 once (refused)
