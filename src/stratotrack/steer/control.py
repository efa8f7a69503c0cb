"""The controller interface shared by every steering controller.

A controller is called at each decision with an :class:`Observation` (the balloon's state, the forecast and the
winds it has measured on its own path, never the true wind ahead) and returns one of BLE's actions: :data:`UP`
(vent air ballast), :data:`STAY` or :data:`DOWN` (pump air in). Safety layers (:mod:`stratotrack.steer.safety`)
may override the action, as in Google's Balloon Learning Environment (BLE, Apache-2.0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
from numba import njit

__all__ = ["UP", "STAY", "DOWN", "ACTIONS", "Forecast", "Observation", "Controller"]

#: Vent air ballast: the balloon gets lighter and rises (lower pressure).
UP = 1
#: Do nothing.
STAY = 0
#: Pump air into the ballonet: the balloon gets heavier and sinks (higher pressure).
DOWN = -1
#: The three actions.
ACTIONS = (DOWN, STAY, UP)


def _weights(axis: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower index and fractional weight of ``q`` on an ascending ``axis``, clipped to the axis ends."""
    n = axis.shape[0]
    if n == 1:
        return np.zeros(q.shape, dtype=np.intp), np.zeros(q.shape)
    qc = np.clip(q, axis[0], axis[-1])
    i = np.clip(np.searchsorted(axis, qc, side="right") - 1, 0, n - 2)
    a0 = axis[i]
    w = (qc - a0) / (axis[i + 1] - a0)
    return i, w


@njit(cache=True)
def _locate(axis, q):
    n = axis.shape[0]
    if n == 1:
        return 0, 0, 0.0
    if q <= axis[0]:
        return 0, 1, 0.0
    if q >= axis[n - 1]:
        return n - 2, n - 1, 1.0
    lo = 0
    hi = n - 1
    while hi - lo > 1:  # bisection: axis[lo] <= q < axis[hi]
        mid = (lo + hi) // 2
        if axis[mid] <= q:
            lo = mid
        else:
            hi = mid
    return lo, lo + 1, (q - axis[lo]) / (axis[lo + 1] - axis[lo])


@njit(cache=True)
def _uv_compiled(ax, ay, ap, at, gu, gv, x, y, p, t, out_u, out_v):
    for k in range(x.shape[0]):
        i0, i1, wx = _locate(ax, x[k])
        j0, j1, wy = _locate(ay, y[k])
        p0, p1, wp = _locate(ap, p[k])
        t0, t1, wt = _locate(at, t[k])
        su = 0.0
        sv = 0.0
        for a in range(2):
            ia = i1 if a else i0
            ba = wx if a else 1.0 - wx
            for b in range(2):
                jb = j1 if b else j0
                bb = ba * (wy if b else 1.0 - wy)
                for c in range(2):
                    pc = p1 if c else p0
                    bc = bb * (wp if c else 1.0 - wp)
                    for d in range(2):
                        td = t1 if d else t0
                        w = bc * (wt if d else 1.0 - wt)
                        su += w * gu[ia, jb, pc, td]
                        sv += w * gv[ia, jb, pc, td]
        out_u[k] = su
        out_v[k] = sv


@dataclass
class Forecast:
    """A forecast wind on a regular grid in the controller's local frame.

    Attributes:
        x: metres east of the station/target, ascending, shape (nx,).
        y: metres north, ascending, shape (ny,).
        pressure: Pa, ascending, shape (npressure,).
        time: seconds since the flight's start, ascending, shape (ntime,).
        u, v: eastward and northward wind, m/s, shape (nx, ny, npressure, ntime).
    """

    x: np.ndarray
    y: np.ndarray
    pressure: np.ndarray
    time: np.ndarray
    u: np.ndarray
    v: np.ndarray

    def __post_init__(self) -> None:
        self.x = np.asarray(self.x, dtype=float)
        self.y = np.asarray(self.y, dtype=float)
        self.pressure = np.asarray(self.pressure, dtype=float)
        self.time = np.asarray(self.time, dtype=float)
        self.u = np.ascontiguousarray(self.u, dtype=float)
        self.v = np.ascontiguousarray(self.v, dtype=float)
        shape = (self.x.size, self.y.size, self.pressure.size, self.time.size)
        if self.u.shape != shape or self.v.shape != shape:
            raise ValueError(f"Forecast u/v have shapes {self.u.shape}/{self.v.shape}, expected {shape}")

    def uv(self, x, y, p, t) -> tuple[np.ndarray, np.ndarray]:
        """Multilinear interpolation of (u, v) at points, each coordinate clipped to the grid (compiled).

        Args:
            x, y: metres east/north (scalars or arrays, broadcast together).
            p: pressure in Pa.
            t: seconds since the flight's start.

        Returns:
            (u, v) in m/s with the broadcast shape of the inputs.
        """
        x, y, p, t = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (x, y, p, t)))
        shape = x.shape
        n = x.size
        out_u = np.empty(n)
        out_v = np.empty(n)
        _uv_compiled(self.x, self.y, self.pressure, self.time, self.u, self.v, np.ascontiguousarray(x).ravel(),
                     np.ascontiguousarray(y).ravel(), np.ascontiguousarray(p).ravel(),
                     np.ascontiguousarray(t).ravel(), out_u, out_v)
        return out_u.reshape(shape), out_v.reshape(shape)

    def uv_reference(self, x, y, p, t) -> tuple[np.ndarray, np.ndarray]:
        """Plain NumPy twin of :meth:`uv`, with the same arguments and result (the oracle its compiled kernel is
        tested against)."""
        x, y, p, t = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (x, y, p, t)))
        shape = x.shape
        ix, wx = _weights(self.x, x.ravel())
        iy, wy = _weights(self.y, y.ravel())
        ip, wp = _weights(self.pressure, p.ravel())
        it, wt = _weights(self.time, t.ravel())
        # Upper indices, kept inside the grid for axes of length 1 (their weight is then 0).
        jx = np.minimum(ix + 1, self.x.size - 1)
        jy = np.minimum(iy + 1, self.y.size - 1)
        jp = np.minimum(ip + 1, self.pressure.size - 1)
        jt = np.minimum(it + 1, self.time.size - 1)
        out_u = np.zeros(ix.shape)
        out_v = np.zeros(ix.shape)
        for ax, bx in ((ix, 1 - wx), (jx, wx)):
            for ay, by in ((iy, 1 - wy), (jy, wy)):
                for ap, bp in ((ip, 1 - wp), (jp, wp)):
                    for at, bt in ((it, 1 - wt), (jt, wt)):
                        w = bx * by * bp * bt
                        out_u += w * self.u[ax, ay, ap, at]
                        out_v += w * self.v[ax, ay, ap, at]
        return out_u.reshape(shape), out_v.reshape(shape)


def _empty_history() -> dict:
    return {k: np.zeros(0) for k in ("t", "x", "y", "pressure", "u", "v")}


@dataclass
class Observation:
    """What a controller may see at a decision: never the true wind ahead.

    Attributes:
        t: seconds since the flight's start.
        x, y: metres east/north of the station (or target).
        pressure: the balloon's pressure level, Pa.
        altitude: metres above sea level.
        superpressure: Pa.
        battery_soc: battery state of charge, 0..1.
        sun_elevation_deg: the sun's elevation at the balloon, degrees.
        is_day: whether the solar panels count as day (BLE: sun above -4.24 degrees).
        wind: (u, v) measured at the balloon over the last step, m/s.
        history: arrays ``'t','x','y','pressure','u','v'`` of the winds measured so far.
        forecast: the :class:`Forecast` the controller may use.
        radius: the station-keeping radius, m (50 km in the arena).
        pressure_min, pressure_max: the allowed pressure band, Pa.
        reachable: optional (lowest, highest) pressure, Pa, the balloon can float at now with a safe
            superpressure (BLE's pressure-range builder; the arena fills it), or None.
        step: the decision's index (0 for the first).
    """

    t: float
    x: float
    y: float
    pressure: float
    altitude: float
    superpressure: float
    battery_soc: float
    sun_elevation_deg: float
    is_day: bool
    wind: tuple
    history: dict = field(default_factory=_empty_history)
    forecast: Forecast | None = None
    radius: float = 50_000.0
    pressure_min: float = 5_000.0
    pressure_max: float = 14_000.0
    reachable: tuple | None = None
    step: int = 0


@runtime_checkable
class Controller(Protocol):
    """A steering controller: ``reset`` once at the start of a flight, then ``act`` at every decision.

    ``act`` returns :data:`UP`, :data:`STAY` or :data:`DOWN`; the safety layers may override it.
    """

    name: str

    def reset(self, obs: Observation) -> None:
        """Prepare for a new flight starting at ``obs``."""
        ...

    def act(self, obs: Observation) -> int:
        """The action for the next decision interval."""
        ...
