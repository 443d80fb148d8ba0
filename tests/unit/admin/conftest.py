"""An admin service over a fresh, migrated SQLite database, with a clock the test controls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stargate.admin.service import AdminService
from stargate.config import Deployment, load_deployment
from stargate.store.database import Database, open_database
from stargate.store.migrate import upgrade_database

START = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def config_model() -> Deployment:
    entry = {
        "model_name": "claude-haiku-4-5",
        "litellm_params": {
            "model": "bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "aws_region_name": "us-east-1",
        },
        "model_info": {"id": "haiku-config"},
    }
    return load_deployment(entry, {})[0]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'admin.db'}")
    try:
        await upgrade_database(db)
        yield db
    finally:
        await db.aclose()


@pytest.fixture
def service(database: Database, clock: Clock) -> AdminService:
    return AdminService.create(
        database,
        config_deployments=[config_model()],
        env={"NOVA_REGION": "us-east-1"},
        clock=clock,
    )
