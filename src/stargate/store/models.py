"""Deployments added at run time (``/model/new``): the ``models`` table.

A row keeps the ``model_list`` entry as it was sent (``os.environ/`` references unresolved), so
every replica resolves it against its own environment with
:func:`stargate.config.load_deployment`, exactly as a config-file entry. Writes bump the
``models`` version: :meth:`ModelRepository.version` is the one cheap read a replica polls to
know when to reload its routers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from stargate.store.conflicts import raise_conflict
from stargate.store.database import Database
from stargate.store.tables import config_versions, models
from stargate.store.versions import bump_version, reading, writing

__all__ = ["ModelRecord", "ModelRepository"]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """One runtime deployment: ``id`` is its ``model_info.id``."""

    id: str
    model_name: str
    litellm_params: Mapping[str, Any]
    model_info: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime | None = None

    def entry(self) -> dict[str, Any]:
        """The ``model_list`` entry, with ``model_info.id`` set to the row's id."""
        return {
            "model_name": self.model_name,
            "litellm_params": dict(self.litellm_params),
            "model_info": {**self.model_info, "id": self.id},
        }


class ModelRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def insert(self, record: ModelRecord, *, conn: AsyncConnection | None = None) -> None:
        """Store a new deployment; a taken id is a duplicate (``param="model_info.id"``)."""
        async with writing(self._database, conn) as tx:
            try:
                await tx.execute(insert(models).values(**_to_row(record)))
            except IntegrityError as exc:
                what = f"a model with id {record.id!r}"
                raise_conflict(exc, {"id": what, "pk_models": what}, _PARAMS)
            await bump_version(tx, "models")

    async def get(
        self, model_id: str, *, conn: AsyncConnection | None = None
    ) -> ModelRecord | None:
        async with reading(self._database, conn) as tx:
            row = (
                (await tx.execute(select(models).where(models.c.id == model_id))).mappings().first()
            )
        return None if row is None else _from_row(row)

    async def list(self) -> list[ModelRecord]:
        """Every runtime deployment, oldest first."""
        async with self._database.read() as conn:
            rows = (
                (await conn.execute(select(models).order_by(models.c.created_at, models.c.id)))
                .mappings()
                .all()
            )
        return [_from_row(row) for row in rows]

    async def replace(
        self,
        record: ModelRecord,
        *,
        now: datetime | None = None,
        conn: AsyncConnection | None = None,
    ) -> ModelRecord | None:
        """Overwrite a deployment's name, params and info; ``None`` if there is no such id."""
        values = _to_row(record)
        del values["id"], values["created_at"]
        values["updated_at"] = now or _now()
        async with writing(self._database, conn) as tx:
            result = await tx.execute(
                update(models).where(models.c.id == record.id).values(**values)
            )
            if result.rowcount == 0:
                return None
            await bump_version(tx, "models")
        return await self.get(record.id, conn=conn)

    async def delete(self, model_id: str, *, conn: AsyncConnection | None = None) -> bool:
        async with writing(self._database, conn) as tx:
            result = await tx.execute(delete(models).where(models.c.id == model_id))
            if result.rowcount:
                await bump_version(tx, "models")
        return bool(result.rowcount)

    async def version(self) -> int:
        """The ``models`` version: it grows with every insert, update and delete."""
        async with self._database.read() as conn:
            value = await conn.scalar(
                select(config_versions.c.version).where(config_versions.c.name == "models")
            )
        return int(value or 0)


_PARAMS = {"id": "model_info.id", "pk_models": "model_info.id"}


def _to_row(record: ModelRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "model_name": record.model_name,
        "litellm_params": dict(record.litellm_params),
        "model_info": dict(record.model_info),
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def _from_row(row: RowMapping) -> ModelRecord:
    return ModelRecord(
        id=row["id"],
        model_name=row["model_name"],
        litellm_params=dict(row["litellm_params"] or {}),
        model_info=dict(row["model_info"] or {}),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
