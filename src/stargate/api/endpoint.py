"""The API routes' endpoints: the response first, then the request's bookkeeping.

What a request leaves behind once its answer is known (settling its reservation, its metrics,
trace and access-log line; not its ledger row, journaled before the answer goes out) changes
nothing the caller receives, so an :class:`Endpoint` sends the response and only then runs that
work, which the pipeline queues on the request's
:class:`~stargate.pipeline.after.AfterResponse`. The caller's latency no longer
includes it. The work runs whatever happened to the response: sent, failed to send, the client
gone, the handler raising, the task cancelled.

:class:`HotPaths` sends the API's POST routes straight to their endpoints, ahead of the
framework's middleware and route matching; every other request goes to the full app.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

from stargate.api.request import ApiRequest
from stargate.pipeline.after import AfterResponse

__all__ = ["Endpoint", "Handler", "HotPaths"]

Handler = Callable[[ApiRequest, AfterResponse], Awaitable[ASGIApp]]


class Endpoint:
    """An ASGI endpoint around ``handler(request, after) -> response``: it sends the response,
    then runs the work the request queued on ``after``."""

    __slots__ = ("handler",)

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        after = AfterResponse()
        try:
            response = await self.handler(ApiRequest(scope, receive), after)
            await response(scope, receive, send)
        finally:
            await after.run()


class HotPaths:
    """``POST`` to one of ``routes``' paths goes straight to its endpoint; anything else to
    ``app``."""

    __slots__ = ("app", "routes")

    def __init__(self, app: ASGIApp, routes: Mapping[str, ASGIApp]) -> None:
        self.app = app
        self.routes = dict(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self.routes.get(scope["path"])
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await self.app(scope, receive, send)
