"""Ids that must be unique but need not be secret: request ids, response ids, message ids.

Minted for every request (two or three each), so they come from the process's PRNG (seeded from
the OS at start and again in every forked worker by :mod:`random` itself) rather than from
``uuid4``, which asks the kernel for 16 bytes each time. 128 bits: no two requests of a fleet
share one. Secrets (API keys, session tokens) use :mod:`secrets`, never this.
"""

from __future__ import annotations

import random

__all__ = ["random_hex"]

_bits = random.getrandbits


def random_hex() -> str:
    """128 random bits as 32 lower-case hex digits (the length of ``uuid4().hex``)."""
    return f"{_bits(128):032x}"
