"""OpenTelemetry GenAI semantic conventions: attribute names, and content in their JSON shape.

The names are written out here rather than imported: ``opentelemetry-semantic-conventions``
marks every ``gen_ai.*`` constant deprecated (moved to the GenAI conventions repository), with the
names unchanged. Content (``gen_ai.input.messages`` and friends) is only ever built when a trace
is allowed to carry it (see :class:`~stargate.telemetry.tracing.Tracer`).
"""

from __future__ import annotations

from typing import Any, assert_never

from stargate.core import (
    ChatRequest,
    ChatResponse,
    ContentPart,
    DocumentPart,
    ImagePart,
    Message,
    ReasoningPart,
    TextPart,
    ToolResultPart,
    ToolUsePart,
)

__all__ = [
    "CACHE_CREATION_INPUT_TOKENS",
    "CACHE_READ_INPUT_TOKENS",
    "INPUT_MESSAGES",
    "INPUT_TOKENS",
    "OPERATION_NAME",
    "OUTPUT_MESSAGES",
    "OUTPUT_TOKENS",
    "PROVIDER_NAME",
    "REQUEST_MAX_TOKENS",
    "REQUEST_MODEL",
    "REQUEST_STREAM",
    "REQUEST_TEMPERATURE",
    "REQUEST_TOP_P",
    "RESPONSE_FINISH_REASONS",
    "RESPONSE_ID",
    "RESPONSE_MODEL",
    "SYSTEM",
    "SYSTEM_INSTRUCTIONS",
    "input_messages",
    "output_messages",
    "provider_name",
    "system_instructions",
]

OPERATION_NAME = "gen_ai.operation.name"
PROVIDER_NAME = "gen_ai.provider.name"
SYSTEM = "gen_ai.system"  # the name before semconv 1.37, still read by many backends
REQUEST_MODEL = "gen_ai.request.model"
REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
REQUEST_TEMPERATURE = "gen_ai.request.temperature"
REQUEST_TOP_P = "gen_ai.request.top_p"
REQUEST_STREAM = "gen_ai.request.stream"
RESPONSE_ID = "gen_ai.response.id"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
CACHE_CREATION_INPUT_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"

# Stargate's provider prefixes (``bedrock/...``) → the semconv's well-known provider names; a
# provider not listed here passes through under its own name.
_PROVIDER_NAMES = {"bedrock": "aws.bedrock", "anthropic": "anthropic", "openai": "openai"}


def provider_name(provider: str) -> str:
    return _PROVIDER_NAMES.get(provider, provider)


def _part(part: ContentPart) -> dict[str, Any]:
    match part:
        case TextPart():
            return {"type": "text", "content": part.text}
        case ImagePart():  # the bytes stay out of traces
            return {"type": "blob", "modality": "image", "mime_type": part.media_type}
        case DocumentPart():
            return {"type": "blob", "modality": "document", "name": part.name}
        case ToolUsePart():
            return {"type": "tool_call", "id": part.id, "name": part.name,
                    "arguments": part.input}  # fmt: skip
        case ToolResultPart():
            return {"type": "tool_call_response", "id": part.tool_use_id,
                    "response": [_part(p) for p in part.content]}  # fmt: skip
        case ReasoningPart():
            return {"type": "reasoning", "content": part.text}
        case _:
            assert_never(part)


def _message(message: Message) -> dict[str, Any]:
    return {"role": message.role, "parts": [_part(p) for p in message.content]}


def input_messages(request: ChatRequest) -> list[dict[str, Any]]:
    """``gen_ai.input.messages`` of a canonical request (the system prompt goes separately)."""
    return [_message(m) for m in request.messages]


def system_instructions(request: ChatRequest) -> list[dict[str, Any]]:
    return [{"type": "text", "content": part.text} for part in request.system]


def output_messages(response: ChatResponse) -> list[dict[str, Any]]:
    """``gen_ai.output.messages`` of a canonical response."""
    return [
        {
            "role": "assistant",
            "parts": [_part(p) for p in response.content],
            "finish_reason": response.stop_reason.value,
        }
    ]
