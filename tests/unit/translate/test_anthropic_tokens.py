"""The local token estimate: it must err high, never low."""

from __future__ import annotations

import base64
import math
import zlib
from fractions import Fraction

import orjson

from stargate.core import ChatRequest, DocumentPart, ImagePart, Message, TextPart, ToolSpec
from stargate.translate.anthropic_request import parse_messages_request
from stargate.translate.anthropic_tokens import (
    IMAGE_TOKENS,
    PDF_PAGE_TOKENS,
    TOOL_USE_SYSTEM_TOKENS,
    estimate_input_tokens,
    estimate_request_tokens,
    json_tokens,
    pdf_pages,
    text_tokens,
)

ENGLISH = (
    "The quick brown fox jumps over the lazy dog. Stargate is a self-hosted gateway that "
    "speaks the OpenAI and Anthropic dialects in front of AWS Bedrock, with hard budgets. "
) * 20
CODE = "def f(x: int) -> int:\n    return {'a': [x, x + 1]}['a'][0]  # comment\n" * 30
CJK = "日本語のテキストはトークンが多い。" * 10


def message(content: object) -> dict[str, object]:
    return {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": content}]}


def test_prose_counts_at_least_one_token_per_three_and_a_half_characters() -> None:
    for text in (ENGLISH, CODE, "a", "ab c"):
        assert text_tokens(text) >= math.ceil(len(text) / 3.5)
        # the emulator's exact count (and the common estimate) is ceil(chars / 4)
        assert text_tokens(text) >= math.ceil(len(text) / 4)
    assert text_tokens("") == 0


def test_non_ascii_characters_count_a_token_each_at_least() -> None:
    assert text_tokens(CJK) >= len(CJK)
    assert text_tokens("café") == math.ceil(3 * 2 / 7) + 1


def test_json_counts_one_token_per_three_characters() -> None:
    schema = {"type": "object", "properties": {"path": {"type": "string"}}}
    assert json_tokens(schema) >= math.ceil(len('{"type":"object","properties":{}}') / 3)


def test_a_body_costs_more_than_its_text_alone() -> None:
    body = message(ENGLISH)
    assert estimate_input_tokens(body) > text_tokens(ENGLISH)
    with_system = {**body, "system": [{"type": "text", "text": ENGLISH}]}
    assert estimate_input_tokens(with_system) >= estimate_input_tokens(body) + text_tokens(ENGLISH)


def test_tools_add_the_tool_use_system_prompt_and_their_schemas() -> None:
    tool = {"name": "Read", "description": "Read a file", "input_schema": {"type": "object"}}
    plain = estimate_input_tokens(message("hi"))
    with_tools = estimate_input_tokens({**message("hi"), "tools": [tool]})
    assert with_tools >= plain + TOOL_USE_SYSTEM_TOKENS + json_tokens(tool)
    assert estimate_input_tokens({**message("hi"), "tools": []}) == plain


def test_every_block_kind_is_counted() -> None:
    blocks = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "x"}},
        {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": ENGLISH},
        },
        {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": ENGLISH}]},
        {"type": "mystery", "payload": ENGLISH},
    ]
    total = estimate_input_tokens(message(blocks))
    assert total >= IMAGE_TOKENS + 3 * text_tokens(ENGLISH)
    assistant = {
        "model": "m",
        "messages": [
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": ENGLISH, "signature": "s"},
                    {"type": "tool_use", "id": "t", "name": "Read", "input": {"path": ENGLISH}},
                ],
            },
            {"role": "system", "content": ENGLISH},
        ],
    }
    assert estimate_input_tokens(assistant) >= 3 * text_tokens(ENGLISH)


def _pdf(pages: int, *, compressed: bool) -> bytes:
    objects = b"".join(
        b"%d 0 obj << /Type /Page /Parent 1 0 R >> endobj\n" % i for i in range(pages)
    )
    if not compressed:
        return b"%PDF-1.4\n1 0 obj << /Type /Pages /Count 3 >> endobj\n" + objects + b"%%EOF"
    stream = zlib.compress(objects)
    return (
        b"%PDF-1.5\n9 0 obj << /Type /ObjStm /Filter /FlateDecode >>\nstream\n"
        + stream
        + b"\nendstream\nendobj\n"
        + b"10 0 obj << /Length 5 >>\nstream\nnot zlib\nendstream\nendobj\n%%EOF"
    )


def test_pdf_pages_are_counted_from_page_objects_plain_or_compressed() -> None:
    assert pdf_pages(_pdf(3, compressed=False)) == 3
    assert pdf_pages(_pdf(2, compressed=True)) == 2
    assert pdf_pages(b"%PDF-1.7 nothing recognisable" + b"x" * 25_000) == 3


def test_a_pdf_document_costs_its_pages() -> None:
    data = base64.b64encode(_pdf(3, compressed=False)).decode()
    block = {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": data},
    }
    assert estimate_input_tokens(message([block])) >= 3 * PDF_PAGE_TOKENS


def test_the_canonical_estimate_follows_the_same_rules() -> None:
    request = parse_messages_request(
        {
            **message([{"type": "text", "text": ENGLISH}]),
            "system": ENGLISH,
            "tools": [{"name": "Read", "input_schema": {"type": "object"}}],
        }
    )
    estimate = estimate_request_tokens(request)
    assert estimate >= 2 * text_tokens(ENGLISH) + TOOL_USE_SYSTEM_TOKENS
    pdf = base64.b64encode(_pdf(2, compressed=False)).decode()
    media = ChatRequest(
        model="m",
        messages=[
            Message(
                "user",
                [
                    ImagePart("image/png", "x"),
                    DocumentPart("d", "pdf", pdf),
                    DocumentPart("t", "txt", base64.b64encode(ENGLISH.encode()).decode()),
                    TextPart("hi"),
                ],
            )
        ],
        tools=[ToolSpec("f", "does f", {"type": "object"})],
    )
    assert estimate_request_tokens(media) >= (
        IMAGE_TOKENS + 2 * PDF_PAGE_TOKENS + text_tokens(ENGLISH) + TOOL_USE_SYSTEM_TOKENS
    )


def test_json_tokens_is_the_characters_over_three_plus_each_non_ascii_one() -> None:
    def spelled_out(value: object) -> int:
        text = orjson.dumps(value).decode()
        ascii_chars = len(text.encode("ascii", "ignore"))
        return math.ceil(ascii_chars / 3) + (len(text) - ascii_chars)

    values: list[object] = [
        {},
        {"type": "object", "properties": {"city": {"type": "string"}}},
        {"name": "météo", "description": "天気 😀", "n": [1, 2.5, None, True]},
        "a" * 3001,
        "é" * 7,
        [],
        None,
    ]
    for value in values:
        assert json_tokens(value) == spelled_out(value)


def test_text_tokens_is_the_exact_ceiling_of_two_sevenths_plus_each_non_ascii_one() -> None:
    def spelled_out(text: str) -> int:
        ascii_chars = sum(1 for c in text if ord(c) < 128)
        return math.ceil(Fraction(ascii_chars * 2, 7)) + (len(text) - ascii_chars)

    for n in [*range(60), 3499, 3500, 3501, 10**6 + 3]:
        for text in ("a" * n, "é" + "a" * n, "a" * n + "日本"):
            assert text_tokens(text) == spelled_out(text)


def test_text_parts_count_as_every_other_part_does_in_any_mix() -> None:
    parts = [TextPart("hi"), ImagePart("image/png", "x"), TextPart(ENGLISH), TextPart(CJK),
             TextPart("")]  # fmt: skip
    alone = [estimate_request_tokens(ChatRequest(model="m", messages=[Message("user", [p])]))
             for p in parts]  # fmt: skip
    mixed = estimate_request_tokens(ChatRequest(model="m", messages=[Message("user", parts)]))
    empty = estimate_request_tokens(ChatRequest(model="m", messages=[Message("user", [])]))
    assert mixed - empty == sum(a - empty for a in alone)
    assert alone[0] - empty == 3 + 1  # the block's framing and "hi"
    assert alone[2] - empty == 3 + text_tokens(ENGLISH)
