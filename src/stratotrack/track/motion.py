"""The motion model of tracking: the engine (:class:`stratotrack.engine.Integrator`) plus a wind-error term.

Particles carry a position, an altitude, a vertical rate ``w`` and a wind error ``(du, dv)``.  The engine moves
them with the wind field at a constant vertical rate (its ``rate`` model, with a ``time`` terminator at the target
time); the wind error, the engine's Ornstein-Uhlenbeck process (:func:`stratotrack.engine.wind_error.ou_step`:
standard deviation ``sigma``, correlation time ``tau``), adds its displacement between engine chunks (operator
splitting).  Nothing here integrates on its own.
"""

from __future__ import annotations

import math

import numpy as np

from ..engine import Integrator
from ..engine import kernels as K
from ..flight import models
from ..geodesy import move, wrap_longitude
from ..timeutil import from_epoch_seconds
from .geometry import local_offsets, offset_points  # noqa: F401  (offset_points used by callers)
from ..engine.wind_error import ou_step  # noqa: F401,E402,I001  (the engine's OU wind-error process, for the filter)

D2R = math.pi / 180.0


def engine_move(field, t0, lat, lon, alt, w, t1, *, step=120.0):
    """Advance particles from times ``t0`` to ``t1`` (arrays, s) at vertical rates ``w`` on the wind field.

    Forward or backward (``t1 < t0``) in one call (all particles go the same way).  Returns (lat, lon, alt).
    """
    n = np.size(lat)
    t0 = np.broadcast_to(np.asarray(t0, float), (n,)).copy()
    t1 = np.broadcast_to(np.asarray(t1, float), (n,)).copy()
    span = np.abs(t1 - t0)
    if not np.any(span > 1e-6):
        return np.array(lat, float), np.array(lon, float), np.array(alt, float)
    backward = bool(np.nanmedian(t1 - t0) < 0)
    h = float(min(step, max(np.max(span), 1.0)))
    codes = np.zeros((n, 1, 2), dtype=np.int64)
    vals = np.zeros((n, 1, 5))
    codes[:, 0, 0] = models.code("rate")
    codes[:, 0, 1] = K.T_TIME
    vals[:, 0, 0] = np.broadcast_to(np.asarray(w, float), (n,))
    vals[:, 0, 4] = t1
    sgn = -1.0 if backward else 1.0
    integ = Integrator(field, t0, lat, lon, alt, codes, vals, t1 + sgn * 2 * h, step=h,
                       output_interval=max(float(np.max(span)), h), backward=backward)
    integ.run()
    integ.take_chunks()  # outputs are not needed: only the final state
    return integ.lat.copy(), wrap_longitude(integ.lon), integ.alt.copy()


def wind_at(field, t, lat, lon, alt):
    """(u, v) m/s of the field at particles (times in s)."""
    s = field.sample(from_epoch_seconds(np.asarray(t, float)), lat, lon, alt)
    return s["eastward_wind"].values, s["northward_wind"].values


def displace(lat, lon, east, north):
    """Positions moved by east/north displacements (m) along great circles, longitudes in -180..180."""
    nlat, nlon = move(lat, lon, east, north)
    return nlat, wrap_longitude(nlon)
