"""Compiled wind sampling: the inner function every trajectory kernel calls.

The prepared field (see :class:`stratotrack.wind.WindField`) is a float32 array ``data[t, lat, lon, level, var]``
(passed to the kernels flattened, with its shape in the integer parameters)
with ``var`` = (geometric height of the level in m, eastward wind, northward wind[, upward wind]), latitudes
ascending, longitudes ascending and levels ordered by increasing height.  A sample at (t, lat, lon, z):

1. locates t between two time knots (linear weight; a single-time field is steady),
2. locates lat/lon in the grid (bilinear weights; longitude periodic for global grids),
3. interpolates each level's height over the 8 surrounding (time, lat, lon) corners, searches that column for the
   two levels that bracket z (as Tawhiri does: altitude is mapped to a pressure level through the field's own
   geopotential height at that place and time) and
4. interpolates the winds of those two levels with the same weights, linearly in height.

Samples outside the data are clamped to the nearest data and flagged (bit flags below; vertically, more than
``LEVEL_TOLERANCE`` beyond the lowest or highest level); what to do with a flagged sample is the caller's decision.  :mod:`stratotrack.wind.reference` holds the NumPy twin of this code.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

FLAG_ABOVE = 1
FLAG_BELOW = 2
FLAG_TIME = 4
FLAG_REGION = 8
FLAG_NAMES = {FLAG_ABOVE: "above_data", FLAG_BELOW: "below_data", FLAG_TIME: "outside_time", FLAG_REGION: "outside_region"}

#: metres beyond the lowest/highest level still taken as inside (RK4 stages of the step that lands overshoot the
#: ground by centimetres; that is not extrapolation worth a warning)
LEVEL_TOLERANCE = 1.0
# indices into the float parameter vector of a prepared field
P_LAT0, P_DLAT, P_LON0, P_DLON, P_LONSPAN = 0, 1, 2, 3, 4
# indices into the integer parameter vector (flags, then the shape of the 5-D data array)
I_LAT_UNIFORM, I_PERIODIC, I_NT, I_NLAT, I_NLON, I_NLEV, I_NVAR = 0, 1, 2, 3, 4, 5, 6


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def locate_time(knots, t, hint):
    """Return (j, weight, flags) so that t lies between knots[j] and knots[j+1] (weight from the first)."""
    nk = knots.shape[0]
    if nk == 1:
        return 0, 0.0, 0
    if t <= knots[0]:
        return 0, 0.0, (FLAG_TIME if t < knots[0] else 0)
    if t >= knots[nk - 1]:
        return nk - 2, 1.0, (FLAG_TIME if t > knots[nk - 1] else 0)
    j = hint
    if j < 0 or j > nk - 2 or not (knots[j] <= t <= knots[j + 1]):
        j = np.searchsorted(knots, t, side="right") - 1
        if j > nk - 2:
            j = nk - 2
    return j, (t - knots[j]) / (knots[j + 1] - knots[j]), 0


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def locate_lat(lat, fp, ip, la):
    """Return (j, fraction, flags) for latitude la on the ascending latitude axis."""
    n = lat.shape[0]
    if ip[I_LAT_UNIFORM]:
        y = (la - fp[P_LAT0]) / fp[P_DLAT]
        j = int(math.floor(y))
        f = y - j
    else:
        j = np.searchsorted(lat, la, side="right") - 1
        f = 0.0
        if 0 <= j < n - 1:
            f = (la - lat[j]) / (lat[j + 1] - lat[j])
    if j < 0:
        return 0, 0.0, FLAG_REGION
    if j >= n - 1:
        if la > lat[n - 1]:
            return n - 2, 1.0, FLAG_REGION
        return n - 2, 1.0, 0
    return j, f, 0


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def locate_lon(nlon, fp, ip, lo):
    """Return (i, i_next, fraction, flags) for longitude lo in any convention."""
    x = lo - fp[P_LON0]
    if x < 0.0:
        x += 360.0
    elif x >= 360.0:
        x -= 360.0
    if x < 0.0 or x >= 360.0:  # far outside one turn: the slow exact remainder
        x = x % 360.0
        if x >= 360.0:
            x = 0.0
    dlon = fp[P_DLON]
    if ip[I_PERIODIC]:
        g = x / dlon
        i = int(g)
        if i >= nlon:
            i = nlon - 1
        inext = i + 1
        if inext == nlon:
            inext = 0
        return i, inext, g - i, 0
    flags = 0
    span = fp[P_LONSPAN]
    if x > span:
        flags = FLAG_REGION
        x = span if (x - span) < (360.0 - x) else 0.0
    g = x / dlon
    i = int(g)
    if i >= nlon - 1:
        i = nlon - 2
    return i, i + 1, g - i, flags


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def _val(flat, b0, b1, b2, b3, b4, b5, b6, b7, w0, w1, w2, w3, w4, w5, w6, w7, off):
    return (w0 * flat[b0 + off] + w1 * flat[b1 + off] + w2 * flat[b2 + off] + w3 * flat[b3 + off]
            + w4 * flat[b4 + off] + w5 * flat[b5 + off] + w6 * flat[b6 + off] + w7 * flat[b7 + off])


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def sample(flat, lat, knots, kidx, fp, ip, t, la, lo, z, khint, thint):
    """Wind at one point of the flattened field: returns (u, v, w, flags, level_hint, time_hint)."""
    jt, wt, flags = locate_time(knots, t, thint)
    t0 = kidx[jt]
    t1 = kidx[jt + 1] if knots.shape[0] > 1 else t0
    j, fy, f2 = locate_lat(lat, fp, ip, la)
    nlat = ip[I_NLAT]
    nlon = ip[I_NLON]
    nlev = ip[I_NLEV]
    nvar = ip[I_NVAR]
    i0, i1, fx, f3 = locate_lon(nlon, fp, ip, lo)
    flags |= f2 | f3
    col = nlev * nvar
    r00 = (t0 * nlat + j) * nlon
    r01 = r00 + nlon
    r10 = (t1 * nlat + j) * nlon
    r11 = r10 + nlon
    b0 = (r00 + i0) * col
    b1 = (r00 + i1) * col
    b2 = (r01 + i0) * col
    b3 = (r01 + i1) * col
    b4 = (r10 + i0) * col
    b5 = (r10 + i1) * col
    b6 = (r11 + i0) * col
    b7 = (r11 + i1) * col
    c0 = 1.0 - wt
    w0 = c0 * (1.0 - fy) * (1.0 - fx)
    w1 = c0 * (1.0 - fy) * fx
    w2 = c0 * fy * (1.0 - fx)
    w3 = c0 * fy * fx
    w4 = wt * (1.0 - fy) * (1.0 - fx)
    w5 = wt * (1.0 - fy) * fx
    w6 = wt * fy * (1.0 - fx)
    w7 = wt * fy * fx
    k = khint
    if k < 0:
        k = 0
    if k > nlev - 2:
        k = nlev - 2
    hk = _val(flat, b0, b1, b2, b3, b4, b5, b6, b7, w0, w1, w2, w3, w4, w5, w6, w7, k * nvar)
    hk1 = _val(flat, b0, b1, b2, b3, b4, b5, b6, b7, w0, w1, w2, w3, w4, w5, w6, w7, (k + 1) * nvar)
    while z < hk and k > 0:
        k -= 1
        hk1 = hk
        hk = _val(flat, b0, b1, b2, b3, b4, b5, b6, b7, w0, w1, w2, w3, w4, w5, w6, w7, k * nvar)
    while z > hk1 and k < nlev - 2:
        k += 1
        hk = hk1
        hk1 = _val(flat, b0, b1, b2, b3, b4, b5, b6, b7, w0, w1, w2, w3, w4, w5, w6, w7, (k + 1) * nvar)
    if z < hk:
        a = 0.0
        if z < hk - LEVEL_TOLERANCE:
            flags |= FLAG_BELOW
    elif z > hk1:
        a = 1.0
        if z > hk1 + LEVEL_TOLERANCE:
            flags |= FLAG_ABOVE
    else:
        a = (z - hk) / (hk1 - hk)
    lo_off = k * nvar
    hi_off = lo_off + nvar
    u = (1.0 - a) * _val(flat, b0, b1, b2, b3, b4, b5, b6, b7, w0, w1, w2, w3, w4, w5, w6, w7, lo_off + 1) + a * _val(
        flat, b0, b1, b2, b3, b4, b5, b6, b7, w0, w1, w2, w3, w4, w5, w6, w7, hi_off + 1)
    v = (1.0 - a) * _val(flat, b0, b1, b2, b3, b4, b5, b6, b7, w0, w1, w2, w3, w4, w5, w6, w7, lo_off + 2) + a * _val(
        flat, b0, b1, b2, b3, b4, b5, b6, b7, w0, w1, w2, w3, w4, w5, w6, w7, hi_off + 2)
    w = 0.0
    if nvar > 3:
        w = (1.0 - a) * _val(flat, b0, b1, b2, b3, b4, b5, b6, b7, w0, w1, w2, w3, w4, w5, w6, w7, lo_off + 3) + a * _val(
            flat, b0, b1, b2, b3, b4, b5, b6, b7, w0, w1, w2, w3, w4, w5, w6, w7, hi_off + 3)
    return u, v, w, flags, k, jt


@njit(cache=True, parallel=True, error_model="numpy", _nrt=False)
def sample_many(data, lat, knots, kidx, fp, ip, t, la, lo, z, u, v, w, flags):
    """Vectorised :func:`sample` over arrays of points (results written into u, v, w, flags)."""
    for n in prange(t.shape[0]):
        uu, vv, ww, ff, _k, _j = sample(data, lat, knots, kidx, fp, ip, t[n], la[n], lo[n], z[n], 0, 0)
        u[n] = uu
        v[n] = vv
        w[n] = ww
        flags[n] = ff
