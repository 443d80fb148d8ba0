"""What a Bedrock model id says about the model behind it.

A deployment names its model as a base id (``anthropic.claude-haiku-4-5-20251001-v1:0``), a
system inference profile (a geography prefix and the base id: ``us.``, ``eu.``, ``apac.``,
``jp.``, ``au.``, ``us-gov.``, ``global.``), or an ARN: of a foundation model
(``arn:aws:bedrock:{region}::foundation-model/{base id}``), of a system inference profile
(``...:inference-profile/{profile id}``), or of something opaque (an application inference
profile, a provisioned, custom or imported model), whose id tells nothing of the model.

:func:`base_model_id` recovers the base id where the id holds one (CountTokens takes base ids
only); :func:`claude_model_name` gives the Anthropic model name of a Claude id
(``claude-haiku-4-5-20251001-v1:0``).
"""

from __future__ import annotations

__all__ = [
    "GEO_PREFIXES",
    "OPAQUE_ARN_KINDS",
    "base_model_id",
    "claude_model_name",
    "is_opaque_arn",
]

GEO_PREFIXES = frozenset({"us", "eu", "apac", "jp", "au", "us-gov", "global"})
OPAQUE_ARN_KINDS = frozenset(
    {
        "application-inference-profile",
        "provisioned-model",
        "custom-model-deployment",
        "custom-model",
        "imported-model",
    }
)
_CLAUDE_PREFIX = "anthropic."


def _arn_resource(model_id: str) -> tuple[str, str] | None:
    """``(kind, resource)`` of a Bedrock ARN (``arn:aws:bedrock:r:acct:kind/resource``)."""
    fields = model_id.split(":", 5)
    if len(fields) < 6 or fields[0] != "arn" or fields[2] != "bedrock":
        return None
    kind, slash, resource = fields[5].partition("/")
    if not slash or not kind or not resource:
        return None
    return kind, resource


def _strip_geo(model_id: str) -> str:
    geo, dot, rest = model_id.partition(".")
    return rest if dot and geo in GEO_PREFIXES and rest else model_id


def base_model_id(model_id: str) -> str | None:
    """The base foundation-model id inside ``model_id``, or ``None`` for an id that holds none
    (an opaque or malformed ARN)."""
    if model_id.startswith("arn:"):
        parsed = _arn_resource(model_id)
        if parsed is None:
            return None
        kind, resource = parsed
        match kind:
            case "foundation-model":
                return resource
            case "inference-profile":
                return _strip_geo(resource)
            case _:
                return None
    return _strip_geo(model_id) or None


def claude_model_name(model_id: str) -> str | None:
    """``claude-...`` for a Claude id (base, profile or ARN); ``None`` for any other model."""
    base = base_model_id(model_id)
    if base is None or not base.startswith(_CLAUDE_PREFIX + "claude"):
        return None
    return base[len(_CLAUDE_PREFIX) :]


def is_opaque_arn(model_id: str) -> bool:
    """An ARN whose id cannot tell which model it serves (application inference profiles,
    provisioned, custom and imported models)."""
    parsed = _arn_resource(model_id) if model_id.startswith("arn:") else None
    return parsed is not None and parsed[0] in OPAQUE_ARN_KINDS
