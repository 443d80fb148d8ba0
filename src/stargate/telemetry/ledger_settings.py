"""How the ledger writer behaves, from ``general_settings`` (LiteLLM's names where LiteLLM has
one) and sensible defaults.

===========================================  ===================================================
``general_settings`` key                     meaning
===========================================  ===================================================
``store_prompts_in_spend_logs``              keep prompt and response text in ``spend_logs``
                                             (default ``false``: never stored)
``allow_requests_on_db_unavailable``         ``true`` (default): serve while the database is
                                             down, rows wait in the journal; ``false``: the
                                             ledger reports unhealthy (503) once it is more
                                             than ``spend_logs_max_pending`` rows behind
``spend_logs_max_pending``                   that threshold (default 1000 rows)
``maximum_spend_logs_retention_period``      delete ``spend_logs`` rows older than this
                                             (``30d``, ``12h``, ``2w``, ``1mo``); default: keep
``spend_logs_journal_dir``                   the journal directory (default ``var/journal``)
===========================================  ===================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from stargate.config.gateway import GatewayConfig
from stargate.errors import ConfigError

__all__ = ["DEFAULT_JOURNAL_DIR", "LedgerSettings", "parse_retention"]

DEFAULT_JOURNAL_DIR = Path("var/journal")
_RETENTION = re.compile(r"\s*([1-9][0-9]*)\s*(s|m|h|d|w|mo)\s*")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400, "mo": 30 * 86_400}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True, slots=True)
class LedgerSettings:
    journal_dir: Path = DEFAULT_JOURNAL_DIR
    batch_size: int = 500  # rows per database transaction at most
    flush_interval: float = 0.2  # seconds a partial batch waits for more rows
    fsync_interval: float = 0.05  # seconds between journal fsyncs while rows arrive
    queue_size: int = 10_000  # rows held in memory; beyond, rows wait in the journal only
    max_pending: int = 1000  # rows behind before refusing (with allow_on_db_unavailable off)
    allow_on_db_unavailable: bool = True
    store_prompts: bool = False
    retention: timedelta | None = None
    retention_interval: float = 3600.0  # seconds between retention sweeps
    retention_batch: int = 5000
    retry_initial: float = 0.1  # seconds before the first retry of a failed write
    retry_max: float = 5.0

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.queue_size < 1 or self.max_pending < 0:
            raise ValueError("batch_size and queue_size must be positive, max_pending >= 0")
        if min(self.flush_interval, self.fsync_interval, self.retry_initial) <= 0:
            raise ValueError("intervals must be positive")

    @classmethod
    def from_config(cls, config: GatewayConfig, **overrides: Any) -> LedgerSettings:
        general = config.general_settings
        values: dict[str, Any] = {}
        if (store := _flag(general, "store_prompts_in_spend_logs")) is not None:
            values["store_prompts"] = store
        if (allow := _flag(general, "allow_requests_on_db_unavailable")) is not None:
            values["allow_on_db_unavailable"] = allow
        if (pending := general.get("spend_logs_max_pending")) is not None:
            values["max_pending"] = int(pending)
        if (period := general.get("maximum_spend_logs_retention_period")) is not None:
            values["retention"] = parse_retention(str(period))
        if (directory := general.get("spend_logs_journal_dir")) is not None:
            values["journal_dir"] = Path(str(directory))
        return cls(**(values | overrides))


def parse_retention(text: str) -> timedelta:
    """LiteLLM's retention period (``30d``, ``12h``, ``2w``, ``1mo`` = 30 days)."""
    match = _RETENTION.fullmatch(text)
    if match is None:
        raise ConfigError(
            f"{text!r} is not a duration (30d, 12h, 2w, 1mo)",
            source="general_settings",
            path="maximum_spend_logs_retention_period",
        )
    return timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])


def _flag(section: Any, name: str) -> bool | None:
    value = section.get(name)
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{value!r} is not true or false", source="general_settings", path=name)
