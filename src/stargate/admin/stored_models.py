"""Runtime models as deployments: a ``/model/new`` record checked exactly as a ``model_list``
entry of the config file, against this replica's environment. Kept apart from
:mod:`stargate.admin.models` (the admin operations and their request models), so the gateway can
load them at start-up without importing the admin API."""

from __future__ import annotations

from collections.abc import Mapping

from stargate.config import Deployment, load_deployment
from stargate.errors import ConfigError, InvalidRequest
from stargate.store.models import ModelRecord, ModelRepository

__all__ = ["load_db_deployments", "resolve_record"]


def resolve_record(record: ModelRecord, env: Mapping[str, str]) -> Deployment:
    """The record as a deployment; a 400 naming the field when it is not a valid entry."""
    try:
        deployment, _ = load_deployment(record.entry(), env)
    except ConfigError as exc:
        where = f"{exc.path}: " if exc.path else ""
        raise InvalidRequest(f"{where}{exc.reason}", param=exc.path) from exc
    return deployment


async def load_db_deployments(
    repo: ModelRepository, env: Mapping[str, str]
) -> tuple[list[Deployment], list[str]]:
    """Every database model as a deployment, plus one problem per model that does not resolve
    here (it is left out): what a replica loads after :meth:`ModelRepository.version` moved."""
    deployments, problems = [], []
    for record in await repo.list():
        try:
            deployments.append(resolve_record(record, env))
        except InvalidRequest as exc:
            problems.append(f"model {record.id} ({record.model_name}): {exc.message}")
    return deployments, problems
