"""The admin UI's sessions, CSRF protection, throttling and headers, against a real gateway
(one of its own: the throttle test locks an account out)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from stargate.ui.app import mount_ui
from tests.e2e.admin_client import admin
from tests.e2e.processes import Emulator, Gateway, run_gateway

pytestmark = pytest.mark.e2e

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_OPEN: list[httpx.Client] = []


def _client(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    _OPEN.append(client)
    return client


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


async def _nobody(request: object) -> None:
    return None


@pytest.fixture(scope="module")
def own_gateway(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp: Path = tmp_path_factory.mktemp("ui-security")
    with run_gateway(emulator.url, tmp) as gw:
        yield gw


def _ui_routes() -> list[tuple[str, str]]:
    """Every page and action the UI mounts (method, path), read from the UI itself."""
    app = FastAPI()
    unused: Any = None
    mount_ui(
        app, service=unused, spend=unused, database=unused, check_master=unused,
        test_model=unused, require_master=_nobody,
    )  # fmt: skip
    found = []
    routes = [
        *app.routes,
        *(r for included in app.routes for r in getattr(included, "original_router", app).routes),
    ]
    for route in routes:
        if isinstance(route, APIRoute) and route.path.startswith("/ui/"):
            if route.path in ("/ui/login", "/ui/admin_user", "/ui/admin_user/list") or (
                route.path == "/ui/admin_user/delete"
            ):
                continue
            path = re.sub(r"\{[^}]+\}", "x", route.path)
            found += [(method, path) for method in sorted(route.methods or ())]
    return sorted(set(found))


def _sign_in(base: str, password: str, username: str = "") -> httpx.Client:
    client = _client(base)
    form = client.get("/ui/login")
    token = _CSRF.search(form.text)
    assert token is not None
    answer = client.post(
        "/ui/login",
        data={"csrf_token": token.group(1), "username": username, "password": password},
    )
    assert answer.status_code == 303, answer.text
    return client


def _csrf(client: httpx.Client, path: str = "/ui/keys") -> str:
    found = _CSRF.search(client.get(path).text)
    assert found is not None
    return found.group(1)


def test_every_page_and_action_needs_a_live_session(own_gateway: Gateway) -> None:
    routes = _ui_routes()
    assert len(routes) > 30  # pages and actions of every section
    signed_out = _sign_in(own_gateway.admin_url, own_gateway.master_key)
    token = _csrf(signed_out)
    assert signed_out.post("/ui/logout", data={"csrf_token": token}).status_code == 303
    stale = signed_out.cookies.get("stargate_session")
    assert stale is None  # the browser was told to drop it; replay it as an attacker would
    replayed = _client(own_gateway.admin_url)
    nobody = _client(own_gateway.admin_url)
    keys_before = admin(own_gateway, "/key/list")["total_count"]
    for client in (nobody, replayed):
        for method, path in routes:
            answer = client.request(method, path, data={"csrf_token": token})
            if method == "GET":
                assert answer.status_code == 303, (method, path, answer.status_code)
                assert answer.headers["location"] == "/ui/login"
            else:
                assert answer.status_code == 403, (method, path, answer.status_code)
    assert admin(own_gateway, "/key/list")["total_count"] == keys_before


def test_a_signed_out_session_token_is_dead(own_gateway: Gateway) -> None:
    client = _sign_in(own_gateway.admin_url, own_gateway.master_key)
    cookie = client.cookies.get("stargate_session")
    assert cookie
    assert client.post("/ui/logout", data={"csrf_token": _csrf(client)}).status_code == 303
    thief = _client(own_gateway.admin_url)
    thief.cookies.set("stargate_session", cookie, path="/ui")
    assert thief.get("/ui/keys").status_code == 303


def test_a_form_post_without_or_with_a_wrong_csrf_token_is_refused(own_gateway: Gateway) -> None:
    client = _sign_in(own_gateway.admin_url, own_gateway.master_key)
    before = admin(own_gateway, "/key/list")["total_count"]
    missing = client.post("/ui/keys/new", data={"key_alias": "csrf-missing"})
    wrong = client.post("/ui/keys/new", data={"key_alias": "csrf-wrong", "csrf_token": "x" * 64})
    assert missing.status_code == wrong.status_code == 403
    assert admin(own_gateway, "/key/list")["total_count"] == before
    made = client.post("/ui/keys/new", data={"key_alias": "csrf-ok", "csrf_token": _csrf(client)})
    assert made.status_code == 200
    assert "Your new key" in made.text
    assert admin(own_gateway, "/key/list")["total_count"] == before + 1
    # htmx sends the token as a header.
    header = client.post(
        "/ui/keys/new", data={"key_alias": "csrf-hx"}, headers={"X-CSRF-Token": _csrf(client)}
    )
    assert header.status_code == 200


def test_the_login_form_needs_its_own_token(own_gateway: Gateway) -> None:
    client = _client(own_gateway.admin_url)
    answer = client.post("/ui/login", data={"password": own_gateway.master_key})
    assert answer.status_code == 403
    assert "stargate_session" not in answer.headers.get("set-cookie", "")


def test_cookie_flags_and_security_headers(own_gateway: Gateway) -> None:
    client = _client(own_gateway.admin_url)
    token = _CSRF.search(client.get("/ui/login").text)
    assert token is not None
    data = {"csrf_token": token.group(1), "password": own_gateway.master_key}
    plain = client.post("/ui/login", data=data)
    cookie = plain.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/ui" in cookie
    assert "Secure" not in cookie
    tls = _client(own_gateway.admin_url)
    token = _CSRF.search(tls.get("/ui/login").text)
    assert token is not None
    data["csrf_token"] = token.group(1)
    behind_tls = tls.post("/ui/login", data=data, headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in behind_tls.headers["set-cookie"]
    page = client.get("/ui/")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text) is None  # no inline script
    assert ' style="' not in page.text


def test_admin_users_sign_in_with_a_password_and_login_throttles(own_gateway: Gateway) -> None:
    password = "correct horse battery"
    made = admin(own_gateway, "/ui/admin_user", {"username": "root-admin", "password": password})
    assert made == {"username": "root-admin", "created": True}
    anonymous = _client(own_gateway.admin_url).post(
        "/ui/admin_user", json={"username": "x", "password": password}
    )
    assert anonymous.status_code == 401
    short = _client(own_gateway.admin_url).post(
        "/ui/admin_user",
        json={"username": "x", "password": "short"},
        headers={"Authorization": f"Bearer {own_gateway.master_key}"},
    )
    assert short.status_code == 400

    signed_in = _sign_in(own_gateway.admin_url, password, "root-admin")
    assert "Signed in as root-admin" in signed_in.get("/ui/").text

    client = _client(own_gateway.admin_url)
    statuses = []
    for _ in range(6):
        token = _CSRF.search(client.get("/ui/login").text)
        assert token is not None
        answer = client.post(
            "/ui/login",
            data={"csrf_token": token.group(1), "username": "root-admin", "password": "wrong!"},
        )
        statuses.append(answer.status_code)
    assert statuses == [401] * 5 + [429]
    # Throttled: even the right password is refused now, without being checked.
    token = _CSRF.search(client.get("/ui/login").text)
    assert token is not None
    blocked = client.post(
        "/ui/login",
        data={"csrf_token": token.group(1), "username": "root-admin", "password": password},
    )
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    # Another account (the master key) from the same address still signs in.
    _sign_in(own_gateway.admin_url, own_gateway.master_key)
