"""Two listeners, one process: the public API and the internal admin API share one runtime.

Both listeners bind at once (a port in use fails the start at once), but the public one is the
first to serve: the admin app (FastAPI, its OpenAPI models, the UI) is the largest part of
start-up, so it is imported and built in a worker thread while the event loop already serves the
public API. The admin socket listens meanwhile without accepting: a client that connects early
waits in the kernel's backlog for a few hundred milliseconds and is then served, never refused;
with several workers sharing the socket, only the workers whose admin app is built accept.
``on_ready`` runs once both serve, and what start-up built is then frozen out of the garbage
collector's later work.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
from collections.abc import Callable, Generator, Sequence
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from stargate.api.endpoint import HotPaths
from stargate.api.http_protocol import HttpProtocol
from stargate.api.public import create_public_app
from stargate.api.runtime import Runtime
from stargate.config.loader import GatewayConfig

__all__ = ["GC_THRESHOLDS", "collect_for_serving", "serve_gateway"]

log = logging.getLogger("stargate")


class _Server(uvicorn.Server):
    """A uvicorn server whose signals are handled by :func:`serve_gateway` for both listeners."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket (as uvicorn would bind it), served later."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def _one(sock: socket.socket | None) -> list[socket.socket] | None:
    return None if sock is None else [sock]


async def _started(server: uvicorn.Server, task: asyncio.Task[None], failure: SystemExit) -> None:
    """Wait until ``server`` accepts; its task ending first means it could not listen."""
    while not server.started:
        if task.done():
            raise failure
        await asyncio.sleep(0.01)


GC_THRESHOLDS = (20_000, 10, 10)
"""The collector's thresholds while serving. With CPython's default (700) it ran about once every
ten requests and over the whole heap every couple of thousand: 50-65 µs of CPU per request, a
tenth of it, measured with ``gc.callbacks`` over 10,000 requests at concurrency 32 (and a full
collection holds the event loop for tens of milliseconds). At 20,000 it ran five times over the
same load, resident memory unchanged: the objects a request allocates are freed by their
reference counts, not by the collector."""


def collect_for_serving() -> None:
    """Once start-up is done: what it built lives as long as the process and is kept out of
    every later collection (a full one over it takes ~0.1 s, holding the event loop all along);
    the thresholds become :data:`GC_THRESHOLDS`. ``stargate serve`` turns collection off while
    it starts: it only slowed the imports down."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    gc.enable()


def _admin_app(runtime: Runtime) -> ASGIApp:
    """Import and build the admin app (run in a worker thread: it touches no event loop)."""
    from stargate.api.admin import create_admin_app

    return create_admin_app(runtime)


def _uvicorn_config(app: object, host: str, port: int) -> uvicorn.Config:
    """uvicorn's config for ``app``. uvicorn puts every request of an app through its proxy-header
    rewrite (the client's address and scheme from the ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` of a trusted proxy); the API routes of :class:`HotPaths` read neither,
    so there the rewrite is left to the requests they pass on, with the same trusted hosts."""
    hot = app if isinstance(app, HotPaths) else None
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        lifespan="off",
        access_log=False,
        log_level="warning",
        http=HttpProtocol,  # httptools, a response's head and body in one write
        ws="none",  # no websocket routes: nor the websockets package's import
        loop="none",
        timeout_graceful_shutdown=30,
        server_header=False,
        log_config=None,  # uvicorn's own lines go through our (JSON) logging
        proxy_headers=hot is None,
    )
    if hot is not None:
        rest: Any = hot.app  # uvicorn types ASGI apps its own way
        rewrite: Any = ProxyHeadersMiddleware(rest, trusted_hosts=config.forwarded_allow_ips)
        hot.app = rewrite
    return config


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
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    in_use = SystemExit(
        f"could not listen on {config.host}:{config.port} and "
        f"{config.admin_host}:{config.admin_port} (is the port in use?)"
    )
    tasks: list[asyncio.Task[None]] = []
    servers = [public]
    admin_socket: socket.socket | None = None
    try:
        if sockets is not None:
            public_socket, admin_socket = sockets
        else:
            public_socket = None
            try:
                admin_socket = _listen(config.admin_host, config.admin_port)
            except OSError as exc:
                raise in_use from exc
        tasks.append(asyncio.create_task(public.serve(sockets=_one(public_socket))))
        await _started(public, tasks[0], in_use)
        admin_app = await asyncio.to_thread(_admin_app, runtime)
        admin = _Server(_uvicorn_config(admin_app, config.admin_host, config.admin_port))
        servers.append(admin)
        tasks.append(asyncio.create_task(admin.serve(sockets=[admin_socket])))
        await _started(admin, tasks[1], in_use)
        collect_for_serving()
        if on_ready is not None:
            on_ready(runtime)
        stop_wait = asyncio.create_task(stop.wait())
        await asyncio.wait([stop_wait, *tasks], return_when=asyncio.FIRST_COMPLETED)
        stop_wait.cancel()
    finally:
        runtime.draining = True
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        if len(tasks) < 2 and admin_socket is not None and sockets is None:
            admin_socket.close()  # bound here and never served
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        await runtime.aclose()
