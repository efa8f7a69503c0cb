"""Plain NumPy twin of the compiled RK4 in :mod:`stratotrack.engine.kernels` (no events, no outputs).

Integrates particles through whole steps of one vertical-motion model with the same arithmetic as the kernel
(lat/lon stages away from the poles; poleward of POLAR_LATITUDE RK4 on the 3-D position vector with every stage
point and the result renormalised onto the unit sphere).  Slow and simple on purpose:
tests hold the compiled engine to it.
"""

from __future__ import annotations

import numpy as np

from ..flight import models as _models
from ..geodesy import EARTH_RADIUS
from ..wind.reference import sample_reference
from .kernels import POLAR_LATITUDE

D2R = np.pi / 180.0


def vertical_rate_reference(model, p, z, q0=0.0, q1=0.0, cmd=0.0):
    """(dz/dt, dq0/dt, dq1/dt) of a vertical-motion model (name or code; vectorised), by its NumPy twin."""
    m = _models.MODELS[model] if isinstance(model, str) else _models.BY_CODE[int(model)]
    p = list(p) + [m.defaults[j] for j in range(len(p), _models.MAX_PARAMS)]
    return m.reference_rate(z, q0, q1, cmd, p)


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


class _View:
    """What a controller sees (as stratotrack.engine.runner.ControlState, for the reference)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def rk4_reference(field, t0, lat, lon, alt, h, nsteps, model=2, params=(0.0, 60.0, 5.0, 5.0), *, state=None,
                  command=None, controller=None, every=None, full=False):
    """Positions after each of ``nsteps`` RK4 steps of length ``h``: arrays (nsteps + 1, n) of lat, lon, alt
    (and with ``full`` the state slots q0, q1 and the command in force during each step).

    ``model`` (code or name) and ``params`` as in :meth:`stratotrack.flight.Profile.encode` (default: hold the
    start altitude); ``state`` [n, k] starts the model's state slots, ``command`` [n] its command;
    ``controller(view) -> commands`` is called before the first step and then every ``every`` steps (as
    :class:`stratotrack.engine.Integrator` calls it every ``control_interval`` seconds).
    """
    la = np.array(lat, dtype=float).ravel()
    lo = np.array(lon, dtype=float).ravel()
    z = np.array(alt, dtype=float).ravel() * np.ones_like(la)
    t = np.array(t0, dtype=float).ravel() * np.ones_like(la)
    q = np.zeros((la.size, 2))
    if state is not None:
        st = np.asarray(state, dtype=float).reshape(la.size, -1)
        q[:, :st.shape[1]] = st
    cmd = np.zeros_like(la) if command is None else np.broadcast_to(np.asarray(command, float), la.shape).copy()
    params = list(params)
    if model in (2, "target") and np.all(np.asarray(params[0]) == 0.0):
        params[0] = z.copy()
    out = [(la.copy(), lo.copy(), z.copy(), q[:, 0].copy(), q[:, 1].copy(), cmd.copy())]
    weights = (1 / 6, 2 / 6, 2 / 6, 1 / 6)
    cs = (0.0, 0.5, 0.5, 1.0)
    for step in range(nsteps):
        if controller is not None and step % every == 0:
            cmd = np.asarray(controller(_View(t=float(t.min()), time=t, lat=la, lon=lo, alt=z, state=q,
                                              command=cmd, running=np.ones(la.size, bool))), float).copy()
        polar = np.abs(la) >= POLAR_LATITUDE
        p0 = _unit(la, lo)
        dla = dlo = dz = dq0 = dq1 = np.zeros_like(la)
        vel = np.zeros((la.size, 3))
        sla, slo, sz, svel = np.zeros_like(la), np.zeros_like(la), np.zeros_like(la), np.zeros((la.size, 3))
        sq0, sq1 = np.zeros_like(la), np.zeros_like(la)
        for k in range(4):
            c = cs[k]
            zs = z + c * h * dz
            q0s = q[:, 0] + c * h * dq0
            q1s = q[:, 1] + c * h * dq1
            if k == 0:
                las, los = la, lo
            else:
                ll_la, ll_lo = _fold(la + c * h * dla, lo + c * h * dlo)
                pc_la, pc_lo = _latlon(_renormalised(p0 + c * h * vel))
                las, los = np.where(polar, pc_la, ll_la), np.where(polar, pc_lo, ll_lo)
            u, v, _w, _f = sample_reference(field, t + c * h, las, los, zs)
            r = EARTH_RADIUS + zs
            dz, dq0, dq1 = vertical_rate_reference(model, params, zs, q0s, q1s, cmd)
            sz += weights[k] * dz
            sq0 += weights[k] * dq0
            sq1 += weights[k] * dq1
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
        q = np.stack([q[:, 0] + h * sq0, q[:, 1] + h * sq1], axis=1)
        t = t + h
        out.append((la.copy(), (lo + 180) % 360 - 180, z.copy(), q[:, 0].copy(), q[:, 1].copy(), cmd.copy()))
    arrays = tuple(np.array(x) for x in zip(*out))
    return arrays if full else arrays[:3]
