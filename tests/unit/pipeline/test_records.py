"""What a request leaves behind: its ledger outcome before the response, then its metrics and
access-log line with the values it ended with."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from stargate.config.deployment import Deployment
from stargate.core import Usage
from stargate.governance.admission import BudgetState
from stargate.pipeline.after import AfterResponse
from stargate.pipeline.principals import Principal
from stargate.pipeline.records import Outcome, Recorder
from stargate.telemetry import Metrics, RequestLabels
from stargate.telemetry.logging import AccessLog
from stargate.telemetry.metric_labels import BudgetOwner

PRINCIPAL = Principal(kind="key", key_hash="kh", key_alias="ci")
DEPLOYMENT = Deployment(id="d1", model_name="m", provider="bedrock", model="x")


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.fields: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.fields.append(record.fields)  # type: ignore[attr-defined]


@pytest.fixture
def lines() -> Lines:
    return Lines()


def recorder(lines: Lines, outcomes: list[Outcome]) -> Recorder:
    logger = logging.getLogger("test.records.access")
    logger.handlers[:] = [lines]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    clock = iter([10.0, 10.5]).__next__  # the upstream call starts, then the request ends
    return Recorder(Metrics(), access_log=AccessLog(logger), on_outcome=outcomes.append,
                    clock=clock)  # fmt: skip


def test_a_disabled_tracer_gives_every_request_its_shared_trace(lines: Lines) -> None:
    rec = recorder(lines, [])
    begun = [rec.begin(request_id=f"r{n}", route="/v1/messages", model="m", principal=PRINCIPAL,
                       started=9.75, stream=False, max_tokens=None) for n in range(2)]  # fmt: skip
    assert [record.trace for record in begun] == [rec.tracer.off] * 2


async def test_the_line_written_after_the_response_has_what_the_request_ended_with(
    lines: Lines,
) -> None:
    outcomes: list[Outcome] = []
    rec = recorder(lines, outcomes)
    record = rec.begin(request_id="r1", route="/v1/messages", model="m", principal=PRINCIPAL,
                       started=9.75, stream=True, max_tokens=None)  # fmt: skip
    record.attempt(DEPLOYMENT)
    after = AfterResponse()
    record.succeeded(DEPLOYMENT, Usage(12, 5), after)
    assert [(o.request_id, o.latency_s, o.usage) for o in outcomes] == [("r1", 0.75, Usage(12, 5))]
    assert lines.fields == []  # not before the response is sent
    await after.run()
    (line,) = lines.fields
    assert (line["request_id"], line["status"], line["latency_ms"]) == ("r1", 200, 750.0)
    assert (line["input_tokens"], line["output_tokens"], line["deployment_id"]) == (12, 5, "d1")
    record.succeeded(DEPLOYMENT, Usage(1, 1), after)  # recorded once
    assert len(outcomes) == len(lines.fields) == 1


def test_the_labels_name_the_caller_and_the_deployment(lines: Lines) -> None:
    who = Principal(kind="key", key_hash="kh", key_alias="ci", user_id="u1",
                    user_email="u1@example.com", team_id="t1", team_alias="Team")  # fmt: skip
    record = recorder(lines, []).begin(request_id="r1", route="/v1/messages", model="m",
                                       principal=who, started=9.75, stream=False,
                                       max_tokens=None)  # fmt: skip
    assert record.labels(DEPLOYMENT) == RequestLabels(
        requested_model="m", model="x", model_id="d1", hashed_api_key="kh", api_key_alias="ci",
        team="t1", team_alias="Team", user="u1", user_email="u1@example.com",
        route="/v1/messages", api_provider="bedrock",
    )  # fmt: skip
    assert record.labels(None) == RequestLabels(
        requested_model="m", hashed_api_key="kh", api_key_alias="ci", team="t1",
        team_alias="Team", user="u1", user_email="u1@example.com", route="/v1/messages",
    )  # fmt: skip


def _remaining_key_budget(metrics: Metrics) -> list[str]:
    return [line for line in metrics.exposition().decode().splitlines()
            if line.startswith("litellm_remaining_api_key_budget_metric{")]  # fmt: skip


def _budgets(spent: int) -> list[BudgetState]:
    reset = datetime(2030, 1, 1, tzinfo=UTC)
    return [BudgetState("key:k1", "1d", 10_000_000, 10_000_000 - spent, reset)]


async def test_budget_gauges_are_set_once_the_event_loop_is_free() -> None:
    metrics = Metrics()
    rec = Recorder(metrics)
    rec.report_budgets(PRINCIPAL, _budgets(1_000_000))
    rec.report_budgets(PRINCIPAL, _budgets(2_500_000))  # the same loop turn: in order
    assert _remaining_key_budget(metrics) == []  # the request goes on first
    await asyncio.sleep(0)
    (line,) = _remaining_key_budget(metrics)
    assert line.endswith(" 7.5")
    rec.report_budgets(PRINCIPAL, _budgets(3_000_000))
    await asyncio.sleep(0)
    assert _remaining_key_budget(metrics)[0].endswith(" 7.0")


class BudgetWrites(Metrics):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, str, int, float | None]] = []

    def set_budget(self, owner: BudgetOwner, *, max_micro: int | None, spent_micro: int,
                   reset_at: float | None, now: float | None = None) -> None:  # fmt: skip
        self.writes.append((owner.scope, owner.id, spent_micro, reset_at))
        super().set_budget(owner, max_micro=max_micro, spent_micro=spent_micro,
                           reset_at=reset_at, now=now)  # fmt: skip


async def test_a_loop_turn_writes_each_budget_once_with_its_last_value() -> None:
    metrics = BudgetWrites()
    rec = Recorder(metrics)
    ann = Principal(kind="key", key_hash="ka", key_alias="ann", team_id="t1")
    bob = Principal(kind="key", key_hash="kb", key_alias="bob", team_id="t1")
    reset = datetime(2030, 1, 1, tzinfo=UTC)

    def budgets(key: str, spent: int, team_spent: int) -> list[BudgetState]:
        return [
            BudgetState(f"key:{key}", "1d", 10_000_000, 10_000_000 - spent, reset),
            BudgetState("team:t1", "1mo", 50_000_000, 50_000_000 - team_spent, reset),
        ]

    rec.report_budgets(ann, budgets("a", 1_000_000, 1_000_000))
    rec.report_budgets(bob, budgets("b", 2_000_000, 3_000_000))
    rec.report_budgets(ann, budgets("a", 4_000_000, 7_000_000))
    await asyncio.sleep(0)
    # Ann's first report is overwritten by her second: only Bob's and her last are written,
    # in order (the team ends as her last admission left it).
    at = reset.timestamp()
    assert metrics.writes == [
        ("key", "kb", 2_000_000, at),
        ("team", "t1", 3_000_000, at),
        ("key", "ka", 4_000_000, at),
        ("team", "t1", 7_000_000, at),
    ]
    assert sorted(_remaining_key_budget(metrics)) == [
        'litellm_remaining_api_key_budget_metric{api_key_alias="ann",hashed_api_key="ka"} 6.0',
        'litellm_remaining_api_key_budget_metric{api_key_alias="bob",hashed_api_key="kb"} 8.0',
    ]


async def test_a_report_without_a_reset_time_leaves_the_earlier_reset_gauges_written() -> None:
    metrics = BudgetWrites()
    rec = Recorder(metrics)
    reset = datetime(2030, 1, 1, tzinfo=UTC)
    daily = BudgetState("key:k1", "1d", 10_000_000, 1_000_000, reset)  # the tightest, first
    lifetime = BudgetState("key:k1", "", 20_000_000, 500_000, None)  # then this one
    rec.report_budgets(PRINCIPAL, [daily])
    rec.report_budgets(PRINCIPAL, [daily, lifetime])
    await asyncio.sleep(0)
    # The second report sets no reset time: the first one's is still written, in order.
    assert metrics.writes == [("key", "kh", 9_000_000, reset.timestamp()),
                              ("key", "kh", 19_500_000, None)]  # fmt: skip
    assert _remaining_key_budget(metrics)[0].endswith(" 0.5")


def test_budget_gauges_are_set_at_once_outside_an_event_loop() -> None:
    metrics = Metrics()
    Recorder(metrics).report_budgets(PRINCIPAL, _budgets(1_000_000))
    assert _remaining_key_budget(metrics)[0].endswith(" 9.0")
