"""Traces: one span per request, one child span per upstream attempt, exported in the background.

:class:`Tracer` is the facade the pipeline holds. Disabled (no destination), every call is a
method call on a :class:`RequestTrace` without a span that returns at once. Enabled, spans go to a
``BatchSpanProcessor`` per destination: ending a span appends it to a bounded queue
(``max_queue_size``; the oldest are dropped when it is full) and a background thread exports
batches with a short deadline, so a slow or dead collector never blocks a request and costs at
most a queue of spans.

The request span (SERVER) is Langfuse's *generation*: model, usage, cost and (opt-in) content.
Each attempt span (CLIENT) names the deployment, the provider and how the attempt ended.
Attributes follow the OpenTelemetry GenAI conventions (:mod:`stargate.telemetry.genai`) plus the
caller's key alias, user and team, and the cost. Never a key, a secret, or (unless content is
opted in) a prompt or completion.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from stargate.core import Usage
from stargate.core.money import MICRO_PER_USD
from stargate.telemetry import genai
from stargate.telemetry.tracing_config import TracingSettings

if TYPE_CHECKING:  # the SDK is imported when tracing is on (it costs start-up time)
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import Sampler

    from stargate.telemetry.otlp_export import OtlpHttpExporter

__all__ = ["MAX_CONTENT_CHARS", "AttemptTrace", "RequestTrace", "Tracer"]

MAX_CONTENT_CHARS = 32_768
"""Content attributes longer than this are cut (a queue of spans must stay small)."""

_COST_MICRO = "stargate.cost.micro_usd"
_COST_USD = "stargate.cost.usd"


def _version() -> str:
    try:
        return importlib.metadata.version("stargate-gateway")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a checkout
        return "0"


def _sampler(settings: TracingSettings) -> Sampler:
    from opentelemetry.sdk.trace.sampling import (
        ALWAYS_OFF,
        ALWAYS_ON,
        ParentBased,
        TraceIdRatioBased,
    )

    match settings.sampler:
        case "always_on":
            return ALWAYS_ON
        case "always_off":
            return ALWAYS_OFF
        case "traceidratio":
            return TraceIdRatioBased(settings.sampler_ratio)
        case "parentbased_always_on":
            return ParentBased(ALWAYS_ON)
        case "parentbased_always_off":
            return ParentBased(ALWAYS_OFF)
        case "parentbased_traceidratio":
            return ParentBased(TraceIdRatioBased(settings.sampler_ratio))


def _json(value: object) -> str:
    text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= MAX_CONTENT_CHARS else text[:MAX_CONTENT_CHARS] + "…"


def _usage_attributes(usage: Usage) -> dict[str, Any]:
    return {
        genai.INPUT_TOKENS: usage.prompt_tokens,
        genai.OUTPUT_TOKENS: usage.output_tokens,
        genai.CACHE_READ_INPUT_TOKENS: usage.cache_read_tokens,
        genai.CACHE_CREATION_INPUT_TOKENS: usage.cache_write_tokens,
    }


def _outcome(span: Span, status: int, error_class: str) -> None:
    span.set_attribute("http.response.status_code", status)
    if error_class:
        span.set_attribute("error.type", error_class)
        span.set_status(Status(StatusCode.ERROR, error_class))


class AttemptTrace:
    """One upstream attempt (a CLIENT span), or nothing when tracing is off."""

    __slots__ = ("_span",)

    def __init__(self, span: Span | None) -> None:
        self._span = span

    def succeed(
        self,
        *,
        usage: Usage | None,
        response_model: str = "",
        response_id: str = "",
        finish_reasons: Sequence[str] = (),
    ) -> None:
        span = self._span
        if span is None:
            return
        if usage is not None:
            span.set_attributes(_usage_attributes(usage))
        if response_model:
            span.set_attribute(genai.RESPONSE_MODEL, response_model)
        if response_id:
            span.set_attribute(genai.RESPONSE_ID, response_id)
        if finish_reasons:
            span.set_attribute(genai.RESPONSE_FINISH_REASONS, list(finish_reasons))
        _outcome(span, 200, "")
        span.end()
        self._span = None

    def fail(self, *, status: int, error_class: str, will_retry: bool = False) -> None:
        span = self._span
        if span is None:
            return
        _outcome(span, status, error_class)
        span.set_attribute("stargate.attempt.will_retry", will_retry)
        span.end()
        self._span = None


class RequestTrace:
    """One request (a SERVER span), or nothing when tracing is off. :meth:`succeed` or
    :meth:`fail` ends it; later calls do nothing."""

    __slots__ = ("_attempts", "_capture", "_context", "_operation", "_span", "_tracer")

    def __init__(
        self, tracer: trace.Tracer | None, span: Span | None, operation: str, capture: bool
    ) -> None:
        self._tracer = tracer
        self._span = span
        self._context = span.get_span_context() if span is not None else None
        self._operation = operation
        self._capture = capture
        self._attempts = 0

    @property
    def recording(self) -> bool:
        return self._span is not None and self._span.is_recording()

    @property
    def trace_id(self) -> str | None:
        """The W3C trace id (32 hex digits) of a traced request, for log lines."""
        context = self._context
        if context is None or not context.is_valid:
            return None
        return format(context.trace_id, "032x")

    def record_input(
        self,
        messages: Callable[[], object],
        system: Callable[[], object] | None = None,
    ) -> None:
        """The prompt, when content capture is on (the callables are not called otherwise)."""
        span = self._span
        if span is None or not self._capture or not span.is_recording():
            return
        text = _json(messages())
        span.set_attribute(genai.INPUT_MESSAGES, text)
        span.set_attribute("langfuse.observation.input", text)
        if system is not None:
            span.set_attribute(genai.SYSTEM_INSTRUCTIONS, _json(system()))

    def start_attempt(self, *, provider: str, model: str, deployment_id: str) -> AttemptTrace:
        span, tracer = self._span, self._tracer
        if span is None or tracer is None:
            return AttemptTrace(None)
        self._attempts += 1
        system = genai.provider_name(provider)
        child = tracer.start_span(
            f"{self._operation} {model}",
            context=trace.set_span_in_context(span),
            kind=SpanKind.CLIENT,
            attributes={
                genai.OPERATION_NAME: self._operation,
                genai.PROVIDER_NAME: system,
                genai.SYSTEM: system,
                genai.REQUEST_MODEL: model,
                "stargate.deployment_id": deployment_id,
                "stargate.attempt": self._attempts,
                "langfuse.observation.type": "span",
            },
        )
        return AttemptTrace(child)

    def succeed(
        self,
        *,
        usage: Usage | None,
        cost_micro: int | None,
        response_model: str = "",
        response_id: str = "",
        finish_reasons: Sequence[str] = (),
        ttft_s: float | None = None,
        output: Callable[[], object] | None = None,
    ) -> None:
        span = self._span
        if span is None:
            return
        self._span = None
        if usage is not None:
            span.set_attributes(_usage_attributes(usage))
            span.set_attribute(
                "langfuse.observation.usage_details",
                orjson.dumps(
                    {
                        "input": usage.input_tokens,
                        "input_cache_read": usage.cache_read_tokens,
                        "input_cache_creation": usage.cache_write_tokens,
                        "output": usage.output_tokens,
                    }
                ).decode(),
            )
        if cost_micro is not None:
            usd = cost_micro / MICRO_PER_USD
            span.set_attribute(_COST_MICRO, cost_micro)
            span.set_attribute(_COST_USD, usd)
            span.set_attribute(
                "langfuse.observation.cost_details", orjson.dumps({"total": usd}).decode()
            )
        if response_model:
            span.set_attribute(genai.RESPONSE_MODEL, response_model)
            span.set_attribute("langfuse.observation.model.name", response_model)
        if response_id:
            span.set_attribute(genai.RESPONSE_ID, response_id)
        if finish_reasons:
            span.set_attribute(genai.RESPONSE_FINISH_REASONS, list(finish_reasons))
        if ttft_s is not None:
            span.set_attribute("stargate.time_to_first_token_s", ttft_s)
            started = getattr(span, "start_time", None)
            if isinstance(started, int):
                first = datetime.fromtimestamp(started / 1e9 + ttft_s, tz=UTC)
                span.set_attribute("langfuse.observation.completion_start_time", first.isoformat())
        if output is not None and self._capture and span.is_recording():
            text = _json(output())
            span.set_attribute(genai.OUTPUT_MESSAGES, text)
            span.set_attribute("langfuse.observation.output", text)
        _outcome(span, 200, "")
        span.end()

    def fail(self, *, status: int, error_class: str) -> None:
        span = self._span
        if span is None:
            return
        self._span = None
        _outcome(span, status, error_class)
        span.set_attribute("langfuse.observation.level", "ERROR")
        span.set_attribute("langfuse.observation.status_message", error_class)
        span.end()


class Tracer:
    """Builds request traces; :meth:`open` with settings that name no destination (or
    :meth:`disabled`) gives a tracer whose traces do nothing."""

    def __init__(
        self,
        settings: TracingSettings,
        provider: TracerProvider | None = None,
        exporters: tuple[OtlpHttpExporter, ...] = (),
    ) -> None:
        self.settings = settings
        self._provider = provider
        self.exporters = exporters
        self._tracer = provider.get_tracer("stargate", _version()) if provider else None
        self._propagator = TraceContextTextMapPropagator()
        self._off = RequestTrace(None, None, "", False)

    @classmethod
    def disabled(cls) -> Tracer:
        return cls(TracingSettings())

    @classmethod
    def open(
        cls, settings: TracingSettings, *, on_export_failure: Callable[[str], None] | None = None
    ) -> Tracer:
        """Build the provider and one batch processor per destination (call it in the worker
        process that will use it: the processors' threads do not survive a fork)."""
        if not settings.enabled:
            return cls(settings)
        # Imported here: the SDK and the OTLP encoder (protobuf) cost start-up time a gateway
        # without a collector saves.
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        from stargate.telemetry.otlp_export import OtlpHttpExporter

        resource = Resource(
            {
                **settings.resource_attributes,
                "service.name": settings.service_name,
                "service.version": _version(),
            }
        )
        provider = TracerProvider(
            resource=resource, sampler=_sampler(settings), shutdown_on_exit=False
        )
        exporters = []
        for destination in settings.destinations:
            exporter = OtlpHttpExporter(
                destination,
                timeout_s=settings.export_timeout_s,
                compress=settings.gzip,
                on_failure=on_export_failure,
            )
            exporters.append(exporter)
            provider.add_span_processor(
                BatchSpanProcessor(
                    exporter,
                    max_queue_size=settings.max_queue_size,
                    max_export_batch_size=settings.max_export_batch_size,
                    schedule_delay_millis=settings.schedule_delay_s * 1000,
                    export_timeout_millis=settings.export_timeout_s * 1000,
                )
            )
        return cls(settings, provider, tuple(exporters))

    @property
    def enabled(self) -> bool:
        return self._tracer is not None

    @property
    def off(self) -> RequestTrace:
        """The trace every request of a disabled tracer gets (it records nothing)."""
        return self._off

    def start_request(
        self,
        *,
        request_id: str,
        route: str,
        requested_model: str,
        operation: str = "chat",
        stream: bool = False,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        key_alias: str = "",
        user: str = "",
        team: str = "",
        team_alias: str = "",
        end_user: str = "",
        traceparent: str | None = None,
    ) -> RequestTrace:
        """Start a request's span. ``traceparent`` (the caller's W3C header) makes it a child
        of the caller's trace."""
        tracer = self._tracer
        if tracer is None:
            return self._off
        parent: Context | None = None
        if traceparent:
            parent = self._propagator.extract({"traceparent": traceparent})
        attributes: dict[str, Any] = {
            genai.OPERATION_NAME: operation,
            genai.REQUEST_MODEL: requested_model,
            genai.REQUEST_STREAM: stream,
            "stargate.request_id": request_id,
            "http.route": route,
            "langfuse.observation.type": "generation",
            "langfuse.trace.name": f"{operation} {requested_model}",
        }
        for name, value in (
            (genai.REQUEST_MAX_TOKENS, max_tokens),
            (genai.REQUEST_TEMPERATURE, temperature),
            (genai.REQUEST_TOP_P, top_p),
        ):
            if value is not None:
                attributes[name] = value
        for name, text in (
            ("stargate.key_alias", key_alias),
            ("user.id", user),
            ("stargate.team", team),
            ("stargate.team_alias", team_alias),
            ("stargate.end_user", end_user),
            ("langfuse.trace.metadata.key_alias", key_alias),
            ("langfuse.trace.metadata.team", team_alias or team),
        ):
            if text:
                attributes[name] = text
        span = tracer.start_span(
            f"{operation} {requested_model}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes=attributes,
        )
        return RequestTrace(tracer, span, operation, self.settings.capture_content)

    def force_flush(self, timeout_s: float = 5.0) -> bool:
        if self._provider is None:
            return True
        return self._provider.force_flush(int(timeout_s * 1000))

    def shutdown(self) -> None:
        """Export what is queued (each destination within its export timeout) and stop. Blocks:
        call it off the event loop (``asyncio.to_thread``)."""
        if self._provider is not None:
            self._provider.shutdown()
