"""An Anthropic Messages body -> the body Bedrock's InvokeModel takes for Claude (pure).

The caller's body travels almost untouched (thinking, ``cache_control``, tools, betas keep full
fidelity); only what Bedrock would refuse is changed, and each change is recorded so the API
layer can report it (:class:`InvokeBody`):

* ``anthropic_version: "bedrock-2023-05-31"`` is set (Bedrock requires exactly that value).
* ``model`` and ``stream`` are removed (the model travels in the URL, streaming is chosen by the
  operation), without being reported. ``metadata``, ``service_tier`` and every other top-level
  key Bedrock does not accept are removed and reported in ``dropped``.
* ``anthropic_beta`` is the caller's betas (``anthropic-beta`` header values, comma-separated,
  possibly several headers, then any already in the body), de-duplicated, less those the model
  family does not accept (reported in ``dropped_betas``). Bedrock answers an unknown beta with a
  400, and Claude Code treats such a 400 as fatal, so a beta is never a reason to fail.
* ``context_management`` is kept only with its beta, ``output_config`` only with the effort
  beta, and then only its ``effort`` member: ``output_config.format`` (structured output) is
  always dropped, because InvokeModel has no structured output.
* ``role: "system"`` messages (not accepted by Bedrock) become text wrapped in
  ``<system-reminder>...</system-reminder>`` inside the neighbouring user turn, which is what
  Claude Code itself does when a server refuses them: appended to the user turn just before, or
  else put at the start of the next user turn (after its ``tool_result`` blocks, which must come
  first), or else in a user turn of its own, so user and assistant turns still alternate.
* ``cache_control.ttl`` is removed where the family does not accept it (the ephemeral
  breakpoint itself stays).
* ``thinking`` on a family that cannot think (Claude 3.x) is removed (reported unless it was
  ``disabled``).
* ``thinking: {"type": "adaptive"}`` on a family without adaptive thinking becomes
  ``{"type": "enabled", "budget_tokens": B}``, B = ``max_tokens // 2`` clamped to
  [1024, ``max_tokens`` - 1]; with ``max_tokens`` <= 1024 there is no room and ``thinking`` is
  dropped.

The caller's body is never modified (the pipeline may retry it on another deployment).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stargate.providers.bedrock.claude_features import (
    CONTEXT_MANAGEMENT_BETA,
    EFFORT_BETA,
    ClaudeFamily,
)

__all__ = [
    "ANTHROPIC_VERSION",
    "MIN_THINKING_BUDGET",
    "InvokeBody",
    "parse_betas",
    "prepare_invoke_body",
    "thinking_budget",
]

ANTHROPIC_VERSION = "bedrock-2023-05-31"
MIN_THINKING_BUDGET = 1024

Json = dict[str, Any]

# Top-level keys Bedrock accepts as they are; the conditional ones are handled one by one.
_PASSED = frozenset(
    {
        "max_tokens",
        "messages",
        "system",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
        "tools",
        "tool_choice",
        "thinking",
    }
)
_UNREPORTED = frozenset({"model", "stream", "anthropic_version", "anthropic_beta"})


@dataclass(slots=True)
class InvokeBody:
    """The body to send, and what was changed on the way.

    ``dropped``: field paths removed (``metadata``, ``output_config.format``, ...);
    ``dropped_betas``: betas the model family does not accept; ``translated``: human-readable
    notes of what was rewritten rather than removed."""

    body: Json
    betas: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    dropped_betas: list[str] = field(default_factory=list)
    translated: list[str] = field(default_factory=list)


def parse_betas(values: Iterable[object]) -> list[str]:
    """Beta names from header values (each possibly comma-separated), in order, de-duplicated."""
    betas: list[str] = []
    for value in values:
        if not isinstance(value, str):
            continue
        for item in value.split(","):
            name = item.strip()
            if name and name not in betas:
                betas.append(name)
    return betas


def thinking_budget(max_tokens: int) -> int | None:
    """The budget that stands in for adaptive thinking, or ``None`` when there is no room."""
    if max_tokens <= MIN_THINKING_BUDGET:
        return None
    return max(MIN_THINKING_BUDGET, min(max_tokens // 2, max_tokens - 1))


def prepare_invoke_body(
    body: Mapping[str, Any], betas: Sequence[str], family: ClaudeFamily
) -> InvokeBody:
    out: Json = {"anthropic_version": ANTHROPIC_VERSION}
    result = InvokeBody(out)
    requested = parse_betas([*betas, *_body_betas(body.get("anthropic_beta"))])
    result.betas = [beta for beta in requested if beta in family.betas]
    result.dropped_betas = [beta for beta in requested if beta not in family.betas]
    if result.betas:
        out["anthropic_beta"] = list(result.betas)
    context_management = CONTEXT_MANAGEMENT_BETA in result.betas
    for key, value in body.items():
        if key in _PASSED or (key == "context_management" and context_management):
            out[key] = value
        elif key == "output_config":
            _output_config(value, EFFORT_BETA in result.betas, out, result.dropped)
        elif key not in _UNREPORTED:
            result.dropped.append(key)
    if "messages" in out:
        out["messages"] = _messages(out["messages"], result.translated)
    if not family.cache_ttl and _strip_ttl_everywhere(out):
        result.dropped.append("cache_control.ttl")
    _adapt_thinking(out, result, family)
    return result


def _body_betas(value: object) -> list[object]:
    if isinstance(value, str):
        return [value]
    return list(value) if isinstance(value, list) else []


def _output_config(value: object, effort_kept: bool, out: Json, dropped: list[str]) -> None:
    if not isinstance(value, dict):
        dropped.append("output_config")
        return
    kept: Json = {}
    for name, member in value.items():
        if name == "effort" and effort_kept:
            kept[name] = member
        else:
            dropped.append(f"output_config.{name}")
    if kept:
        out["output_config"] = kept


def _adapt_thinking(out: Json, result: InvokeBody, family: ClaudeFamily) -> None:
    if "thinking" not in out:
        return
    thinking = out["thinking"]
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if not family.extended_thinking:
        del out["thinking"]
        if kind != "disabled":
            result.dropped.append("thinking")
        return
    if kind != "adaptive" or family.adaptive_thinking:
        return
    max_tokens = out.get("max_tokens")
    budget = thinking_budget(max_tokens) if isinstance(max_tokens, int) else None
    if budget is None:
        del out["thinking"]
        result.dropped.append("thinking")
        return
    out["thinking"] = {"type": "enabled", "budget_tokens": budget}
    result.translated.append(f"thinking: adaptive -> enabled with budget_tokens {budget}")


# --- role: system messages --------------------------------------------------------------------


def _messages(value: object, translated: list[str]) -> object:
    if not isinstance(value, list) or not any(_role(m) == "system" for m in value):
        return value
    out: list[Any] = []
    pending: list[Json] = []
    for index, message in enumerate(value):
        role = _role(message)
        if role == "system":
            translated.append(f"messages.{index}: role system -> <system-reminder> in a user turn")
            reminder = _reminder(message)
            if out and _role(out[-1]) == "user" and not pending:
                out[-1] = _with_blocks(out[-1], [reminder], at_start=False)
            else:
                pending.append(reminder)
            continue
        if pending:
            if role == "user":
                message = _with_blocks(message, pending, at_start=True)
            else:
                out.append({"role": "user", "content": pending})
            pending = []
        out.append(message)
    if pending:
        out.append({"role": "user", "content": pending})
    return out


def _role(message: object) -> object:
    return message.get("role") if isinstance(message, dict) else None


def _reminder(message: Json) -> Json:
    content = message.get("content")
    cache: object = None
    if isinstance(content, str):
        text = content
    else:
        texts: list[str] = []
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                texts.append(block["text"])
                cache = block.get("cache_control", cache)
        text = "\n".join(texts)
    reminder: Json = {"type": "text", "text": f"<system-reminder>\n{text}\n</system-reminder>"}
    if cache is not None:
        reminder["cache_control"] = cache
    return reminder


def _with_blocks(message: Json, blocks: list[Json], *, at_start: bool) -> Json:
    content = message.get("content")
    if isinstance(content, str):
        existing: list[Any] = [{"type": "text", "text": content}] if content else []
    elif isinstance(content, list):
        existing = list(content)
    else:
        existing = []
    if not at_start:
        return {**message, "content": [*existing, *blocks]}
    first = 0
    while first < len(existing) and _block_type(existing[first]) == "tool_result":
        first += 1
    return {**message, "content": [*existing[:first], *blocks, *existing[first:]]}


def _block_type(block: object) -> object:
    return block.get("type") if isinstance(block, dict) else None


# --- cache_control.ttl ------------------------------------------------------------------------


def _strip_ttl_everywhere(out: Json) -> bool:
    changed = False
    for key in ("system", "tools"):
        blocks = out.get(key)
        if isinstance(blocks, list):
            stripped = _strip_ttl_list(blocks)
            if stripped is not None:
                out[key] = stripped
                changed = True
    messages = out.get("messages")
    if isinstance(messages, list):
        new_messages: list[Any] = []
        messages_changed = False
        for message in messages:
            content = message.get("content") if isinstance(message, dict) else None
            stripped = _strip_ttl_list(content) if isinstance(content, list) else None
            if stripped is not None:
                message = {**message, "content": stripped}
                messages_changed = True
            new_messages.append(message)
        if messages_changed:
            out["messages"] = new_messages
            changed = True
    return changed


def _strip_ttl_list(blocks: list[Any]) -> list[Any] | None:
    """A copy of ``blocks`` without any ``cache_control.ttl``, or ``None`` when none had one."""
    result: list[Any] | None = None
    for index, block in enumerate(blocks):
        stripped = _strip_ttl_block(block)
        if stripped is not None:
            if result is None:
                result = list(blocks)
            result[index] = stripped
    return result


def _strip_ttl_block(block: object) -> Json | None:
    if not isinstance(block, dict):
        return None
    new: Json | None = None
    cache = block.get("cache_control")
    if isinstance(cache, dict) and "ttl" in cache:
        new = {**block, "cache_control": {k: v for k, v in cache.items() if k != "ttl"}}
    content = block.get("content")  # a tool_result's own blocks
    if isinstance(content, list) and (inner := _strip_ttl_list(content)) is not None:
        new = {**(new or block), "content": inner}
    return new
