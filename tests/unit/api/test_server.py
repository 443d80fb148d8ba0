"""What serving the public API imports (the admin app is built after it serves)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stargate.api.endpoint import HotPaths
from stargate.api.server import _uvicorn_config


def test_serving_the_public_api_does_not_import_the_admin_app() -> None:
    code = (
        "import sys, stargate.cli.main, stargate.api.server\n"
        "heavy = sorted(m for m in ('fastapi', 'stargate.api.admin', 'stargate.ui.app',"
        " 'stargate.admin.requests') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_once_started_the_collector_skips_start_up_and_runs_less_often() -> None:
    code = (
        "import gc\n"
        "from stargate.api.server import GC_THRESHOLDS, collect_for_serving\n"
        "gc.disable()\n"
        "collect_for_serving()\n"
        "assert gc.isenabled()\n"
        "assert gc.get_threshold() == GC_THRESHOLDS, gc.get_threshold()\n"
        "assert gc.get_freeze_count() > 1000, gc.get_freeze_count()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def _recorder(name: str, seen: list[str]) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(f"{name} {scope['client'][0]} {scope['scheme']}")

    return app


async def _no_receive() -> Message:
    raise AssertionError


async def _no_send(message: Message) -> None:
    raise AssertionError


def _scope(method: str, path: str) -> Scope:
    headers = [(b"x-forwarded-for", b"203.0.113.7"), (b"x-forwarded-proto", b"https")]
    return {"type": "http", "method": method, "path": path, "headers": headers,
            "client": ("127.0.0.1", 5000), "scheme": "http"}  # fmt: skip


@pytest.mark.parametrize("trusted", [None, "10.0.0.1"])
async def test_proxy_headers_are_applied_to_all_but_the_hot_api_routes(
    trusted: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if trusted is None:
        monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)  # uvicorn's: 127.0.0.1, ::1
    else:
        monkeypatch.setenv("FORWARDED_ALLOW_IPS", trusted)
    seen: list[str] = []
    hot = HotPaths(_recorder("app", seen), {"/v1/messages": _recorder("hot", seen)})
    public = _uvicorn_config(hot, "127.0.0.1", 0)
    other = _uvicorn_config(_recorder("admin", seen), "127.0.0.1", 0)
    for config in (public, other):
        config.load()
    for method, path in (("POST", "/v1/messages"), ("GET", "/v1/messages"), ("POST", "/x")):
        await public.loaded_app(_scope(method, path), _no_receive, _no_send)
    await other.loaded_app(_scope("POST", "/v1/messages"), _no_receive, _no_send)
    forwarded = "203.0.113.7 https" if trusted is None else "127.0.0.1 http"
    assert seen == [
        "hot 127.0.0.1 http",
        f"app {forwarded}",
        f"app {forwarded}",
        f"admin {forwarded}",
    ]
