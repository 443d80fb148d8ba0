"""The state one emulator app owns: its config, counters, prompt cache and padding source."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from aiohttp import web

from stargate.emulator.config import EmulatorConfig
from stargate.emulator.prompt_cache import PromptCache
from stargate.emulator.stats import Stats

__all__ = ["PADDING_ALPHABET", "STATE_KEY", "EmulatorState"]

PADDING_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
"""Bedrock pads every stream event with ``"p"``: a prefix of this alphabet of random length."""

_FAST_PADDING = PADDING_ALPHABET[:8]


@dataclass(slots=True)
class EmulatorState:
    config: EmulatorConfig
    stats: Stats = field(default_factory=Stats)
    prompt_cache: PromptCache = field(default_factory=PromptCache)
    rng: random.Random = field(default_factory=random.Random)

    def padding(self) -> str:
        """The ``"p"`` value for one event: random length, or fixed in fast mode."""
        if self.config.fast:
            return _FAST_PADDING
        return PADDING_ALPHABET[: self.rng.randint(1, len(PADDING_ALPHABET))]


STATE_KEY = web.AppKey("stargate.emulator.state", EmulatorState)
