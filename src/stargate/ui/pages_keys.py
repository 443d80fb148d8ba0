"""Virtual keys: list with filters, create (the key shown once), edit limits and models,
block and unblock, regenerate, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from stargate.admin.fields import parse_body
from stargate.admin.requests import (
    DeleteKeysRequest,
    GenerateKeyRequest,
    KeyListQuery,
    RegenerateKeyRequest,
    UpdateKeyRequest,
)
from stargate.errors import StargateError
from stargate.ui.context import Ui
from stargate.ui.forms import form_fields, limits_of
from stargate.ui.render import html
from stargate.ui.sessions import SignedIn

__all__ = ["confirm_page", "key_routes"]

PAGE_SIZE = 25
_FILTERS = ("key_alias", "user_id", "team_id")


def confirm_page(
    request: Request, ui: Ui, session: SignedIn, *, title: str, message: str, action: str,
    button: str, back: str,
) -> Response:  # fmt: skip
    """A page that says what an irreversible action does before it is done."""
    context = ui.base(
        session, title=title, message=message, action=action, button=button, back=back
    )
    return html(request, "confirm.html", context)


def _key_fields(fields: dict[str, str]) -> dict[str, Any]:
    data = limits_of(fields)
    for name in ("key_alias", "user_id", "team_id", "duration"):
        if name in fields:
            data[name] = fields[name]
    return data


def key_routes(router: APIRouter, ui: Ui) -> None:
    async def choices() -> dict[str, Any]:
        teams = await ui.service.context.teams.list()
        users = (await ui.service.context.users.list(limit=500)).users
        return {"teams": teams, "users": users}

    async def listing(
        request: Request, session: SignedIn, *, error: str | None = None, status: int = 200
    ) -> Response:
        filters = {
            name: value.strip()
            for name in _FILTERS
            if (value := request.query_params.get(name, "")).strip()
        }
        try:
            page = max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            page = 1
        query = parse_body(
            KeyListQuery, {"page": page, "size": PAGE_SIZE, "return_full_object": True, **filters}
        )
        found = await ui.service.keys.list(query)
        context = ui.base(
            session,
            keys=found["keys"],
            total=found["total_count"],
            page=page,
            pages=max(1, found["total_pages"]),
            filters=filters,
            error=error,
            **await choices(),
        )
        return html(request, "keys.html", context, status_code=status)

    async def shown_new(request: Request, session: SignedIn, made: dict[str, Any]) -> Response:
        return html(request, "key_created.html", ui.base(session, made=made))

    @router.get("/keys")
    async def keys(request: Request, session: SignedIn = Depends(ui.guard.page)) -> Response:
        return await listing(request, session)

    @router.post("/keys/new")
    async def key_new(request: Request, session: SignedIn = Depends(ui.guard.action)) -> Response:
        fields = await form_fields(request)
        try:
            made = await ui.service.keys.generate(
                parse_body(GenerateKeyRequest, _key_fields(fields))
            )
        except StargateError as err:
            return await listing(request, session, error=err.message, status=err.status)
        return await shown_new(request, session, made)

    async def detail(
        request: Request, session: SignedIn, key_hash: str, error: str | None = None,
        status: int = 200,
    ) -> Response:  # fmt: skip
        try:
            info = (await ui.service.keys.info(key_hash))["info"]
        except StargateError as err:
            return html(
                request, "error.html", ui.base(session, message=err.message), status_code=err.status
            )
        context = ui.base(session, key=info, error=error, **await choices())
        return html(request, "key.html", context, status_code=status)

    @router.get("/keys/{key_hash}")
    async def key_page(
        key_hash: str, request: Request, session: SignedIn = Depends(ui.guard.page)
    ) -> Response:
        return await detail(request, session, key_hash)

    @router.post("/keys/{key_hash}/edit")
    async def key_edit(
        key_hash: str, request: Request, session: SignedIn = Depends(ui.guard.action)
    ) -> Response:
        fields = await form_fields(request)
        try:
            body = parse_body(UpdateKeyRequest, {**_key_fields(fields), "key": key_hash})
            await ui.service.keys.update(body)
        except StargateError as err:
            return await detail(request, session, key_hash, err.message, err.status)
        return RedirectResponse(f"/ui/keys/{key_hash}?done=key-updated", status_code=303)

    @router.post("/keys/{key_hash}/block")
    async def key_block(
        key_hash: str, request: Request, session: SignedIn = Depends(ui.guard.action)
    ) -> Response:
        try:
            await ui.service.keys.block(key_hash, True)
        except StargateError as err:
            return await detail(request, session, key_hash, err.message, err.status)
        return RedirectResponse(f"/ui/keys/{key_hash}?done=key-blocked", status_code=303)

    @router.post("/keys/{key_hash}/unblock")
    async def key_unblock(
        key_hash: str, request: Request, session: SignedIn = Depends(ui.guard.action)
    ) -> Response:
        try:
            await ui.service.keys.block(key_hash, False)
        except StargateError as err:
            return await detail(request, session, key_hash, err.message, err.status)
        return RedirectResponse(f"/ui/keys/{key_hash}?done=key-unblocked", status_code=303)

    @router.get("/keys/{key_hash}/regenerate")
    async def key_regenerate_confirm(
        key_hash: str, request: Request, session: SignedIn = Depends(ui.guard.page)
    ) -> Response:
        return confirm_page(
            request, ui, session,
            title="Regenerate this key?",
            message="A new secret replaces the current one at once: every program still using "
            "the old key starts getting 401 errors. Limits, models and spend stay with the key.",
            action=f"/ui/keys/{key_hash}/regenerate",
            button="Regenerate the key",
            back=f"/ui/keys/{key_hash}",
        )  # fmt: skip

    @router.post("/keys/{key_hash}/regenerate")
    async def key_regenerate(
        key_hash: str, request: Request, session: SignedIn = Depends(ui.guard.action)
    ) -> Response:
        try:
            made = await ui.service.keys.regenerate(RegenerateKeyRequest(key=key_hash))
        except StargateError as err:
            return await detail(request, session, key_hash, err.message, err.status)
        return await shown_new(request, session, made)

    @router.get("/keys/{key_hash}/delete")
    async def key_delete_confirm(
        key_hash: str, request: Request, session: SignedIn = Depends(ui.guard.page)
    ) -> Response:
        return confirm_page(
            request, ui, session,
            title="Delete this key?",
            message="Requests with this key are refused from now on, and the key cannot be "
            "restored. Its spend stays in the spend logs. To stop it for a while instead, "
            "block it.",
            action=f"/ui/keys/{key_hash}/delete",
            button="Delete the key",
            back=f"/ui/keys/{key_hash}",
        )  # fmt: skip

    @router.post("/keys/{key_hash}/delete")
    async def key_delete(
        key_hash: str, request: Request, session: SignedIn = Depends(ui.guard.action)
    ) -> Response:
        try:
            await ui.service.keys.delete(DeleteKeysRequest(keys=[key_hash]))
        except StargateError as err:
            return await detail(request, session, key_hash, err.message, err.status)
        return RedirectResponse("/ui/keys?done=key-deleted", status_code=303)
