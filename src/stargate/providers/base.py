"""The provider seam: a tiny protocol, in the spirit of httpx's one-method transport.

A provider instance serves one deployment (one upstream model at one endpoint with one set of
credentials). Optional capabilities (token counting, ...) are separate protocols, so a provider
that lacks one simply does not implement it: nothing raises ``NotImplementedError``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from stargate.core import ChatRequest, ChatResponse, StreamEvent

__all__ = ["CallContext", "Provider", "TokenCounter"]


@dataclass(slots=True)
class CallContext:
    """What a provider needs to know about the call beyond the request itself."""

    request_id: str
    # Extra headers to forward upstream (for example a trace id); never credentials.
    forward_headers: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Provider(Protocol):
    async def complete(self, request: ChatRequest, call: CallContext) -> ChatResponse: ...

    def stream(self, request: ChatRequest, call: CallContext) -> AsyncGenerator[StreamEvent, None]:
        """Yield canonical events (see :mod:`stargate.core.stream`). Cancelling the consumer
        (``aclose()`` on the iterator, or task cancellation) must close the upstream request at
        once."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class TokenCounter(Protocol):
    async def count_tokens(self, request: ChatRequest, call: CallContext) -> int: ...
