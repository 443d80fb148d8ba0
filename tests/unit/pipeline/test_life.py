from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest

from stargate.config.deployment import Deployment
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
from stargate.errors import (
    AuthenticationFailed,
    StargateError,
    UpstreamAccessDenied,
    UpstreamThrottled,
)
from stargate.pipeline import Pipeline, Principal, RequestContext
from stargate.pipeline.records import Recorder
from stargate.providers.base import CallContext, Provider
from stargate.routing import Router
from stargate.routing.health import Cooldowns, DeploymentHealth
from stargate.telemetry import Metrics

MASTER = "sk-master-0123456789"


class FakeProvider:
    def __init__(self, name: str, fail: StargateError | None = None) -> None:
        self.name = name
        self.fail = fail
        self.calls = 0
        self.closed_streams = 0

    async def complete(self, request: ChatRequest, call: CallContext) -> ChatResponse:
        self.calls += 1
        if self.fail:
            raise self.fail
        return ChatResponse(
            id="x", model=self.name, content=[TextPart(self.name)],
            stop_reason=StopReason.END_TURN, usage=Usage(3, 4),
        )  # fmt: skip

    async def stream(
        self, request: ChatRequest, call: CallContext
    ) -> AsyncGenerator[StreamEvent, None]:
        self.calls += 1
        try:
            if self.fail:
                raise self.fail
            yield MessageStart(id="x", model=self.name)
            yield TextDelta(0, self.name)
            yield MessageStop(StopReason.END_TURN)
            yield UsageReport(Usage(3, 4))
        finally:
            self.closed_streams += 1

    async def aclose(self) -> None:
        return None


class Providers:
    def __init__(self, providers: dict[str, FakeProvider]) -> None:
        self.providers = providers

    def get(self, deployment_id: str) -> Provider:
        return self.providers[deployment_id]


def make(*fakes: FakeProvider) -> Pipeline:
    deps = [Deployment(id=f.name, model_name="m", provider="bedrock", model=f.name) for f in fakes]
    return Pipeline(
        router=Router(deps),
        providers=Providers({f.name: f for f in fakes}),
        recorder=Recorder(Metrics()),
        master_key=MASTER,
    )


def request() -> ChatRequest:
    return ChatRequest(model="m", messages=[Message("user", [TextPart("hi")])])


def ctx() -> RequestContext:
    return RequestContext("req_1", "/v1/chat/completions", 0.0)


async def test_master_key_authenticates_and_others_do_not() -> None:
    pipeline = make(FakeProvider("a"))
    principal = await pipeline.authenticate(MASTER)
    assert principal.kind == "master"
    assert MASTER not in repr(principal)
    for bad in (None, "", "sk-other"):
        with pytest.raises(AuthenticationFailed):
            await pipeline.authenticate(bad)


async def test_retryable_failure_falls_back_to_the_next_deployment() -> None:
    a, b = FakeProvider("a", UpstreamThrottled("busy")), FakeProvider("b")
    pipeline = make(a, b)
    principal = await pipeline.authenticate(MASTER)
    response = await pipeline.complete(request(), principal, ctx())
    assert response.model == "b"
    assert (a.calls, b.calls) == (1, 1)


async def test_non_retryable_failure_is_final() -> None:
    a, b = FakeProvider("a", UpstreamAccessDenied("no")), FakeProvider("b")
    pipeline = make(a, b)
    with pytest.raises(UpstreamAccessDenied):
        await pipeline.complete(request(), Principal("master", "h", "master"), ctx())
    assert b.calls == 0


async def test_last_deployment_failure_is_raised() -> None:
    pipeline = make(FakeProvider("a", UpstreamThrottled("busy")))
    with pytest.raises(UpstreamThrottled):
        await pipeline.complete(request(), Principal("master", "h", "master"), ctx())


async def test_stream_falls_back_before_first_event_and_closes_the_failed_stream() -> None:
    a, b = FakeProvider("a", UpstreamThrottled("busy")), FakeProvider("b")
    pipeline = make(a, b)
    events = await pipeline.stream(request(), Principal("master", "h", "master"), ctx())
    received = [e async for e in events]
    assert isinstance(received[0], MessageStart)
    assert received[1] == TextDelta(0, "b")
    assert a.closed_streams == 1
    assert b.closed_streams == 1


async def test_closing_the_relay_closes_the_provider_stream() -> None:
    b = FakeProvider("b")
    pipeline = make(b)
    events = await pipeline.stream(request(), Principal("master", "h", "master"), ctx())
    assert isinstance(await anext(events), MessageStart)
    await events.aclose()
    assert b.closed_streams == 1


async def test_metrics_count_success_and_failure() -> None:
    pipeline = make(FakeProvider("a", UpstreamAccessDenied("no")))
    with pytest.raises(UpstreamAccessDenied):
        await pipeline.complete(request(), Principal("master", "h", "master"), ctx())
    text = pipeline._recorder.metrics.exposition().decode()
    assert 'exception_class="UpstreamAccessDenied"' in text
    assert 'status_code="403"' in text


async def test_a_failing_deployment_is_cooled_down_and_reported() -> None:
    a, b = FakeProvider("a", UpstreamThrottled("busy")), FakeProvider("b")
    deps = [Deployment(id=f.name, model_name="m", provider="bedrock", model=f.name) for f in (a, b)]
    recorder = Recorder(Metrics())
    health = DeploymentHealth(Cooldowns(allowed_fails=1, cooldown_seconds=60),
                              on_change=recorder.report_health)  # fmt: skip
    pipeline = Pipeline(router=Router(deps, health=health), providers=Providers({"a": a, "b": b}),
                        recorder=recorder, master_key=MASTER)  # fmt: skip
    master = Principal("master", "h", "master")
    for _ in range(6):
        assert (await pipeline.complete(request(), master, ctx())).model == "b"
    # a failed on its first two turns, then stayed behind b for the cooldown (its third turn).
    assert (a.calls, b.calls) == (2, 6)
    text = recorder.metrics.exposition().decode()
    assert (
        'litellm_deployment_state{api_base="",api_provider="bedrock",litellm_model_name="a",'
        'model_id="a"} 2.0' in text
    )
    assert (
        'litellm_deployment_state{api_base="",api_provider="bedrock",litellm_model_name="b",'
        'model_id="b"}' not in text
    )  # never unwell: nothing to report
    assert (
        'litellm_deployment_cooled_down_total{api_base="",api_provider="bedrock",'
        'exception_status="429",litellm_model_name="a",model_id="a"} 1.0' in text
    )
