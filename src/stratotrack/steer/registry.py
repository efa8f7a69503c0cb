"""Controllers by name, for the command line and the benchmarks.

``make("seeker")`` builds a controller; ``register("planner", factory)`` adds one (a factory takes keyword
arguments, at least ``seed``, and returns an object following :class:`~stratotrack.steer.control.Controller`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import InputError
from .control import ACTIONS, STAY, Observation

__all__ = ["register", "make", "names", "StayController", "RandomController"]

_REGISTRY: dict[str, Callable] = {}


class StayController:
    """Never acts: the balloon drifts at its start level (safety layers aside)."""

    name = "stay"

    def reset(self, obs: Observation) -> None:
        """Nothing to prepare."""

    def act(self, obs: Observation) -> int:
        """Always STAY."""
        return STAY


class RandomController:
    """Picks up, stay or down uniformly at random at each decision (seeded)."""

    name = "random"

    def __init__(self, seed: int = 0):
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def reset(self, obs: Observation) -> None:
        """Restart the random stream."""
        self.rng = np.random.default_rng(self.seed)

    def act(self, obs: Observation) -> int:
        """A random action."""
        return int(self.rng.choice(ACTIONS))


def register(name: str, factory: Callable) -> None:
    """Register a controller factory under a name (``factory(seed=...)`` returns a controller)."""
    _REGISTRY[name] = factory


def names() -> list[str]:
    """The registered controller names, sorted."""
    _load_optional()
    return sorted(_REGISTRY)


def make(name: str, seed: int = 0):
    """A new controller of that name; :class:`InputError` naming the known ones if it is not registered."""
    _load_optional()
    if name not in _REGISTRY:
        raise InputError(f"unknown controller {name!r}; expected one of {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name](seed=seed)


def _seeker(seed: int = 0):
    from .seeker import StationSeeker

    return StationSeeker()


def _load_optional() -> None:
    # Controllers defined in other modules register themselves on import (e.g. the planner).
    import importlib

    for module in ("stratotrack.steer.planner",):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


register("stay", lambda seed=0: StayController())
register("random", lambda seed=0: RandomController(seed))
register("seeker", _seeker)
