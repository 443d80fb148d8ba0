"""Sort every key of a parsed config into implemented, LiteLLM-only, or unknown.

* A key Stargate implements stays, for the schema to validate.
* A key LiteLLM knows but Stargate does not implement (:mod:`stargate.config.litellm_keys`) is
  taken out, with a warning naming it, so a LiteLLM config loads as it is.
* Any other key is an error with a did-you-mean, because it is most likely a typo that would
  otherwise be silently ignored.

``model_info`` is the exception LiteLLM documents: it holds custom metadata, so an unknown key
there is kept, unless it is one edit away from a key with a meaning (``input_cost_per_tokens``),
which is an error.

Values of the wrong kind (a list where a mapping belongs) are left for the schema, which reports
them with their path.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from stargate.config import litellm_keys as litellm
from stargate.config.location import Loc, Locator
from stargate.config.schema import (
    ConfigFile,
    GeneralSettings,
    LiteLLMParams,
    LiteLLMSettings,
    ModelEntry,
    ModelInfoEntry,
    RouterSettings,
)

__all__ = ["Screened", "screen", "screen_model_entry"]

_NOT_IMPLEMENTED = "LiteLLM setting not implemented by Stargate; ignored"
_SECTIONS: dict[str, tuple[type[BaseModel], frozenset[str]]] = {
    "general_settings": (GeneralSettings, litellm.LITELLM_GENERAL_SETTINGS),
    "litellm_settings": (LiteLLMSettings, litellm.LITELLM_LITELLM_SETTINGS),
    "router_settings": (RouterSettings, litellm.LITELLM_ROUTER_SETTINGS),
}
_MODEL_INFO_KNOWN = (
    frozenset(ModelInfoEntry.model_fields)
    | litellm.LITELLM_MODEL_INFO_METADATA
    | litellm.LITELLM_MODEL_INFO_UNIMPLEMENTED
)


@dataclass(slots=True)
class Screened:
    """The config with only implemented keys left, and one warning per ignored key."""

    data: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def screen(data: dict[str, Any], locator: Locator) -> Screened:
    """Sort the keys of a whole config file (top level already known to be a mapping)."""
    out = Screened({})
    out.data = _keep(data, (), ConfigFile, litellm.LITELLM_TOP_LEVEL, locator, out)
    for name, (model, known) in _SECTIONS.items():
        section = out.data.get(name)
        if section is None:
            out.data.pop(name, None)
        elif isinstance(section, dict):
            out.data[name] = _keep(section, (name,), model, known, locator, out)
    model_list = out.data.get("model_list")
    if model_list is None:
        out.data.pop("model_list", None)
    elif isinstance(model_list, list):
        out.data["model_list"] = [
            _model_entry(entry, ("model_list", index), locator, out)
            if isinstance(entry, dict)
            else entry
            for index, entry in enumerate(model_list)
        ]
    if out.data.get("environment_variables", {}) is None:
        out.data.pop("environment_variables")
    return out


def screen_model_entry(entry: dict[str, Any], loc: Loc, locator: Locator) -> Screened:
    """Sort the keys of one ``model_list`` entry on its own (``loc`` is where it sits)."""
    out = Screened({})
    out.data = _model_entry(entry, loc, locator, out)
    return out


def _model_entry(
    entry: dict[str, Any], loc: Loc, locator: Locator, out: Screened
) -> dict[str, Any]:
    kept = _keep(entry, loc, ModelEntry, litellm.LITELLM_MODEL_ENTRY, locator, out)
    params = kept.get("litellm_params")
    if isinstance(params, dict):
        kept["litellm_params"] = _keep(
            params,
            (*loc, "litellm_params"),
            LiteLLMParams,
            litellm.LITELLM_LITELLM_PARAMS,
            locator,
            out,
        )
    info = kept.get("model_info")
    if info is None:
        kept.pop("model_info", None)
    elif isinstance(info, dict):
        _check_model_info(info, (*loc, "model_info"), locator, out)
    return kept


def _keep(
    mapping: dict[str, Any],
    loc: Loc,
    model: type[BaseModel],
    known: frozenset[str],
    locator: Locator,
    out: Screened,
) -> dict[str, Any]:
    implemented = frozenset(model.model_fields)
    kept: dict[str, Any] = {}
    for key, value in mapping.items():
        if key in implemented:
            kept[key] = value
        elif key in known:
            out.warnings.append(locator.warning((*loc, key), _NOT_IMPLEMENTED))
        else:
            raise locator.error((*loc, key), _unknown(key, implemented | known, implemented))
    return kept


def _check_model_info(info: dict[str, Any], loc: Loc, locator: Locator, out: Screened) -> None:
    for key in info:
        if key in litellm.LITELLM_MODEL_INFO_UNIMPLEMENTED:
            out.warnings.append(
                locator.warning(
                    (*loc, key), "LiteLLM price not applied by Stargate; kept as metadata"
                )
            )
        elif key not in _MODEL_INFO_KNOWN:
            close = difflib.get_close_matches(key, sorted(_MODEL_INFO_KNOWN), n=1, cutoff=0.85)
            if close:
                raise locator.error((*loc, key), f"unknown key {key!r}; did you mean {close[0]!r}?")


def _unknown(key: str, candidates: Iterable[str], listed: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, sorted(candidates), n=1, cutoff=0.6)
    if close:
        return f"unknown key {key!r}; did you mean {close[0]!r}?"
    names = ", ".join(sorted(listed)) or "none"
    return (
        f"unknown key {key!r}: neither Stargate nor LiteLLM knows it "
        f"(keys Stargate reads here: {names})"
    )
