"""Runtime deployments: ``/model/new|update|delete`` and ``/model/info`` over config and
database models.

A model added here is checked exactly as a ``model_list`` entry of the config file
(:func:`stargate.config.load_deployment`) and stored as sent, ``os.environ/`` references
unresolved, so each replica resolves it against its own environment. The routers and providers
pick up changes by polling :meth:`ModelRepository.version` and loading
:func:`stargate.admin.stored_models.load_db_deployments` (the gateway's job, not this module's).
Credentials never appear in an answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from stargate.admin.context import AdminContext
from stargate.admin.fields import iso
from stargate.admin.requests import (
    ModelDeleteRequest,
    ModelInfoQuery,
    NewModelRequest,
    UpdateModelRequest,
)
from stargate.admin.stored_models import resolve_record
from stargate.config import Deployment
from stargate.errors import InvalidRequest, NotFound
from stargate.store.conflicts import duplicate
from stargate.store.models import ModelRecord, ModelRepository

__all__ = [
    "ModelAdmin",
    "list_models",
    "public_params",
    "render_deployment",
]

_MAX_ID = 255
_SECRET_WORDS = ("key", "secret", "token", "password", "credential")
_PRICES = (
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
)


def _secret(name: str) -> bool:
    return any(word in name.lower() for word in _SECRET_WORDS)


def public_params(deployment: Deployment) -> dict[str, Any]:
    """``litellm_params`` as shown to admins: never a credential."""
    model = f"{deployment.provider}/{deployment.model}"
    if deployment.api != "auto":
        model = f"{deployment.provider}/{deployment.api}/{deployment.model}"
    params: dict[str, Any] = {"model": model}
    params.update((k, v) for k, v in deployment.params.items() if not _secret(k))
    return params


def render_deployment(deployment: Deployment, *, db_model: bool) -> dict[str, Any]:
    """One entry of ``/model/info``'s ``data`` (LiteLLM's shape)."""
    info = deployment.info
    model_info: dict[str, Any] = {"id": deployment.id, "db_model": db_model}
    for name in _PRICES:
        value = getattr(info, name)
        model_info[name] = float(value) if value is not None else None  # display, never billed
    model_info.update(
        max_tokens=info.max_tokens,
        max_input_tokens=info.max_input_tokens,
        max_output_tokens=info.max_output_tokens,
        description=info.description,
        access_groups=list(info.access_groups),
    )
    return {
        "model_name": deployment.model_name,
        "litellm_params": public_params(deployment),
        "model_info": model_info,
    }


def _render_stored(record: ModelRecord, env: Mapping[str, str]) -> dict[str, Any]:
    try:
        deployment = resolve_record(record, env)
    except InvalidRequest as exc:
        # Valid when added, not here (an environment variable this replica lacks): list it
        # with the reason instead of hiding it.
        params = {k: v for k, v in record.litellm_params.items() if not _secret(k)}
        return {
            "model_name": record.model_name,
            "litellm_params": params,
            "model_info": {"id": record.id, "db_model": True, "error": exc.message},
        }
    shown = render_deployment(deployment, db_model=True)
    shown["model_info"]["created_at"] = iso(record.created_at)
    shown["model_info"]["updated_at"] = iso(record.updated_at)
    return shown


async def list_models(
    runtime_deployments: Sequence[Deployment],
    repo: ModelRepository,
    env: Mapping[str, str],
    *,
    model_id: str | None = None,
) -> dict[str, Any]:
    """``/model/info``: the config's deployments, then the database's (``db_model: true``)."""
    data = [render_deployment(d, db_model=False) for d in runtime_deployments]
    data += [_render_stored(record, env) for record in await repo.list()]
    if model_id is not None:
        data = [entry for entry in data if entry["model_info"]["id"] == model_id]
    return {"data": data}


class ModelAdmin:
    def __init__(
        self,
        context: AdminContext,
        config_deployments: Sequence[Deployment],
        env: Mapping[str, str],
    ) -> None:
        self._ctx = context
        self._config = tuple(config_deployments)
        self._env = env

    async def new(self, request: NewModelRequest) -> dict[str, Any]:
        info = dict(request.model_info or {})
        model_id = str(info.pop("id", None) or uuid.uuid4().hex)
        if len(model_id) > _MAX_ID:
            raise InvalidRequest(
                f"model_info.id: at most {_MAX_ID} characters", param="model_info.id"
            )
        if any(d.id == model_id for d in self._config):
            raise duplicate("model_info.id", f"a model with id {model_id!r} (in the config file)")
        record = ModelRecord(
            id=model_id,
            model_name=request.model_name,
            litellm_params=request.litellm_params,
            model_info=info,
            created_at=self._ctx.now(),
        )
        deployment = resolve_record(record, self._env)
        await self._ctx.models.insert(record)
        return self._answer(record, deployment)

    async def update(self, request: UpdateModelRequest) -> dict[str, Any]:
        model_id = request.id or (request.model_info or {}).get("id")
        if not isinstance(model_id, str) or not model_id:
            raise InvalidRequest("give the model's id (id or model_info.id)", param="id")
        self._refuse_config_id(model_id, "id")
        async with self._ctx.database.write() as conn:
            stored = await self._ctx.models.get(model_id, conn=conn)
            if stored is None:
                raise NotFound(f"Model not found: {model_id}", param="id")
            info = {**stored.model_info, **(request.model_info or {})}
            info.pop("id", None)
            record = ModelRecord(
                id=model_id,
                model_name=request.model_name or stored.model_name,
                litellm_params={**stored.litellm_params, **(request.litellm_params or {})},
                model_info=info,
                created_at=stored.created_at,
            )
            deployment = resolve_record(record, self._env)
            updated = await self._ctx.models.replace(record, now=self._ctx.now(), conn=conn)
        assert updated is not None  # found in this transaction
        return self._answer(updated, deployment)

    async def delete(self, request: ModelDeleteRequest) -> dict[str, Any]:
        self._refuse_config_id(request.id, "id")
        if not await self._ctx.models.delete(request.id):
            raise NotFound(f"Model not found: {request.id}", param="id")
        return {"message": f"Model: {request.id} deleted successfully", "id": request.id}

    async def info(self, query: ModelInfoQuery) -> dict[str, Any]:
        return await list_models(
            self._config, self._ctx.models, self._env, model_id=query.litellm_model_id
        )

    def _refuse_config_id(self, model_id: str, param: str) -> None:
        if any(d.id == model_id for d in self._config):
            raise InvalidRequest(
                f"model {model_id!r} comes from the config file; change it there",
                param=param,
                code="config_model",
            )

    @staticmethod
    def _answer(record: ModelRecord, deployment: Deployment) -> dict[str, Any]:
        shown = render_deployment(deployment, db_model=True)
        return {"model_id": record.id, **shown}
