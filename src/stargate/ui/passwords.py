"""Admin passwords: scrypt (``hashlib.scrypt``), a random salt per password, and a string that
carries its own parameters (``scrypt$n$r$p$salt$hash``) so they can be raised later without
invalidating stored hashes. Hashing costs tens of milliseconds and 16 MiB on purpose: callers on
the event loop run it in a thread (:func:`hash_password_async`, :func:`verify_password_async`).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import secrets

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "check_password_rules",
    "hash_password",
    "hash_password_async",
    "verify_password",
    "verify_password_async",
]

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
_N, _R, _P, _LEN = 2**14, 8, 1, 32
_MAXMEM = 64 * 1024 * 1024


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def check_password_rules(password: str) -> str | None:
    """What is wrong with a new password, or ``None``."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"a password has at most {MAX_PASSWORD_LENGTH} characters"
    return None


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    derived = hashlib.scrypt(
        password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_LEN, maxmem=_MAXMEM
    )
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(derived)}"


def verify_password(password: str, stored: str) -> bool:
    """``True`` when ``password`` matches ``stored``; ``False`` for anything malformed."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt" or len(password) > MAX_PASSWORD_LENGTH:
            return False
        want = base64.b64decode(expected)
        derived = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(want),
            maxmem=_MAXMEM,
        )
    except ValueError:
        return False
    return hmac.compare_digest(derived, want)


@functools.cache
def _decoy() -> str:
    """Checked against when a name is unknown, so a wrong name costs what a wrong password does.
    Made on first use, in the thread that checks it: hashing at import cost every start-up."""
    return hash_password(secrets.token_urlsafe(16))


def _verify_unknown(password: str) -> bool:
    verify_password(password, _decoy())
    return False


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password: str, stored: str | None) -> bool:
    """As :func:`verify_password`; with ``stored=None`` (no such user) it spends the same time
    and answers ``False``."""
    if stored is None:
        return await asyncio.to_thread(_verify_unknown, password)
    return await asyncio.to_thread(verify_password, password, stored)
