"""Steering: controllers that change a balloon's altitude to pick winds, power, safety layers and the arena.

The controller interface (:mod:`stratotrack.steer.control`) is shared by every controller: a controller sees an
:class:`~stratotrack.steer.control.Observation` at each decision (every 3 minutes in the arena) and answers
:data:`UP`, :data:`STAY` or :data:`DOWN`; the safety layers may override it. The arena (:mod:`stratotrack.steer.arena`)
reproduces the episodes of Google's Balloon Learning Environment (BLE) without JAX.
"""

from .control import DOWN, STAY, UP, Controller, Forecast, Observation

__all__ = ["UP", "STAY", "DOWN", "Forecast", "Observation", "Controller"]


# ``st.steer(...)`` flies a steered balloon (stratotrack.steer.api.steer) while ``stratotrack.steer`` stays this
# package: the package is callable (importing a submodule sets the package as the parent's attribute, so a
# function of the same name could not stay there).
import sys as _sys
import types as _types


class _CallablePackage(_types.ModuleType):
    def __call__(self, *args, **kwargs):
        from .api import steer

        return steer(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallablePackage
