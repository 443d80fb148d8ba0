"""Where the admin API is and the master key for it: flags, then the environment, then a
``.env`` file in the working directory (as seed 003's scripts read theirs).

Each setting is looked up in that order under Stargate's name and then the seeds' LiteLLM name:

- the URL: ``--url``, ``$STARGATE_ADMIN_URL``, ``$LITELLM_URL``, the same two in ``.env``,
  else ``http://127.0.0.1:4001`` (the admin listener of ``stargate serve``);
- the master key: ``--master-key``, ``$STARGATE_MASTER_KEY``, ``$LITELLM_MASTER_KEY``, the same
  two in ``.env``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from stargate.cli.errors import AuthError, InputError

__all__ = [
    "DEFAULT_URL",
    "KEY_NAMES",
    "URL_NAMES",
    "Connection",
    "ConnectionOptions",
    "options",
    "read_dotenv",
    "resolve",
]

DEFAULT_URL = "http://127.0.0.1:4001"
URL_NAMES = ("STARGATE_ADMIN_URL", "LITELLM_URL")
KEY_NAMES = ("STARGATE_MASTER_KEY", "LITELLM_MASTER_KEY")


@dataclass(frozen=True, slots=True)
class Connection:
    url: str  # without a trailing slash
    master_key: str
    url_from: str  # where the URL came from, for error messages
    key_from: str

    def __repr__(self) -> str:  # never show the key
        return (
            f"Connection(url={self.url!r}, url_from={self.url_from!r}, key_from={self.key_from!r})"
        )


@dataclass(slots=True)
class ConnectionOptions:
    """The root command's ``--url`` and ``--master-key`` (set before a subcommand runs)."""

    url: str | None = None
    master_key: str | None = None


options = ConnectionOptions()


def read_dotenv(path: Path) -> dict[str, str]:
    """``NAME=value`` lines (``export`` allowed, ``#`` comments, quotes stripped); a missing
    file is empty."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    found: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name.replace("_", "").isalnum():
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        found[name] = value
    return found


def _first(
    flag: str | None, flag_name: str, names: tuple[str, ...], env: Mapping[str, str],
    dotenv: Mapping[str, str], dotenv_path: Path,
) -> tuple[str | None, str]:  # fmt: skip
    if flag:
        return flag, flag_name
    for name in names:
        if env.get(name):
            return env[name], f"${name}"
    for name in names:
        if dotenv.get(name):
            return dotenv[name], f"{name} in {dotenv_path}"
    return None, ""


def _checked_url(url: str, origin: str) -> str:
    text = url.strip()
    if "://" not in text:
        text = f"http://{text}"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{url!r} ({origin}) is not an http(s) URL")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError as exc:
        raise InputError(f"{url!r} ({origin}) has a bad port") from exc
    return text.rstrip("/")


def resolve(
    url: str | None,
    master_key: str | None,
    env: Mapping[str, str],
    cwd: Path,
) -> Connection:
    """The connection to use, or an error saying what to set."""
    dotenv_path = cwd / ".env"
    dotenv = read_dotenv(dotenv_path)
    found_url, url_from = _first(url, "--url", URL_NAMES, env, dotenv, dotenv_path)
    if found_url is None:
        found_url, url_from = DEFAULT_URL, "the default"
    key, key_from = _first(master_key, "--master-key", KEY_NAMES, env, dotenv, dotenv_path)
    if key is None:
        raise AuthError(
            "no master key: pass --master-key, or set STARGATE_MASTER_KEY (or LITELLM_MASTER_KEY) "
            "in the environment or in ./.env"
        )
    return Connection(_checked_url(found_url, url_from), key.strip(), url_from, key_from)
