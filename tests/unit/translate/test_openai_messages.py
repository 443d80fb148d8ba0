"""parse_chat_request: roles, content parts and the merge rules of ``messages``."""

from __future__ import annotations

from typing import Any

import pytest

from stargate.core import (
    DocumentPart,
    ImagePart,
    Message,
    TextPart,
    ToolResultPart,
    ToolUsePart,
)
from stargate.errors import InvalidRequest
from stargate.translate.openai_request import parse_chat_request

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
PDF = "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PD4+CmVuZG9iagp0"


def parse(messages: list[Any]) -> tuple[list[TextPart], list[Message]]:
    request = parse_chat_request({"model": "m", "messages": messages})
    return request.system, request.messages


def rejects(messages: object, param: str) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        parse_chat_request({"model": "m", "messages": messages})
    assert caught.value.param == param
    assert param in caught.value.message
    return caught.value


def call(call_id: str, name: str, arguments: object) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


# --- system and developer ------------------------------------------------------------------------


def test_system_and_developer_messages_become_system_text_in_order() -> None:
    system, messages = parse(
        [
            {"role": "system", "content": "You are terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
            {"role": "user", "content": "hi"},
        ]
    )
    assert system == [TextPart("You are terse."), TextPart("Answer in French.")]
    assert messages == [Message("user", [TextPart("hi")])]


def test_a_late_system_message_is_appended_to_system_not_to_the_history() -> None:
    system, messages = parse(
        [
            {"role": "system", "content": "first"},
            {"role": "user", "content": "q1"},
            {"role": "assistant", "content": "a1"},
            {"role": "system", "content": "later"},
            {"role": "user", "content": "q2"},
        ]
    )
    assert system == [TextPart("first"), TextPart("later")]
    assert [m.role for m in messages] == ["user", "assistant", "user"]


def test_system_content_may_only_be_text() -> None:
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}
    rejects(
        [{"role": "system", "content": [image]}, {"role": "user", "content": "x"}],
        "messages[0].content[0].type",
    )
    rejects([{"role": "system"}, {"role": "user", "content": "x"}], "messages[0].content")


def test_only_system_messages_is_rejected() -> None:
    rejects([{"role": "system", "content": "alone"}], "messages")


# --- user content --------------------------------------------------------------------------------


def test_user_text_parts_and_images() -> None:
    _, messages = parse(
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {
                        "type": "image_url",
                        "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "low"},
                    },
                    {"type": "image_url", "image_url": {"url": f"data:image/jpg;base64,{PNG}"}},
                    {"type": "image_url", "image_url": f"data:IMAGE/WEBP;base64,{PNG}"},
                ],
            }
        ]
    )
    assert messages[0].content == [
        TextPart("What is this?"),
        ImagePart("image/png", PNG),
        ImagePart("image/jpeg", PNG),
        ImagePart("image/webp", PNG),
    ]


def test_http_image_urls_are_refused_because_the_gateway_does_not_fetch() -> None:
    image = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    err = rejects(
        [
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": "y"},
            {"role": "user", "content": [{"type": "text", "text": "look"}, image]},
        ],
        "messages[2].content[1].image_url.url",
    )
    assert "data URL" in err.message
    assert "does not fetch" in err.message


@pytest.mark.parametrize(
    "url",
    [
        "data:image/png,rawbytes",
        "data:image/png;base64,",
        "data:image/svg+xml;base64,PHN2Zz4=",
        "ftp://example.com/a.png",
        "",
    ],
)
def test_bad_image_data_urls_are_rejected(url: str) -> None:
    image = {"type": "image_url", "image_url": {"url": url}}
    rejects([{"role": "user", "content": [image]}], "messages[0].content[0].image_url.url")


def test_file_parts_become_documents_or_images() -> None:
    _, messages = parse(
        [
            {
                "role": "user",
                "content": [
                    {
                        "type": "file",
                        "file": {
                            "file_data": f"data:application/pdf;base64,{PDF}",
                            "filename": "brief.pdf",
                        },
                    },
                    {"type": "file", "file": {"file_data": f"data:text/plain;base64,{PDF}"}},
                    {"type": "file", "file": {"file_data": f"data:image/gif;base64,{PNG}"}},
                ],
            }
        ]
    )
    assert messages[0].content == [
        DocumentPart(name="brief.pdf", format="pdf", data=PDF),
        DocumentPart(name="document messages[0] content[1]", format="txt", data=PDF),
        ImagePart("image/gif", PNG),
    ]


@pytest.mark.parametrize(
    ("file", "param"),
    [
        ({"file_id": "file-abc"}, "messages[0].content[0].file.file_id"),
        ({}, "messages[0].content[0].file.file_data"),
        ({"file_data": PDF}, "messages[0].content[0].file.file_data"),
        (
            {"file_data": f"data:application/zip;base64,{PDF}"},
            "messages[0].content[0].file.file_data",
        ),
        (
            {"file_data": f"data:application/pdf;base64,{PDF}", "filename": 3},
            "messages[0].content[0].file.filename",
        ),
    ],
)
def test_bad_file_parts_are_rejected(file: dict[str, Any], param: str) -> None:
    rejects([{"role": "user", "content": [{"type": "file", "file": file}]}], param)


@pytest.mark.parametrize(
    ("content", "param"),
    [
        (None, "messages[0].content"),
        (42, "messages[0].content"),
        ([{"type": "input_audio", "input_audio": {}}], "messages[0].content[0].type"),
        ([{"type": "video"}], "messages[0].content[0].type"),
        (["text"], "messages[0].content[0]"),
        ([{"type": "text"}], "messages[0].content[0].text"),
        ([{"type": "image_url"}], "messages[0].content[0].image_url"),
    ],
)
def test_bad_user_content_is_rejected(content: object, param: str) -> None:
    rejects([{"role": "user", "content": content}], param)


# --- assistant -----------------------------------------------------------------------------------


def test_assistant_tool_calls_become_tool_use_parts_with_parsed_arguments() -> None:
    _, messages = parse(
        [
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": None,
                "refusal": None,
                "tool_calls": [
                    call("call_1", "get_weather", '{"city": "Paris"}'),
                    call("call_2", "get_time", ""),
                ],
            },
        ]
    )
    assert messages[1] == Message(
        "assistant",
        [
            ToolUsePart(id="call_1", name="get_weather", input={"city": "Paris"}),
            ToolUsePart(id="call_2", name="get_time", input={}),
        ],
    )


def test_assistant_text_comes_before_its_tool_calls_and_refusal_parts_are_ignored() -> None:
    _, messages = parse(
        [
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "refusal", "refusal": "no"},
                ],
                "tool_calls": [call("c", "f", {"already": "parsed"})],
            },
        ]
    )
    assert messages[1].content == [
        TextPart("Checking."),
        ToolUsePart(id="c", name="f", input={"already": "parsed"}),
    ]


def test_an_echoed_sdk_message_is_accepted() -> None:
    """What ``response.choices[0].message.model_dump()`` gives back, sent as history."""
    echoed: dict[str, Any] = {
        "content": "Hello!",
        "refusal": None,
        "role": "assistant",
        "annotations": [],
        "audio": None,
        "function_call": None,
        "tool_calls": None,
    }
    _, messages = parse([{"role": "user", "content": "hi"}, echoed])
    assert messages[1] == Message("assistant", [TextPart("Hello!")])


@pytest.mark.parametrize(
    ("assistant", "param"),
    [
        (
            {"tool_calls": [call("c", "f", "{not json")]},
            "messages[1].tool_calls[0].function.arguments",
        ),
        (
            {"tool_calls": [call("c", "f", "[1, 2]")]},
            "messages[1].tool_calls[0].function.arguments",
        ),
        ({"tool_calls": [call("c", "f", 12)]}, "messages[1].tool_calls[0].function.arguments"),
        (
            {"tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            "messages[1].tool_calls[0].id",
        ),
        (
            {"tool_calls": [{"id": "c", "type": "custom", "custom": {}}]},
            "messages[1].tool_calls[0].type",
        ),
        ({"tool_calls": [{"id": "c", "type": "function"}]}, "messages[1].tool_calls[0].function"),
        ({"tool_calls": {"id": "c"}}, "messages[1].tool_calls"),
        ({"function_call": {"name": "f", "arguments": "{}"}}, "messages[1].function_call"),
        ({"audio": {"id": "audio_1"}}, "messages[1].audio"),
        (
            {"content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]},
            "messages[1].content[0].type",
        ),
    ],
)
def test_bad_assistant_messages_are_rejected(assistant: dict[str, Any], param: str) -> None:
    rejects([{"role": "user", "content": "x"}, {"role": "assistant", **assistant}], param)


def test_invalid_tool_call_json_names_the_problem() -> None:
    err = rejects(
        [
            {"role": "user", "content": "x"},
            {"role": "assistant", "tool_calls": [call("c", "f", '{"a": ')]},
        ],
        "messages[1].tool_calls[0].function.arguments",
    )
    assert "JSON" in err.message


# --- tool results --------------------------------------------------------------------------------


def test_consecutive_tool_messages_merge_into_one_user_message() -> None:
    _, messages = parse(
        [
            {"role": "user", "content": "weather and time?"},
            {
                "role": "assistant",
                "tool_calls": [call("c1", "get_weather", "{}"), call("c2", "get_time", "{}")],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
            {"role": "tool", "tool_call_id": "c2", "content": [{"type": "text", "text": "noon"}]},
            {"role": "user", "content": "thanks"},
        ]
    )
    assert [m.role for m in messages] == ["user", "assistant", "user"]
    assert messages[2].content == [
        ToolResultPart(tool_use_id="c1", content=[TextPart("sunny")]),
        ToolResultPart(tool_use_id="c2", content=[TextPart("noon")]),
        TextPart("thanks"),
    ]


def test_an_empty_tool_result_has_no_content() -> None:
    _, messages = parse(
        [
            {"role": "user", "content": "x"},
            {"role": "assistant", "tool_calls": [call("c1", "f", "{}")]},
            {"role": "tool", "tool_call_id": "c1", "content": ""},
        ]
    )
    assert messages[2].content == [ToolResultPart(tool_use_id="c1", content=[])]


@pytest.mark.parametrize(
    ("tool", "param"),
    [
        ({"content": "x"}, "messages[0].tool_call_id"),
        ({"tool_call_id": "", "content": "x"}, "messages[0].tool_call_id"),
        ({"tool_call_id": "c"}, "messages[0].content"),
        ({"tool_call_id": "c", "content": {"text": "x"}}, "messages[0].content"),
    ],
)
def test_bad_tool_messages_are_rejected(tool: dict[str, Any], param: str) -> None:
    rejects([{"role": "tool", **tool}], param)


# --- roles and merging ---------------------------------------------------------------------------


def test_legacy_function_role_is_rejected() -> None:
    err = rejects([{"role": "function", "name": "f", "content": "x"}], "messages[0].role")
    assert "tool" in err.message


@pytest.mark.parametrize("role", ["robot", None, 3])
def test_unknown_roles_are_rejected(role: object) -> None:
    rejects([{"role": role, "content": "x"}], "messages[0].role")


@pytest.mark.parametrize(
    ("messages", "param"),
    [(None, "messages"), ([], "messages"), ({"role": "user"}, "messages"), (["hi"], "messages[0]")],
)
def test_messages_must_be_a_non_empty_array_of_objects(messages: object, param: str) -> None:
    rejects(messages, param)


def test_consecutive_same_role_messages_merge() -> None:
    _, messages = parse(
        [
            {"role": "user", "content": "one", "name": "alice"},
            {"role": "user", "content": [{"type": "text", "text": "two"}]},
            {"role": "assistant", "content": "three"},
            {"role": "assistant", "content": "four"},
            {"role": "user", "content": "five"},
        ]
    )
    assert messages == [
        Message("user", [TextPart("one"), TextPart("two")]),
        Message("assistant", [TextPart("three"), TextPart("four")]),
        Message("user", [TextPart("five")]),
    ]


def test_empty_text_is_dropped_and_an_emptied_message_disappears() -> None:
    _, messages = parse(
        [
            {"role": "user", "content": "q1"},
            {"role": "assistant", "content": ""},
            {
                "role": "user",
                "content": [{"type": "text", "text": ""}, {"type": "text", "text": "q2"}],
            },
            {"role": "assistant", "content": "", "tool_calls": [call("c", "f", "{}")]},
        ]
    )
    assert messages == [
        Message("user", [TextPart("q1"), TextPart("q2")]),
        Message("assistant", [ToolUsePart(id="c", name="f", input={})]),
    ]


def test_a_conversation_of_only_empty_messages_is_rejected() -> None:
    rejects([{"role": "user", "content": ""}], "messages")
