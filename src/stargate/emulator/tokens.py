"""The emulator's deterministic token rule (a stand-in for a real tokenizer).

One token is four characters (Unicode code points), rounded up: ``tokens = ceil(chars / 4)``.
What counts as characters, for input, is defined where each request dialect is parsed (see
:mod:`stargate.emulator.converse_request`); for output it is the reply text, plus each tool call's
name and compact JSON input. Usage reported by the emulator is always exactly this rule applied
to what it returned, so a gateway's cost arithmetic can be checked to the token.
"""

from __future__ import annotations

import orjson

__all__ = ["CHARS_PER_TOKEN", "MEDIA_BLOCK_CHARS", "compact_json", "json_chars", "tokens_for_chars"]

CHARS_PER_TOKEN = 4

MEDIA_BLOCK_CHARS = 1600
"""What one image, document, video or audio block counts as (1600 characters: 400 tokens)."""


def tokens_for_chars(chars: int) -> int:
    """``ceil(chars / 4)``; zero characters are zero tokens."""
    return -(-chars // CHARS_PER_TOKEN)


def compact_json(value: object) -> str:
    """``value`` as compact JSON text (no spaces, keys in their given order)."""
    return orjson.dumps(value).decode("utf-8")


def json_chars(value: object) -> int:
    """The characters of ``value`` as compact JSON."""
    return len(compact_json(value))
