"""Logical model names to ordered deployments.

Several ``model_list`` entries may share a ``model_name``: they form one group, served in
rotation (LiteLLM's ``simple-shuffle``, made deterministic as a round robin), and the next one in
the rotation is the fallback when an attempt fails before anything reached the caller.

A name is resolved in this order: an exact ``model_name``; an alias
(``router_settings.model_group_alias``); a wildcard ``model_name`` (``claude-opus-*``) that
matches it, the most specific pattern (longest) first.

Deployments in cooldown (:mod:`stargate.routing.health`) move to the end of the order.
"""

from __future__ import annotations

import fnmatch
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from stargate.config.deployment import Deployment
from stargate.errors import NotFound
from stargate.routing.health import DeploymentHealth

__all__ = ["ModelGroup", "Router"]

_WILDCARD = frozenset("*?[")
_MATCH_CACHE_SIZE = 4096


@dataclass(slots=True)
class ModelGroup:
    name: str
    deployments: tuple[Deployment, ...]
    _turn: Iterator[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._turn = itertools.cycle(range(len(self.deployments)))

    @property
    def is_wildcard(self) -> bool:
        return not _WILDCARD.isdisjoint(self.name)

    def ordered(self) -> list[Deployment]:
        """Every deployment of the group, starting with the one whose turn it is."""
        if len(self.deployments) == 1:
            return [self.deployments[0]]
        start = next(self._turn)
        return [*self.deployments[start:], *self.deployments[:start]]


class Router:
    def __init__(
        self,
        deployments: Iterable[Deployment],
        *,
        aliases: Mapping[str, str] | None = None,
        hidden_aliases: Iterable[str] = (),
        health: DeploymentHealth | None = None,
    ) -> None:
        # Shared by the routers that replace each other as models are added at runtime.
        self.health = health if health is not None else DeploymentHealth()
        grouped: dict[str, list[Deployment]] = {}
        for deployment in deployments:
            grouped.setdefault(deployment.model_name, []).append(deployment)
        self._groups = {name: ModelGroup(name, tuple(deps)) for name, deps in grouped.items()}
        self._patterns = sorted(
            (g for g in self._groups.values() if g.is_wildcard),
            key=lambda g: (-len(g.name.replace("*", "")), g.name),
        )
        self._aliases = dict(aliases or {})
        self._hidden = frozenset(hidden_aliases)
        self._matched: dict[str, ModelGroup | None] = {}

    @property
    def model_names(self) -> Sequence[str]:
        """Names a caller can ask for: served names and visible aliases (not patterns)."""
        names = {n for n, g in self._groups.items() if not g.is_wildcard}
        names.update(a for a in self._aliases if a not in self._hidden)
        return sorted(names)

    def groups(self) -> list[ModelGroup]:
        return [self._groups[name] for name in sorted(self._groups)]

    def group(self, model_name: str) -> ModelGroup | None:
        """The group that serves ``model_name``, by exact name, alias or wildcard."""
        found = self._groups.get(model_name)
        if found is not None and not found.is_wildcard:
            return found
        target = self._aliases.get(model_name)
        if target is not None:
            found = self._groups.get(target)
            if found is not None and not found.is_wildcard:
                return found
            model_name = target
        return self._match(model_name)

    def _match(self, model_name: str) -> ModelGroup | None:
        try:
            return self._matched[model_name]
        except KeyError:
            pass
        found = next((g for g in self._patterns if fnmatch.fnmatchcase(model_name, g.name)), None)
        if len(self._matched) >= _MATCH_CACHE_SIZE:
            self._matched.clear()  # names come from callers: keep the cache bounded
        self._matched[model_name] = found
        return found

    def resolve(self, model_name: str) -> list[Deployment]:
        group = self.group(model_name)
        if group is None:
            raise NotFound(
                f"The model '{model_name}' does not exist on this gateway. "
                "GET /v1/models lists the models you can use.",
                param="model",
                code="model_not_found",
            )
        return self.health.order(group.ordered())
