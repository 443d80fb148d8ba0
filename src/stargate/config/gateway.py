"""The resolved configuration a gateway process runs on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from stargate.config.database_url import DEFAULT_DATABASE_URL, redact_database_url
from stargate.config.deployment import Deployment

__all__ = [
    "DEFAULT_ADMIN_HOST",
    "DEFAULT_ADMIN_PORT",
    "DEFAULT_BUDGET_TIMEZONE",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "GatewayConfig",
]

DEFAULT_HOST = "0.0.0.0"
DEFAULT_PORT = 4000
DEFAULT_ADMIN_HOST = "127.0.0.1"
DEFAULT_ADMIN_PORT = 4001
DEFAULT_BUDGET_TIMEZONE = "UTC"


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """Everything from ``config.yaml`` (or the embedded defaults) and the environment, checked
    and resolved: no ``os.environ/`` reference is left in the parts Stargate uses.

    ``litellm_settings``, ``router_settings`` and ``general_settings`` are the sections as
    written (references resolved where the variable is set), for features that read keys the
    schema does not type yet. ``warnings`` names every LiteLLM setting that was ignored.
    """

    source: str
    deployments: tuple[Deployment, ...] = ()
    master_key: str | None = field(default=None, repr=False)
    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    admin_host: str = DEFAULT_ADMIN_HOST
    admin_port: int = DEFAULT_ADMIN_PORT
    drop_params: bool = False
    # Budget and rate-limit counters: Redis shared by every replica, or (None) this process.
    redis_url: str | None = field(default=None, repr=False)
    redis_failure_policy: Literal["closed", "open"] = "closed"
    # With Redis: admit busy plans from allotments (stargate.store.counters_allotments).
    counter_allotments: bool = True
    # The IANA timezone of calendar budget windows (day, week, month).
    budget_timezone: str = DEFAULT_BUDGET_TIMEZONE
    # How long a budget reservation holds without settlement (a killed replica's holds expire).
    reservation_lease_seconds: int = 900
    model_aliases: Mapping[str, str] = field(default_factory=_empty)
    hidden_aliases: frozenset[str] = frozenset()
    # Cooldowns: more than ``allowed_fails`` failures of a deployment in a minute move it to the
    # back of its group for ``cooldown_seconds`` (``cooldowns_enabled`` off: never).
    allowed_fails: int = 3
    cooldown_seconds: float = 5.0
    cooldowns_enabled: bool = True
    # Observability: the implemented LiteLLM callbacks named in ``callbacks``,
    # ``success_callback`` and ``failure_callback`` (``otel``, ``langfuse``, ``prometheus``);
    # message content in traces (``turn_off_message_logging``, ``None`` when not written); the
    # /metrics switches.
    callbacks: tuple[str, ...] = ()
    turn_off_message_logging: bool | None = None
    metrics_require_auth: bool = False
    metrics_drop_high_cardinality_labels: bool = False
    warnings: tuple[str, ...] = ()
    litellm_settings: Mapping[str, Any] = field(default_factory=_empty, repr=False)
    router_settings: Mapping[str, Any] = field(default_factory=_empty, repr=False)
    general_settings: Mapping[str, Any] = field(default_factory=_empty, repr=False)

    @property
    def model_names(self) -> tuple[str, ...]:
        """The public model names, each once, in the order the file gives them."""
        return tuple(dict.fromkeys(d.model_name for d in self.deployments))

    @property
    def database_url_redacted(self) -> str:
        return redact_database_url(self.database_url)
