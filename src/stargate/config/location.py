"""Where in a config file a value sits (``model_list[1].litellm_params.model``), and the one
way config code turns a place and a reason into an error or a warning."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from stargate.errors import ConfigError

__all__ = ["Loc", "Locator", "format_loc"]

Loc = tuple[str | int, ...]


def format_loc(loc: Loc) -> str:
    """``("model_list", 1, "litellm_params", "model")`` → ``model_list[1].litellm_params.model``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "(top level)"


@dataclass(frozen=True, slots=True)
class Locator:
    """The file being loaded and where each of its keys was written.

    ``lines`` maps a location to a human description of where it was written (``"line 12"``, or
    ``"models.yaml line 4"`` for an included file); the nearest enclosing location that has one
    is quoted.
    """

    source: str
    lines: Mapping[Loc, str] = field(default_factory=dict)

    def error(self, loc: Loc, reason: str) -> ConfigError:
        return ConfigError(f"{reason}{self._suffix(loc)}", source=self.source, path=format_loc(loc))

    def warning(self, loc: Loc, reason: str) -> str:
        return f"{self.source}: {format_loc(loc)}: {reason}{self._suffix(loc)}"

    def _suffix(self, loc: Loc) -> str:
        for end in range(len(loc), 0, -1):
            where = self.lines.get(loc[:end])
            if where:
                return f" ({where})"
        return ""
