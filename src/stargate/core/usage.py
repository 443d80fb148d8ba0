"""Token usage as the upstream reports it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Usage"]


@dataclass(slots=True)
class Usage:
    """Token counts of one call.

    ``input_tokens`` counts only input that was neither read from nor written to the prompt
    cache (Bedrock's and Anthropic's convention); the cache counts are separate, and
    :attr:`prompt_tokens` is the sum of all three (the OpenAI convention).
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens
