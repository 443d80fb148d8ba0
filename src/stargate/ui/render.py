"""Pages: Jinja2 templates (autoescaped) rendered into responses that carry a strict Content
Security Policy. No page has an inline script or style: scripts and styles are files under
``/ui/static`` (``'self'``), so the policy needs no ``unsafe-inline`` and no nonce."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from stargate.core.money import micro_to_usd

__all__ = ["CSP", "NOTICES", "dollars", "html", "secure_headers", "when"]

_TEMPLATES = Path(__file__).parent / "templates"

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

# What a redirect's ?done= code says on the next page (fixed texts: a link cannot inject words).
NOTICES = {
    "signed-out": "You are signed out.",
    "key-blocked": "The key is blocked: requests with it are refused until you unblock it.",
    "key-unblocked": "The key is unblocked and works again.",
    "key-updated": "The key's settings are saved.",
    "key-deleted": "The key is deleted.",
    "user-created": "The user is created.",
    "user-updated": "The user's settings are saved.",
    "user-deleted": "The user and their keys are deleted.",
    "team-created": "The team is created.",
    "team-updated": "The team's settings are saved.",
    "team-deleted": "The team and its keys are deleted.",
    "member-added": "The member is added.",
    "member-updated": "The member's budget is saved.",
    "member-removed": "The member is removed from the team.",
    "tier-saved": "The tier is saved (its teams follow it).",
    "tier-deleted": "The tier is deleted.",
    "model-added": "The model is added. Every replica picks it up within seconds.",
    "model-deleted": "The model is removed.",
    "admin-saved": "The admin user's password is set.",
    "admin-deleted": "The admin user is deleted and signed out everywhere.",
}


def dollars(amount: int | float | Decimal | None, *, micro: bool = False) -> str:
    """Money for people: ``$12.34``; amounts under a cent keep their micro-dollars."""
    if amount is None:
        return "-"
    value = micro_to_usd(int(amount)) if micro else Decimal(str(amount))
    if value != 0 and abs(value) < Decimal("0.01"):
        return f"${value:.6f}".rstrip("0")
    return f"${value:,.2f}"


def when(moment: datetime | str | None) -> str:
    if moment is None or moment == "":
        return "-"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def percent(part: float, whole: float) -> int:
    return 0 if whole <= 0 else round(100 * part / whole)


_env = Environment(
    loader=FileSystemLoader(_TEMPLATES),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["dollars"] = dollars
_env.filters["micro_dollars"] = lambda amount: dollars(amount, micro=True)
_env.filters["when"] = when
_env.globals["percent"] = percent


def secure_headers(response: Response) -> Response:
    response.headers["content-security-policy"] = CSP
    response.headers["x-content-type-options"] = "nosniff"
    response.headers["x-frame-options"] = "DENY"
    response.headers["referrer-policy"] = "same-origin"
    response.headers["cache-control"] = "no-store"
    return response


def html(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """Render ``template`` with ``context`` plus what every page uses (the notice of the
    redirect that led here, the request path)."""
    done = request.query_params.get("done")
    full = {"notice": NOTICES.get(done or ""), "path": request.url.path, **context}
    body = _env.get_template(template).render(full)
    response = HTMLResponse(body, status_code=status_code)
    secure_headers(response)
    return response
