"""Key generation, hashing (LiteLLM-compatible), comparison and display hints."""

from __future__ import annotations

import hashlib
import re

from stargate.governance.keys import generate_key, hash_key, key_hint, keys_match


def test_generated_keys_carry_256_random_bits_behind_sk() -> None:
    keys = {generate_key() for _ in range(200)}
    assert len(keys) == 200
    for key in keys:
        assert re.fullmatch(r"sk-[A-Za-z0-9_-]{43}", key)  # 32 bytes in URL-safe base64


def test_hash_is_sha256_hex_of_the_whole_key_like_litellm() -> None:
    # SHA-256 of "sk-1234", as LiteLLM's hash_token computes it.
    assert hash_key("sk-1234") == "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b"
    key = generate_key()
    assert hash_key(key) == hashlib.sha256(key.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", hash_key(generate_key()))


def test_keys_match_only_when_equal() -> None:
    key = generate_key()
    assert keys_match(key, key)
    assert not keys_match(key, key[:-1] + ("A" if key[-1] != "A" else "B"))
    assert not keys_match(key, "")
    assert keys_match("sk-ключ", "sk-ключ")  # non-ASCII input does not raise


def test_hint_shows_the_last_four_characters_only() -> None:
    assert key_hint("sk-abcdefghijklmnop") == "sk-...mnop"
    assert key_hint("custom-secret-value") == "...alue"
    assert key_hint("sk-short") == "sk-..."
