"""Everything a running gateway holds, built once at start-up and closed once at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from stargate.config.loader import GatewayConfig
from stargate.pipeline import Pipeline
from stargate.providers.registry import ProviderSet
from stargate.routing import Router
from stargate.store.database import Database, open_database
from stargate.store.migrate import upgrade
from stargate.telemetry import Metrics

__all__ = ["Runtime"]

log = logging.getLogger("stargate")


@dataclass(slots=True)
class Runtime:
    config: GatewayConfig
    router: Router
    providers: ProviderSet
    database: Database
    metrics: Metrics
    pipeline: Pipeline
    draining: bool = field(default=False)

    @classmethod
    async def open(cls, config: GatewayConfig, *, migrate: bool = True) -> Runtime:
        for warning in config.warnings:
            log.warning("config: %s", warning)
        if migrate:
            await asyncio.to_thread(upgrade, config.database_url)
        database = await open_database(config.database_url)
        try:
            providers = await ProviderSet.open(config.deployments)
        except BaseException:
            await database.aclose()
            raise
        router = Router(
            config.deployments,
            aliases=config.model_aliases,
            hidden_aliases=config.hidden_aliases,
        )
        metrics = Metrics()
        pipeline = Pipeline(
            router=router, providers=providers, metrics=metrics, master_key=config.master_key
        )
        return cls(config, router, providers, database, metrics, pipeline)

    async def aclose(self) -> None:
        self.draining = True
        with contextlib.suppress(Exception):
            await self.providers.aclose()
        await self.database.aclose()
