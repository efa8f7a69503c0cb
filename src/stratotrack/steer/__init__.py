"""Steering: controllers that change a balloon's altitude to pick winds, power, safety layers and the arena.

The controller interface (:mod:`stratotrack.steer.control`) is shared by every controller: a controller sees an
:class:`~stratotrack.steer.control.Observation` at each decision (every 3 minutes in the arena) and answers
:data:`UP`, :data:`STAY` or :data:`DOWN`; the safety layers may override it. The arena (:mod:`stratotrack.steer.arena`)
reproduces the episodes of Google's Balloon Learning Environment (BLE) without JAX.
"""

from .control import DOWN, STAY, UP, Controller, Forecast, Observation

__all__ = ["UP", "STAY", "DOWN", "Forecast", "Observation", "Controller"]
