"""Go to and loiter: a target or a list of waypoints, each reached within its radius and then loitered at for a
duration before the next; any controller drives it (the seeker, the planner, :class:`GreedyController`): the
flight moves the target (and the controller's frame and forecast) to the current waypoint.

A single target with no loiter time is station keeping: the route never advances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .control import DOWN, STAY, UP, Observation

__all__ = ["Waypoint", "Route", "parse_waypoint", "GreedyController"]


def check_place(what: str, lat, lon, radius) -> None:
    """One clear :class:`InputError` for a place (``what`` names it) with an invalid latitude, longitude or radius."""
    if not (-90.0 <= float(lat) <= 90.0) or not np.isfinite(lon):
        raise InputError(f"{what} at {lat!r}, {lon!r} is invalid; expected a latitude in -90..90 and a finite "
                         f"longitude")
    if not (np.isfinite(radius) and radius > 0):
        raise InputError(f"{what} radius {radius!r} m is invalid; expected a positive distance")


@dataclass(frozen=True)
class Waypoint:
    """Reach within ``radius`` m of (lat, lon), then stay ``loiter`` s (``inf``: for the rest of the flight)."""

    lat: float
    lon: float
    radius: float = 50_000.0
    loiter: float = float("inf")

    def __post_init__(self):
        check_place("waypoint", self.lat, self.lon, self.radius)
        if not (self.loiter >= 0):
            raise InputError(f"waypoint loiter {self.loiter!r} s is invalid; expected a duration >= 0")


def parse_waypoint(text: str, radius: float = 50_000.0, loiter: float = float("inf")) -> Waypoint:
    """``LAT,LON[,RADIUS[,LOITER]]``: the radius a distance (``50km``, ``20000`` m), the loiter a duration
    (``6h``, ``1d``, seconds)."""
    from ..timeutil import parse_duration

    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) not in (2, 3, 4):
        raise InputError(f"waypoint {text!r} is not understood; expected LAT,LON[,RADIUS[,LOITER]]")
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        raise InputError(f"waypoint {text!r} is not understood; expected LAT,LON[,RADIUS[,LOITER]] with degrees") \
            from None
    r = parse_distance(parts[2]) if len(parts) > 2 and parts[2] else radius
    lo = float(parse_duration(parts[3])) if len(parts) > 3 and parts[3] else loiter
    return Waypoint(lat, lon, r, lo)


def parse_distance(text) -> float:
    """Metres from ``50km``, ``500m`` or a number of metres."""
    s = str(text).strip().lower()
    try:
        if s.endswith("km"):
            return float(s[:-2]) * 1000.0
        if s.endswith("m"):
            return float(s[:-1])
        return float(s)
    except ValueError:
        raise InputError(f"distance {text!r} is not understood; expected e.g. 50km, 500m or metres") from None


class Route:
    """The waypoints in order and where the flight stands: :meth:`update` at each decision with the time and the
    distance to the current waypoint; :attr:`current` the waypoint being flown to; :attr:`log` what happened."""

    def __init__(self, waypoints):
        self.waypoints = list(waypoints)
        if not self.waypoints:
            raise InputError("no target or waypoint given; expected --target LAT,LON or --waypoint LAT,LON ...")
        self.index = 0
        self.arrived_at = None
        self.log = []  # dicts: waypoint index, reached (s), left (s)

    @property
    def current(self) -> Waypoint:
        return self.waypoints[self.index]

    def update(self, t: float, distance: float) -> bool:
        """Advance the route; returns True when the current waypoint changed."""
        wp = self.current
        if self.arrived_at is None and distance <= wp.radius:
            self.arrived_at = t
            self.log.append({"waypoint": self.index, "reached": float(t), "left": None})
        if (self.arrived_at is not None and t - self.arrived_at >= wp.loiter
                and self.index + 1 < len(self.waypoints)):
            self.log[-1]["left"] = float(t)
            self.index += 1
            self.arrived_at = None
            return True
        return False


class GreedyController:
    """A small look-ahead controller on the forecast: for each forecast level inside the allowed band, drift from
    the balloon's position on that level's forecast for ``horizon`` s and score the mean distance to the target;
    head for the best level (UP to lower pressure, DOWN to higher), STAY within ``tolerance`` Pa of it.  The
    forecast is corrected by the bias of the winds measured at the current level (the last ``memory`` s).  It plans
    again every ``replan`` s and in between heads for the level it chose."""

    name = "greedy"

    def __init__(self, horizon: float = 6 * 3600.0, dt: float = 1800.0, tolerance: float = 300.0,
                 move_cost: float = 0.02, memory: float = 3 * 3600.0, replan: float = 1800.0):
        self.horizon, self.dt, self.tolerance, self.move_cost, self.memory = horizon, dt, tolerance, move_cost, memory
        self.replan = replan
        self.goal = None
        self.planned = None

    def reset(self, obs: Observation) -> None:
        self.goal = obs.pressure
        self.planned = None

    def act(self, obs: Observation) -> int:
        if self.planned is None or obs.t - self.planned >= self.replan or obs.forecast is not self._fc:
            self.goal = self._plan(obs)
            self.planned = obs.t
            self._fc = obs.forecast
        if self.goal < obs.pressure - self.tolerance:
            return UP
        if self.goal > obs.pressure + self.tolerance:
            return DOWN
        return STAY

    _fc = None

    def _plan(self, obs: Observation) -> float:
        fc = obs.forecast
        levels = fc.pressure[(fc.pressure >= obs.pressure_min) & (fc.pressure <= obs.pressure_max)]
        levels = np.unique(np.concatenate([levels, [obs.pressure]]))
        bu = bv = 0.0
        h = obs.history
        if h["t"].size:
            recent = (h["t"] >= obs.t - self.memory) & (np.abs(h["pressure"] - obs.pressure) < 1000.0)
            if recent.any():
                fu, fv = fc.uv(h["x"][recent], h["y"][recent], h["pressure"][recent], h["t"][recent])
                bu, bv = float(np.mean(h["u"][recent] - fu)), float(np.mean(h["v"][recent] - fv))
        x = np.full(levels.size, obs.x)
        y = np.full(levels.size, obs.y)
        score = np.zeros(levels.size)
        n = max(1, int(round(self.horizon / self.dt)))
        for k in range(n):
            t = obs.t + k * self.dt
            u, v = fc.uv(x, y, levels, np.full(levels.size, t))
            w = np.exp(-k * self.dt / self.memory)  # the bias fades with lead time
            x = x + (u + w * bu) * self.dt
            y = y + (v + w * bv) * self.dt
            score += np.hypot(x, y)
        score /= n
        score *= 1.0 + self.move_cost * np.abs(levels - obs.pressure) / 1000.0
        return float(levels[int(np.argmin(score))])
