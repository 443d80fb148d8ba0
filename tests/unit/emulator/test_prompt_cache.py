"""The deterministic prompt-cache simulation: writes, reads, TTL split, lookback, LRU bound."""

from __future__ import annotations

import math

from stargate.emulator.messages_content import CacheTtl, Segment
from stargate.emulator.prompt_cache import LOOKBACK_BLOCKS, PromptCache, uncached_usage

MODEL = "anthropic.claude-haiku-4-5-20251001-v1:0"


def seg(name: str, chars: int = 40, ttl: CacheTtl | None = None) -> Segment:
    return Segment(chars, name.encode(), ttl)


def test_a_request_without_breakpoints_reads_and_writes_nothing() -> None:
    cache = PromptCache()
    segments = [seg("system", 10), seg("user", 7)]

    usage = cache.settle(MODEL, segments)

    assert usage == uncached_usage(segments)
    assert (usage.input_tokens, usage.active) == (math.ceil(17 / 4), False)
    assert cache.snapshot()["entries"] == 0


def test_a_prefix_is_written_the_first_time_and_read_afterwards() -> None:
    cache = PromptCache()
    segments = [seg("system", 100, "5m"), seg("user", 10)]

    first = cache.settle(MODEL, segments)
    second = cache.settle(MODEL, segments)

    assert (first.ephemeral_5m_input_tokens, first.cache_read_input_tokens) == (25, 0)
    assert (second.ephemeral_5m_input_tokens, second.cache_read_input_tokens) == (0, 25)
    assert first.input_tokens == second.input_tokens == math.ceil(110 / 4) - 25
    assert (first.active, second.active) == (True, True)


def test_the_parts_always_add_up_to_the_whole_input() -> None:
    cache = PromptCache()
    turn_one = [seg("system", 101, "1h"), seg("user-1", 33, "5m")]
    turn_two = [
        seg("system", 101, "1h"),
        seg("user-1", 33),
        seg("assistant-1", 9),
        seg("user-2", 7, "5m"),
        seg("tail", 3),
    ]

    for segments in (turn_one, turn_one, turn_two, turn_two):
        usage = cache.settle(MODEL, segments)
        assert usage.total_input_tokens == math.ceil(sum(s.chars for s in segments) / 4)


def test_written_tokens_are_split_by_the_ttl_of_each_breakpoint() -> None:
    cache = PromptCache()

    usage = cache.settle(MODEL, [seg("tools", 80, "1h"), seg("system", 40, "5m"), seg("user", 8)])

    assert usage.ephemeral_1h_input_tokens == 20
    assert usage.ephemeral_5m_input_tokens == 10
    assert usage.cache_creation_input_tokens == 30
    assert usage.input_tokens == 2


def test_a_longer_conversation_reads_the_cached_turn_and_writes_the_rest() -> None:
    cache = PromptCache()
    cache.settle(MODEL, [seg("system", 400), seg("user-1", 40, "5m")])

    # the breakpoint moved to the new last message: the old prefix is found by lookback
    usage = cache.settle(
        MODEL,
        [seg("system", 400), seg("user-1", 40), seg("assistant-1", 20), seg("user-2", 20, "5m")],
    )

    assert usage.cache_read_input_tokens == 110
    assert usage.ephemeral_5m_input_tokens == 10
    assert usage.input_tokens == 0


def test_a_cached_prefix_beyond_the_lookback_window_is_not_found() -> None:
    cache = PromptCache()
    head = [seg("system", 40, "5m")]
    middle = [seg(f"block-{index}", 4) for index in range(LOOKBACK_BLOCKS + 1)]
    cache.settle(MODEL, head)

    far = cache.settle(MODEL, [seg("system", 40), *middle, seg("last", 4, "5m")])
    near = cache.settle(MODEL, [seg("system", 40), *middle[:5], seg("last", 4, "5m")])

    assert far.cache_read_input_tokens == 0
    assert near.cache_read_input_tokens == 10


def test_another_model_or_other_content_does_not_hit() -> None:
    cache = PromptCache()
    cache.settle(MODEL, [seg("system", 40, "5m")])

    other_model = cache.settle("anthropic.claude-sonnet-4-6", [seg("system", 40, "5m")])
    other_content = cache.settle(MODEL, [seg("system, edited", 40, "5m")])

    assert other_model.cache_read_input_tokens == other_content.cache_read_input_tokens == 0
    assert other_model.ephemeral_5m_input_tokens == 10


def test_the_least_recently_used_prefixes_are_forgotten() -> None:
    cache = PromptCache(capacity=2)
    a, b, c = ([seg(name, 40, "5m")] for name in "abc")
    cache.settle(MODEL, a)
    cache.settle(MODEL, b)
    cache.settle(MODEL, a)  # a is now the most recently used
    cache.settle(MODEL, c)  # evicts b

    assert cache.settle(MODEL, a).cache_read_input_tokens == 10
    assert cache.settle(MODEL, b).cache_read_input_tokens == 0
    assert cache.snapshot()["entries"] == 2


def test_clear_forgets_prefixes_and_counters() -> None:
    cache = PromptCache()
    segments = [seg("system", 40, "5m")]
    cache.settle(MODEL, segments)
    cache.settle(MODEL, segments)
    counted = cache.snapshot()

    cache.clear()

    assert counted == {
        "entries": 1,
        "requests_read": 1,
        "requests_written": 1,
        "tokens_read": 10,
        "tokens_written": 10,
    }
    assert cache.snapshot() == dict.fromkeys(counted, 0)
    assert cache.settle(MODEL, segments).ephemeral_5m_input_tokens == 10
