"""Virtual keys: make them, hash them, compare them, show them. Pure functions, no I/O.

A key is ``sk-`` followed by 256 random bits in URL-safe base64 (43 characters). Only its
SHA-256 hex digest is stored, computed over the whole key including ``sk-``, exactly as LiteLLM
hashes its tokens, so hashes carried over from a LiteLLM database still match.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["KEY_PREFIX", "generate_key", "hash_key", "key_hint", "keys_match"]

KEY_PREFIX = "sk-"
_RANDOM_BYTES = 32  # 256 bits
_HINT_CHARS = 4
_MIN_LENGTH_FOR_HINT = 12  # a shorter key would give away too much of itself


def generate_key() -> str:
    """A new key: ``sk-`` + 256 random bits."""
    return KEY_PREFIX + secrets.token_urlsafe(_RANDOM_BYTES)


def hash_key(key: str) -> str:
    """SHA-256 hex digest of the key as presented (LiteLLM's ``hash_token``)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def keys_match(presented: str, expected: str) -> bool:
    """Constant-time equality, for keys or for their hashes."""
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


def key_hint(key: str) -> str:
    """What may be shown of a key: ``sk-...abcd`` (its last four characters, LiteLLM's
    ``key_name`` form). Too short a key shows nothing but its prefix."""
    prefix = KEY_PREFIX if key.startswith(KEY_PREFIX) else ""
    if len(key) < _MIN_LENGTH_FOR_HINT:
        return f"{prefix}..."
    return f"{prefix}...{key[-_HINT_CHARS:]}"
