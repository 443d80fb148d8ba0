"""Tiers (named budgets that teams follow) and models (add, remove, test with one click)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from stargate.admin.fields import parse_body
from stargate.admin.requests import (
    BudgetDeleteRequest,
    ModelDeleteRequest,
    ModelInfoQuery,
    NewModelRequest,
    TierApplyRequest,
)
from stargate.errors import StargateError
from stargate.ui.context import Ui
from stargate.ui.forms import form_fields, split_list
from stargate.ui.pages_keys import confirm_page
from stargate.ui.render import html
from stargate.ui.sessions import SignedIn

__all__ = ["tier_model_routes"]

_TIER_FIELDS = ("name", "budget_daily", "budget_monthly", "rpm_limit", "tpm_limit", "description")
_MODEL_INFO = ("input_cost_per_token", "output_cost_per_token")


def tier_model_routes(router: APIRouter, ui: Ui) -> None:
    async def tiers_page(
        request: Request, session: SignedIn, error: str | None = None, status: int = 200
    ) -> Response:
        budgets = await ui.service.budgets.list()
        teams = await ui.service.context.teams.list()
        by_tier: dict[str, list[str]] = {}
        for team in teams:
            if team.tier:
                by_tier.setdefault(team.tier, []).append(team.team_alias or team.team_id)
        context = ui.base(session, tiers=budgets, by_tier=by_tier, error=error)
        return html(request, "tiers.html", context, status_code=status)

    @router.get("/tiers")
    async def tiers(request: Request, session: SignedIn = Depends(ui.guard.page)) -> Response:
        return await tiers_page(request, session)

    @router.post("/tiers")
    async def tier_save(request: Request, session: SignedIn = Depends(ui.guard.action)) -> Response:
        fields = await form_fields(request)
        tier: dict[str, Any] = {name: fields[name] for name in _TIER_FIELDS if name in fields}
        if "allowed_models" in fields:
            tier["allowed_models"] = split_list(fields["allowed_models"])
        try:
            body = parse_body(TierApplyRequest, {"tiers": {fields.get("tier_id", ""): tier}})
            await ui.service.tiers.apply(body)
        except StargateError as err:
            return await tiers_page(request, session, err.message, err.status)
        return RedirectResponse("/ui/tiers?done=tier-saved", status_code=303)

    @router.get("/tiers/{tier_id}/delete")
    async def tier_delete_confirm(
        tier_id: str, request: Request, session: SignedIn = Depends(ui.guard.page)
    ) -> Response:
        return confirm_page(
            request, ui, session,
            title=f"Delete the tier {tier_id}?",
            message="Only a tier that no team follows can be deleted: move or delete its "
            "teams first. Keys and users are not touched.",
            action=f"/ui/tiers/{tier_id}/delete",
            button="Delete the tier",
            back="/ui/tiers",
        )  # fmt: skip

    @router.post("/tiers/{tier_id}/delete")
    async def tier_delete(
        tier_id: str, request: Request, session: SignedIn = Depends(ui.guard.action)
    ) -> Response:
        try:
            await ui.service.budgets.delete(BudgetDeleteRequest(id=tier_id))
        except StargateError as err:
            return await tiers_page(request, session, err.message, err.status)
        return RedirectResponse("/ui/tiers?done=tier-deleted", status_code=303)

    async def models_page(
        request: Request, session: SignedIn, error: str | None = None, status: int = 200,
        tested: dict[str, Any] | None = None,
    ) -> Response:  # fmt: skip
        models = (await ui.service.models.info(ModelInfoQuery()))["data"]
        context = ui.base(session, models=models, error=error, tested=tested)
        return html(request, "models.html", context, status_code=status)

    @router.get("/models")
    async def models(request: Request, session: SignedIn = Depends(ui.guard.page)) -> Response:
        return await models_page(request, session)

    @router.post("/models/new")
    async def model_new(request: Request, session: SignedIn = Depends(ui.guard.action)) -> Response:
        fields = await form_fields(request)
        params: dict[str, Any] = {"model": fields.get("model", "")}
        if "aws_region_name" in fields:
            params["aws_region_name"] = fields["aws_region_name"]
        data = {"model_name": fields.get("model_name", ""), "litellm_params": params}
        try:
            info = {name: float(fields[name]) for name in _MODEL_INFO if name in fields}
            body = parse_body(NewModelRequest, {**data, "model_info": info or None})
            await ui.service.models.new(body)
        except ValueError:
            return await models_page(request, session, "A price must be a number.", 400)
        except StargateError as err:
            return await models_page(request, session, err.message, err.status)
        return RedirectResponse("/ui/models?done=model-added", status_code=303)

    @router.post("/models/test")
    async def model_test(
        request: Request, session: SignedIn = Depends(ui.guard.action)
    ) -> Response:
        name = (await form_fields(request)).get("model_name", "")
        ok, detail = await ui.test_model(name)
        tested = {"model_name": name, "ok": ok, "detail": detail}
        if request.headers.get("hx-request"):
            return html(request, "_model_test.html", {"tested": tested})
        return await models_page(request, session, tested=tested)

    @router.get("/models/{model_id}/delete")
    async def model_delete_confirm(
        model_id: str, request: Request, session: SignedIn = Depends(ui.guard.page)
    ) -> Response:
        return confirm_page(
            request, ui, session,
            title="Remove this model?",
            message="Requests for its model name stop reaching this deployment (another "
            "deployment of the same name, if any, keeps serving). Keys that list the name keep "
            "it in their settings.",
            action=f"/ui/models/{model_id}/delete",
            button="Remove the model",
            back="/ui/models",
        )  # fmt: skip

    @router.post("/models/{model_id}/delete")
    async def model_delete(
        model_id: str, request: Request, session: SignedIn = Depends(ui.guard.action)
    ) -> Response:
        try:
            await ui.service.models.delete(ModelDeleteRequest(id=model_id))
        except StargateError as err:
            return await models_page(request, session, err.message, err.status)
        return RedirectResponse("/ui/models?done=model-deleted", status_code=303)
