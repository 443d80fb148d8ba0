"""Run the emulator: in a running event loop (:func:`serve`) or blocking (:func:`run`)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from aiohttp import web
from aiohttp.log import access_logger

from stargate.emulator.app import create_app
from stargate.emulator.config import EmulatorConfig

__all__ = ["run", "serve"]


async def serve(
    config: EmulatorConfig, host: str, port: int, *, ready: asyncio.Event | None = None
) -> None:
    """Serve the emulator on ``host:port`` until cancelled; set ``ready`` once listening."""
    runner = web.AppRunner(
        create_app(config),
        access_log=None if config.fast else access_logger,
        handle_signals=False,
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


async def _serve_until_signalled(config: EmulatorConfig, host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = asyncio.create_task(serve(config, host, port))
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, server.cancel)
    try:
        await server
    except asyncio.CancelledError:
        if not server.cancelled():
            raise
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)


def run(config: EmulatorConfig, host: str, port: int) -> None:
    """Serve the emulator until SIGINT or SIGTERM, then shut down cleanly (blocking).

    Uses uvloop when it is installed (it is, with ``uvicorn[standard]``).
    """
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_serve_until_signalled(config, host, port))
