"""Structured logs: one JSON line per request, the configured level and format, no secrets."""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import pytest

from stargate.config.loader import load_config
from stargate.core import Usage
from stargate.settings import Settings
from stargate.telemetry.logging import AccessLog, JsonFormatter, configure_logging, secret_values

MASTER = "sk-master-0123456789abcdef"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.usefixtures("restore_logging")
def test_one_json_line_per_request_with_its_fields() -> None:
    out = io.StringIO()
    configure_logging(Settings(log_format="json", log_level="INFO"), stream=out)
    AccessLog().request(
        request_id="req_1", route="/v1/chat/completions", model="claude-sonnet", status=200,
        latency_s=0.2534, usage=Usage(10, 5, cache_read_tokens=2), cost_micro=77,
        key_alias="ci-bot", deployment_id="sonnet-use1", stream=True, trace_id="ab" * 16,
    )  # fmt: skip
    (line,) = lines(out)
    assert line["message"] == "request"
    assert line["level"] == "INFO"
    assert line["logger"] == "stargate.access"
    assert {k: line[k] for k in (
        "request_id", "route", "model", "status", "latency_ms", "input_tokens", "output_tokens",
        "cost_micro_usd", "key_alias", "deployment_id", "stream", "trace_id",
    )} == {
        "request_id": "req_1", "route": "/v1/chat/completions", "model": "claude-sonnet",
        "status": 200, "latency_ms": 253.4, "input_tokens": 12, "output_tokens": 5,
        "cost_micro_usd": 77, "key_alias": "ci-bot", "deployment_id": "sonnet-use1",
        "stream": True, "trace_id": "ab" * 16,
    }  # fmt: skip
    assert str(line["time"]).endswith("+00:00")


@pytest.mark.usefixtures("restore_logging")
def test_failed_request_line_names_the_error() -> None:
    out = io.StringIO()
    configure_logging(Settings(), stream=out)
    AccessLog().request(request_id="r", route="/v1/messages", model="m", status=429,
                        latency_s=0.001, error_class="RateLimited")  # fmt: skip
    (line,) = lines(out)
    assert (line["status"], line["error"]) == (429, "RateLimited")
    assert "input_tokens" not in line


@pytest.mark.usefixtures("restore_logging")
def test_secrets_are_scrubbed_from_every_line_whoever_logs_it() -> None:
    out = io.StringIO()
    configure_logging(Settings(), secrets=[MASTER, AWS_SECRET], stream=out)
    log = logging.getLogger("somebody.else")
    log.warning("key %s and secret %s", MASTER, AWS_SECRET)
    log.warning("a virtual key sk-abcdefghijkl1234 in a message")
    try:
        raise ValueError(f"upstream said {AWS_SECRET}")
    except ValueError:
        log.exception("failed")
    text = out.getvalue()
    assert MASTER not in text
    assert AWS_SECRET not in text
    assert "sk-abcdefghijkl1234" not in text
    assert text.count("[REDACTED]") == 4
    assert lines(out)[2]["error"] == "ValueError"


@pytest.mark.usefixtures("restore_logging")
def test_text_format_and_level() -> None:
    out = io.StringIO()
    configure_logging(Settings(log_format="text", log_level="WARNING"), stream=out)
    AccessLog().request(request_id="r", route="/", model="m", status=200, latency_s=0.1)
    logging.getLogger("uvicorn.error").warning("port %d busy", 4000)
    text = out.getvalue()
    assert "request_id" not in text  # INFO is below the level
    assert "WARNING uvicorn.error port 4000 busy" in text


@pytest.mark.usefixtures("restore_logging")
def test_text_format_appends_fields() -> None:
    out = io.StringIO()
    configure_logging(Settings(log_format="text", log_level="INFO"), secrets=[MASTER], stream=out)
    AccessLog().request(request_id="r1", route="/", model="m", status=200, latency_s=0.1,
                        key_alias=MASTER)  # fmt: skip
    text = out.getvalue()
    assert "request request_id=r1" in text
    assert MASTER not in text


def test_secret_values_come_from_config_and_environment(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        "model_list:\n"
        "  - model_name: m\n"
        "    litellm_params:\n"
        "      model: bedrock/us.amazon.nova-micro-v1:0\n"
        "      aws_region_name: us-east-1\n"
        "      aws_access_key_id: AKIDDEPLOYMENT1\n"
        "      aws_secret_access_key: os.environ/DEPLOY_SECRET\n"
        f"general_settings:\n  master_key: {MASTER}\n"
        "  database_url: postgresql://gw:db-password-42@db/gw\n"
    )
    env = {
        "DEPLOY_SECRET": "deployment-secret-value",
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "LANGFUSE_SECRET_KEY": "sk-lf-secret-1",
        "HOME": "/root",
    }
    secrets = secret_values(load_config(config_file, env), env)
    assert {MASTER, "deployment-secret-value", AWS_SECRET, "sk-lf-secret-1",
            "db-password-42"} <= set(secrets)  # fmt: skip
    assert "AKIDEXAMPLE" not in secrets
    assert "AKIDDEPLOYMENT1" not in secrets
    assert "/root" not in secrets


def _access_line(log: AccessLog) -> None:
    log.request(
        request_id="req_9", route="/v1/messages", model="claude-haiku", status=200,
        latency_s=0.01234, usage=Usage(120, 40, cache_write_tokens=3), cost_micro=77,
        key_alias=MASTER, deployment_id="haiku-use1", stream=False, trace_id="cd" * 16,
    )  # fmt: skip


@pytest.mark.usefixtures("restore_logging")
def test_the_access_line_written_directly_is_the_line_logging_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("time.time", lambda: 1763884437.9999996)  # rounds into the next second
    direct, through_logging = io.StringIO(), io.StringIO()
    configure_logging(Settings(), secrets=[MASTER], stream=direct)
    with monkeypatch.context() as patched:  # the direct path builds no LogRecord
        patched.setattr(logging.Logger, "makeRecord", None)
        _access_line(AccessLog())
    configure_logging(Settings(), secrets=[MASTER], stream=through_logging)
    access = logging.getLogger("stargate.access")
    access.addFilter(lambda record: True)  # a filter: the record goes through logging
    try:
        _access_line(AccessLog())
    finally:
        access.filters.clear()
    assert direct.getvalue() == through_logging.getvalue()
    assert direct.getvalue().startswith('{"time":"2025-11-23T07:53:58.000+00:00","level":"INFO"')
    assert MASTER not in direct.getvalue()


@pytest.mark.usefixtures("restore_logging")
def test_other_handlers_still_get_the_access_record() -> None:
    out = io.StringIO()
    configure_logging(Settings(), stream=out)
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    keep = Keep()
    logging.getLogger("stargate").addHandler(keep)
    try:
        _access_line(AccessLog())
    finally:
        logging.getLogger("stargate").removeHandler(keep)
    assert [r.getMessage() for r in seen] == ["request"]
    assert lines(out)[0]["request_id"] == "req_9"


def test_json_times_are_datetimes_isoformat_to_the_millisecond() -> None:
    formatter = JsonFormatter()
    edges = (0.0, 0.0005, 0.0009995, 0.9994999, 0.9995, 0.9999994, 0.9999995, 0.9999996)
    moments = [second + edge for second in (0, 1763884437, 4102444799) for edge in edges]
    moments += [1763884437 + i / 7919 for i in range(7919)]
    for created in moments:
        expected = datetime.fromtimestamp(created, tz=UTC).isoformat(timespec="milliseconds")
        assert formatter.timestamp(created) == expected, created


def test_a_time_near_the_last_millisecond_formatted_is_worked_out_again() -> None:
    """The formatter gives the last millisecond's text again for times well inside it: times
    a fraction of a microsecond either side of each edge, forwards, backwards and repeated."""
    formatter = JsonFormatter()
    moments: list[float] = []
    for second in (0, 1763884437, 2**31, 2**32 - 1, 2**33):
        for millis in (0, 1, 499, 998, 999):
            edge = second + millis / 1000
            near = [edge + step * 1e-7 for step in range(-25, 26)]
            near += [math.nextafter(edge, -math.inf), math.nextafter(edge, math.inf)]
            moments += near + near[::-1] + [edge - 0.0005, edge, edge + 0.0005, edge]
    for created in moments:
        expected = datetime.fromtimestamp(created, tz=UTC).isoformat(timespec="milliseconds")
        assert formatter.timestamp(created) == expected, created
