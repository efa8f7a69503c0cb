"""Compiled wind sampling: the inner function every trajectory kernel calls.

The prepared field (see :class:`stratotrack.wind.WindField`) is a float32 array ``data[t, lat, lon, level, var]``
(passed to the kernels flattened, with its shape in the integer parameters)
with ``var`` = (geometric height of the level in m, eastward wind, northward wind[, upward wind]), latitudes
ascending, longitudes ascending and levels ordered by increasing height.  A sample at (t, lat, lon, z):

1. locates t between two time knots (linear weight; a single-time field is steady),
2. locates lat/lon in the grid (bilinear weights; longitude periodic for global grids),
3. interpolates each level's height over the 8 surrounding (time, lat, lon) corners, searches that column for the
   two levels that bracket z (as Tawhiri does: altitude is mapped to a pressure level through the field's own
   geopotential height at that place and time) and interpolates the winds of those two levels with the same
   weights (:func:`bracket`), then
4. interpolates between the two levels linearly in height (:func:`vertical`).

Samples outside the data are clamped to the nearest data and flagged (bit flags below; vertically, more than
``LEVEL_TOLERANCE`` beyond the lowest or highest level); what to do with a flagged sample is the caller's decision.  :mod:`stratotrack.wind.reference` holds the NumPy twin of this code.
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import intrinsic, njit, prange

FLAG_ABOVE = 1
FLAG_BELOW = 2
FLAG_TIME = 4
FLAG_REGION = 8
FLAG_NAMES = {FLAG_ABOVE: "above_data", FLAG_BELOW: "below_data", FLAG_TIME: "outside_time", FLAG_REGION: "outside_region"}

#: metres beyond the lowest/highest level still taken as inside (RK4 stages of the step that lands overshoot the
#: ground by centimetres; that is not extrapolation worth a warning)
LEVEL_TOLERANCE = 1.0
# indices into the float parameter vector of a prepared field: grid origin and spacing, longitude span, the
# reciprocals of the spacings, then from P_KINV on the reciprocal of each interval between time knots
P_LAT0, P_DLAT, P_LON0, P_DLON, P_LONSPAN, P_IDLAT, P_IDLON, P_KINV = 0, 1, 2, 3, 4, 5, 6, 7
# indices into the integer parameter vector (flags, then the shape of the 5-D data array)
I_LAT_UNIFORM, I_PERIODIC, I_NT, I_NLAT, I_NLON, I_NLEV, I_NVAR = 0, 1, 2, 3, 4, 5, 6


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def locate_time(knots, fp, t, hint):
    """Return (j, weight, flags) so that t lies between knots[j] and knots[j+1] (weight from the first)."""
    nk = knots.shape[0]
    if nk == 1:
        return 0, 0.0, 0
    if t <= knots[0]:
        return 0, 0.0, (FLAG_TIME if t < knots[0] else 0)
    if t >= knots[nk - 1]:
        return nk - 2, 1.0, (FLAG_TIME if t > knots[nk - 1] else 0)
    j = hint
    if j < 0 or j > nk - 2 or not (knots[j] <= t < knots[j + 1]):  # as searchsorted: the hint never decides
        j = np.searchsorted(knots, t, side="right") - 1
        if j > nk - 2:
            j = nk - 2
    return j, (t - knots[j]) * fp[P_KINV + j], 0


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def locate_lat(lat, fp, ip, la):
    """Return (j, fraction, flags) for latitude la on the ascending latitude axis."""
    n = lat.shape[0]
    if ip[I_LAT_UNIFORM]:
        y = (la - fp[P_LAT0]) * fp[P_IDLAT]
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
    inv = fp[P_IDLON]
    if ip[I_PERIODIC]:
        g = x * inv
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
    g = x * inv
    i = int(g)
    if i >= nlon - 1:
        i = nlon - 2
    return i, i + 1, g - i, flags


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def _val(flat, b0, b1, b2, b3, b4, b5, b6, b7, w0, w1, w2, w3, w4, w5, w6, w7, off):
    return (w0 * flat[b0 + off] + w1 * flat[b1 + off] + w2 * flat[b2 + off] + w3 * flat[b3 + off]
            + w4 * flat[b4 + off] + w5 * flat[b5 + off] + w6 * flat[b6 + off] + w7 * flat[b7 + off])


#: weighted sums over the 8 corners of two runs of 4 consecutive floats (LLVM vector code, see
#: :mod:`stratotrack.wind._intrinsics`; made when numba is loaded)
_corner_sums = intrinsic("stratotrack.wind._intrinsics", "_corner_sums")


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def corners(knots, kidx, fp, ip, t, j, i0, i1, fy, fx, thint):
    """Step 1 of a sample and the corners of its grid cell (rows j, j + 1, columns i0, i1, fractions fy, fx):
    returns (bases, weights, flags, time_hint), the offsets in the flattened field of the 8 (time, lat, lon)
    corner columns and their trilinear weights."""
    jt, wt, flags = locate_time(knots, fp, t, thint)
    t0 = kidx[jt]
    t1 = kidx[jt + 1] if knots.shape[0] > 1 else t0
    nlat = ip[I_NLAT]
    nlon = ip[I_NLON]
    col = ip[I_NLEV] * ip[I_NVAR]
    r00 = (t0 * nlat + j) * nlon
    r01 = r00 + nlon
    r10 = (t1 * nlat + j) * nlon
    r11 = r10 + nlon
    c0 = 1.0 - wt
    gy = 1.0 - fy
    gx = 1.0 - fx
    bases = ((r00 + i0) * col, (r00 + i1) * col, (r01 + i0) * col, (r01 + i1) * col,
             (r10 + i0) * col, (r10 + i1) * col, (r11 + i0) * col, (r11 + i1) * col)
    weights = (c0 * gy * gx, c0 * gy * fx, c0 * fy * gx, c0 * fy * fx, wt * gy * gx, wt * gy * fx, wt * fy * gx,
               wt * fy * fx)
    return bases, weights, flags, jt


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def locate(lat, knots, kidx, fp, ip, t, la, lo, thint):
    """Steps 1-2 of a sample: returns (bases, weights, flags, time_hint) as :func:`corners` does."""
    j, fy, f2 = locate_lat(lat, fp, ip, la)
    i0, i1, fx, f3 = locate_lon(ip[I_NLON], fp, ip, lo)
    bases, weights, flags, jt = corners(knots, kidx, fp, ip, t, j, i0, i1, fy, fx, thint)
    return bases, weights, flags | f2 | f3, jt


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def bracket(flat, ip, bases, weights, z, khint):
    """Step 3 of a sample at the corners found by :func:`locate`: the levels k, k + 1 whose interpolated heights
    bracket z (searched from the hint), and their interpolated height and winds: returns
    (h_k, h_k1, u_k, v_k, w_k, u_k1, v_k1, w_k1, k)."""
    nlev = ip[I_NLEV]
    nvar = ip[I_NVAR]
    k = khint
    if k < 0:
        k = 0
    if k > nlev - 2:
        k = nlev - 2
    # levels k and k+1 of (height, u, v[, w]) are 2 * nvar consecutive floats: two runs of 4 cover them
    off_b = 2 * nvar - 4
    a0, a1, a2, a3, e0, e1, e2, e3 = _corner_sums(flat, bases, weights, k * nvar, k * nvar + off_b)
    hk = a0
    hk1 = a3 if nvar == 3 else e0
    if (z < hk and k > 0) or (z > hk1 and k < nlev - 2):
        # the hinted levels do not bracket z: search the column (heights only), then take the winds there
        b0, b1, b2, b3, b4, b5, b6, b7 = bases
        w0, w1, w2, w3, w4, w5, w6, w7 = weights
        while z < hk and k > 0:
            k -= 1
            hk1 = hk
            hk = _val(flat, b0, b1, b2, b3, b4, b5, b6, b7, w0, w1, w2, w3, w4, w5, w6, w7, k * nvar)
        while z > hk1 and k < nlev - 2:
            k += 1
            hk = hk1
            hk1 = _val(flat, b0, b1, b2, b3, b4, b5, b6, b7, w0, w1, w2, w3, w4, w5, w6, w7, (k + 1) * nvar)
        a0, a1, a2, a3, e0, e1, e2, e3 = _corner_sums(flat, bases, weights, k * nvar, k * nvar + off_b)
        hk = a0
        hk1 = a3 if nvar == 3 else e0
    if nvar == 3:
        return hk, hk1, a1, a2, 0.0, e2, e3, 0.0, k
    return hk, hk1, a1, a2, a3, e1, e2, e3, k


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def vertical(z, hk, hk1, u0, v0, w0, u1, v1, w1):
    """Step 4 of a sample: the winds at z, linearly in height between the levels found by :func:`bracket`
    (clamped to the nearer level outside them, flagged beyond LEVEL_TOLERANCE): returns (u, v, w, flags).
    Branch-free, so that the kernels can vectorise it across particles."""
    a = (z - hk) / (hk1 - hk)
    a = 1.0 if z > hk1 else a
    a = 0.0 if z < hk else a
    flags = FLAG_BELOW if z < hk - LEVEL_TOLERANCE else (FLAG_ABOVE if z > hk1 + LEVEL_TOLERANCE else 0)
    return (1.0 - a) * u0 + a * u1, (1.0 - a) * v0 + a * v1, (1.0 - a) * w0 + a * w1, flags


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def column(flat, ip, bases, weights, z, khint):
    """Steps 3-4 of a sample at the corners found by :func:`locate`: returns (u, v, w, flags, level_hint)."""
    hk, hk1, u0, v0, w0, u1, v1, w1, k = bracket(flat, ip, bases, weights, z, khint)
    u, v, w, flags = vertical(z, hk, hk1, u0, v0, w0, u1, v1, w1)
    return u, v, w, flags, k


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def sample(flat, lat, knots, kidx, fp, ip, t, la, lo, z, khint, thint):
    """Wind at one point of the flattened field: returns (u, v, w, flags, level_hint, time_hint)."""
    bases, weights, flags, jt = locate(lat, knots, kidx, fp, ip, t, la, lo, thint)
    u, v, w, f2, k = column(flat, ip, bases, weights, z, khint)
    return u, v, w, flags | f2, k, jt


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False)
def _sample_point(data, lat, knots, kidx, fp, ip, t, la, lo, z):
    return sample(data, lat, knots, kidx, fp, ip, t, la, lo, z, 0, 0)


@njit(cache=True, parallel=True, error_model="numpy", _nrt=False)
def sample_many(data, lat, knots, kidx, fp, ip, t, la, lo, z, u, v, w, flags):
    """Vectorised :func:`sample` over arrays of points (results written into u, v, w, flags)."""
    for n in prange(t.shape[0]):
        # through a separate function: numba's parfor analysis fails on the inlined tuple-valued helpers
        uu, vv, ww, ff, _k, _j = _sample_point(data, lat, knots, kidx, fp, ip, t[n], la[n], lo[n], z[n])
        u[n] = uu
        v[n] = vv
        w[n] = ww
        flags[n] = ff
