"""What a request leaves behind: its ledger outcome before the response, then its metrics and
access-log line with the values it ended with."""

from __future__ import annotations

import logging

import pytest

from stargate.config.deployment import Deployment
from stargate.core import Usage
from stargate.pipeline.after import AfterResponse
from stargate.pipeline.principals import Principal
from stargate.pipeline.records import Outcome, Recorder
from stargate.telemetry import Metrics
from stargate.telemetry.logging import AccessLog

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
