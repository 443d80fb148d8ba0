"""Logical model names to ordered deployments.

Several ``model_list`` entries may share a ``model_name``: they form one group, served in
rotation (LiteLLM's ``simple-shuffle``, made deterministic as a round robin), and the next one in
the rotation is the fallback when an attempt fails before anything reached the caller.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from stargate.config.deployment import Deployment
from stargate.errors import NotFound

__all__ = ["ModelGroup", "Router"]


@dataclass(slots=True)
class ModelGroup:
    name: str
    deployments: tuple[Deployment, ...]
    _turn: Iterator[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._turn = itertools.cycle(range(len(self.deployments)))

    def ordered(self) -> list[Deployment]:
        """Every deployment of the group, starting with the one whose turn it is."""
        if len(self.deployments) == 1:
            return [self.deployments[0]]
        start = next(self._turn)
        return [*self.deployments[start:], *self.deployments[:start]]


class Router:
    def __init__(self, deployments: Iterable[Deployment]) -> None:
        grouped: dict[str, list[Deployment]] = {}
        for deployment in deployments:
            grouped.setdefault(deployment.model_name, []).append(deployment)
        self._groups = {name: ModelGroup(name, tuple(deps)) for name, deps in grouped.items()}

    @property
    def model_names(self) -> Sequence[str]:
        return sorted(self._groups)

    def group(self, model_name: str) -> ModelGroup | None:
        return self._groups.get(model_name)

    def groups(self) -> list[ModelGroup]:
        return [self._groups[name] for name in self.model_names]

    def resolve(self, model_name: str) -> list[Deployment]:
        group = self._groups.get(model_name)
        if group is None:
            raise NotFound(
                f"The model '{model_name}' does not exist on this gateway. "
                "GET /v1/models lists the models you can use.",
                param="model",
                code="model_not_found",
            )
        return group.ordered()
