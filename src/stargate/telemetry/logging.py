"""Structured logs: one JSON object per line (or plain text), and one line per request.

:func:`configure_logging` is called once by ``stargate serve`` with the process
:class:`~stargate.settings.Settings` (``STARGATE_LOG_FORMAT``, ``STARGATE_LOG_LEVEL``) and the
secrets the configuration holds; every line is then scrubbed of those values and of anything
shaped like an API key (``sk-...``) before it is written, whatever logged it.

:class:`AccessLog` writes the per-request line (logger ``stargate.access``): request id, route,
model, status, latency, tokens, cost, key alias. Never the key, a secret or the prompt.
"""

from __future__ import annotations

import logging
import math
import re
import sys
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import urlsplit

import orjson

from stargate.config.gateway import GatewayConfig
from stargate.core import Usage
from stargate.settings import Settings

__all__ = [
    "ACCESS_LOGGER",
    "AccessLog",
    "JsonFormatter",
    "TextFormatter",
    "configure_logging",
    "secret_values",
]

ACCESS_LOGGER = "stargate.access"
_KEY_SHAPE = re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}")
_REDACTED = "[REDACTED]"
_FIELDS = "fields"  # the LogRecord attribute structured fields travel in
_LINE_HEAD = ("time", "level", "logger", "message")  # a JSON line's keys before its fields
_SECRET_NAME = re.compile(r"secret|token|password|_key$|^key$|api_key", re.IGNORECASE)
_MIN_SECRET = 8  # shorter values would scrub ordinary words
_EXACT_TIMES = 2.0**32  # seconds; below it a float time is exact to half a microsecond


class _Scrubber:
    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, _REDACTED)
        if "sk-" in text:
            text = _KEY_SHAPE.sub(_REDACTED, text)
        return text


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ...fields}``; an exception adds ``error`` and
    ``traceback``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._scrub = _Scrubber(secrets)
        self._second: tuple[float, str] = (math.nan, "")  # the last second formatted
        # Times certain to give the last millisecond formatted: [low, high) and its text.
        self._millisecond: tuple[float, float, str] = (0.0, 0.0, "")

    def timestamp(self, created: float) -> str:
        """``datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")``, the
        date and time of the second formatted once a second: ``fromtimestamp`` rounds to the
        microsecond (half to even, carrying into the next second), ``isoformat`` then drops
        the digits past the millisecond. A time well inside the last millisecond formatted
        (two microseconds from either end) gives its text again without working it out."""
        low, high, text = self._millisecond
        if low <= created < high:
            return text
        fraction, whole = math.modf(created)
        micros = round(fraction * 1e6)
        if micros >= 1_000_000:
            whole, micros = whole + 1.0, micros - 1_000_000
        elif micros < 0:  # before 1970
            whole, micros = whole - 1.0, micros + 1_000_000
        second, prefix = self._second
        if whole != second:
            prefix = datetime.fromtimestamp(whole, tz=UTC).isoformat(timespec="seconds")[:-6]
            self._second = (whole, prefix)
        start = micros - micros % 1000
        text = f"{prefix}.{start // 1000:03d}+00:00"
        if 0.0 <= whole < _EXACT_TIMES:
            # Floats this size are apart by at most half a microsecond, so any time from
            # start + 2 to start + 998 microseconds rounds into this millisecond.
            self._millisecond = (whole + (start + 2) / 1e6, whole + (start + 998) / 1e6, text)
        return text

    def line(self, line: dict[str, Any]) -> str:
        """A line's fields as the line written (JSON, scrubbed)."""
        return self._scrub(orjson.dumps(line, default=str).decode())

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, _FIELDS, None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
            line["traceback"] = self.formatException(record.exc_info)
        return self.line(line)


class TextFormatter(logging.Formatter):
    """``time level logger message key=value ...`` for a terminal."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self._scrub = _Scrubber(secrets)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, _FIELDS, None)
        if isinstance(fields, dict):
            text += "".join(f" {k}={v}" for k, v in fields.items())
        return self._scrub(text)


def configure_logging(
    settings: Settings, *, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> logging.Handler:
    """Send every log record (the root logger, uvicorn's included) to ``stream`` (stderr) in
    the configured format and level. Replaces the handlers the root logger had; returns the new
    one."""
    handler = logging.StreamHandler(stream or sys.stderr)
    secrets = tuple(secrets)
    handler.setFormatter(
        JsonFormatter(secrets) if settings.log_format == "json" else TextFormatter(secrets)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    return handler


def _sole_json_handler(logger: logging.Logger) -> logging.StreamHandler[Any] | None:
    """The one handler an INFO record of ``logger`` reaches, when it is what
    :func:`configure_logging` installs in JSON (a plain ``StreamHandler`` with a
    :class:`JsonFormatter`) and no filter stands in the way; else ``None``."""
    if logger.filters:
        return None
    found: logging.Handler | None = None
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            if found is not None:
                return None
            found = handler
        current = current.parent if current.propagate else None
    if (
        found.__class__ is not logging.StreamHandler
        or found.formatter.__class__ is not JsonFormatter
        or found.filters
        or found.level > logging.INFO
        or found.lock is None
        or not hasattr(found.stream, "flush")
    ):
        return None
    assert isinstance(found, logging.StreamHandler)
    return found


class AccessLog:
    """One line per request at INFO on ``stargate.access`` (nothing is built when INFO is off).

    When the line's only destination is the JSON handler :func:`configure_logging` installs
    (the gateway's own set-up), the line is formatted and written here, as that handler would
    write it, without a ``LogRecord`` and the logging machinery around it; any other set-up
    (other handlers, filters, the text format) gets the record through ``logging``."""

    __slots__ = ("_logger",)

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or logging.getLogger(ACCESS_LOGGER)

    def request(
        self,
        *,
        request_id: str,
        route: str,
        model: str,
        status: int,
        latency_s: float,
        usage: Usage | None = None,
        cost_micro: int | None = None,
        key_alias: str = "",
        deployment_id: str = "",
        stream: bool = False,
        error_class: str = "",
        trace_id: str | None = None,
    ) -> None:
        logger = self._logger
        if not logger.isEnabledFor(logging.INFO):
            return
        # The line as the JSON formatter writes it; "time" is filled in below.
        line: dict[str, Any] = {
            "time": "",
            "level": "INFO",
            "logger": logger.name,
            "message": "request",
            "request_id": request_id,
            "route": route,
            "model": model,
            "status": status,
            "latency_ms": round(latency_s * 1000, 1),
            "stream": stream,
            "key_alias": key_alias,
        }
        if deployment_id:
            line["deployment_id"] = deployment_id
        if usage is not None:
            line["input_tokens"] = usage.prompt_tokens
            line["output_tokens"] = usage.output_tokens
        if cost_micro is not None:
            line["cost_micro_usd"] = cost_micro
        if error_class:
            line["error"] = error_class
        if trace_id:
            line["trace_id"] = trace_id
        handler = _sole_json_handler(logger)
        if handler is None:
            for name in _LINE_HEAD:  # what is left is the record's fields
                del line[name]
            logger.info("request", extra={_FIELDS: line})
            return
        formatter = handler.formatter
        assert isinstance(formatter, JsonFormatter)
        line["time"] = formatter.timestamp(time.time())
        text = formatter.line(line) + handler.terminator
        out, lock = handler.stream, handler.lock
        assert lock is not None  # _sole_json_handler saw to it
        with lock:  # as StreamHandler.emit and its flush, with the lock taken once
            try:
                out.write(text)
                out.flush()
            except RecursionError:
                raise
            except Exception:
                for name in _LINE_HEAD:
                    del line[name]
                handler.handleError(logger.makeRecord(logger.name, logging.INFO, "", 0, "request",
                                                      (), None, extra={_FIELDS: line}))  # fmt: skip


def _url_password(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def secret_values(config: GatewayConfig, env: Mapping[str, str]) -> tuple[str, ...]:
    """Every secret a gateway process holds, for :func:`configure_logging` to scrub: the master
    key, credentials in deployments, database and Redis passwords, and environment variables
    named like secrets (``*SECRET*``, ``*TOKEN*``, ``*PASSWORD*``, ``*_KEY``)."""
    found: set[str] = set()
    if config.master_key:
        found.add(config.master_key)
    for deployment in config.deployments:
        for name, value in deployment.params.items():
            if isinstance(value, str) and _SECRET_NAME.search(name):
                found.add(value)
    for url in (config.database_url, config.redis_url):
        password = _url_password(url)
        if password:
            found.add(password)
    for name, value in env.items():
        if _SECRET_NAME.search(name) and not name.endswith("_ID"):
            found.add(value)
    return tuple(sorted(v for v in found if len(v) >= _MIN_SECRET))
