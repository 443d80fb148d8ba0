"""One call to a model operation, and what every operation does with it.

An operation (``converse``, ``converse-stream``; later ``invoke``, ``invoke-with-response-stream``,
``count-tokens``) is an :class:`Operation`: its AWS name and a handler taking a :class:`ModelCall`.
The app has already read the body, checked credentials and resolved the model id; the handler
parses its own request dialect into a :class:`~stargate.emulator.prompt.Prompt`, calls
:meth:`ModelCall.answer` (scripted faults, then the deterministic reply) and renders the reply in
its own response shape.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from stargate.emulator.faults import FaultPlan, parse_fault_markers
from stargate.emulator.models import ResolvedModel
from stargate.emulator.prompt import Prompt
from stargate.emulator.reply import Reply, compose_reply
from stargate.emulator.state import EmulatorState

__all__ = ["ModelCall", "Operation"]


@dataclass(slots=True, frozen=True)
class ModelCall:
    """An authenticated request to ``/model/{modelId}/{operation}``."""

    request: web.Request
    state: EmulatorState
    request_id: str
    operation: str
    model: ResolvedModel
    body: bytes
    header_faults: FaultPlan
    started: float

    def elapsed_ms(self) -> int:
        """Milliseconds since the request arrived."""
        return int((time.perf_counter() - self.started) * 1000)

    async def answer(self, prompt: Prompt, *, streaming: bool = False) -> tuple[Reply, FaultPlan]:
        """Apply the scripted faults that act before any reply, then compose the reply.

        Faults come from the ``x-emulator-fault`` header, then the markers in the last user
        message. An HTTP fault is raised as its :class:`~stargate.emulator.errors.BedrockError`
        after any ``slow-first-byte`` delay. Otherwise the delay is slept here, unless
        ``streaming``: a stream sleeps it once its response is under way (so a client leaving
        meanwhile counts as a cancelled stream), with the other stream faults it acts on.
        """
        faults = self.header_faults.then(parse_fault_markers(prompt.last_user_text))
        error = faults.http_error()
        if faults.slow_first_byte_ms and (error is not None or not streaming):
            await asyncio.sleep(faults.slow_first_byte_ms / 1000)
        if error is not None:
            raise error
        return compose_reply(prompt), faults


@dataclass(slots=True, frozen=True)
class Operation:
    """A model operation: its AWS name (for stats) and its handler."""

    name: str
    handler: Callable[[ModelCall], Awaitable[web.StreamResponse]]
