"""Unauthenticated health endpoints, shared by both listeners.

``/health`` is seed 004's shape; ``/health/liveliness`` and ``/health/readiness`` are LiteLLM's
split (liveness never touches a dependency; readiness pings the database). Checking each model
with a real call is an admin action (``GET /health`` on the admin listener).
"""

from __future__ import annotations

import datetime as dt
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

if TYPE_CHECKING:
    from stargate.api.runtime import Runtime

__all__ = ["VERSION", "health_routes"]

try:
    VERSION = version("stargate-gateway")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    VERSION = "0.0.0"


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def health_routes(runtime: Runtime, *, include_plain_health: bool = True) -> list[Route]:
    async def health(request: Request) -> Response:
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        status = "draining" if runtime.draining else "healthy"
        return _json(
            {"status": status, "service": "stargate", "timestamp": now, "version": VERSION},
            503 if runtime.draining else 200,
        )

    async def liveliness(request: Request) -> Response:
        if runtime.draining:
            return _json("shutting down", 503)
        return _json("I'm alive!")

    async def readiness(request: Request) -> Response:
        db_ok = await runtime.database.ping()
        healthy = db_ok and not runtime.draining
        body = {
            "status": "healthy" if healthy else "unhealthy",
            "db": "connected" if db_ok else "disconnected",
            "version": VERSION,
        }
        return _json(body, 200 if healthy else 503)

    routes = [
        Route("/health/liveliness", liveliness, methods=["GET"]),
        Route("/health/liveness", liveliness, methods=["GET"]),
        Route("/health/readiness", readiness, methods=["GET"]),
    ]
    if include_plain_health:
        routes.append(Route("/health", health, methods=["GET"]))
    return routes
