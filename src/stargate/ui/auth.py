"""Who may use the UI: sign-in (the master key, or an admin user's password), the session
cookie, and the guards every page and action passes.

- Pages (GET) need a live session; without one a browser is sent to the sign-in page (htmx
  gets ``HX-Redirect``).
- Actions (POST) need a live session *and* the session's CSRF token (form field or header);
  without either they are refused with 403 and change nothing.
- The cookie is ``HttpOnly``, ``SameSite=Strict``, ``Path=/ui`` and ``Secure`` whenever the
  request came over HTTPS (directly or as ``X-Forwarded-Proto: https`` from a proxy).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from stargate.store.admin_accounts import AdminUserRepository
from stargate.ui.csrf import CSRF_FIELD, CSRF_HEADER, csrf_for, same
from stargate.ui.passwords import verify_password_async
from stargate.ui.sessions import SESSION_COOKIE, SESSION_LIFETIME, SessionStore, SignedIn
from stargate.ui.throttle import LoginThrottle

__all__ = ["MASTER_SUBJECT", "Guard", "SignInOutcome", "is_https"]

MASTER_SUBJECT = "master key"
LOGIN_PATH = "/ui/login"
CheckMaster = Callable[[str], Awaitable[bool]]


def is_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


@dataclass(frozen=True, slots=True)
class SignInOutcome:
    session: SignedIn | None = None
    error: str | None = None
    retry_after: float = 0.0


class Guard:
    def __init__(
        self,
        sessions: SessionStore,
        accounts: AdminUserRepository,
        check_master: CheckMaster,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self.sessions = sessions
        self.accounts = accounts
        self.throttle = throttle or LoginThrottle()
        self._check_master = check_master

    async def sign_in(self, username: str, password: str, client: str) -> SignInOutcome:
        """Check the credentials (after the throttle) and start a session."""
        account = f"user:{username.lower()}" if username else "master"
        address = f"ip:{client}"
        wait = self.throttle.retry_after(account, address)
        if wait > 0:
            return SignInOutcome(
                error="Too many failed sign-ins. Wait a few minutes, then try again.",
                retry_after=wait,
            )
        if username:
            found = await self.accounts.get(username)
            ok = await verify_password_async(password, found.password_hash if found else None)
            subject = username
        else:
            ok = bool(password) and await self._check_master(password)
            subject = MASTER_SUBJECT
        if not ok:
            self.throttle.failed(account, address)
            wrong = "The name or password is wrong." if username else "That is not the master key."
            return SignInOutcome(error=wrong)
        self.throttle.succeeded(account)
        return SignInOutcome(session=await self.sessions.start(subject))

    @staticmethod
    def set_cookie(response: Response, request: Request, session: SignedIn) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            session.token,
            max_age=int(SESSION_LIFETIME.total_seconds()),
            path="/ui",
            secure=is_https(request),
            httponly=True,
            samesite="strict",
        )

    @staticmethod
    def clear_cookie(response: Response, request: Request) -> None:
        response.delete_cookie(
            SESSION_COOKIE, path="/ui", secure=is_https(request), httponly=True, samesite="strict"
        )

    async def current(self, request: Request) -> SignedIn | None:
        return await self.sessions.find(request.cookies.get(SESSION_COOKIE))

    async def page(self, request: Request) -> SignedIn:
        """Dependency of every page: the session, or off to the sign-in page."""
        session = await self.current(request)
        if session is None:
            if request.headers.get("hx-request"):
                raise HTTPException(401, "Sign in first.", headers={"HX-Redirect": LOGIN_PATH})
            raise HTTPException(303, "Sign in first.", headers={"Location": LOGIN_PATH})
        return session

    async def action(self, request: Request) -> SignedIn:
        """Dependency of every action: a session and its CSRF token, or a 403."""
        session = await self.current(request)
        if session is None:
            headers = {"HX-Redirect": LOGIN_PATH} if request.headers.get("hx-request") else None
            raise HTTPException(403, "Sign in first: this action needs a session.", headers)
        form = await request.form()
        given = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
        if not isinstance(given, str) or not same(given, csrf_for(session.token)):
            raise HTTPException(
                403, "This form has expired or did not come from this admin UI: reload the page."
            )
        return session
