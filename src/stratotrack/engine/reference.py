"""Plain NumPy twin of the compiled RK4 in :mod:`stratotrack.engine.kernels` (no events, no outputs).

Integrates particles through whole steps of one vertical-motion model with the same arithmetic as the kernel
(lat/lon stages away from the poles; poleward of POLAR_LATITUDE RK4 on the 3-D position vector with every stage
point and the result renormalised onto the unit sphere).  Slow and simple on purpose:
tests hold the compiled engine to it.
"""

from __future__ import annotations

import numpy as np

from .. import atmosphere
from ..geodesy import EARTH_RADIUS
from ..wind.reference import sample_reference
from .kernels import M_DRAG, M_RATE, POLAR_LATITUDE

D2R = np.pi / 180.0


def vertical_rate_reference(model, p, z):
    """dz/dt of a vertical-motion model (vectorised)."""
    if model == M_RATE:
        return np.full_like(z, p[0])
    if model == M_DRAG:
        return -atmosphere.descent_speed(p[0], z)
    return np.clip((p[0] - z) / p[1], -p[3], p[2])


def _fold(la, lo):
    over = la > 90
    under = la < -90
    la = np.where(over, 180 - la, np.where(under, -180 - la, la))
    lo = np.where(over | under, lo + 180, lo)
    return la, lo


def _unit(la, lo):
    la, lo = la * D2R, lo * D2R
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


def _tangent(la, lo, u, v, r):
    la, lo = la * D2R, lo * D2R
    east = np.stack([-np.sin(lo), np.cos(lo), np.zeros_like(lo)], axis=-1)
    north = np.stack([-np.sin(la) * np.cos(lo), -np.sin(la) * np.sin(lo), np.cos(la)], axis=-1)
    return (u[:, None] * east + v[:, None] * north) / r[:, None]


def _renormalised(p):
    return p / np.linalg.norm(p, axis=-1, keepdims=True)


def _latlon(p):
    return np.degrees(np.arcsin(np.clip(p[:, 2], -1, 1))), np.degrees(np.arctan2(p[:, 1], p[:, 0]))


def rk4_reference(field, t0, lat, lon, alt, h, nsteps, model=2, params=(0.0, 60.0, 5.0, 5.0)):
    """Positions after each of ``nsteps`` RK4 steps of length ``h``: arrays (nsteps + 1, n) of lat, lon, alt.

    ``model``/``params`` as in :meth:`stratotrack.flight.Profile.encode` (default: hold the start altitude).
    """
    la = np.array(lat, dtype=float).ravel()
    lo = np.array(lon, dtype=float).ravel()
    z = np.array(alt, dtype=float).ravel() * np.ones_like(la)
    t = np.array(t0, dtype=float).ravel() * np.ones_like(la)
    params = list(params)
    if model == 2 and params[0] == 0.0:
        params[0] = z.copy()
    out = [(la.copy(), lo.copy(), z.copy())]
    weights = (1 / 6, 2 / 6, 2 / 6, 1 / 6)
    cs = (0.0, 0.5, 0.5, 1.0)
    for _ in range(nsteps):
        polar = np.abs(la) >= POLAR_LATITUDE
        p0 = _unit(la, lo)
        dla = dlo = dz = np.zeros_like(la)
        vel = np.zeros((la.size, 3))
        sla, slo, sz, svel = np.zeros_like(la), np.zeros_like(la), np.zeros_like(la), np.zeros((la.size, 3))
        for k in range(4):
            c = cs[k]
            zs = z + c * h * dz
            if k == 0:
                las, los = la, lo
            else:
                ll_la, ll_lo = _fold(la + c * h * dla, lo + c * h * dlo)
                pc_la, pc_lo = _latlon(_renormalised(p0 + c * h * vel))
                las, los = np.where(polar, pc_la, ll_la), np.where(polar, pc_lo, ll_lo)
            u, v, _w, _f = sample_reference(field, t + c * h, las, los, zs)
            r = EARTH_RADIUS + zs
            dz = vertical_rate_reference(model, params, zs)
            sz += weights[k] * dz
            vel = _tangent(las, los, u, v, r)
            svel += weights[k] * vel
            dla = v / r / D2R
            dlo = u / (r * np.maximum(np.cos(las * D2R), 1e-12)) / D2R
            sla += weights[k] * dla
            slo += weights[k] * dlo
        ll_la, ll_lo = _fold(la + h * sla, lo + h * slo)
        pc_la, pc_lo = _latlon(_renormalised(p0 + h * svel))
        la, lo = np.where(polar, pc_la, ll_la), np.where(polar, pc_lo, ll_lo)
        z = z + h * sz
        t = t + h
        out.append((la.copy(), (lo + 180) % 360 - 180, z.copy()))
    return tuple(np.array(x) for x in zip(*out))
