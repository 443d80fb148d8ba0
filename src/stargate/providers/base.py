"""The provider seam: a tiny protocol, in the spirit of httpx's one-method transport.

A provider instance serves one deployment (one upstream model at one endpoint with one set of
credentials). Optional capabilities (token counting, ...) are separate protocols, so a provider
that lacks one simply does not implement it: nothing raises ``NotImplementedError``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from stargate.core import ChatRequest, ChatResponse, StreamEvent, Usage

__all__ = [
    "CallContext",
    "MessagesNative",
    "MessagesResult",
    "Provider",
    "TokenCount",
    "TokenCounter",
]


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


@dataclass(slots=True, frozen=True)
class TokenCount:
    """``exact`` is False when the number is the gateway's own estimate (never an undercount)."""

    input_tokens: int
    exact: bool


@runtime_checkable
class TokenCounter(Protocol):
    async def count_tokens(self, request: ChatRequest, call: CallContext) -> TokenCount: ...


@dataclass(slots=True)
class MessagesResult:
    """An Anthropic Messages response body as the upstream produced it, with its usage parsed."""

    body: dict[str, Any]
    usage: Usage
    upstream_request_id: str | None = None


@runtime_checkable
class MessagesNative(Protocol):
    """A provider that can carry the Anthropic Messages dialect almost untouched for some of its
    deployments (Claude on Bedrock through InvokeModel): thinking, ``cache_control``, betas and
    usage with cache tokens keep full fidelity. ``body`` is the caller's Messages request body;
    ``betas`` are the caller's ``anthropic-beta`` values. The provider drops or translates what
    its upstream would reject; it never fails a request for an unknown beta."""

    def speaks_messages(self) -> bool:
        """Whether this deployment's model takes the Messages dialect natively."""
        ...

    async def messages(
        self, body: dict[str, Any], betas: Sequence[str], call: CallContext
    ) -> MessagesResult: ...

    def messages_stream(
        self, body: dict[str, Any], betas: Sequence[str], call: CallContext
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Yield Anthropic stream events as dicts (``{"type": "message_start", ...}``), in the
        upstream's order; a failure mid-stream is raised as a ``StargateError``."""
        ...

    async def count_message_tokens(
        self, body: dict[str, Any], betas: Sequence[str], call: CallContext
    ) -> TokenCount: ...
