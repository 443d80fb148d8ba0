"""How one emulator instance is configured, and the documented test credential pair."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TEST_ACCESS_KEY_ID", "TEST_SECRET_ACCESS_KEY", "EmulatorConfig"]

TEST_ACCESS_KEY_ID = "AKIDEXAMPLE"
"""AWS's documented example access key id; the key pair tests sign with."""

TEST_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
"""AWS's documented example secret access key, paired with :data:`TEST_ACCESS_KEY_ID`."""


@dataclass(slots=True, frozen=True)
class EmulatorConfig:
    """Settings of one emulator.

    ``access_key_id``/``secret_access_key`` is the one credential pair SigV4 signatures are
    verified against; ``bearer_token``, when set, is also accepted as ``Authorization: Bearer``.
    ``region`` pins the signing region, ARN regions and callable profile geographies (``None``
    accepts any region).
    ``fast`` drops padding randomness, per-request logging and request recording so a benchmark
    is not limited by the emulator. ``verify_signatures=False`` turns every credential check off.
    """

    access_key_id: str
    secret_access_key: str
    bearer_token: str | None = None
    region: str | None = None
    fast: bool = False
    verify_signatures: bool = True
