"""CSRF tokens.

A signed-in browser's token is derived from its session token (an HMAC under it), so it needs
no storage and cannot be computed by a page that cannot read the HttpOnly session cookie. Every
form carries it in a hidden ``csrf_token`` field; htmx requests send it as ``X-CSRF-Token``
(the page's ``<body hx-headers>``). Before sign-in the login form uses a double-submit token:
a random value in a cookie of its own that the form must repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["CSRF_FIELD", "CSRF_HEADER", "LOGIN_CSRF_COOKIE", "csrf_for", "new_login_token", "same"]

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LOGIN_CSRF_COOKIE = "stargate_login_csrf"


def csrf_for(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"stargate-ui-csrf", hashlib.sha256).hexdigest()


def new_login_token() -> str:
    return secrets.token_urlsafe(32)


def same(given: str | None, expected: str | None) -> bool:
    """Constant-time equality; a missing value never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())
