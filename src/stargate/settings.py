"""Process settings: what the environment says before any config file is read.

Read once at start-up (``Settings.from_env(os.environ)``) and passed down; nothing here reads
``os.environ`` by itself. Settings about the gateway's behaviour live in ``config.yaml``
(:mod:`stargate.config`), which has its own environment overrides (``DATABASE_URL``,
``STARGATE_MASTER_KEY``, ``STARGATE_PORT``, ...).

========================  =====================================================================
variable                  meaning
========================  =====================================================================
``STARGATE_CONFIG``       the config file (LiteLLM's ``CONFIG_FILE_PATH`` also works); unset:
                          the embedded defaults
``STARGATE_LOG_LEVEL``    ``DEBUG``, ``INFO`` (default), ``WARNING``, ``ERROR``; LiteLLM's
                          ``LITELLM_LOG`` also works
``STARGATE_LOG_FORMAT``   ``json`` (default: one JSON object per line) or ``text``
========================  =====================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from stargate.errors import ConfigError

__all__ = ["LogFormat", "Settings"]

LogFormat = Literal["json", "text"]
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_SOURCE = "environment"


@dataclass(frozen=True, slots=True)
class Settings:
    config_path: Path | None = None
    log_level: str = "INFO"
    log_format: LogFormat = "json"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read the variables above; a value that cannot be used is a :class:`ConfigError`
        naming the variable."""
        path = _first(env, "STARGATE_CONFIG", "CONFIG_FILE_PATH")
        level_name, level = _first_named(env, "STARGATE_LOG_LEVEL", "LITELLM_LOG")
        level = (level or "INFO").upper()
        if level == "WARN":
            level = "WARNING"
        if level not in _LEVELS:
            raise ConfigError(
                f"{level!r} is not a log level ({', '.join(_LEVELS)})",
                source=_SOURCE,
                path=level_name,
            )
        fmt = (_first(env, "STARGATE_LOG_FORMAT") or "json").lower()
        if fmt == "json":
            log_format: LogFormat = "json"
        elif fmt == "text":
            log_format = "text"
        else:
            raise ConfigError(
                f"{fmt!r} is not a log format (json, text)",
                source=_SOURCE,
                path="STARGATE_LOG_FORMAT",
            )
        return cls(Path(path) if path else None, level, log_format)


def _first(env: Mapping[str, str], *names: str) -> str | None:
    return _first_named(env, *names)[1]


def _first_named(env: Mapping[str, str], *names: str) -> tuple[str, str | None]:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return name, value
    return names[0], None
