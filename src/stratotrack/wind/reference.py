"""Plain NumPy twin of the compiled sampler in :mod:`stratotrack.wind._sample`.

Slow and simple on purpose: it interpolates the whole height column at every point and finds the bracketing
levels by counting.  Tests hold the compiled kernel to it.
"""

from __future__ import annotations

import numpy as np

from ._sample import FLAG_ABOVE, FLAG_BELOW, FLAG_REGION, FLAG_TIME, I_LAT_UNIFORM, I_PERIODIC, LEVEL_TOLERANCE
from ._sample import P_DLON, P_LON0, P_LONSPAN


def sample_reference(field, t, lat, lon, z):
    """Return (u, v, w, flags) at arrays of points; ``t`` in seconds since 1970-01-01T00:00Z."""
    _flat, latax, knots, kidx, fp, ip = field.kernel_args()
    data = field.data
    t, lat, lon, z = (np.asarray(a, dtype=float).ravel() for a in np.broadcast_arrays(t, lat, lon, z))
    flags = np.zeros(t.shape, dtype=np.int64)

    # time
    nk = knots.size
    if nk == 1:
        jt = np.zeros(t.shape, dtype=int)
        wt = np.zeros(t.shape)
        t0 = t1 = np.full(t.shape, kidx[0])
    else:
        flags |= np.where((t < knots[0]) | (t > knots[-1]), FLAG_TIME, 0)
        tc = np.clip(t, knots[0], knots[-1])
        jt = np.clip(np.searchsorted(knots, tc, side="right") - 1, 0, nk - 2)
        wt = (tc - knots[jt]) / (knots[jt + 1] - knots[jt])
        t0, t1 = kidx[jt], kidx[jt + 1]

    # latitude
    n = latax.size
    flags |= np.where((lat < latax[0]) | (lat > latax[-1]), FLAG_REGION, 0)
    lac = np.clip(lat, latax[0], latax[-1])
    j = np.clip(np.searchsorted(latax, lac, side="right") - 1, 0, n - 2)
    fy = (lac - latax[j]) / (latax[j + 1] - latax[j])

    # longitude
    nlon = data.shape[2]
    x = np.mod(lon - fp[P_LON0], 360.0)
    x = np.where(x >= 360.0, 0.0, x)
    if ip[I_PERIODIC]:
        g = x / fp[P_DLON]
        i0 = np.minimum(g.astype(int), nlon - 1)
        i1 = (i0 + 1) % nlon
    else:
        span = fp[P_LONSPAN]
        out = x > span
        flags |= np.where(out, FLAG_REGION, 0)
        x = np.where(out, np.where((x - span) < (360.0 - x), span, 0.0), x)
        g = x / fp[P_DLON]
        i0 = np.minimum(g.astype(int), nlon - 2)
        i1 = i0 + 1
    fx = g - i0

    corners = [
        (t0, j, i0, (1 - wt) * (1 - fy) * (1 - fx)),
        (t0, j, i1, (1 - wt) * (1 - fy) * fx),
        (t0, j + 1, i0, (1 - wt) * fy * (1 - fx)),
        (t0, j + 1, i1, (1 - wt) * fy * fx),
        (t1, j, i0, wt * (1 - fy) * (1 - fx)),
        (t1, j, i1, wt * (1 - fy) * fx),
        (t1, j + 1, i0, wt * fy * (1 - fx)),
        (t1, j + 1, i1, wt * fy * fx),
    ]
    cols = sum(wgt[:, None, None] * data[ti, jj, ii].astype(float) for ti, jj, ii, wgt in corners)  # (N, lev, var)
    heights = cols[:, :, 0]
    nlev = heights.shape[1]
    k = np.clip((heights <= z[:, None]).sum(axis=1) - 1, 0, nlev - 2)
    rows = np.arange(t.size)
    hk, hk1 = heights[rows, k], heights[rows, k + 1]
    flags |= np.where(z < hk - LEVEL_TOLERANCE, FLAG_BELOW, 0) | np.where(z > hk1 + LEVEL_TOLERANCE, FLAG_ABOVE, 0)
    a = np.clip((z - hk) / (hk1 - hk), 0.0, 1.0)

    def level_interp(var):
        return (1 - a) * cols[rows, k, var] + a * cols[rows, k + 1, var]

    u, v = level_interp(1), level_interp(2)
    w = level_interp(3) if cols.shape[2] > 3 else np.zeros_like(u)
    return u, v, w, flags
