"""Everything a running gateway holds, built once at start-up and closed once at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from stargate.admin.spend_service import SpendAdmin
from stargate.admin.stored_models import load_db_deployments
from stargate.config.deployment import Deployment
from stargate.config.loader import GatewayConfig
from stargate.governance.counters import CounterStore
from stargate.governance.windows import utc_now
from stargate.pipeline import Gate, Pipeline, PrincipalDirectory
from stargate.pipeline.ledger_rows import spend_row
from stargate.pipeline.records import Outcome, Recorder
from stargate.providers.registry import ProviderSet
from stargate.routing import Router
from stargate.routing.health import Cooldowns, DeploymentHealth
from stargate.store.counters_memory import MemoryCounters
from stargate.store.database import Database, open_database
from stargate.store.migrate import at_head, upgrade
from stargate.store.models import ModelRepository
from stargate.telemetry import Metrics
from stargate.telemetry.ledger import LedgerWriter
from stargate.telemetry.ledger_settings import LedgerSettings
from stargate.telemetry.multiprocess import multiprocess_dir
from stargate.telemetry.tracing import Tracer
from stargate.telemetry.tracing_config import tracing_settings

__all__ = ["Runtime"]

log = logging.getLogger("stargate")


@dataclass(slots=True)
class Runtime:
    config: GatewayConfig
    router: Router
    providers: ProviderSet
    database: Database
    metrics: Metrics
    tracer: Tracer
    ledger: LedgerWriter
    pipeline: Pipeline
    counters: CounterStore
    principals: PrincipalDirectory
    # The usage APIs' service, shared by the admin API and the UI (one report cache).
    spend: SpendAdmin
    deployments: tuple[Deployment, ...] = ()
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    draining: bool = field(default=False)
    models_version: int = -1

    # How long a replaced provider set stays open for the requests still using it.
    RETIRE_AFTER_S = 600.0

    @classmethod
    async def open(cls, config: GatewayConfig, *, migrate: bool = True) -> Runtime:
        for warning in config.warnings:
            log.warning("config: %s", warning)
        database = await open_database(config.database_url)
        try:
            if migrate and not await at_head(database):
                await asyncio.to_thread(upgrade, config.database_url)
        except BaseException:
            await database.aclose()
            raise
        try:
            providers = await ProviderSet.open(config.deployments)
        except BaseException:
            await database.aclose()
            raise
        metrics = Metrics(
            drop_high_cardinality_labels=config.metrics_drop_high_cardinality_labels,
            multiprocess_dir=multiprocess_dir(os.environ),
        )
        tracer = Tracer.open(
            tracing_settings(
                callbacks=config.callbacks,
                turn_off_message_logging=config.turn_off_message_logging,
                env=os.environ,
            ),
            on_export_failure=metrics.observe_callback_failure,
        )

        def report_ledger(writer: LedgerWriter) -> None:
            metrics.set_ledger_queue_depth(writer.pending)
            metrics.set_journal_bytes(writer.journal_bytes)

        ledger = await LedgerWriter.start(
            database, _ledger_settings(config), on_progress=report_ledger
        )

        def record_spend(outcome: Outcome) -> None:
            ledger.record(spend_row(outcome))
            report_ledger(ledger)

        recorder = Recorder(metrics, tracer, on_outcome=record_spend)
        cooldowns = Cooldowns(
            allowed_fails=config.allowed_fails,
            cooldown_seconds=config.cooldown_seconds,
            enabled=config.cooldowns_enabled,
        )
        router = Router(
            config.deployments,
            aliases=config.model_aliases,
            hidden_aliases=config.hidden_aliases,
            health=DeploymentHealth(cooldowns, on_change=recorder.report_health),
        )
        counters: CounterStore
        if config.redis_url:
            # Imported here: the Redis client costs start-up time a Redis-less gateway saves.
            from stargate.store.counters_allotments import AllottedCounters
            from stargate.store.counters_redis import RedisCounters

            kind = AllottedCounters if config.counter_allotments else RedisCounters
            counters = kind(
                config.redis_url,
                failure_policy=config.redis_failure_policy,
                observe=metrics.observe_redis,
            )
        else:
            counters = MemoryCounters()
        principals = PrincipalDirectory(database, timezone=config.budget_timezone)

        def access_groups_of(model: str) -> frozenset[str]:
            group = runtime.router.group(model)
            if group is None:
                return frozenset()
            return frozenset(g for d in group.deployments for g in d.info.access_groups)

        gate = Gate(
            counters,
            clock=utc_now,
            access_groups_of=access_groups_of,
            lease_seconds=config.reservation_lease_seconds,
            on_decision=metrics.observe_admission,
        )
        pipeline = Pipeline(
            router=router,
            providers=providers,
            recorder=recorder,
            master_key=config.master_key,
            keys=principals,
            gate=gate,
            ledger_healthy=lambda: ledger.healthy,
        )
        runtime = cls(
            config, router, providers, database, metrics, tracer, ledger, pipeline, counters,
            principals, SpendAdmin(database),
        )  # fmt: skip
        runtime.deployments = config.deployments
        await runtime.reload_models()
        runtime.tasks.append(asyncio.create_task(principals.watch(), name="principal-cache"))
        runtime.tasks.append(asyncio.create_task(runtime._watch_models(), name="model-reload"))
        runtime.tasks.append(
            asyncio.create_task(runtime.spend.warm_reports(), name="warm-spend-reports")
        )
        return runtime

    async def reload_models(self) -> None:
        """Serve the config's models plus those added at runtime (``/model/new``), when the
        database's models version moved. Every replica polls it, so an added model reaches all."""
        repo = ModelRepository(self.database)
        version = await repo.version()
        if version == self.models_version:
            return
        added, problems = await load_db_deployments(repo, os.environ)
        for problem in problems:
            log.warning("runtime model skipped: %s", problem)
        deployments = (*self.config.deployments, *added)
        if deployments == self.deployments:
            self.models_version = version
            return
        providers = await ProviderSet.open(deployments)
        router = Router(
            deployments,
            aliases=self.config.model_aliases,
            hidden_aliases=self.config.hidden_aliases,
            health=self.router.health,
        )
        retired = self.providers
        self.pipeline.reroute(router, providers)
        self.router, self.providers, self.deployments = router, providers, deployments
        self.models_version = version
        if retired is not providers:
            self.tasks.append(asyncio.create_task(self._retire(retired), name="retire-providers"))

    async def _retire(self, providers: ProviderSet) -> None:
        try:
            await asyncio.sleep(self.RETIRE_AFTER_S)
        finally:
            with contextlib.suppress(Exception):
                await providers.aclose()

    async def _watch_models(self, interval_s: float = 1.0) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.reload_models()
            except Exception:
                log.exception("reloading runtime models failed; keeping the current ones")

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
        await (
            self.ledger.aclose()
        )  # drains: every recorded row reaches the database or stays journaled
        await asyncio.to_thread(self.tracer.shutdown)
        self.metrics.close()
        await self.database.aclose()


def _ledger_settings(config: GatewayConfig) -> LedgerSettings:
    """The journal lives beside a SQLite database (so it replays into the same one), else in
    ``var/journal`` unless ``general_settings.spend_logs_journal_dir`` says otherwise."""
    settings = LedgerSettings.from_config(config)
    if "spend_logs_journal_dir" in config.general_settings:
        return settings
    url = config.database_url
    if url.startswith("sqlite") and ":///" in url and ":memory:" not in url:
        db_file = Path(url.split(":///", 1)[1].split("?", 1)[0])
        return dataclasses.replace(settings, journal_dir=db_file.parent / "journal")
    return settings
