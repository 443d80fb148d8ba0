"""A Claude Code 2.1.x first-turn request, shaped as clients.md §1.4 records it."""

from __future__ import annotations

import json
from typing import Any

BETAS = (
    "claude-code-20250219,context-1m-2025-08-07,interleaved-thinking-2025-05-14,"
    "thinking-token-count-2026-05-13,context-management-2025-06-27,"
    "prompt-caching-scope-2026-01-05,mid-conversation-system-2026-04-07,effort-2025-11-24"
)

HEADERS = {
    "anthropic-beta": BETAS,
    "anthropic-version": "2023-06-01",
    "anthropic-dangerous-direct-browser-access": "true",
    "x-app": "cli",
    "User-Agent": "claude-cli/2.1.197 (external, sdk-cli)",
    "X-Stainless-Retry-Count": "0",
    "X-Stainless-Timeout": "600",
}

READ_TOOL = {
    "name": "Read",
    "description": "Reads a file from the local filesystem.",
    "input_schema": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "file_path": {"type": "string", "description": "The absolute path to the file"},
            "offset": {"type": "integer", "exclusiveMinimum": 0, "maximum": 9007199254740991},
            "limit": {"type": "integer", "exclusiveMinimum": 0, "maximum": 9007199254740991},
        },
        "required": ["file_path"],
        "additionalProperties": False,
    },
}


def claude_code_body(model: str = "claude-opus-4-8", *, stream: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "<system-reminder>\nAs you answer the user's questions, you can "
                        "use the following context:\n# currentDate\nToday's date is "
                        "2026-11-22.\n</system-reminder>\n",
                    },
                    {
                        "type": "text",
                        "text": "say hello",
                        "cache_control": {"type": "ephemeral", "ttl": "1h"},
                    },
                ],
            },
            {"role": "system", "content": "The following agents are available: general-purpose."},
        ],
        "system": [
            {
                "type": "text",
                "text": "x-anthropic-billing-header: cc_version=2.1.197.abc; "
                "cc_entrypoint=sdk-cli;",
            },
            {
                "type": "text",
                "text": "You are a Claude agent, built on Anthropic's Claude Agent SDK.",
                "cache_control": {"type": "ephemeral"},
            },
            {
                "type": "text",
                "text": "You are an interactive agent that helps users with software "
                "engineering tasks. " * 40,
                "cache_control": {"type": "ephemeral"},
            },
        ],
        "tools": [READ_TOOL],
        "metadata": {
            "user_id": json.dumps(
                {"device_id": "ab" * 32, "account_uuid": "", "session_id": "0b0c"}
            )
        },
        "max_tokens": 64000,
        "thinking": {"type": "adaptive"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "high"},
    }
    if stream:
        body["stream"] = True
    return body
