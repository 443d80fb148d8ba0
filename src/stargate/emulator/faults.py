"""Scripted faults: a request asks the emulator to fail, stall or cut its answer.

A fault is chosen per request, either by a marker in the text of the last user message,
``[[fault:NAME]]`` or ``[[fault:NAME=MS]]``, or by the request header
``x-emulator-fault: NAME[, NAME=MS ...]``. See :data:`FAULT_NAMES` and the package docstring for
the vocabulary. Several faults combine (``slow-chunks=50`` with ``midstream-throttle``); when two
choose the same thing (two HTTP errors, two stream endings, two delays of one kind) the first
mention wins, and the header counts before the message. An unknown name or a malformed parameter is
a 400 ValidationException naming the vocabulary, so a typo never passes silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from stargate.emulator.errors import (
    ACCESS_DENIED_MESSAGE,
    INTERNAL_SERVER_MESSAGE,
    MODEL_TIMEOUT_MESSAGE,
    SERVICE_UNAVAILABLE_MESSAGE,
    THROTTLING_MESSAGE,
    BedrockError,
    validation_error,
)

__all__ = [
    "FAULT_HEADER",
    "FAULT_NAMES",
    "HTTP_FAULTS",
    "MAX_DELAY_MS",
    "STREAM_FAULTS",
    "FaultPlan",
    "StreamEnd",
    "parse_fault_header",
    "parse_fault_markers",
    "strip_fault_markers",
]

FAULT_HEADER = "x-emulator-fault"
"""The request header that chooses faults (comma-separated names)."""

MAX_DELAY_MS = 600_000
"""The longest delay a ``slow-*`` fault may ask for (ten minutes)."""

HTTP_FAULTS: Mapping[str, tuple[str, int, str]] = MappingProxyType(
    {
        "throttle": ("ThrottlingException", 429, THROTTLING_MESSAGE),
        "server-error": ("InternalServerException", 500, INTERNAL_SERVER_MESSAGE),
        "unavailable": ("ServiceUnavailableException", 503, SERVICE_UNAVAILABLE_MESSAGE),
        "access-denied": ("AccessDeniedException", 403, ACCESS_DENIED_MESSAGE),
        "validation": (
            "ValidationException",
            400,
            "Malformed input request, please reformat your input and try again.",
        ),
        "model-timeout": ("ModelTimeoutException", 408, MODEL_TIMEOUT_MESSAGE),
    }
)
"""Faults answered with an HTTP error before anything else: name -> (code, status, message)."""

StreamEnd = Literal["midstream-throttle", "midstream-error", "truncate"]

STREAM_FAULTS: Mapping[StreamEnd, tuple[str, int, str] | None] = MappingProxyType(
    {
        "midstream-throttle": ("ThrottlingException", 429, THROTTLING_MESSAGE),
        "midstream-error": ("InternalServerException", 500, INTERNAL_SERVER_MESSAGE),
        "truncate": None,
    }
)
"""Faults that cut a stream after some deltas: with an exception frame, or (``None``) silently."""

_DELAY_FAULTS = ("slow-first-byte", "slow-chunks")

FAULT_NAMES: tuple[str, ...] = (*HTTP_FAULTS, *STREAM_FAULTS, *_DELAY_FAULTS)
"""Every fault name; ``slow-first-byte`` and ``slow-chunks`` take ``=MS``."""

_MARKER = re.compile(r"\[\[fault:([^\]]*)\]\]")


@dataclass(slots=True, frozen=True)
class FaultPlan:
    """The faults chosen for one request (empty when none)."""

    http_fault: str | None = None
    stream_end: StreamEnd | None = None
    slow_first_byte_ms: int = 0
    slow_chunks_ms: int = 0

    def then(self, later: FaultPlan) -> FaultPlan:
        """Combine with faults mentioned after these; what this plan already chose stays."""
        return FaultPlan(
            http_fault=self.http_fault or later.http_fault,
            stream_end=self.stream_end or later.stream_end,
            slow_first_byte_ms=self.slow_first_byte_ms or later.slow_first_byte_ms,
            slow_chunks_ms=self.slow_chunks_ms or later.slow_chunks_ms,
        )

    def http_error(self) -> BedrockError | None:
        """The error to answer with instead of a reply, if one was chosen."""
        if self.http_fault is None:
            return None
        return BedrockError(*HTTP_FAULTS[self.http_fault])

    def stream_error(self) -> BedrockError | None:
        """The exception a stream ends with, if a mid-stream error was chosen."""
        if self.stream_end is None:
            return None
        shape = STREAM_FAULTS[self.stream_end]
        return None if shape is None else BedrockError(*shape)


def _unknown(spec: str) -> BedrockError:
    return validation_error(
        f"Unknown emulator fault '{spec}'. Known faults: {', '.join(FAULT_NAMES)} "
        "(slow-first-byte and slow-chunks take =MS)."
    )


def _parse_one(spec: str) -> FaultPlan:
    name, has_value, raw_value = spec.strip().partition("=")
    if name in _DELAY_FAULTS:
        if not has_value or not raw_value.isdigit() or int(raw_value) > MAX_DELAY_MS:
            raise _unknown(spec)
        delay = int(raw_value)
        if name == "slow-first-byte":
            return FaultPlan(slow_first_byte_ms=delay)
        return FaultPlan(slow_chunks_ms=delay)
    if has_value:
        raise _unknown(spec)
    if name in HTTP_FAULTS:
        return FaultPlan(http_fault=name)
    for end in STREAM_FAULTS:
        if name == end:
            return FaultPlan(stream_end=end)
    raise _unknown(spec)


def _combine(specs: Iterable[str]) -> FaultPlan:
    plan = FaultPlan()
    for spec in specs:
        plan = plan.then(_parse_one(spec))
    return plan


def parse_fault_markers(text: str) -> FaultPlan:
    """The faults named by ``[[fault:...]]`` markers in ``text``."""
    return _combine(match.group(1) for match in _MARKER.finditer(text))


def parse_fault_header(value: str | None) -> FaultPlan:
    """The faults named by an ``x-emulator-fault`` header value."""
    if not value:
        return FaultPlan()
    return _combine(part for part in value.split(",") if part.strip())


def strip_fault_markers(text: str) -> str:
    """``text`` without its fault markers."""
    return _MARKER.sub("", text) if "[[fault:" in text else text
