"""InvokeModelWithResponseStream ``chunk`` events -> Anthropic stream event dicts.

Each ``chunk`` frame's payload is ``{"bytes": "<base64 of one Anthropic event JSON>", "p":
"<padding>"}``. :class:`InvokeStreamState` decodes it to the event dict and checks the stream's
shape:

* ``message_stop`` carries Bedrock's ``amazon-bedrock-invocationMetrics``; it is removed from
  the event (a client expects Anthropic's event) and kept in :attr:`InvokeStreamState.metrics`.
* An Anthropic ``{"type": "error"}`` event (Bedrock sends exception frames instead, but a proxy
  in front of it might not) is raised as the matching :class:`UpstreamError`.
* :meth:`InvokeStreamState.finish` raises :class:`UpstreamBadResponse` when the stream ended
  before ``message_stop``.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass, field
from typing import Any

import orjson

from stargate.errors import (
    UpstreamBadResponse,
    UpstreamError,
    UpstreamInvalidRequest,
    UpstreamOverloaded,
    UpstreamServerError,
    UpstreamThrottled,
)

__all__ = ["INVOCATION_METRICS", "InvokeStreamState", "decode_chunk", "error_from_event"]

INVOCATION_METRICS = "amazon-bedrock-invocationMetrics"


def decode_chunk(payload: dict[str, Any]) -> dict[str, Any]:
    """The Anthropic event inside one ``chunk`` payload."""
    encoded = payload.get("bytes")
    if not isinstance(encoded, str):
        raise UpstreamBadResponse("Bedrock sent a stream chunk without bytes")
    try:
        # base64.b64decode(encoded, validate=True) without its two Python-level steps: strict
        # mode refuses what validate=True refuses, and a str that is not ASCII is a ValueError.
        event = orjson.loads(binascii.a2b_base64(encoded, strict_mode=True))
    except ValueError as exc:  # binascii.Error and orjson.JSONDecodeError are ValueErrors
        raise UpstreamBadResponse("Bedrock sent a stream chunk that is not base64 JSON") from exc
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise UpstreamBadResponse("Bedrock sent a stream chunk that is not an Anthropic event")
    return event


def error_from_event(event: dict[str, Any], model_id: str) -> UpstreamError:
    """An Anthropic ``error`` event mapped to the exception tree by its ``error.type``."""
    error = event.get("error")
    details = error if isinstance(error, dict) else {}
    kind, message = details.get("type"), details.get("message")
    text = f"{model_id}: {message}" if isinstance(message, str) else model_id
    match kind:
        case "overloaded_error":
            return UpstreamOverloaded(f"the model is overloaded: {text}", code=kind)
        case "rate_limit_error":
            return UpstreamThrottled(f"the model is rate limited: {text}", code=kind)
        case "invalid_request_error":
            return UpstreamInvalidRequest(f"the model refused the request: {text}", code=kind)
        case _:
            shown = kind if isinstance(kind, str) else "unknown"
            return UpstreamServerError(f"the model failed mid-stream: {text}", code=shown)


@dataclass(slots=True)
class InvokeStreamState:
    model_id: str
    metrics: dict[str, Any] = field(default_factory=dict)
    _started: bool = False
    _stopped: bool = False

    @property
    def complete(self) -> bool:
        return self._stopped

    def feed(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The event of one ``chunk`` payload, ready to pass on."""
        event = decode_chunk(payload)
        kind = event["type"]
        if kind == "content_block_delta" and self._started:
            return event  # most of a stream, passed on as it is
        match kind:
            case "message_start":
                self._started = True
            case "message_stop":
                self._stopped = True
                metrics = event.get(INVOCATION_METRICS)
                if metrics is not None:
                    if isinstance(metrics, dict):
                        self.metrics = metrics
                    event = {k: v for k, v in event.items() if k != INVOCATION_METRICS}
            case "error":
                raise error_from_event(event, self.model_id)
            case "ping":
                pass
            case _:
                if not self._started:
                    raise UpstreamBadResponse(f"Bedrock stream sent {kind!r} before message_start")
        return event

    def finish(self) -> None:
        if not self._stopped:
            seen = "after message_start" if self._started else "before any event"
            raise UpstreamBadResponse(f"Bedrock stream ended early ({seen}; no message_stop)")
