"""One call to a model operation, and what every operation does with it.

An operation (``converse``, ``converse-stream``, ``invoke``, ``invoke-with-response-stream``,
``count-tokens``) is an :class:`Operation`: its AWS name, a handler taking a :class:`ModelCall`,
and how it resolves the model id (CountTokens takes base ids only). The app has already read the
body, checked credentials and resolved the model id; the handler parses its own request dialect
into a :class:`~stargate.emulator.prompt.Prompt`, calls :meth:`ModelCall.answer` (scripted faults,
then the deterministic reply; or :meth:`ModelCall.apply_faults` and its own reply) and renders the
reply in its own response shape.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from stargate.emulator.faults import FaultPlan, parse_fault_markers
from stargate.emulator.models import ResolvedModel, resolve_model
from stargate.emulator.prompt import Prompt
from stargate.emulator.reply import Reply, compose_reply
from stargate.emulator.state import EmulatorState

__all__ = ["ModelCall", "ModelResolver", "Operation", "resolve_invocable"]

ModelResolver = Callable[[str, str | None], ResolvedModel]
"""Resolve a URL-decoded model id, given the emulated region (``None``: any), or raise."""


def resolve_invocable(model_id: str, region: str | None) -> ResolvedModel:
    """The model an inference operation runs: base ids, profiles and ARNs, per the catalog."""
    return resolve_model(model_id, region=region)


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

    async def apply_faults(
        self, last_user_text: str | None, *, streaming: bool = False
    ) -> FaultPlan:
        """Apply the scripted faults that act before any reply; the plan, for a stream to act on.

        Faults come from the ``x-emulator-fault`` header, then the markers in
        ``last_user_text`` (``None``: the header only). An HTTP fault is raised as its
        :class:`~stargate.emulator.errors.BedrockError` after any ``slow-first-byte`` delay.
        Otherwise the delay is slept here, unless ``streaming``: a stream sleeps it once its
        response is under way (so a client leaving meanwhile counts as a cancelled stream), with
        the other stream faults it acts on.
        """
        faults = self.header_faults
        if last_user_text is not None:
            faults = faults.then(parse_fault_markers(last_user_text))
        error = faults.http_error()
        if faults.slow_first_byte_ms and (error is not None or not streaming):
            await asyncio.sleep(faults.slow_first_byte_ms / 1000)
        if error is not None:
            raise error
        return faults

    async def answer(self, prompt: Prompt, *, streaming: bool = False) -> tuple[Reply, FaultPlan]:
        """:meth:`apply_faults` for the last user message, then compose the reply."""
        faults = await self.apply_faults(prompt.last_user_text, streaming=streaming)
        return compose_reply(prompt), faults


@dataclass(slots=True, frozen=True)
class Operation:
    """A model operation: its AWS name (for stats), its handler and its model id resolver."""

    name: str
    handler: Callable[[ModelCall], Awaitable[web.StreamResponse]]
    resolve: ModelResolver = resolve_invocable
