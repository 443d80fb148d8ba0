"""Everything a running gateway holds, built once at start-up and closed once at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from stargate.config.loader import GatewayConfig
from stargate.governance.counters import CounterStore
from stargate.governance.windows import utc_now
from stargate.pipeline import Gate, Pipeline, PrincipalDirectory
from stargate.providers.registry import ProviderSet
from stargate.routing import Router
from stargate.store.counters_memory import MemoryCounters
from stargate.store.counters_redis import RedisCounters
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
    counters: CounterStore
    principals: PrincipalDirectory
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
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
        counters: CounterStore
        if config.redis_url:
            counters = RedisCounters(config.redis_url, failure_policy=config.redis_failure_policy)
        else:
            counters = MemoryCounters()
        principals = PrincipalDirectory(database, timezone=config.budget_timezone)

        def access_groups_of(model: str) -> frozenset[str]:
            group = router.group(model)
            if group is None:
                return frozenset()
            return frozenset(g for d in group.deployments for g in d.info.access_groups)

        gate = Gate(counters, clock=utc_now, access_groups_of=access_groups_of)
        pipeline = Pipeline(
            router=router,
            providers=providers,
            metrics=metrics,
            master_key=config.master_key,
            keys=principals,
            gate=gate,
        )
        runtime = cls(config, router, providers, database, metrics, pipeline, counters, principals)
        runtime.tasks.append(asyncio.create_task(principals.watch(), name="principal-cache"))
        return runtime

    async def aclose(self) -> None:
        self.draining = True
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await self.providers.aclose()
        with contextlib.suppress(Exception):
            await self.counters.aclose()
        await self.database.aclose()
