"""Anthropic ``messages`` -> canonical alternating user/assistant messages.

* ``role: "system"`` messages (Claude Code sends one after the first user turn, with the beta
  ``mid-conversation-system-2026-04-07``) are appended to the request's system text, in order:
  the canonical request has no mid-conversation system turn, and models other than Claude have
  no such thing either.
* Empty text is dropped, a message left without content is dropped, and consecutive messages
  of the same role are merged into one (Anthropic merges them too; Bedrock requires strict
  alternation).
"""

from __future__ import annotations

from stargate.core import ContentPart, Message, Role, TextPart
from stargate.translate.anthropic_content import parse_blocks, parse_text_blocks
from stargate.translate.openai_fields import expect_list, expect_object, invalid, json_type

__all__ = ["parse_messages"]


def parse_messages(value: object) -> tuple[list[TextPart], list[Message]]:
    """Return ``(system texts from system-role messages, messages)``."""
    if value is None:
        raise invalid("messages", "this field is required: a non-empty array of messages.")
    items = expect_list(value, "messages")
    if not items:
        raise invalid("messages", "must contain at least one message.")
    system: list[TextPart] = []
    messages: list[Message] = []
    for index, raw in enumerate(items):
        path = f"messages.{index}"
        message = expect_object(raw, path)
        content = message.get("content")
        if content is None:
            raise invalid(f"{path}.content", "this field is required.")
        match message.get("role"):
            case "system":
                system.extend(parse_text_blocks(content, f"{path}.content"))
            case "user":
                _append(messages, "user", parse_blocks(content, f"{path}.content", "user"))
            case "assistant":
                _append(
                    messages, "assistant", parse_blocks(content, f"{path}.content", "assistant")
                )
            case other:
                shown = repr(other) if isinstance(other, str) else json_type(other)
                raise invalid(
                    f"{path}.role", f"expected 'user', 'assistant' or 'system', got {shown}."
                )
    if not messages:
        raise invalid("messages", "must contain at least one user or assistant message.")
    return system, messages


def _append(messages: list[Message], role: Role, parts: list[ContentPart]) -> None:
    if not parts:
        return
    if messages and messages[-1].role == role:
        messages[-1].content.extend(parts)
    else:
        messages.append(Message(role=role, content=parts))
