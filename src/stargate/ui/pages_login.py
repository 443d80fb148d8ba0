"""Sign-in and sign-out."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from stargate.ui.context import Ui
from stargate.ui.csrf import CSRF_FIELD, LOGIN_CSRF_COOKIE, new_login_token, same
from stargate.ui.forms import form_fields
from stargate.ui.render import html, secure_headers
from stargate.ui.sessions import SignedIn

__all__ = ["login_routes"]


def _login_page(
    request: Request, token: str, *, error: str | None = None, username: str = "", status: int = 200
) -> Response:
    response = html(
        request,
        "login.html",
        {"login_csrf": token, "error": error, "username": username},
        status_code=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, max_age=3600, path="/ui", httponly=True, samesite="strict"
    )
    return response


def login_routes(router: APIRouter, ui: Ui) -> None:
    @router.get("/login")
    async def login_form(request: Request) -> Response:
        if await ui.guard.current(request) is not None:
            return RedirectResponse("/ui/", status_code=303)
        token = request.cookies.get(LOGIN_CSRF_COOKIE) or new_login_token()
        return _login_page(request, token)

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
        given = form.get(CSRF_FIELD)
        if not isinstance(given, str) or not same(given, cookie):
            return _login_page(
                request,
                new_login_token(),
                error="The sign-in form had expired. Please try again.",
                status=403,
            )
        fields = await form_fields(request)
        username = fields.get("username", "")
        client = request.client.host if request.client else "unknown"
        outcome = await ui.guard.sign_in(username, fields.get("password", ""), client)
        if outcome.session is None:
            response = _login_page(
                request,
                new_login_token(),
                error=outcome.error,
                username=username,
                status=429 if outcome.retry_after else 401,
            )
            if outcome.retry_after:
                response.headers["retry-after"] = str(int(outcome.retry_after) + 1)
            return response
        response = RedirectResponse("/ui/", status_code=303)
        ui.guard.set_cookie(response, request, outcome.session)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/ui")
        return secure_headers(response)

    @router.post("/logout")
    async def logout(request: Request, session: SignedIn = Depends(ui.guard.action)) -> Response:
        await ui.guard.sessions.end(session.token)
        response = RedirectResponse("/ui/login?done=signed-out", status_code=303)
        ui.guard.clear_cookie(response, request)
        return secure_headers(response)
