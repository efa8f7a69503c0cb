"""The payload duty cycle: a payload that draws ``power`` W while on, switched on over named sites (within a radius)
or by a schedule, and only when the battery allows it after the safety reserve.

:class:`Payload` decides at each control interval (:meth:`Payload.wants`), the flight grants or refuses it
against the battery (:meth:`Payload.allowed`) and the result reports the on-intervals and the energy
(:func:`intervals`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..geodesy import great_circle_distance
from .goto import check_place

__all__ = ["Site", "Payload", "intervals", "parse_site"]


@dataclass(frozen=True)
class Site:
    """A place of interest: the payload may run while the balloon is within ``radius`` m of it."""

    name: str
    lat: float
    lon: float
    radius: float = 100_000.0

    def __post_init__(self):
        check_place(f"payload site {self.name!r}", self.lat, self.lon, self.radius)


def parse_site(text: str, radius_km: float = 100.0) -> Site:
    """A site from ``NAME,LAT,LON[,RADIUS_KM]`` (as ``assess --site``) or ``LAT,LON[,RADIUS_KM]``."""
    parts = [p.strip() for p in str(text).split(",")]
    name = None
    try:
        float(parts[0])
    except ValueError:
        name, parts = parts[0], parts[1:]
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        vals = []
    if len(vals) not in (2, 3):
        raise InputError(f"payload site {text!r} is not understood; expected NAME,LAT,LON[,RADIUS_KM] or "
                         f"LAT,LON[,RADIUS_KM]")
    r = (vals[2] if len(vals) == 3 else radius_km) * 1000.0
    return Site(name or f"{vals[0]:g},{vals[1]:g}", vals[0], vals[1], r)


@dataclass
class Payload:
    """``power`` W while on; on over ``sites`` (any of them) or inside ``schedule`` (pairs of seconds since the
    flight's start), or always if neither is given; never while the battery's state of charge is at or below
    ``reserve`` (the safety reserve) or would fall below it over the next interval, and at night only if the
    battery would then last until sunrise above the reserve (the flight checks both)."""

    power: float
    sites: list = field(default_factory=list)
    schedule: list = field(default_factory=list)
    reserve: float = 0.2

    def __post_init__(self):
        if not (np.isfinite(self.power) and self.power >= 0):
            raise InputError(f"payload power {self.power!r} W is invalid; expected a non-negative number of watts")
        for a, b in self.schedule:
            if not (b > a):
                raise InputError(f"payload schedule interval ({a!r}, {b!r}) s is invalid; expected start < end")

    @property
    def active(self) -> bool:
        return self.power > 0

    def wants(self, t: float, lat: float, lon: float) -> bool:
        """Whether the payload should run at flight time ``t`` (s) at (lat, lon), battery aside."""
        if not self.active:
            return False
        if not self.sites and not self.schedule:
            return True
        if any(a <= t < b for a, b in self.schedule):
            return True
        return any(float(great_circle_distance(lat, lon, s.lat, s.lon)) <= s.radius for s in self.sites)

    def allowed(self, soc: float, capacity_j: float, dt: float, net_other_w: float) -> bool:
        """Whether the battery allows ``power`` W for ``dt`` s: the state of charge stays above the reserve with
        the other loads' net power ``net_other_w`` (W, solar in minus loads out) over the interval."""
        after = soc * capacity_j + (net_other_w - self.power) * dt
        return after > self.reserve * capacity_j


def intervals(t, on) -> list:
    """``[(start, end), ...]`` of the runs where ``on`` holds, each lasting from its first time to the time after
    its last (``t`` the start times of intervals, one more entry than ``on`` gives each interval's end)."""
    t = np.asarray(t, dtype=float)
    on = np.asarray(on, dtype=bool)
    out = []
    start = None
    for k, v in enumerate(on):
        if v and start is None:
            start = t[k]
        if not v and start is not None:
            out.append((float(start), float(t[k])))
            start = None
    if start is not None:
        out.append((float(start), float(t[len(on)])))
    return out
