"""Where traces go, from litellm_settings callbacks and the OTEL_* / LANGFUSE_* variables."""

from __future__ import annotations

import base64

import pytest

from stargate.errors import ConfigError
from stargate.telemetry.tracing_config import TracingSettings, tracing_settings


def settings(
    callbacks: tuple[str, ...] = (), turn_off: bool | None = None, **env: str
) -> TracingSettings:
    return tracing_settings(callbacks=callbacks, turn_off_message_logging=turn_off, env=env)


def test_nothing_configured_means_no_tracing() -> None:
    s = settings()
    assert not s.enabled
    assert not s.capture_content


def test_otel_callback_uses_the_standard_collector_default() -> None:
    (d,) = settings(("otel",)).destinations
    assert (d.name, d.endpoint, dict(d.headers)) == ("otlp", "http://localhost:4318/v1/traces", {})


def test_the_endpoint_variable_alone_enables_the_collector_with_its_headers() -> None:
    (d,) = settings(
        OTEL_EXPORTER_OTLP_ENDPOINT="https://otel.example.com:4318/",
        OTEL_EXPORTER_OTLP_HEADERS="x-api-key=abc%3D%3D, X-Tenant = acme",
    ).destinations
    assert d.endpoint == "https://otel.example.com:4318/v1/traces"
    assert dict(d.headers) == {"x-api-key": "abc==", "x-tenant": "acme"}


def test_signal_specific_endpoint_is_used_as_written() -> None:
    (d,) = settings(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://c:4318/custom/path").destinations
    assert d.endpoint == "http://c:4318/custom/path"


def test_litellm_otel_variables_work_too() -> None:
    (d,) = settings(("otel",), OTEL_ENDPOINT="http://c:4318", OTEL_HEADERS="k=v").destinations
    assert (d.endpoint, dict(d.headers)) == ("http://c:4318/v1/traces", {"k": "v"})


@pytest.mark.parametrize("callback", ["langfuse", "langfuse_otel", "Langfuse"])
def test_langfuse_callback_builds_basic_auth_to_the_otlp_endpoint(callback: str) -> None:
    (d,) = settings(
        (callback,), LANGFUSE_HOST="https://lf.internal/", LANGFUSE_PUBLIC_KEY="pk",
        LANGFUSE_SECRET_KEY="sk",
    ).destinations  # fmt: skip
    assert d.name == "langfuse"
    assert d.endpoint == "https://lf.internal/api/public/otel/v1/traces"
    assert d.headers["authorization"] == "Basic " + base64.b64encode(b"pk:sk").decode()
    assert d.headers["x-langfuse-ingestion-version"] == "4"
    assert "sk" not in repr(d)


def test_langfuse_keys_alone_enable_it_on_langfuse_cloud() -> None:
    (d,) = settings(LANGFUSE_PUBLIC_KEY="pk", LANGFUSE_SECRET_KEY="sk").destinations
    assert d.endpoint == "https://cloud.langfuse.com/api/public/otel/v1/traces"


def test_langfuse_callback_without_keys_is_refused() -> None:
    with pytest.raises(ConfigError, match="LANGFUSE_SECRET_KEY"):
        settings(("langfuse",), LANGFUSE_PUBLIC_KEY="pk")


def test_sdk_disabled_and_exporter_none_switch_things_off() -> None:
    assert not settings(("otel",), OTEL_SDK_DISABLED="true").enabled
    s = settings(("otel", "langfuse"), OTEL_TRACES_EXPORTER="none", LANGFUSE_PUBLIC_KEY="p",
                 LANGFUSE_SECRET_KEY="s")  # fmt: skip
    assert [d.name for d in s.destinations] == ["langfuse"]


@pytest.mark.parametrize(
    ("turn_off", "env", "capture"),
    [
        (None, {}, False),
        (True, {}, False),
        (False, {}, True),
        (None, {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}, True),
        (True, {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}, False),
    ],
)
def test_content_is_opt_in(turn_off: bool | None, env: dict[str, str], capture: bool) -> None:
    assert settings(("otel",), turn_off, **env).capture_content is capture


def test_service_resource_sampler_and_batching_from_the_environment() -> None:
    s = settings(
        ("otel",),
        OTEL_SERVICE_NAME="gw",
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment=prod,team=ml%20ops",
        OTEL_TRACES_SAMPLER="parentbased_traceidratio",
        OTEL_TRACES_SAMPLER_ARG="0.25",
        OTEL_BSP_MAX_QUEUE_SIZE="100",
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE="500",
        OTEL_EXPORTER_OTLP_TIMEOUT="2500",
        OTEL_EXPORTER_OTLP_COMPRESSION="gzip",
    )
    assert s.service_name == "gw"
    assert dict(s.resource_attributes) == {"deployment.environment": "prod", "team": "ml ops"}
    assert (s.sampler, s.sampler_ratio) == ("parentbased_traceidratio", 0.25)
    assert (s.max_queue_size, s.max_export_batch_size) == (100, 100)
    assert s.export_timeout_s == 2.5
    assert s.gzip


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OTEL_TRACES_SAMPLER", "sometimes"),
        ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "-3"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
    ],
)
def test_unusable_values_name_their_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        settings(("otel",), **{variable: value})
