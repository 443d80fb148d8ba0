"""Two listeners, one process: the public API and the internal admin API share one runtime.

Both listeners bind at once, but the public one is the first to serve: the admin app (FastAPI,
its OpenAPI models, the UI) is the largest part of start-up, so it is imported and built in a
worker thread while the event loop already serves the public API; until it is in place the
admin listener answers 503 with ``retry-after``. ``on_ready`` runs once both serve, and
what start-up built is then frozen out of the garbage collector's later work.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
from collections.abc import Callable, Generator, Sequence

import uvicorn
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from stargate.api.errors import render_openai_error
from stargate.api.public import create_public_app
from stargate.api.request_id import request_id_from
from stargate.api.runtime import Runtime
from stargate.config.loader import GatewayConfig
from stargate.errors import ServiceUnavailable

__all__ = ["serve_gateway"]

log = logging.getLogger("stargate")


class _Server(uvicorn.Server):
    """A uvicorn server whose signals are handled by :func:`serve_gateway` for both listeners."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class _Deferred:
    """An ASGI app that answers 503 until :attr:`app` is set, then is that app."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is not None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            starting = ServiceUnavailable("The admin API is starting.", retry_after=1)
            request_id = request_id_from(Headers(scope=scope).get("x-request-id"))
            await render_openai_error(starting, request_id)(scope, receive, send)


def _admin_app(runtime: Runtime) -> ASGIApp:
    """Import and build the admin app (run in a worker thread: it touches no event loop)."""
    from stargate.api.admin import create_admin_app

    return create_admin_app(runtime)


def _uvicorn_config(app: object, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        lifespan="off",
        access_log=False,
        log_level="warning",
        http="httptools",
        ws="none",  # no websocket routes: nor the websockets package's import
        loop="none",
        timeout_graceful_shutdown=30,
        server_header=False,
        log_config=None,  # uvicorn's own lines go through our (JSON) logging
    )


async def serve_gateway(
    config: GatewayConfig,
    *,
    on_ready: Callable[[Runtime], None] | None = None,
    stop: asyncio.Event | None = None,
    sockets: Sequence[socket.socket] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM (or ``stop`` is set), then drain and close everything.
    ``sockets`` are the public and admin listeners already bound (a worker's, see
    :mod:`stargate.api.workers`); otherwise the config's host and ports are bound here."""
    runtime = await Runtime.open(config)
    admin_app = _Deferred()
    public = _Server(_uvicorn_config(create_public_app(runtime), config.host, config.port))
    admin = _Server(_uvicorn_config(admin_app, config.admin_host, config.admin_port))
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    bound = [[sock] for sock in sockets] if sockets is not None else [None, None]
    tasks = [
        asyncio.create_task(server.serve(sockets=listen))
        for server, listen in zip((public, admin), bound, strict=True)
    ]
    try:
        while not (public.started and admin.started):
            if any(t.done() for t in tasks):
                raise SystemExit(
                    f"could not listen on {config.host}:{config.port} and "
                    f"{config.admin_host}:{config.admin_port} (is the port in use?)"
                )  # a listener failed to bind: its task holds the reason
            await asyncio.sleep(0.01)
        admin_app.app = await asyncio.to_thread(_admin_app, runtime)
        # What start-up built lives as long as the process: kept out of every later collection
        # (a full one over it takes ~0.1 s, holding the event loop all along). ``stargate serve``
        # turns collection off while it starts: it only slowed the imports down.
        gc.freeze()
        gc.enable()
        if on_ready is not None:
            on_ready(runtime)
        stop_wait = asyncio.create_task(stop.wait())
        await asyncio.wait([stop_wait, *tasks], return_when=asyncio.FIRST_COMPLETED)
        stop_wait.cancel()
    finally:
        runtime.draining = True
        for server in (public, admin):
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        await runtime.aclose()
