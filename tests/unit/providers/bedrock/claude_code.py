"""A realistic Claude Code request (reference/clients.md §1.4): the body of a second model turn
after a Read tool call, with everything Claude Code puts in it, and its eight betas."""

from __future__ import annotations

import json
from typing import Any

BETAS = (
    "claude-code-20250219,context-1m-2025-08-07,interleaved-thinking-2025-05-14,"
    "thinking-token-count-2026-05-13,context-management-2025-06-27,"
    "prompt-caching-scope-2026-01-05,mid-conversation-system-2026-04-07,effort-2025-11-24"
)
BETA_LIST = BETAS.split(",")

USER_ID = json.dumps(
    {
        "device_id": "ab" * 32,
        "account_uuid": "",
        "session_id": "3f1c2d9e-8a7b-4c6d-9e0f-1a2b3c4d5e6f",
    },
    separators=(",", ":"),
)

SYSTEM = [
    {
        "type": "text",
        "text": "x-anthropic-billing-header: cc_version=2.1.197.a1b; cc_entrypoint=sdk-cli;",
    },
    {
        "type": "text",
        "text": "You are a Claude agent, built on Anthropic's Claude Agent SDK.",
        "cache_control": {"type": "ephemeral"},
    },
    {
        "type": "text",
        "text": "You are an interactive agent that helps users with software engineering tasks. "
        * 60,
        "cache_control": {"type": "ephemeral", "ttl": "1h"},
    },
]

READ = {
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
BASH = {
    "name": "Bash",
    "description": "Executes a given bash command and returns its output.",
    "input_schema": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "command": {"type": "string"},
            "timeout": {"type": "number", "maximum": 600000},
        },
        "required": ["command"],
        "additionalProperties": False,
    },
}

FIRST_USER_TURN = {
    "role": "user",
    "content": [
        {
            "type": "text",
            "text": "<system-reminder>\nAs you answer the user's questions, you can use the "
            "following context:\n# currentDate\nToday's date is 2026-11-22.\n</system-reminder>\n",
        },
        {
            "type": "text",
            "text": "Read notes.txt and tell me what it says.",
            "cache_control": {"type": "ephemeral", "ttl": "1h"},
        },
    ],
}
SYSTEM_MESSAGE = {
    "role": "system",
    "content": "Available agents: general-purpose, Explore, Plan. Available skills: none.",
}
ASSISTANT_TOOL_TURN = {
    "role": "assistant",
    "content": [
        {"type": "thinking", "thinking": "I should read the file.", "signature": "EqQBCkYIBxgC"},
        {"type": "text", "text": "I'll read the file."},
        {
            "type": "tool_use",
            "id": "toolu_bdrk_01",
            "name": "Read",
            "input": {"file_path": "/work/notes.txt"},
        },
    ],
}
TOOL_RESULT_TURN = {
    "role": "user",
    "content": [
        {
            "type": "tool_result",
            "tool_use_id": "toolu_bdrk_01",
            "content": "1\tremember the milk\n2\t",
            "cache_control": {"type": "ephemeral"},
        }
    ],
}


def claude_code_body(
    model: str = "claude-opus-4-8", *, stream: bool = True, history: bool = True
) -> dict[str, Any]:
    """With ``history``, the second turn (system message, assistant tool call, tool result);
    without it, the first turn only (user turn and the system message)."""
    messages: list[dict[str, Any]] = [FIRST_USER_TURN, SYSTEM_MESSAGE]
    if history:
        messages += [ASSISTANT_TOOL_TURN, TOOL_RESULT_TURN]
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "system": SYSTEM,
        "tools": [BASH, READ],
        "metadata": {"user_id": USER_ID},
        "max_tokens": 64000,
        "thinking": {"type": "adaptive"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "high"},
    }
    if stream:
        body["stream"] = True
    return body
