"""``litellm_params.model`` → provider, API route and upstream model id.

Accepted forms (LiteLLM's):

* ``bedrock/<model id>``: Stargate picks the API (``api="auto"``);
* ``bedrock/converse/<model id>`` and ``bedrock/invoke/<model id>``: a fixed API.

A model id is a base id (``anthropic.claude-3-haiku-20240307-v1:0``), a cross-region inference
profile id (``us.``, ``eu.``, ``apac.``, ``jp.``, ``au.``, ``us-gov.``, ``global.`` + base id) or
an ARN (``arn:aws:bedrock:<region>:<account>:<resource>/<id>``). ARNs contain ``/``; they are
recognised before any route marker is looked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "GEO_PREFIXES",
    "ROUTE_MARKERS",
    "SUPPORTED_PROVIDERS",
    "InvalidModelRef",
    "ModelRef",
    "parse_model_ref",
]

SUPPORTED_PROVIDERS = ("bedrock",)
ROUTE_MARKERS = ("converse", "invoke")
GEO_PREFIXES = ("us", "eu", "apac", "jp", "au", "us-gov", "global")

_MAX_ID = 2048
_BASE_ID = re.compile(r"[a-z0-9][a-z0-9-]*(\.[A-Za-z0-9][A-Za-z0-9_.:-]*)")
_ARN = re.compile(
    r"arn:aws(-[a-z]+)*:bedrock:[a-z0-9-]+:(\d{12})?:"
    r"[a-z][a-z-]*/[A-Za-z0-9][A-Za-z0-9_.:/-]*"
)


class InvalidModelRef(ValueError):
    """``litellm_params.model`` is not a model Stargate can call; the message says why."""


@dataclass(frozen=True, slots=True)
class ModelRef:
    provider: str
    api: str  # "auto", "converse" or "invoke"
    model: str
    # A note about a form that is valid but suspicious (an unknown geography prefix).
    note: str | None = None


def parse_model_ref(text: str, custom_llm_provider: str | None = None) -> ModelRef:
    """Split and check ``litellm_params.model``; raise :class:`InvalidModelRef` with the reason.

    ``custom_llm_provider`` (LiteLLM's alternative to the prefix) names the provider when the
    model string has none.
    """
    text = text.strip()
    provider, rest = _split_provider(text, custom_llm_provider)
    if provider not in SUPPORTED_PROVIDERS:
        supported = ", ".join(SUPPORTED_PROVIDERS)
        raise InvalidModelRef(
            f"provider {provider!r} is not supported (supported providers: {supported})"
        )
    api = "auto"
    if not rest.startswith("arn:"):
        marker, slash, tail = rest.partition("/")
        if slash:
            if marker not in ROUTE_MARKERS:
                markers = ", ".join(f"{m}/" for m in ROUTE_MARKERS)
                raise InvalidModelRef(
                    f"unknown Bedrock route {marker + '/'!r} in {text!r} (supported: {markers})"
                )
            api, rest = marker, tail
    return ModelRef(provider, api, _check_model_id(rest), _note(rest))


def _split_provider(text: str, custom_llm_provider: str | None) -> tuple[str, str]:
    if custom_llm_provider:
        prefix = f"{custom_llm_provider}/"
        return custom_llm_provider, text.removeprefix(prefix)
    provider, slash, rest = text.partition("/")
    if not slash or provider.startswith("arn:"):
        hint = ""
        if _BASE_ID.fullmatch(text) or _ARN.fullmatch(text):
            hint = f"; did you mean 'bedrock/{text}'?"
        raise InvalidModelRef(
            f"{text!r} has no provider prefix: write '<provider>/<model id>'{hint}"
        )
    return provider, rest


def _check_model_id(model: str) -> str:
    if not model:
        raise InvalidModelRef("the model id is empty")
    if len(model) > _MAX_ID:
        raise InvalidModelRef(f"the model id is longer than {_MAX_ID} characters")
    if model.startswith("arn:"):
        if not _ARN.fullmatch(model):
            raise InvalidModelRef(
                f"{model!r} is not a Bedrock ARN "
                "(arn:aws:bedrock:<region>:<account>:<resource type>/<id>)"
            )
        return model
    if not _BASE_ID.fullmatch(model):
        raise InvalidModelRef(
            f"{model!r} is not a Bedrock model id (e.g. anthropic.claude-3-haiku-20240307-v1:0, "
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0, or an ARN)"
        )
    return model


def _note(model: str) -> str | None:
    if model.startswith("arn:"):
        return None
    parts = model.split(":", 1)[0].split(".")
    if len(parts) >= 3 and parts[0] not in GEO_PREFIXES:
        known = ", ".join(f"{p}." for p in GEO_PREFIXES)
        return (
            f"{parts[0] + '.'!r} is not a known cross-region inference profile prefix "
            f"({known}); Bedrock may reject {model!r}"
        )
    return None
