"""Where traces go, read from ``litellm_settings`` and the standard environment variables.

Two destinations, each enabled the LiteLLM way or by the environment:

* **an OTLP/HTTP collector**: ``litellm_settings.callbacks: ["otel"]``, or
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` set. Headers from
  ``OTEL_EXPORTER_OTLP_HEADERS`` (``k=v,k2=v2``, values percent-encoded). LiteLLM's own
  ``OTEL_ENDPOINT`` / ``OTEL_HEADERS`` work too.
* **Langfuse**, through its OTLP endpoint: ``"langfuse"`` (or ``"langfuse_otel"``) in
  ``callbacks``, ``success_callback`` or ``failure_callback``, or ``LANGFUSE_PUBLIC_KEY`` and
  ``LANGFUSE_SECRET_KEY`` both set. Spans go to ``{LANGFUSE_HOST}/api/public/otel/v1/traces``
  with ``Authorization: Basic base64(public:secret)``.

``OTEL_SDK_DISABLED=true`` turns tracing off; ``OTEL_TRACES_EXPORTER=none`` turns off the
collector (Langfuse stays). Message content is off unless ``litellm_settings.
turn_off_message_logging: false`` is written, or (with the setting absent)
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``. Nothing here reads ``os.environ``:
the caller passes the environment.
"""

from __future__ import annotations

import base64
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal
from urllib.parse import unquote

from stargate.errors import ConfigError

__all__ = [
    "DEFAULT_LANGFUSE_HOST",
    "Destination",
    "SamplerName",
    "TracingSettings",
    "langfuse_destination",
    "tracing_settings",
]

DEFAULT_LANGFUSE_HOST = "https://cloud.langfuse.com"
_DEFAULT_COLLECTOR = "http://localhost:4318"
_ENV = "environment"
_TRUE = frozenset({"1", "true", "yes", "on"})
_LANGFUSE_CALLBACKS = frozenset({"langfuse", "langfuse_otel"})
_OTEL_CALLBACKS = frozenset({"otel", "opentelemetry"})

SamplerName = Literal[
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
]
_SAMPLERS: tuple[SamplerName, ...] = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)


def _no_headers() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Destination:
    """One OTLP/HTTP endpoint spans are exported to, with its own headers (never shared)."""

    name: Literal["otlp", "langfuse"]
    endpoint: str
    headers: Mapping[str, str] = field(default_factory=_no_headers, repr=False)


@dataclass(frozen=True, slots=True)
class TracingSettings:
    destinations: tuple[Destination, ...] = ()
    service_name: str = "stargate"
    resource_attributes: Mapping[str, str] = field(default_factory=_no_headers)
    capture_content: bool = False
    sampler: SamplerName = "parentbased_always_on"
    sampler_ratio: float = 1.0
    max_queue_size: int = 2048
    max_export_batch_size: int = 512
    schedule_delay_s: float = 1.0
    export_timeout_s: float = 5.0
    gzip: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.destinations)


def _get(env: Mapping[str, str], *names: str) -> tuple[str, str] | None:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return name, value
    return None


def _parse_headers(text: str, variable: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError("must be a list of name=value pairs", source=_ENV, path=variable)
        headers[unquote(name.strip()).lower()] = unquote(value.strip())
    return headers


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if not number > 0:
        raise ConfigError(f"{text!r} is not a positive number", source=_ENV, path=name)
    return number


def _ratio(env: Mapping[str, str], name: str) -> float:
    text = env.get(name, "").strip()
    if not text:
        return 1.0
    try:
        ratio = float(text)
    except ValueError:
        ratio = -1.0
    if not 0 <= ratio <= 1:
        raise ConfigError(f"{text!r} is not a ratio between 0 and 1", source=_ENV, path=name)
    return ratio


def _collector(env: Mapping[str, str]) -> Destination:
    traces = _get(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if traces is not None:
        endpoint = traces[1]
    else:
        base = _get(env, "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_ENDPOINT")
        endpoint = base[1] if base else _DEFAULT_COLLECTOR
        if not endpoint.rstrip("/").endswith("/v1/traces"):
            endpoint = endpoint.rstrip("/") + "/v1/traces"
    headers_var = _get(
        env, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_HEADERS"
    )
    headers = _parse_headers(headers_var[1], headers_var[0]) if headers_var else {}
    return Destination("otlp", endpoint, MappingProxyType(headers))


def langfuse_destination(host: str, public_key: str, secret_key: str) -> Destination:
    token = base64.b64encode(f"{public_key}:{secret_key}".encode()).decode("ascii")
    headers = {"authorization": f"Basic {token}", "x-langfuse-ingestion-version": "4"}
    endpoint = host.rstrip("/") + "/api/public/otel/v1/traces"
    return Destination("langfuse", endpoint, MappingProxyType(headers))


def _langfuse(env: Mapping[str, str], *, required: bool) -> Destination | None:
    public, secret = _get(env, "LANGFUSE_PUBLIC_KEY"), _get(env, "LANGFUSE_SECRET_KEY")
    if public is None or secret is None:
        if required:
            missing = "LANGFUSE_PUBLIC_KEY" if public is None else "LANGFUSE_SECRET_KEY"
            raise ConfigError(
                "the langfuse callback needs LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY",
                source=_ENV,
                path=missing,
            )
        return None
    host = _get(env, "LANGFUSE_HOST", "LANGFUSE_BASE_URL")
    return langfuse_destination(host[1] if host else DEFAULT_LANGFUSE_HOST, public[1], secret[1])


def _sampler(env: Mapping[str, str]) -> tuple[SamplerName, float]:
    name = env.get("OTEL_TRACES_SAMPLER", "").strip().lower() or "parentbased_always_on"
    for known in _SAMPLERS:
        if name == known:
            return known, _ratio(env, "OTEL_TRACES_SAMPLER_ARG")
    raise ConfigError(
        f"{name!r} is not a sampler ({', '.join(_SAMPLERS)})",
        source=_ENV,
        path="OTEL_TRACES_SAMPLER",
    )


def _resource(env: Mapping[str, str]) -> dict[str, str]:
    attributes: dict[str, str] = {}
    text = env.get("OTEL_RESOURCE_ATTRIBUTES", "")
    for item in text.split(","):
        name, sep, value = item.partition("=")
        if sep and name.strip():
            attributes[unquote(name.strip())] = unquote(value.strip())
    return attributes


def tracing_settings(
    *,
    callbacks: Collection[str],
    turn_off_message_logging: bool | None,
    env: Mapping[str, str],
) -> TracingSettings:
    """The tracing of a gateway whose ``litellm_settings`` name ``callbacks`` (``callbacks``,
    ``success_callback`` and ``failure_callback`` together) in the environment ``env``."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() in _TRUE:
        return TracingSettings()
    named = {c.strip().lower() for c in callbacks}
    destinations: list[Destination] = []
    collector_on = (
        bool(named & _OTEL_CALLBACKS)
        or _get(env, "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        is not None
    )
    if collector_on and env.get("OTEL_TRACES_EXPORTER", "").strip().lower() != "none":
        destinations.append(_collector(env))
    langfuse = _langfuse(env, required=bool(named & _LANGFUSE_CALLBACKS))
    if langfuse is not None:
        destinations.append(langfuse)
    if turn_off_message_logging is not None:
        capture = not turn_off_message_logging
    else:
        capture = (
            env.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "").strip().lower()
            in _TRUE
        )
    sampler, ratio = _sampler(env)
    queue = int(_positive(env, "OTEL_BSP_MAX_QUEUE_SIZE", 2048))
    batch = min(int(_positive(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512)), queue)
    service = _get(env, "OTEL_SERVICE_NAME")
    return TracingSettings(
        destinations=tuple(destinations),
        service_name=service[1] if service else "stargate",
        resource_attributes=MappingProxyType(_resource(env)),
        capture_content=capture,
        sampler=sampler,
        sampler_ratio=ratio,
        max_queue_size=queue,
        max_export_batch_size=batch,
        schedule_delay_s=_positive(env, "OTEL_BSP_SCHEDULE_DELAY", 1000) / 1000,
        export_timeout_s=_positive(env, "OTEL_EXPORTER_OTLP_TIMEOUT", 5000) / 1000,
        gzip=env.get("OTEL_EXPORTER_OTLP_COMPRESSION", "").strip().lower() == "gzip",
    )
