"""Check and read the content of an Anthropic Messages body: tools, system, messages.

The input is read as a sequence of :class:`Segment` in the order Anthropic builds (and caches) a
prompt: each tool, then each system block, then each content block of each message. A segment
has its characters for the token rule, an identity for the prompt-cache simulation and, when the
block carries ``cache_control``, its breakpoint TTL.

Characters (:mod:`stargate.emulator.tokens`): a custom tool its name, description and compact
JSON ``input_schema`` (any other tool its compact JSON); a system block or ``text`` block its
text (string content is one text block); ``image``/``document`` 1600 each; ``tool_use`` (and the
server/MCP tool calls) its name plus compact JSON input; ``tool_result`` its string content, or
per item the text, 1600 for media, compact JSON otherwise; ``thinking`` its thinking text;
``redacted_thinking`` its data; any other block its compact JSON. ``cache_control`` never counts.

Checks, with Anthropic's messages (as Bedrock passes them on): a role other than ``user`` or
``assistant`` is "messages.<i>.role: Input should be 'user' or 'assistant'"; ``cache_control``
must be ``{"type": "ephemeral"}`` with ``ttl`` (``"5m"``/``"1h"``) only where the model allows it
("<path>.cache_control.ttl: Extra inputs are not permitted" elsewhere; paths name the block type
as Anthropic's do: ``messages.0.content.1.text``, ``system.0``, ``tools.2.custom``), never on
``thinking`` blocks, and at most four blocks may carry it; unknown block types, missing fields and
wrong types are Anthropic's pydantic-style messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import orjson

from stargate.emulator.claude_rules import ClaudeRules
from stargate.emulator.errors import BedrockError, validation_error
from stargate.emulator.prompt import ToolSpec
from stargate.emulator.tokens import MEDIA_BLOCK_CHARS, json_chars

__all__ = [
    "MAX_CACHE_BREAKPOINTS",
    "MESSAGE_BLOCK_TYPES",
    "CacheTtl",
    "MessagesContent",
    "Segment",
    "read_content",
]

CacheTtl = Literal["5m", "1h"]

MAX_CACHE_BREAKPOINTS = 4
"""The most blocks that may carry ``cache_control`` in one request."""

MESSAGE_BLOCK_TYPES: tuple[str, ...] = (
    "text", "image", "document", "search_result", "tool_use", "tool_result", "thinking",
    "redacted_thinking", "server_tool_use", "web_search_tool_result", "web_fetch_tool_result",
    "code_execution_tool_result", "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result", "tool_search_tool_result", "mcp_tool_use",
    "mcp_tool_result", "container_upload",
)  # fmt: skip
"""The content block types a message may hold."""

_MEDIA = frozenset({"image", "document"})
_TOOL_CALLS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
_UNCACHEABLE = frozenset({"thinking", "redacted_thinking"})
_TOOL_RESULT_ITEMS: tuple[str, ...] = ("text", "image", "document", "search_result")
_TTLS: tuple[CacheTtl, ...] = ("5m", "1h")


@dataclass(slots=True, frozen=True)
class Segment:
    """One tool, system block or message content block, as the token rule and cache see it."""

    chars: int
    identity: bytes
    breakpoint: CacheTtl | None = None


@dataclass(slots=True)
class MessagesContent:
    """What the reply rules and the cache simulation need from the content of a body."""

    segments: list[Segment] = field(default_factory=list)
    tools: tuple[ToolSpec, ...] = ()
    last_user_text: str = ""
    tool_results: tuple[str, ...] = ()
    has_tool_blocks: bool = False
    breakpoints: int = 0

    @property
    def chars(self) -> int:
        return sum(segment.chars for segment in self.segments)


def _fail(path: str, message: str) -> BedrockError:
    return validation_error(f"{path}: {message}")


def _object(value: object, path: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise _fail(path, "Input should be a valid dictionary")
    return value


def _string(block: Mapping[str, object], key: str, path: str) -> str:
    value = block.get(key)
    if value is None:
        raise _fail(f"{path}.{key}", "Field required")
    if not isinstance(value, str):
        raise _fail(f"{path}.{key}", "Input should be a valid string")
    return value


def _tagged(value: object, path: str, tags: tuple[str, ...]) -> tuple[Mapping[str, object], str]:
    """A block of a ``type``-tagged union, and its tag."""
    if not isinstance(value, Mapping):
        raise _fail(path, "Input should be a valid dictionary or object to extract fields from")
    tag = value.get("type")
    if tag is None:
        raise _fail(path, "Unable to extract tag using discriminator 'type'")
    if tag not in tags:
        expected = ", ".join(f"'{name}'" for name in tags)
        raise _fail(
            path,
            f"Input tag '{tag}' found using 'type' does not match any of the expected tags: "
            f"{expected}",
        )
    return value, str(tag)


def _identity(section: str, block: Mapping[str, object]) -> bytes:
    bare = {key: value for key, value in block.items() if key != "cache_control"}
    return section.encode() + b"\x00" + orjson.dumps(bare, option=orjson.OPT_SORT_KEYS)


@dataclass(slots=True)
class _Reader:
    rules: ClaudeRules
    content: MessagesContent = field(default_factory=MessagesContent)

    def breakpoint(self, block: Mapping[str, object], path: str) -> CacheTtl | None:
        control = block.get("cache_control")
        if control is None:
            return None
        where = f"{path}.cache_control"
        control = _object(control, where)
        if control.get("type") != "ephemeral":
            raise _fail(f"{where}.type", "Input should be 'ephemeral'")
        for key in control:
            if key not in ("type", "ttl") or (key == "ttl" and not self.rules.cache_ttl):
                raise _fail(f"{where}.{key}", "Extra inputs are not permitted")
        ttl = control.get("ttl", "5m")
        for known in _TTLS:
            if ttl == known:
                self.content.breakpoints += 1
                return known
        raise _fail(f"{where}.ttl", "Input should be '5m' or '1h'")

    def add(
        self,
        chars: int,
        section: str,
        block: Mapping[str, object],
        path: str,
        nested: CacheTtl | None = None,
    ) -> None:
        """Append a segment; ``nested`` is the TTL of a cache breakpoint inside the block."""
        ttl = self.breakpoint(block, path) or nested
        self.content.segments.append(Segment(chars, _identity(section, block), ttl))

    def tools(self, tools: object) -> None:
        if tools is None:
            return
        if not isinstance(tools, list):
            raise _fail("tools", "Input should be a valid list")
        specs: list[ToolSpec] = []
        for index, entry in enumerate(tools):
            tool = _object(entry, f"tools.{index}")
            kind = tool.get("type") or "custom"
            path = f"tools.{index}.{kind}"
            name = _string(tool, "name", path)
            if kind == "custom":
                schema = tool.get("input_schema")
                if schema is None:
                    raise _fail(f"{path}.input_schema", "Field required")
                schema = _object(schema, f"{path}.input_schema")
                description = tool.get("description")
                chars = len(name) + len(description if isinstance(description, str) else "")
                chars += json_chars(schema)
                specs.append(ToolSpec(name, schema))
            else:
                bare = {key: value for key, value in tool.items() if key != "cache_control"}
                chars = json_chars(bare)
                specs.append(ToolSpec(name, {}))
            self.add(chars, "tool", tool, path)
        self.content.tools = tuple(specs)

    def system(self, system: object) -> None:
        if system is None:
            return
        if isinstance(system, str):
            self.add(len(system), "system", {"type": "text", "text": system}, "system")
            return
        if not isinstance(system, list):
            raise _fail("system", "Input should be a valid list")
        for index, entry in enumerate(system):
            path = f"system.{index}"
            block = _object(entry, path)
            if block.get("type") != "text":
                raise _fail(f"{path}.type", "Input should be 'text'")
            self.add(len(_string(block, "text", path)), "system", block, path)

    def tool_result(
        self, block: Mapping[str, object], path: str
    ) -> tuple[int, str, CacheTtl | None]:
        """A tool result's characters, its text, and the TTL of its last cached item."""
        content = block.get("content")
        if content is None:
            return 0, "", None
        if isinstance(content, str):
            return len(content), content, None
        if not isinstance(content, list):
            raise _fail(f"{path}.content", "Input should be a valid list")
        chars, texts, nested = 0, [], None
        for index, entry in enumerate(content):
            item, tag = _tagged(entry, f"{path}.content.{index}", _TOOL_RESULT_ITEMS)
            item_path = f"{path}.content.{index}.{tag}"
            if tag == "text":
                text = _string(item, "text", item_path)
                chars += len(text)
                texts.append(text)
            elif tag in _MEDIA:
                chars += MEDIA_BLOCK_CHARS
            else:
                chars += json_chars({k: v for k, v in item.items() if k != "cache_control"})
            nested = self.breakpoint(item, item_path) or nested
        return chars, " ".join(texts), nested

    def block_chars(self, block: Mapping[str, object], tag: str, path: str) -> int:
        if tag == "text":
            return len(_string(block, "text", path))
        if tag in _MEDIA:
            return MEDIA_BLOCK_CHARS
        if tag in _TOOL_CALLS:
            tool_input = block.get("input")
            if not isinstance(tool_input, Mapping):
                raise _fail(f"{path}.input", "Input should be a valid dictionary")
            return len(_string(block, "name", path)) + json_chars(tool_input)
        if tag == "thinking":
            return len(_string(block, "thinking", path))
        if tag == "redacted_thinking":
            return len(_string(block, "data", path))
        return json_chars({key: value for key, value in block.items() if key != "cache_control"})

    def message(self, index: int, entry: object) -> None:
        path = f"messages.{index}"
        message = _object(entry, path)
        role = message.get("role")
        if role is None:
            raise _fail(f"{path}.role", "Field required")
        if role not in ("user", "assistant"):
            raise _fail(f"{path}.role", "Input should be 'user' or 'assistant'")
        content = message.get("content")
        if content is None:
            raise _fail(f"{path}.content", "Field required")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if not isinstance(content, list):
            raise _fail(f"{path}.content", "Input should be a valid list")
        section = f"message.{index}.{role}"
        texts: list[str] = []
        results: list[str] = []
        for position, entry_block in enumerate(content):
            block, tag = _tagged(entry_block, f"{path}.content.{position}", MESSAGE_BLOCK_TYPES)
            block_path = f"{path}.content.{position}.{tag}"
            if tag in _UNCACHEABLE and block.get("cache_control") is not None:
                raise _fail(f"{block_path}.cache_control", "Extra inputs are not permitted")
            nested: CacheTtl | None = None
            if tag == "tool_result":
                _string(block, "tool_use_id", block_path)
                chars, text, nested = self.tool_result(block, block_path)
                results.append(text)
            else:
                chars = self.block_chars(block, tag, block_path)
            if tag == "text":
                texts.append(str(block["text"]))
            if tag in ("tool_use", "tool_result"):
                self.content.has_tool_blocks = True
            self.add(chars, section, block, block_path, nested)
        if role == "user":
            self.content.last_user_text = "\n".join(texts)
            self.content.tool_results = tuple(results)

    def messages(self, messages: list[object]) -> None:
        if not messages:
            raise _fail("messages", "at least one message is required")
        for index, entry in enumerate(messages):
            self.message(index, entry)


def read_content(
    rules: ClaudeRules, *, tools: object, system: object, messages: list[object]
) -> MessagesContent:
    """Check ``tools``, ``system`` and ``messages`` for a model with ``rules`` and read them."""
    reader = _Reader(rules)
    reader.tools(tools)
    reader.system(system)
    reader.messages(messages)
    if reader.content.breakpoints > MAX_CACHE_BREAKPOINTS:
        raise validation_error(
            f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {reader.content.breakpoints}."
        )
    return reader.content
