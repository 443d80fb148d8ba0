"""The admin listener: LiteLLM-compatible administration, OpenAPI docs with local assets.

Everything here requires the master key. The admin routes grow with governance, the ledger and
the UI; this module wires them and owns authentication and error rendering for all of them.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import fastapi_offline
import orjson
from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from stargate.admin.counters_rebuild import rebuild_counters
from stargate.admin.routes import admin_router, mount_admin_routes
from stargate.admin.service import AdminService
from stargate.admin.spend_reader import LedgerSpendReader
from stargate.admin.spend_routes import spend_router
from stargate.api.auth import presented_key
from stargate.api.errors import render_openai_error
from stargate.api.health import VERSION, health_routes
from stargate.api.public import public_routes
from stargate.api.request_id import request_id_from
from stargate.api.runtime import Runtime
from stargate.config.deployment import Deployment
from stargate.core import ChatRequest, Message, TextPart
from stargate.errors import PermissionDenied, StargateError
from stargate.governance.windows import utc_now
from stargate.pipeline import Principal
from stargate.providers.base import CallContext
from stargate.ui.app import mount_ui

__all__ = ["create_admin_app", "public_params"]

_ASSETS = Path(fastapi_offline.__file__).parent / "static"
_SECRET_WORDS = ("key", "secret", "token", "password", "credential")
HEALTH_CHECK_TIMEOUT = 30.0


def public_params(deployment: Deployment) -> dict[str, Any]:
    """``litellm_params`` as shown to admins: never a credential, even one from the config."""
    params: dict[str, Any] = {"model": f"{deployment.provider}/{deployment.model}"}
    if deployment.api != "auto":
        params["model"] = f"{deployment.provider}/{deployment.api}/{deployment.model}"
    for name, value in deployment.params.items():
        if not any(word in name.lower() for word in _SECRET_WORDS):
            params[name] = value
    return params


def _model_info(deployment: Deployment) -> dict[str, Any]:
    info = deployment.info
    out: dict[str, Any] = {"id": deployment.id, "db_model": False}
    for name in (
        "input_cost_per_token",
        "output_cost_per_token",
        "cache_read_input_token_cost",
        "cache_creation_input_token_cost",
    ):
        value = getattr(info, name)
        out[name] = float(value) if value is not None else None  # display only, never billed
    out.update(
        max_tokens=info.max_tokens,
        max_input_tokens=info.max_input_tokens,
        max_output_tokens=info.max_output_tokens,
        description=info.description,
    )
    return out


def create_admin_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="Stargate admin API",
        version=VERSION,
        docs_url=None,
        redoc_url=None,
        description="LiteLLM-compatible administration of the Stargate gateway. "
        "Every route needs the master key (Authorization: Bearer or x-api-key).",
    )
    app.mount("/static", StaticFiles(directory=_ASSETS), name="static")

    @app.exception_handler(StargateError)
    async def _on_error(request: Request, err: StargateError) -> Response:
        return render_openai_error(err, request_id_from(request.headers.get("x-request-id")))

    async def require_master(request: Request) -> Principal:
        principal = await runtime.pipeline.authenticate(presented_key(request.headers))
        if principal.kind != "master":
            raise PermissionDenied("This admin route needs the master key.")
        return principal

    master = Depends(require_master)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Stargate admin API",
            swagger_js_url="/static/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui.css",
            swagger_favicon_url="/static/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title="Stargate admin API",
            redoc_js_url="/static/redoc.standalone.js",
            redoc_favicon_url="/static/favicon.png",
            with_google_fonts=False,
        )

    @app.get("/model/info", tags=["models"])
    @app.get("/v1/model/info", tags=["models"])
    async def model_info(_: Principal = master) -> dict[str, Any]:
        """Every deployment in LiteLLM's shape (litellm_params never show secrets)."""
        return {
            "data": [
                {
                    "model_name": d.model_name,
                    "litellm_params": public_params(d),
                    "model_info": _model_info(d),
                }
                for d in runtime.config.deployments
            ]
        }

    @app.get("/health", tags=["health"])
    async def model_health(_: Principal = master) -> Response:
        """Call every deployment with a one-token request and report which answer."""
        results = await asyncio.gather(*(_check(d) for d in runtime.deployments))
        healthy = [r for ok, r in results if ok]
        unhealthy = [r for ok, r in results if not ok]
        body = {
            "healthy_endpoints": healthy,
            "unhealthy_endpoints": unhealthy,
            "healthy_count": len(healthy),
            "unhealthy_count": len(unhealthy),
        }
        return Response(orjson.dumps(body), media_type="application/json")

    async def _check(deployment: Deployment) -> tuple[bool, dict[str, Any]]:
        entry: dict[str, Any] = {"model_name": deployment.model_name, **public_params(deployment)}
        entry["model_id"] = deployment.id
        probe = ChatRequest(
            model=deployment.model_name,
            messages=[Message(role="user", content=[TextPart("ping")])],
            max_tokens=1,
        )
        provider = runtime.providers.get(deployment.id)
        try:
            async with asyncio.timeout(HEALTH_CHECK_TIMEOUT):
                await provider.complete(probe, CallContext(request_id="health-check"))
        except StargateError as err:
            entry["error"] = f"{type(err).__name__}: {err.message}"
            return False, entry
        except TimeoutError:
            entry["error"] = f"no answer within {HEALTH_CHECK_TIMEOUT:.0f} s"
            return False, entry
        return True, entry

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    service = AdminService.create(
        runtime.database,
        config_deployments=runtime.config.deployments,
        env=os.environ,
        spend=LedgerSpendReader(runtime.database, timezone=runtime.config.budget_timezone),
    )
    router = admin_router(service, require_master=require_master, presented_key=presented_key)
    mount_admin_routes(app, router)
    app.include_router(spend_router(runtime.spend, require_master=require_master))

    @app.post("/counters/rebuild", tags=["budgets"])
    async def counters_rebuild(_: Principal = master) -> dict[str, Any]:
        """Set every current budget window's counter to what the spend ledger holds (after a
        Redis loss or a killed replica). Stargate's own route; LiteLLM has none."""
        await runtime.ledger.flush(timeout=30)
        windows = await rebuild_counters(
            runtime.database, runtime.counters, timezone=runtime.config.budget_timezone,
            now=utc_now(),
        )  # fmt: skip
        return {"rebuilt_windows": windows}

    async def check_master(key: str) -> bool:
        try:
            principal = await runtime.pipeline.authenticate(key)
        except StargateError:
            return False
        return principal.kind == "master"

    async def test_model(model_name: str) -> tuple[bool, str]:
        found = [d for d in runtime.deployments if d.model_name == model_name]
        if not found:
            return False, f"no deployment serves {model_name!r}"
        ok, entry = await _check(found[0])
        return ok, "answered a one-token request" if ok else str(entry.get("error", "failed"))

    mount_ui(
        app,
        service=service,
        spend=runtime.spend,
        database=runtime.database,
        check_master=check_master,
        test_model=test_model,
        require_master=require_master,
        budget_timezone=runtime.config.budget_timezone,
    )

    for route in [*health_routes(runtime, include_plain_health=False), *public_routes(runtime)]:
        app.router.routes.append(route)
    return app
