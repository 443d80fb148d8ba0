"""Which model a Bedrock deployment serves, as far as its configuration can tell.

* ``claude_name``: the Anthropic model name (``claude-haiku-4-5-20251001-v1:0``) of a Claude
  deployment, from its id (base id, profile id or ARN); for an opaque ARN, from
  ``model_info.base_model`` when that names a Claude base id.
* ``family``: the row of the Claude feature table (:mod:`.claude_features`) for a Claude
  deployment; also, the conservative row for an opaque ARN pinned to ``bedrock/invoke/``, which
  declares it Claude. ``None`` for every other model.
* ``native_messages``: the deployment takes the Anthropic Messages dialect through InvokeModel:
  a Claude family, unless the deployment is pinned to ``bedrock/converse/``.
* ``count_model_id``: the base id CountTokens takes, or ``None`` when none can be derived.

``bedrock/invoke/`` with a model that is known not to be Claude is a :class:`ConfigError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from stargate.config.deployment import Deployment
from stargate.errors import ConfigError
from stargate.providers.bedrock.claude_features import ClaudeFamily, ClaudeFeatures
from stargate.providers.bedrock.model_ids import base_model_id, claude_model_name, is_opaque_arn

__all__ = ["ModelIdentity", "identify_model"]

_ROUTE_PREFIXES = ("bedrock/converse/", "bedrock/invoke/", "bedrock/")


@dataclass(slots=True, frozen=True)
class ModelIdentity:
    claude_name: str | None
    family: ClaudeFamily | None
    native_messages: bool
    count_model_id: str | None


def identify_model(deployment: Deployment, features: Callable[[], ClaudeFeatures]) -> ModelIdentity:
    """``features`` is called only for a Claude deployment (the table is read lazily)."""
    model = deployment.model
    opaque = is_opaque_arn(model)
    declared = _declared_base_model(deployment) if opaque else None
    claude_name = claude_model_name(model) or (claude_model_name(declared) if declared else None)
    if deployment.api == "invoke" and claude_name is None and not opaque:
        raise ConfigError(
            f"bedrock/invoke/ takes Claude models only, and {model!r} is not a Claude model id; "
            "use bedrock/ or bedrock/converse/ for it",
            source=f"deployment {deployment.id}",
        )
    family: ClaudeFamily | None = None
    if claude_name is not None or deployment.api == "invoke":
        family = features().family(claude_name)
    return ModelIdentity(
        claude_name=claude_name,
        family=family,
        native_messages=family is not None and deployment.api != "converse",
        count_model_id=base_model_id(declared or model),
    )


def _declared_base_model(deployment: Deployment) -> str | None:
    """``model_info.base_model`` (LiteLLM's key), less any ``bedrock/`` route prefix."""
    value = deployment.info.extra.get("base_model")
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    for prefix in _ROUTE_PREFIXES:
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value
