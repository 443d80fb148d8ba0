"""Two listeners, one process: the public API and the internal admin API share one runtime."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable, Generator, Sequence

import uvicorn

from stargate.api.admin import create_admin_app
from stargate.api.public import create_public_app
from stargate.api.runtime import Runtime
from stargate.config.loader import GatewayConfig

__all__ = ["serve_gateway"]

log = logging.getLogger("stargate")


class _Server(uvicorn.Server):
    """A uvicorn server whose signals are handled by :func:`serve_gateway` for both listeners."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _uvicorn_config(app: object, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        lifespan="off",
        access_log=False,
        log_level="warning",
        http="httptools",
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
    public = _Server(_uvicorn_config(create_public_app(runtime), config.host, config.port))
    admin = _Server(
        _uvicorn_config(create_admin_app(runtime), config.admin_host, config.admin_port)
    )
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
                break  # a listener failed to bind: its task holds the reason
            await asyncio.sleep(0.01)
        failed = [t for t in tasks if t.done()]
        if failed:
            for server in (public, admin):
                server.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            raise SystemExit(
                f"could not listen on {config.host}:{config.port} and "
                f"{config.admin_host}:{config.admin_port} (is the port in use?)"
            )
        if on_ready is not None:
            on_ready(runtime)
        stop_wait = asyncio.create_task(stop.wait())
        await asyncio.wait([stop_wait, *tasks], return_when=asyncio.FIRST_COMPLETED)
        stop_wait.cancel()
        runtime.draining = True
        for server in (public, admin):
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        await runtime.aclose()
