"""The admins page: who may sign in with a name and password."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from stargate.errors import StargateError
from stargate.ui.accounts import AdminAccounts
from stargate.ui.context import Ui
from stargate.ui.forms import form_fields
from stargate.ui.pages_keys import confirm_page
from stargate.ui.render import html
from stargate.ui.sessions import SignedIn

__all__ = ["admin_routes"]


def admin_routes(router: APIRouter, ui: Ui, accounts: AdminAccounts) -> None:
    async def page(
        request: Request, session: SignedIn, error: str | None = None, status: int = 200
    ) -> Response:
        context = ui.base(session, admins=await accounts.list(), error=error)
        return html(request, "admins.html", context, status_code=status)

    @router.get("/admins")
    async def admins(request: Request, session: SignedIn = Depends(ui.guard.page)) -> Response:
        return await page(request, session)

    @router.post("/admins")
    async def admin_set(request: Request, session: SignedIn = Depends(ui.guard.action)) -> Response:
        form = await request.form()  # the password as typed: never trimmed
        password = form.get("password")
        fields = await form_fields(request)
        try:
            await accounts.set_password(
                fields.get("username", ""), password if isinstance(password, str) else ""
            )
        except StargateError as err:
            return await page(request, session, err.message, err.status)
        return RedirectResponse("/ui/admins?done=admin-saved", status_code=303)

    @router.get("/admins/{username}/delete")
    async def admin_delete_confirm(
        username: str, request: Request, session: SignedIn = Depends(ui.guard.page)
    ) -> Response:
        return confirm_page(
            request, ui, session,
            title=f"Delete the admin user {username}?",
            message="They can no longer sign in, and their open sessions end now. The master "
            "key always still works.",
            action=f"/ui/admins/{username}/delete",
            button="Delete the admin user",
            back="/ui/admins",
        )  # fmt: skip

    @router.post("/admins/{username}/delete")
    async def admin_delete(
        username: str, request: Request, session: SignedIn = Depends(ui.guard.action)
    ) -> Response:
        try:
            await accounts.delete(username)
        except StargateError as err:
            return await page(request, session, err.message, err.status)
        return RedirectResponse("/ui/admins?done=admin-deleted", status_code=303)
