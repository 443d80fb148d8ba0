"""What each Claude model accepts in an InvokeModel body on Bedrock: one data table.

Bedrock checks an Anthropic Messages body against the model it names. Per model family:

- **betas** accepted in ``anthropic_beta`` (anything else is 400 "invalid beta flag: <value>"):
  every Claude 4.x takes :data:`CLAUDE_4_BETAS`; Sonnet 4, 4.5 and 4.6 add
  ``context-1m-2025-08-07``; Opus 4.5, Opus 4.6 and Sonnet 4.6 add ``effort-2025-11-24``;
  Claude 3.x takes none. :data:`NEVER_ACCEPTED_BETAS` are betas Claude Code sends that Bedrock
  never accepts (a gateway must drop them);
- **cache TTL**: ``cache_control.ttl`` (``"5m"``/``"1h"``) only on the 4.5 family and newer;
- **thinking**: ``{"type": "adaptive"}`` only on Opus 4.6 and Sonnet 4.6 (elsewhere 400 "adaptive
  thinking is not supported on this model", Claude Code's own degrade text); Claude 3.x has no
  extended thinking at all (the emulator answers 400 "extended thinking is not supported on this
  model" for ``enabled`` there: the model it commits to, as the public record is silent).

``model_name`` is the Anthropic model name a reply body carries in ``model``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "BETA_CONTEXT_1M",
    "BETA_CONTEXT_MANAGEMENT",
    "BETA_EFFORT",
    "BETA_FINE_GRAINED_TOOL_STREAMING",
    "BETA_INTERLEAVED_THINKING",
    "BETA_TOKEN_EFFICIENT_TOOLS",
    "CLAUDE_4_BETAS",
    "CLAUDE_RULES",
    "NEVER_ACCEPTED_BETAS",
    "ClaudeRules",
    "claude_rules",
]

BETA_INTERLEAVED_THINKING = "interleaved-thinking-2025-05-14"
BETA_CONTEXT_MANAGEMENT = "context-management-2025-06-27"
BETA_TOKEN_EFFICIENT_TOOLS = "token-efficient-tools-2025-02-19"
BETA_FINE_GRAINED_TOOL_STREAMING = "fine-grained-tool-streaming-2025-05-14"
BETA_CONTEXT_1M = "context-1m-2025-08-07"
BETA_EFFORT = "effort-2025-11-24"

CLAUDE_4_BETAS = frozenset(
    {
        BETA_INTERLEAVED_THINKING,
        BETA_CONTEXT_MANAGEMENT,
        BETA_TOKEN_EFFICIENT_TOOLS,
        BETA_FINE_GRAINED_TOOL_STREAMING,
    }
)
"""The betas every Claude 4.x model accepts on Bedrock."""

NEVER_ACCEPTED_BETAS = frozenset(
    {
        "claude-code-20250219",
        "prompt-caching-scope-2026-01-05",
        "mid-conversation-system-2026-04-07",
        "thinking-token-count-2026-05-13",
        "redact-thinking-2026-02-12",
        "structured-outputs-2025-12-15",
        "fallback-credit-2026-06-01",
        "token-counting-2024-11-01",
        "oauth-2025-04-20",
    }
)
"""Betas first-party clients send that Bedrock rejects on every model."""


@dataclass(slots=True, frozen=True)
class ClaudeRules:
    """What one Claude model accepts in an InvokeModel body."""

    family: str
    model_name: str
    betas: frozenset[str]
    cache_ttl: bool
    extended_thinking: bool
    adaptive_thinking: bool


def _rules(
    family: str,
    model_name: str,
    betas: frozenset[str],
    *,
    cache_ttl: bool,
    extended_thinking: bool = True,
    adaptive_thinking: bool = False,
) -> ClaudeRules:
    return ClaudeRules(family, model_name, betas, cache_ttl, extended_thinking, adaptive_thinking)


_SONNET_BETAS = CLAUDE_4_BETAS | {BETA_CONTEXT_1M}
_EFFORT_BETAS = CLAUDE_4_BETAS | {BETA_EFFORT}

CLAUDE_RULES: Mapping[str, ClaudeRules] = MappingProxyType(
    {
        "anthropic.claude-haiku-4-5-20251001-v1:0": _rules(
            "haiku-4-5", "claude-haiku-4-5-20251001", CLAUDE_4_BETAS, cache_ttl=True
        ),
        "anthropic.claude-sonnet-4-20250514-v1:0": _rules(
            "sonnet-4", "claude-sonnet-4-20250514", _SONNET_BETAS, cache_ttl=False
        ),
        "anthropic.claude-sonnet-4-5-20250929-v1:0": _rules(
            "sonnet-4-5", "claude-sonnet-4-5-20250929", _SONNET_BETAS, cache_ttl=True
        ),
        "anthropic.claude-opus-4-1-20250805-v1:0": _rules(
            "opus-4-1", "claude-opus-4-1-20250805", CLAUDE_4_BETAS, cache_ttl=False
        ),
        "anthropic.claude-opus-4-5-20251101-v1:0": _rules(
            "opus-4-5", "claude-opus-4-5-20251101", _EFFORT_BETAS, cache_ttl=True
        ),
        "anthropic.claude-sonnet-4-6": _rules(
            "sonnet-4-6",
            "claude-sonnet-4-6",
            _SONNET_BETAS | {BETA_EFFORT},
            cache_ttl=True,
            adaptive_thinking=True,
        ),
        "anthropic.claude-opus-4-6-v1": _rules(
            "opus-4-6", "claude-opus-4-6", _EFFORT_BETAS, cache_ttl=True, adaptive_thinking=True
        ),
        "anthropic.claude-3-5-haiku-20241022-v1:0": _rules(
            "3-5-haiku",
            "claude-3-5-haiku-20241022",
            frozenset(),
            cache_ttl=False,
            extended_thinking=False,
        ),
        "anthropic.claude-3-haiku-20240307-v1:0": _rules(
            "3-haiku",
            "claude-3-haiku-20240307",
            frozenset(),
            cache_ttl=False,
            extended_thinking=False,
        ),
    }
)
"""Every Claude model the emulator serves InvokeModel for, by base model id."""


def claude_rules(base_model_id: str) -> ClaudeRules | None:
    """The rules for a Claude base model id, or ``None`` for any other model."""
    return CLAUDE_RULES.get(base_model_id)
