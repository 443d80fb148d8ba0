"""The typed shape of a LiteLLM-compatible ``config.yaml``, as far as Stargate implements it.

Every model forbids extra keys. Keys that LiteLLM knows but Stargate does not implement are taken
out before validation, with a warning (:mod:`stargate.config.screen`); whatever reaches these
models must be one of their fields. ``model_info`` is the one open mapping: LiteLLM documents it
as the place for custom metadata, so its unknown keys are kept (see :class:`ModelInfoEntry`).

Prices are :class:`~decimal.Decimal` and never pass through a float: the YAML loader builds
decimals from the text, strings parse exactly, and a float (from JSON, say) is taken by its
shortest ``repr`` (``3e-06`` → ``Decimal("0.000003")``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

__all__ = [
    "ConfigFile",
    "GeneralSettings",
    "LiteLLMParams",
    "LiteLLMSettings",
    "ModelEntry",
    "ModelInfoEntry",
    "Port",
    "Price",
    "RouterSettings",
]


def _exact_decimal(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        return value.strip()
    return value


Price = Annotated[
    Decimal,
    BeforeValidator(_exact_decimal),
    Field(ge=0, allow_inf_nan=False, description="USD per token"),
]
Port = Annotated[int, Field(ge=0, le=65535)]
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonEmpty = Annotated[str, Field(min_length=1)]
# LiteLLM's retention durations: 30d, 12h, 2w, 1mo (s, m, h, d, w, mo).
RetentionPeriod = Annotated[str, Field(pattern=r"^\s*[1-9][0-9]*\s*(s|m|h|d|w|mo)\s*$")]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class LiteLLMParams(_Section):
    """``model_list[].litellm_params``: where and how to call the upstream model."""

    model: NonEmpty
    custom_llm_provider: NonEmpty | None = None
    api_base: NonEmpty | None = None
    api_key: NonEmpty | None = None
    aws_bedrock_api_key: NonEmpty | None = None
    aws_region_name: NonEmpty | None = None
    aws_bedrock_runtime_endpoint: NonEmpty | None = None
    aws_access_key_id: NonEmpty | None = None
    aws_secret_access_key: NonEmpty | None = None
    aws_session_token: NonEmpty | None = None
    aws_profile_name: NonEmpty | None = None
    timeout: Seconds | None = None
    stream_timeout: Seconds | None = None
    rpm: Annotated[int, Field(ge=0)] | None = None
    tpm: Annotated[int, Field(ge=0)] | None = None
    max_tokens: Annotated[int, Field(gt=0)] | None = None
    input_cost_per_token: Price | None = None
    output_cost_per_token: Price | None = None


class ModelInfoEntry(BaseModel):
    """``model_list[].model_info``. Unknown keys are kept (LiteLLM's custom metadata)."""

    model_config = ConfigDict(extra="allow", frozen=True, hide_input_in_errors=True)

    id: NonEmpty | None = None
    input_cost_per_token: Price | None = None
    output_cost_per_token: Price | None = None
    cache_read_input_token_cost: Price | None = None
    cache_creation_input_token_cost: Price | None = None
    max_tokens: Annotated[int, Field(gt=0)] | None = None
    max_input_tokens: Annotated[int, Field(gt=0)] | None = None
    max_output_tokens: Annotated[int, Field(gt=0)] | None = None
    description: str | None = None
    access_groups: list[NonEmpty] = Field(default_factory=list)


class ModelEntry(_Section):
    """One ``model_list`` entry: a deployment of the public name ``model_name``."""

    model_name: NonEmpty
    litellm_params: LiteLLMParams
    model_info: ModelInfoEntry = Field(default_factory=ModelInfoEntry)


class GeneralSettings(_Section):
    """``general_settings``: LiteLLM's server keys plus Stargate's listeners."""

    master_key: str | None = None
    database_url: NonEmpty | None = None
    host: NonEmpty | None = None
    port: Port | None = None
    admin_host: NonEmpty | None = None
    admin_port: Port | None = None
    redis_url: NonEmpty | None = None
    redis_failure_policy: Literal["closed", "open"] | None = None
    counter_allotments: bool | None = None
    budget_timezone: NonEmpty | None = None
    reservation_lease_seconds: Annotated[int, Field(ge=1, le=86_400)] | None = None
    # The spend ledger (stargate.telemetry.ledger_settings reads these).
    store_prompts_in_spend_logs: bool | None = None
    allow_requests_on_db_unavailable: bool | None = None
    maximum_spend_logs_retention_period: RetentionPeriod | None = None
    spend_logs_journal_dir: NonEmpty | None = None
    spend_logs_max_pending: Annotated[int, Field(ge=0)] | None = None


class LiteLLMSettings(_Section):
    """``litellm_settings``: module-level behaviour."""

    drop_params: bool = False
    timezone: NonEmpty | None = None
    # Observability (docs/observability.md): callback names, message content in traces, /metrics.
    callbacks: list[NonEmpty] = Field(default_factory=list)
    success_callback: list[NonEmpty] = Field(default_factory=list)
    failure_callback: list[NonEmpty] = Field(default_factory=list)
    turn_off_message_logging: bool | None = None
    require_auth_for_metrics_endpoint: bool = False
    prometheus_drop_high_cardinality_labels: bool = False


class AliasTarget(_Section):
    """LiteLLM's long form of an alias: ``{model: NAME, hidden: true}``."""

    model: NonEmpty
    hidden: bool = False


class RouterSettings(_Section):
    """``router_settings``: ``model_group_alias`` and the cooldowns (``allowed_fails``,
    ``cooldown_time``, ``disable_cooldowns``) are implemented; LiteLLM's other router keys are
    warned about and kept raw in :attr:`GatewayConfig.router_settings`."""

    model_group_alias: dict[NonEmpty, NonEmpty | AliasTarget] = Field(default_factory=dict)
    allowed_fails: int = Field(default=3, ge=0)
    cooldown_time: float = Field(default=5.0, ge=0)
    disable_cooldowns: bool = False


EnvValue = str | int | bool | Decimal | None


class ConfigFile(_Section):
    """The whole file, after ``include:`` was merged and unimplemented LiteLLM keys were taken
    out."""

    model_list: list[ModelEntry] = Field(default_factory=list)
    general_settings: GeneralSettings = Field(default_factory=GeneralSettings)
    litellm_settings: LiteLLMSettings = Field(default_factory=LiteLLMSettings)
    router_settings: RouterSettings = Field(default_factory=RouterSettings)
    environment_variables: dict[str, EnvValue] = Field(default_factory=dict)
