"""Write an event-stream response: one frame per write, scripted stream faults, disconnects.

The response is 200 ``application/vnd.amazon.eventstream``, chunked, each frame written (and so
flushed) on its own, after any ``slow-first-byte`` delay. Every event payload gets Bedrock's
``"p"`` padding member. Stream faults cut the stream after the first half of its events (at least
two, so a ``messageStart`` and a delta): ``midstream-*`` then writes one exception frame
(``throttlingException``, ``internalServerException``) and ends the body; ``truncate`` ends the
body right there. ``slow-chunks`` sleeps between frames. A client that goes away (noticed on the
next write, or by the handler being cancelled) is counted as a cancelled stream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from aiohttp import web

from stargate.emulator.call import ModelCall
from stargate.emulator.faults import FaultPlan
from stargate.emulator.stats import StreamOutcome
from stargate.wire.eventstream import encode_event, encode_exception

__all__ = ["EVENT_STREAM_CONTENT_TYPE", "StreamEvent", "StreamTiming", "write_event_stream"]

EVENT_STREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream"

_log = logging.getLogger("stargate.emulator")


@dataclass(slots=True, frozen=True)
class StreamTiming:
    """Timing known only while streaming, for payloads that report it (metadata metrics)."""

    latency_ms: int
    first_byte_ms: int


Payload = Mapping[str, object] | Callable[[StreamTiming], Mapping[str, object]]


@dataclass(slots=True, frozen=True)
class StreamEvent:
    """One event: its ``:event-type`` and payload members (or a function of the timing)."""

    event_type: str
    payload: Payload


def _cut(count: int) -> int:
    return min(count, max(2, count // 2))


class _ClientGone(Exception):
    pass


async def _write(request: web.Request, response: web.StreamResponse, frame: bytes) -> None:
    transport = request.transport
    if transport is None or transport.is_closing():
        raise _ClientGone
    try:
        await response.write(frame)
    except ConnectionResetError as exc:
        raise _ClientGone from exc


async def write_event_stream(
    call: ModelCall,
    events: Sequence[StreamEvent],
    faults: FaultPlan,
    *,
    headers: Mapping[str, str] | None = None,
) -> web.StreamResponse:
    """Stream ``events`` as the response to ``call``, acting on the stream ``faults``."""
    state = call.state
    response = web.StreamResponse(
        status=200,
        headers={
            "Content-Type": EVENT_STREAM_CONTENT_TYPE,
            "x-amzn-RequestId": call.request_id,
            **(headers or {}),
        },
    )
    response.enable_chunked_encoding()
    state.stats.streams_started += 1
    end = _cut(len(events)) if faults.stream_end is not None else len(events)
    outcome: StreamOutcome = "completed" if faults.stream_end is None else "faulted"
    try:
        if faults.slow_first_byte_ms:
            await asyncio.sleep(faults.slow_first_byte_ms / 1000)
        await response.prepare(call.request)
        first_byte_ms = call.elapsed_ms()
        for index, event in enumerate(events[:end]):
            if index and faults.slow_chunks_ms:
                await asyncio.sleep(faults.slow_chunks_ms / 1000)
            payload = event.payload
            if callable(payload):
                payload = payload(StreamTiming(call.elapsed_ms(), first_byte_ms))
            frame = encode_event(event.event_type, {**payload, "p": state.padding()})
            await _write(call.request, response, frame)
        error = faults.stream_error()
        if error is not None:
            if faults.slow_chunks_ms:
                await asyncio.sleep(faults.slow_chunks_ms / 1000)
            frame = encode_exception(error.stream_member, error.message)
            await _write(call.request, response, frame)
        await response.write_eof()
    except (_ClientGone, ConnectionResetError):
        outcome = "cancelled"
    except asyncio.CancelledError:
        state.stats.stream_outcomes["cancelled"] += 1
        raise
    state.stats.stream_outcomes[outcome] += 1
    if outcome == "cancelled" and not state.config.fast:
        _log.info("%s %s: client closed the stream", call.operation, call.request_id)
    return response
