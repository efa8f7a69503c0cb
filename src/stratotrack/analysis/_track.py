"""Trajectory arrays for the analyses, and the interval arithmetic they share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..timeutil import format_time, from_epoch_seconds, to_epoch_seconds
from ..geodesy import wrap_longitude

D2R = np.pi / 180.0


@dataclass
class Track:
    """Points ``[n, m]`` of ``n`` trajectories: seconds since 1970, degrees, metres; ``valid`` marks real points."""

    t: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    alt: np.ndarray
    valid: np.ndarray

    @property
    def n(self) -> int:
        return self.t.shape[0]

    @property
    def start(self) -> float:
        return float(np.nanmin(np.where(self.valid, self.t, np.nan)))

    @property
    def end(self) -> float:
        return float(np.nanmax(np.where(self.valid, self.t, np.nan)))


def as_track(traj) -> Track:
    """A :class:`Track` from a CF trajectory Dataset (``predict``, ``io.read``), an ensemble result kept with
    ``keep="trajectories"``, or a dict/tuple of arrays (time, latitude, longitude, altitude)."""
    if isinstance(traj, Track):
        return traj
    if hasattr(traj, "trajectories") and not hasattr(traj, "data_vars"):
        if traj.trajectories is None:
            raise InputError("this ensemble kept no trajectories; run it with keep='trajectories' to assess it")
        traj = traj.trajectories
    if hasattr(traj, "data_vars") or hasattr(traj, "coords"):
        for name in ("time", "latitude", "longitude", "altitude"):
            if name not in traj.variables:
                raise InputError(f"the trajectory has no {name!r} variable; expected a CF trajectory Dataset with "
                                 "time, latitude, longitude and altitude")
        t, la, lo, z = (np.asarray(traj[k].values) for k in ("time", "latitude", "longitude", "altitude"))
    elif isinstance(traj, dict):
        t, la, lo, z = (np.asarray(traj[k]) for k in ("time", "latitude", "longitude", "altitude"))
    else:
        t, la, lo, z = (np.asarray(a) for a in traj)
    if np.issubdtype(t.dtype, np.datetime64):
        tt = np.where(np.isnat(t), np.nan, t.astype("datetime64[ns]").astype(np.int64) / 1e9)
    elif t.dtype.kind in "OUS":
        tt = to_epoch_seconds(t).astype(float)
    else:
        tt = t.astype(float)
    arrs = [np.atleast_2d(np.asarray(a, dtype=float)) for a in (tt, la, lo, z)]
    try:
        arrs = list(np.broadcast_arrays(*arrs))
    except ValueError:
        raise InputError("trajectory time, latitude, longitude and altitude have different shapes") from None
    tt, la, lo, z = arrs
    valid = np.isfinite(tt) & np.isfinite(la) & np.isfinite(lo) & np.isfinite(z)
    if tt.size == 0 or not valid.any():
        raise InputError("the trajectory is empty; expected at least one point with a time, latitude, longitude "
                         "and altitude")
    if np.any(np.abs(la[valid]) > 90):
        raise InputError(f"trajectory latitude {float(la[valid][np.abs(la[valid]) > 90][0])!r} is beyond +-90 degrees")
    dt = np.diff(np.where(valid, tt, np.nan), axis=1)
    if np.any(dt[np.isfinite(dt)] < 0):
        raise InputError("trajectory times go backwards; expected points in time order (reverse a back-track first)")
    lo = np.where(valid, wrap_longitude(lo), np.nan)
    return Track(tt, np.where(valid, la, np.nan), lo, np.where(valid, z, np.nan), valid)


def iso(t) -> str | None:
    if t is None or not np.isfinite(t):
        return None
    return format_time(from_epoch_seconds(float(t)))


def intervals(t, g, valid):
    """Where ``g <= 0`` along each row: flat arrays (row, start, end) of the intervals, ends found by linear
    interpolation of ``g`` between neighbouring valid points.  Rows are in order, intervals in time order."""
    b = valid & (g <= 0)
    n, m = b.shape
    prev_b = np.zeros_like(b)
    prev_b[:, 1:] = b[:, :-1]
    next_b = np.zeros_like(b)
    next_b[:, :-1] = b[:, 1:]
    prev_v = np.zeros_like(b)
    prev_v[:, 1:] = valid[:, :-1]
    next_v = np.zeros_like(b)
    next_v[:, :-1] = valid[:, 1:]
    rs, cs = np.nonzero(b & ~prev_b)
    re, ce = np.nonzero(b & ~next_b)
    ts = t[rs, cs].copy()
    k = prev_v[rs, cs]
    if k.any():
        r, c = rs[k], cs[k]
        g0, g1 = g[r, c - 1], g[r, c]
        f = g0 / np.where(g0 - g1 != 0, g0 - g1, 1.0)
        ts[k] = t[r, c - 1] + f * (t[r, c] - t[r, c - 1])
    te = t[re, ce].copy()
    k = next_v[re, ce]
    if k.any():
        r, c = re[k], ce[k]
        g0, g1 = g[r, c], g[r, c + 1]
        f = g0 / np.where(g0 - g1 != 0, g0 - g1, 1.0)
        te[k] = t[r, c] + f * (t[r, c + 1] - t[r, c])
    return rs, ts, te, cs


def per_row(n, rows, ts, te):
    """Total time, longest stretch and first start per row from flat intervals."""
    dur = te - ts
    total = np.bincount(rows, weights=dur, minlength=n)
    longest = np.zeros(n)
    np.maximum.at(longest, rows, dur)
    first = np.full(n, np.nan)
    if rows.size:
        u, idx = np.unique(rows, return_index=True)
        first[u] = ts[idx]
    return total, longest, first


def interp_row(t, x, row, when):
    """Value of ``x[row]`` at time ``when`` (linear)."""
    v = np.isfinite(t[row]) & np.isfinite(x[row])
    return float(np.interp(when, t[row][v], x[row][v]))


def interp_lon(t, lon, row, when):
    v = np.isfinite(t[row]) & np.isfinite(lon[row])
    un = np.rad2deg(np.unwrap(np.deg2rad(lon[row][v])))
    return float(wrap_longitude(np.interp(when, t[row][v], un)))


def seconds(x) -> float:
    """Seconds since 1970 of a time given as a number (already seconds), datetime64 or ISO text."""
    if isinstance(x, (int, float, np.integer, np.floating)):
        return float(x)
    return float(np.asarray(to_epoch_seconds(x)).ravel()[0])
