"""Deterministic prompt caching for InvokeModel: a bounded LRU of prompt-prefix hashes.

A request's input is its segments (:mod:`stargate.emulator.messages_content`: tools, system
blocks, message blocks, in that order); a *prefix* is the first ``n`` of them, identified by a
running SHA-256 over their content (``cache_control`` excluded, so moving a breakpoint does not
change what is cached) and the base model id. For a model with prompt caching:

- the prefix up to and including the **last** block with ``cache_control`` is what the request
  caches; with no breakpoint nothing is read or written;
- **read**: the longest prefix, ending at a breakpoint or at one of the
  :data:`LOOKBACK_BLOCKS` blocks before one, that an earlier request wrote;
- **written**: the rest of the cached prefix, after what was read, split by TTL: each span up to a
  breakpoint is written with that breakpoint's TTL (``5m`` unless it says ``1h``);
- every breakpoint prefix is then remembered; the least recently used of more than
  :data:`DEFAULT_CAPACITY` prefixes are forgotten. Nothing expires with time (determinism), and
  no minimum cacheable length applies. ``POST /_emulator/reset`` forgets everything.

Tokens of a span are ``ceil(end / 4) - ceil(start / 4)`` over the cumulative characters, so
``input_tokens + cache_creation_input_tokens + cache_read_input_tokens`` is always the whole input
by the token rule (what CountTokens answers).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from stargate.emulator.messages_content import Segment
from stargate.emulator.tokens import tokens_for_chars

__all__ = ["DEFAULT_CAPACITY", "LOOKBACK_BLOCKS", "CacheUsage", "PromptCache", "uncached_usage"]

DEFAULT_CAPACITY = 4096
"""How many prefixes are remembered."""

LOOKBACK_BLOCKS = 20
"""How many blocks before a breakpoint a cache hit is looked for (as Anthropic does)."""


@dataclass(slots=True, frozen=True)
class CacheUsage:
    """How one request's input splits into uncached, read and written tokens."""

    input_tokens: int
    cache_read_input_tokens: int = 0
    ephemeral_5m_input_tokens: int = 0
    ephemeral_1h_input_tokens: int = 0
    active: bool = False
    """Whether the request asked for caching (a breakpoint on a model with prompt caching)."""

    @property
    def cache_creation_input_tokens(self) -> int:
        return self.ephemeral_5m_input_tokens + self.ephemeral_1h_input_tokens

    @property
    def total_input_tokens(self) -> int:
        return self.input_tokens + self.cache_read_input_tokens + self.cache_creation_input_tokens


def uncached_usage(segments: Sequence[Segment]) -> CacheUsage:
    """The usage of a request that reads and writes nothing."""
    return CacheUsage(tokens_for_chars(sum(segment.chars for segment in segments)))


def _prefix_digests(scope: str, segments: Sequence[Segment]) -> list[bytes]:
    """``digests[n]`` identifies the first ``n + 1`` segments."""
    running = hashlib.sha256(scope.encode() + b"\x00")
    digests = []
    for segment in segments:
        running.update(len(segment.identity).to_bytes(8, "big"))
        running.update(segment.identity)
        digests.append(running.digest())
    return digests


@dataclass(slots=True)
class PromptCache:
    """The prefixes written so far, most recently used last, and what was read and written."""

    capacity: int = DEFAULT_CAPACITY
    entries: OrderedDict[bytes, None] = field(default_factory=OrderedDict)
    requests_read: int = 0
    requests_written: int = 0
    tokens_read: int = 0
    tokens_written: int = 0

    def _read_end(self, digests: Sequence[bytes], breakpoints: Sequence[int]) -> int:
        """The index of the last segment of the longest cached prefix (-1 if none)."""
        candidates: set[int] = set()
        for point in breakpoints:
            candidates.update(range(max(0, point - LOOKBACK_BLOCKS), point + 1))
        for index in sorted(candidates, reverse=True):
            if digests[index] in self.entries:
                return index
        return -1

    def settle(self, scope: str, segments: Sequence[Segment]) -> CacheUsage:
        """Read and write the prefixes of one request for model ``scope``; its usage."""
        breakpoints = [index for index, segment in enumerate(segments) if segment.breakpoint]
        if not breakpoints:
            return uncached_usage(segments)
        ends: list[int] = []
        total = 0
        for segment in segments:
            total += segment.chars
            ends.append(total)
        digests = _prefix_digests(scope, segments)
        read_end = self._read_end(digests, breakpoints)
        last = breakpoints[-1]
        tokens = tokens_for_chars
        written = {"5m": 0, "1h": 0}
        start = read_end
        for point in breakpoints:
            if point > start:
                ttl = segments[point].breakpoint or "5m"
                before = ends[start] if start >= 0 else 0
                written[ttl] += tokens(ends[point]) - tokens(before)
                start = point
        read = tokens(ends[read_end]) if read_end >= 0 else 0
        if read_end >= 0:
            self.entries.move_to_end(digests[read_end])
        for point in breakpoints:
            self.entries[digests[point]] = None
            self.entries.move_to_end(digests[point])
        while len(self.entries) > self.capacity:
            self.entries.popitem(last=False)
        usage = CacheUsage(
            input_tokens=tokens(total) - tokens(ends[last]),
            cache_read_input_tokens=read,
            ephemeral_5m_input_tokens=written["5m"],
            ephemeral_1h_input_tokens=written["1h"],
            active=True,
        )
        self.requests_read += 1 if read else 0
        self.requests_written += 1 if usage.cache_creation_input_tokens else 0
        self.tokens_read += read
        self.tokens_written += usage.cache_creation_input_tokens
        return usage

    def clear(self) -> None:
        """Forget every prefix and counter."""
        self.entries.clear()
        self.requests_read = self.requests_written = 0
        self.tokens_read = self.tokens_written = 0

    def snapshot(self) -> dict[str, int]:
        """The cache's size and counters as JSON-ready data."""
        return {
            "entries": len(self.entries),
            "requests_read": self.requests_read,
            "requests_written": self.requests_written,
            "tokens_read": self.tokens_read,
            "tokens_written": self.tokens_written,
        }
