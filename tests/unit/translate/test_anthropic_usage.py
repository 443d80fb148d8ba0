"""Usage from native Anthropic bodies and stream events."""

from __future__ import annotations

import pytest

from stargate.core import Usage
from stargate.errors import UpstreamBadResponse
from stargate.translate.anthropic_usage import StreamUsage, usage_from_message


def test_a_message_body_gives_all_four_counts() -> None:
    body = {
        "usage": {
            "input_tokens": 10,
            "cache_creation_input_tokens": 200,
            "cache_read_input_tokens": 3000,
            "cache_creation": {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 0},
            "output_tokens": 15,
        }
    }
    assert usage_from_message(body) == Usage(10, 15, 3000, 200)


def test_missing_cache_counts_are_zero() -> None:
    assert usage_from_message({"usage": {"input_tokens": 1, "output_tokens": 2}}) == Usage(1, 2)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"usage": "many"},
        {"usage": {"input_tokens": -1, "output_tokens": 0}},
        {"usage": {"input_tokens": 1.5, "output_tokens": 0}},
        {"usage": {"input_tokens": True, "output_tokens": 0}},
    ],
)
def test_malformed_usage_is_a_bad_response(body: dict[str, object]) -> None:
    with pytest.raises(UpstreamBadResponse):
        usage_from_message(body)


def test_stream_usage_takes_input_from_message_start_and_output_from_message_delta() -> None:
    meter = StreamUsage()
    meter.feed(
        {
            "type": "message_start",
            "message": {
                "usage": {
                    "input_tokens": 10,
                    "cache_creation_input_tokens": 7,
                    "cache_read_input_tokens": 90,
                    "output_tokens": 1,
                }
            },
        }
    )
    meter.feed({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta"}})
    assert meter.usage == Usage(10, 1, 90, 7)
    meter.feed({"type": "message_delta", "delta": {}, "usage": {"output_tokens": 8}})
    meter.feed({"type": "message_delta", "delta": {}, "usage": {"output_tokens": 15}})
    meter.feed({"type": "message_stop"})
    assert meter.usage == Usage(10, 15, 90, 7)


def test_stream_usage_takes_final_input_counts_from_message_delta_when_present() -> None:
    meter = StreamUsage()
    meter.feed({"type": "message_start", "message": {"usage": {"input_tokens": 0}}})
    meter.feed(
        {
            "type": "message_delta",
            "usage": {"input_tokens": 12, "output_tokens": 3, "cache_read_input_tokens": 40},
        }
    )
    assert meter.usage == Usage(12, 3, 40, 0)


def test_a_malformed_stream_usage_is_a_bad_response() -> None:
    with pytest.raises(UpstreamBadResponse):
        StreamUsage().feed({"type": "message_start"})
    with pytest.raises(UpstreamBadResponse):
        StreamUsage().feed({"type": "message_delta", "usage": {"output_tokens": "3"}})
