"""Traces from the Tracer facade to a local OTLP/HTTP receiver and a fake Langfuse endpoint."""

from __future__ import annotations

import asyncio
import base64
import gc
import socket
import threading
import time
import tracemalloc
from typing import Any

import orjson
import pytest

from stargate.core import ChatRequest, Message, TextPart, Usage
from stargate.telemetry import genai
from stargate.telemetry.tracing import MAX_CONTENT_CHARS, Tracer
from stargate.telemetry.tracing_config import TracingSettings, tracing_settings
from tests.unit.telemetry.otlp_receiver import ReceivedSpan, receiver, threaded_receiver

SERVER, CLIENT = 2, 3  # OTLP span kinds
ERROR = 2  # OTLP status code

USAGE = Usage(input_tokens=120, output_tokens=45, cache_read_tokens=30, cache_write_tokens=5)


def settings_for(url: str, **env: str) -> TracingSettings:
    return tracing_settings(
        callbacks=["otel"],
        turn_off_message_logging=None,
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": url, "OTEL_BSP_SCHEDULE_DELAY": "50", **env},
    )


def run_request(tracer: Tracer, number: int = 0, *, fail_first: bool = False) -> str:
    """What the pipeline does for one request; returns the trace id ("" untraced)."""
    request = tracer.start_request(
        request_id=f"req_{number}",
        route="/v1/chat/completions",
        requested_model="claude-sonnet",
        max_tokens=256,
        temperature=0.2,
        key_alias="ci-bot",
        user="user-7",
        team="team-1",
        team_alias="platform",
    )
    chat = ChatRequest("claude-sonnet", [Message("user", [TextPart("the secret plan")])])
    request.record_input(lambda: genai.input_messages(chat))
    if fail_first:
        first = request.start_attempt(provider="bedrock", model="m-east", deployment_id="east")
        first.fail(status=503, error_class="UpstreamUnavailable", will_retry=True)
    attempt = request.start_attempt(provider="bedrock", model="m-west", deployment_id="west")
    attempt.succeed(usage=USAGE, response_model="m-west", finish_reasons=["end_turn"])
    request.succeed(
        usage=USAGE,
        cost_micro=1234,
        response_model="m-west",
        finish_reasons=["end_turn"],
        output=lambda: [{"role": "assistant"}],
    )
    return request.trace_id or ""


async def flush(tracer: Tracer) -> None:
    assert await asyncio.to_thread(tracer.force_flush, 10.0)


def by_name(spans: list[ReceivedSpan]) -> dict[str, ReceivedSpan]:
    return {s.name: s for s in spans}


async def test_one_trace_per_request_with_genai_attributes_tokens_and_cost() -> None:
    async with receiver() as otlp:
        tracer = Tracer.open(settings_for(otlp.url, OTEL_SERVICE_NAME="gw-test"))
        try:
            trace_ids = [run_request(tracer, n, fail_first=n == 1) for n in range(3)]
            await flush(tracer)
        finally:
            await asyncio.to_thread(tracer.shutdown)
    assert {e.path for e in otlp.exports} == {"/v1/traces"}
    spans = otlp.spans
    assert all(len(t) == 32 for t in trace_ids)
    assert sorted({s.trace_id for s in spans}) == sorted(trace_ids)  # one trace per request
    second = [s for s in spans if s.trace_id == trace_ids[1]]
    assert len(second) == 3  # the request and two attempts
    root = next(s for s in second if s.kind == SERVER)
    assert root.name == "chat claude-sonnet"
    assert root.service_name == "gw-test"
    a = root.attributes
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.request.model"] == "claude-sonnet"
    assert a["gen_ai.response.model"] == "m-west"
    assert a["gen_ai.request.max_tokens"] == 256
    assert a["gen_ai.request.temperature"] == 0.2
    assert a["gen_ai.usage.input_tokens"] == 155  # cache reads and writes included
    assert a["gen_ai.usage.output_tokens"] == 45
    assert a["gen_ai.usage.cache_read.input_tokens"] == 30
    assert a["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert a["stargate.cost.micro_usd"] == 1234
    assert a["stargate.cost.usd"] == pytest.approx(0.001234)
    assert orjson.loads(a["langfuse.observation.cost_details"]) == {"total": 0.001234}
    assert (a["stargate.key_alias"], a["user.id"], a["stargate.team"]) == (
        "ci-bot", "user-7", "team-1",
    )  # fmt: skip
    assert a["stargate.request_id"] == "req_1"
    attempts = sorted((s for s in second if s.kind == CLIENT), key=lambda s: s.name)
    assert [s.parent_span_id for s in attempts] == [root.span_id, root.span_id]
    failed, won = attempts  # "chat m-east", "chat m-west"
    assert failed.status_code == ERROR
    assert failed.attributes["error.type"] == "UpstreamUnavailable"
    assert failed.attributes["http.response.status_code"] == 503
    assert won.attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert won.attributes["gen_ai.system"] == "aws.bedrock"
    assert won.attributes["gen_ai.request.model"] == "m-west"
    assert won.attributes["gen_ai.usage.output_tokens"] == 45
    assert won.attributes["stargate.deployment_id"] == "west"


async def test_content_stays_out_unless_opted_in() -> None:
    async with receiver() as otlp:
        tracer = Tracer.open(settings_for(otlp.url))
        run_request(tracer)
        await flush(tracer)
        await asyncio.to_thread(tracer.shutdown)
    assert all("the secret plan" not in e.body.decode("latin-1") for e in otlp.exports)
    root = next(s for s in otlp.spans if s.kind == SERVER)
    assert genai.INPUT_MESSAGES not in root.attributes
    assert genai.OUTPUT_MESSAGES not in root.attributes


@pytest.mark.parametrize(
    ("turn_off", "env"),
    [(False, {}), (None, {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"})],
)
async def test_content_when_opted_in(turn_off: bool | None, env: dict[str, str]) -> None:
    async with receiver() as otlp:
        settings = tracing_settings(
            callbacks=["otel"],
            turn_off_message_logging=turn_off,
            env={"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url, **env},
        )
        tracer = Tracer.open(settings)
        run_request(tracer)
        await flush(tracer)
        await asyncio.to_thread(tracer.shutdown)
    root = next(s for s in otlp.spans if s.kind == SERVER)
    messages = orjson.loads(root.attributes[genai.INPUT_MESSAGES])
    assert messages == [{"role": "user", "parts": [{"type": "text", "content": "the secret plan"}]}]
    assert root.attributes["langfuse.observation.output"] == '[{"role":"assistant"}]'


async def test_long_content_is_cut() -> None:
    async with receiver() as otlp:
        tracer = Tracer.open(
            settings_for(otlp.url, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="1")
        )
        request = tracer.start_request(request_id="r", route="/", requested_model="m")
        request.record_input(lambda: ["x" * (3 * MAX_CONTENT_CHARS)])
        request.fail(status=500, error_class="InternalError")
        await flush(tracer)
        await asyncio.to_thread(tracer.shutdown)
    root = otlp.spans[0]
    assert len(root.attributes[genai.INPUT_MESSAGES]) == MAX_CONTENT_CHARS + 1
    assert root.status_code == ERROR
    assert root.attributes["error.type"] == "InternalError"


async def test_a_callers_traceparent_makes_the_request_a_child_of_its_trace() -> None:
    parent_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    async with receiver() as otlp:
        tracer = Tracer.open(settings_for(otlp.url))
        request = tracer.start_request(
            request_id="r", route="/", requested_model="m",
            traceparent=f"00-{parent_trace}-00f067aa0ba902b7-01",
        )  # fmt: skip
        request.succeed(usage=None, cost_micro=None)
        await flush(tracer)
        await asyncio.to_thread(tracer.shutdown)
    (span,) = otlp.spans
    assert (span.trace_id, span.parent_span_id) == (parent_trace, "00f067aa0ba902b7")


async def test_langfuse_gets_basic_auth_and_only_its_own_headers() -> None:
    async with receiver() as langfuse, receiver() as otlp:
        settings = tracing_settings(
            callbacks=["langfuse"],
            turn_off_message_logging=None,
            env={
                "LANGFUSE_HOST": langfuse.url,
                "LANGFUSE_PUBLIC_KEY": "pk-lf-1234",
                "LANGFUSE_SECRET_KEY": "sk-lf-5678",
                "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url,
                "OTEL_EXPORTER_OTLP_HEADERS": "x-collector-key=collector-secret",
                "OTEL_BSP_SCHEDULE_DELAY": "50",
            },
        )
        assert [d.name for d in settings.destinations] == ["otlp", "langfuse"]
        tracer = Tracer.open(settings)
        run_request(tracer)
        await flush(tracer)
        await asyncio.to_thread(tracer.shutdown)
    (export,) = langfuse.exports
    assert export.path == "/api/public/otel/v1/traces"
    expected = base64.b64encode(b"pk-lf-1234:sk-lf-5678").decode()
    assert export.headers["authorization"] == f"Basic {expected}"
    assert export.headers["x-langfuse-ingestion-version"] == "4"
    assert export.headers["content-type"] == "application/x-protobuf"
    assert "x-collector-key" not in export.headers  # the collector's header stays with it
    assert {e.headers["x-collector-key"] for e in otlp.exports} == {"collector-secret"}
    assert "authorization" not in otlp.exports[0].headers
    root = next(s for s in export.spans if s.kind == SERVER)
    assert root.attributes["langfuse.observation.type"] == "generation"
    assert root.attributes["langfuse.trace.metadata.team"] == "platform"


async def test_a_refusing_collector_counts_failures() -> None:
    async with receiver() as otlp:
        otlp.status = 503
        failures: list[str] = []
        tracer = Tracer.open(settings_for(otlp.url), on_export_failure=failures.append)
        run_request(tracer)
        await flush(tracer)
        await asyncio.to_thread(tracer.shutdown)
    assert failures == ["otlp"]
    assert tracer.exporters[0].failed == 2


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def time_requests(tracer: Tracer, count: int) -> list[float]:
    times = []
    for n in range(count):
        started = time.perf_counter()
        run_request(tracer, n)
        times.append(time.perf_counter() - started)
    return sorted(times)


def median(times: list[float]) -> float:
    return times[len(times) // 2]


def test_a_dead_collector_never_blocks_a_request_and_costs_bounded_memory() -> None:
    """With the collector down, exports (and their timeouts) happen only on the exporter's own
    thread, never on the thread serving requests, and what waits for export is capped by the
    queue: memory after 10,000 traced requests is about what it was after 2,000. (Latency is
    measured by the bench, not asserted here: timed assertions are flaky on a shared machine.)"""
    env = {"OTEL_BSP_MAX_QUEUE_SIZE": "512", "OTEL_EXPORTER_OTLP_TIMEOUT": "200"}
    with threaded_receiver() as alive:
        healthy = Tracer.open(settings_for(alive.url, **env))
        try:
            time_requests(healthy, 3000)
        finally:
            healthy.shutdown()
    assert alive.spans, "the healthy collector received spans"

    tracer = Tracer.open(settings_for(f"http://127.0.0.1:{dead_port()}", **env))
    exporter = tracer.exporters[0]
    export_threads: set[int] = set()
    real_export = exporter.export

    def export(spans: Any) -> Any:
        export_threads.add(threading.get_ident())
        return real_export(spans)

    exporter.export = export  # type: ignore[method-assign]
    try:
        time_requests(tracer, 3000)
        tracemalloc.start()
        time_requests(tracer, 2000)
        gc.collect()
        after_warmup, _ = tracemalloc.get_traced_memory()
        time_requests(tracer, 8000)
        gc.collect()
        after_all, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        processor = tracer._provider._active_span_processor._span_processors[0]  # type: ignore[union-attr]
        queued = len(processor._batch_processor._queue)
    finally:
        tracer.shutdown()
    assert tracer.exporters[0].exported == 0
    assert queued <= 512
    # Unbounded, 8,000 more requests (24,000 spans of about 2 KB) would add some 50 MB; bounded,
    # the difference is at most what a full queue and a batch in flight hold.
    assert after_all - after_warmup < 6_000_000, (after_warmup, after_all)
    assert export_threads, "the exporter was tried"
    assert threading.get_ident() not in export_threads


def test_disabled_tracer_does_nothing_cheaply() -> None:
    tracer = Tracer.disabled()
    assert not tracer.enabled
    request = tracer.start_request(request_id="r", route="/", requested_model="m")
    assert request is tracer.off  # one trace that records nothing, for every request
    called: list[int] = []
    request.record_input(lambda: called.append(1))
    assert request.trace_id is None
    assert not request.recording
    request.start_attempt(provider="bedrock", model="m", deployment_id="d").succeed(usage=USAGE)
    request.succeed(usage=USAGE, cost_micro=1, output=lambda: called.append(2))
    assert called == []
    # Nothing is made per request: every one shares the disabled tracer's trace.
    assert tracer.start_request(request_id="r2", route="/", requested_model="m") is request


def test_open_without_destinations_is_disabled() -> None:
    assert not Tracer.open(TracingSettings()).enabled
