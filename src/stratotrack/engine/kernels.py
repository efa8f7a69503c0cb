"""Compiled trajectory kernels (numba, cached on disk).

One integrator for everything: fixed-step RK4 on a sphere of radius ``EARTH_RADIUS + altitude``, vectorised over
particles that each carry their own time, position, stage and stage parameters.  Events (a stage's terminator, the
run's end time) are located inside the step: altitude crossings on the cubic Hermite interpolant of z(t) built
from the values and rates at both ends of the step, times exactly; the state at the event is then computed with
a partial RK4 step from the start of the step, and the rest of the step continues under the next stage.  Output
points that fall inside a step are computed the same way, so the output interval is independent of the step.

Away from the poles the state is integrated in (lat, lon); poleward of ``POLAR_LATITUDE`` a step is taken in 3-D
Cartesian coordinates on the unit sphere (tangent-plane RK4 with the exponential map), so trajectories cross the
poles without singularities.  :mod:`stratotrack.engine.reference` is the NumPy twin of this module.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .. import atmosphere as _atm
from ..geodesy import EARTH_RADIUS
from ..wind._sample import FLAG_ABOVE, FLAG_BELOW, FLAG_REGION, FLAG_TIME, sample

#: poleward of this latitude a step is integrated in Cartesian coordinates
POLAR_LATITUDE = 70.0

# particle status
RUNNING = 0
DONE = 1
MAX_DURATION = 2
LEFT_ABOVE = 3
LEFT_BELOW = 4
LEFT_TIME = 5
LEFT_REGION = 6
STATUS_NAMES = {
    RUNNING: "running",
    DONE: "completed",
    MAX_DURATION: "maximum duration reached",
    LEFT_ABOVE: "left the wind data (above its top)",
    LEFT_BELOW: "left the wind data (below its lowest level)",
    LEFT_TIME: "left the wind data (outside its times)",
    LEFT_REGION: "left the wind data (outside its region)",
}
# vertical models and terminators (see stratotrack.flight.profiles)
M_RATE, M_DRAG, M_TARGET = 0, 1, 2
T_NONE, T_ABOVE, T_BELOW, T_TIME = 0, 1, 2, 3
# event kinds recorded beside the stage index
EV_MAX_DURATION = -1
EV_LEFT = -2

D2R = math.pi / 180.0
R2D = 180.0 / math.pi
_LH = _atm.LAYER_H
_LL = _atm.LAYER_L
_LT = _atm.LAYER_T
_LP = _atm.LAYER_P
_RG = _atm.R_GEOPOTENTIAL
_GMR = _atm._GMR
_RHO_FACTOR = _atm._M / _atm._RSTAR
_RHO0 = float(_atm.RHO0)
TIME_TOL = 1e-6


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False)
def sqrt_density_ratio(z):
    """sqrt(rho0 / rho(z)) in the US Standard Atmosphere 1976 (z geometric, m)."""
    h = _RG * z / (_RG + z)
    k = 0
    while k < 6 and h >= _LH[k + 1]:
        k += 1
    tb = _LT[k]
    lb = _LL[k]
    dh = h - _LH[k]
    t = tb + lb * dh
    if lb == 0.0:
        p = _LP[k] * math.exp(-_GMR * dh / tb)
    else:
        p = _LP[k] * (tb / t) ** (_GMR / lb)
    return math.sqrt(_RHO0 / (p * _RHO_FACTOR / t))


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False)
def vertical_rate(model, p0, p1, p2, p3, z):
    """dz/dt (m/s, forward time) of a vertical-motion model at altitude z."""
    if model == M_RATE:
        return p0
    if model == M_DRAG:
        return -p0 * sqrt_density_ratio(z)
    r = (p0 - z) / p1
    if r > p2:
        r = p2
    if r < -p3:
        r = -p3
    return r


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False)
def _fold(la, lo):
    """Bring a latitude that went past a pole back into [-90, 90]."""
    if la > 90.0:
        return 180.0 - la, lo + 180.0
    if la < -90.0:
        return -180.0 - la, lo + 180.0
    return la, lo


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False)
def _tangent(la, lo, u, v, r):
    """Velocity (rad/s as a 3-vector tangent to the unit sphere) of wind (u, v) at (la, lo), radius r."""
    sl = math.sin(lo * D2R)
    cl = math.cos(lo * D2R)
    sp = math.sin(la * D2R)
    cp = math.cos(la * D2R)
    return (-sl * u - sp * cl * v) / r, (cl * u - sp * sl * v) / r, (cp * v) / r


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False)
def _expmap(x, y, zc, vx, vy, vz, h):
    """Move from unit vector (x, y, zc) along tangent velocity v for time h (great-circle arc)."""
    d = vx * x + vy * y + vz * zc
    vx -= d * x
    vy -= d * y
    vz -= d * zc
    s = math.sqrt(vx * vx + vy * vy + vz * vz)
    if s * abs(h) < 1e-15:
        nx, ny, nz = x + h * vx, y + h * vy, zc + h * vz
    else:
        ca = math.cos(s * h)
        sa = math.sin(s * h) / s
        nx, ny, nz = ca * x + sa * vx, ca * y + sa * vy, ca * zc + sa * vz
    n = math.sqrt(nx * nx + ny * ny + nz * nz)
    return nx / n, ny / n, nz / n


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False)
def _to_latlon(x, y, zc):
    return math.asin(max(-1.0, min(1.0, zc))) * R2D, math.atan2(y, x) * R2D


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False)
def _cos_near(c0, s0, d, la):
    """cos(a + d) from cos(a), sin(a) for a small d (rad), by Taylor series exact to double precision."""
    if abs(d) > 0.05:
        return math.cos(la * D2R)
    d2 = d * d
    cd = 1.0 - d2 / 2.0 * (1.0 - d2 / 12.0 * (1.0 - d2 / 30.0 * (1.0 - d2 / 56.0)))
    sd = d * (1.0 - d2 / 6.0 * (1.0 - d2 / 20.0 * (1.0 - d2 / 42.0 * (1.0 - d2 / 72.0))))
    return c0 * cd - s0 * sd


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def rk4(data, lat, knots, kidx, fp, ip, t, la, lo, z, h, model, p0, p1, p2, p3, kh, th):
    """One RK4 step of length h (signed) from (t, la, lo, z): returns (la, lo, z, flags, level_hint, time_hint).

    The four stages share one call of the sampler (so the compiled kernel holds one inlined copy of it).  In
    (lat, lon) away from the poles; poleward of POLAR_LATITUDE the stages move along great circles from the
    start point (exponential map of the tangent velocity) and combine as 3-vectors.
    """
    polar = abs(la) >= POLAR_LATITUDE
    x0 = y0 = zc0 = 0.0
    cos0 = sin0 = 1.0
    if polar:
        cp = math.cos(la * D2R)
        x0, y0, zc0 = cp * math.cos(lo * D2R), cp * math.sin(lo * D2R), math.sin(la * D2R)
    else:
        cos0 = math.cos(la * D2R)
        sin0 = math.sin(la * D2R)
    dla = dlo = dz = 0.0
    vx = vy = vz = 0.0
    sla = slo = sz = 0.0
    svx = svy = svz = 0.0
    flags = 0
    for k in range(4):
        if k == 0:
            c = 0.0
            wgt = 1.0 / 6.0
        elif k < 3:
            c = 0.5
            wgt = 2.0 / 6.0
        else:
            c = 1.0
            wgt = 1.0 / 6.0
        zs = z + c * h * dz
        if k == 0:
            las = la
            los = lo
        elif polar:
            xs, ys, zcs = _expmap(x0, y0, zc0, vx, vy, vz, c * h)
            las, los = _to_latlon(xs, ys, zcs)
        else:
            las, los = _fold(la + c * h * dla, lo + c * h * dlo)
        u, v, _w, fl, kh, th = sample(data, lat, knots, kidx, fp, ip, t + c * h, las, los, zs, kh, th)
        flags |= fl
        r = EARTH_RADIUS + zs
        dz = vertical_rate(model, p0, p1, p2, p3, zs)
        sz += wgt * dz
        if polar:
            vx, vy, vz = _tangent(las, los, u, v, r)
            svx += wgt * vx
            svy += wgt * vy
            svz += wgt * vz
        else:
            if k == 0:
                cl = cos0
            else:
                cl = _cos_near(cos0, sin0, (las - la) * D2R, las)
            if cl < 1e-12:
                cl = 1e-12
            dla = v / r * R2D
            dlo = u / (r * cl) * R2D
            sla += wgt * dla
            slo += wgt * dlo
    if polar:
        xn, yn, zn = _expmap(x0, y0, zc0, svx, svy, svz, h)
        la1, lo1 = _to_latlon(xn, yn, zn)
    else:
        la1, lo1 = _fold(la + h * sla, lo + h * slo)
    return la1, lo1, z + h * sz, flags, kh, th


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False)
def _hermite_root(z0, z1, d0, d1, target):
    """Fraction s in [0, 1] where the cubic Hermite interpolant of z reaches target (bisection)."""
    lo = 0.0
    hi = 1.0
    flo = z0 - target
    for _ in range(55):
        s = 0.5 * (lo + hi)
        s2 = s * s
        s3 = s2 * s
        p = (2 * s3 - 3 * s2 + 1) * z0 + (s3 - 2 * s2 + s) * d0 + (-2 * s3 + 3 * s2) * z1 + (s3 - s2) * d1
        fm = p - target
        if (fm > 0.0) == (flo > 0.0):
            lo = s
            flo = fm
        else:
            hi = s
    return 0.5 * (lo + hi)


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _emit(i, o_t, o_la, o_lo, o_z, o_st, o_n, t, la, lo, z, st):
    n = o_n[i]
    if n < o_t.shape[1]:
        o_t[i, n] = t
        o_la[i, n] = la
        o_lo[i, n] = lo
        o_z[i, n] = z
        o_st[i, n] = st
        o_n[i] = n + 1


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _event(i, e_t, e_la, e_lo, e_z, e_kind, e_n, t, la, lo, z, kind):
    n = e_n[i]
    if n < e_t.shape[1]:
        e_t[i, n] = t
        e_la[i, n] = la
        e_lo[i, n] = lo
        e_z[i, n] = z
        e_kind[i, n] = kind
        e_n[i] = n + 1


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _count(clamp, i, fl):
    for b in range(4):
        if fl & (1 << b):
            clamp[i, b] += 1


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False)
def _status_from_flags(fl):
    if fl & FLAG_TIME:
        return LEFT_TIME
    if fl & FLAG_REGION:
        return LEFT_REGION
    if fl & FLAG_ABOVE:
        return LEFT_ABOVE
    return LEFT_BELOW


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False)
def _advance_one(i, data, lat, knots, kidx, fp, ip, t, la, lo, z, stage, status, khint, thint, next_out,
                 codes, vals, t_end, h, t_until, out_dt, stop_outside,
                 o_t, o_la, o_lo, o_z, o_st, o_n, e_t, e_la, e_lo, e_z, e_kind, e_n, clamp):
    """Advance particle i.  One RK4 call site, driven by a small state machine:

    phase 0 tries the rest of the current step and finds the earliest event in it; phase 1 computes output points
    that fall strictly before the end of what phase 0 covers (partial steps from the step's start); phase 2
    computes the state at an event inside the step.  Then the step (or its part up to the event) is accepted.
    """
    ti = t[i]
    lai = la[i]
    loi = lo[i]
    zi = z[i]
    s = stage[i]
    kh = khint[i]
    th = thint[i]
    nxt = next_out[i]
    sgn = 1.0 if h > 0 else -1.0
    nst = codes.shape[1]
    st = RUNNING
    rem = 0.0
    step_end = ti
    phase = 0
    tla = tlo = tz = 0.0
    tfl = 0
    theta = 2.0
    ev = 0
    target = ti
    while True:
        if phase == 0 and sgn * rem <= TIME_TOL:
            if sgn * (ti + h - t_until) > TIME_TOL:
                break
            step_end = ti + h
            rem = h
        model = codes[i, s, 0]
        term = codes[i, s, 1]
        p0 = vals[i, s, 0]
        p1 = vals[i, s, 1]
        p2 = vals[i, s, 2]
        p3 = vals[i, s, 3]
        tv = vals[i, s, 4]
        if phase == 0:
            dt = rem
        elif phase == 1:
            dt = nxt - ti
        else:
            dt = theta * rem
        la1, lo1, z1, fl, kh, th = rk4(data, lat, knots, kidx, fp, ip, ti, lai, loi, zi, dt, model,
                                       p0, p1, p2, p3, kh, th)
        if phase == 0:
            tla, tlo, tz, tfl = la1, lo1, z1, fl
            theta = 2.0
            ev = 0
            if term == T_ABOVE:
                if zi >= tv:
                    theta = 0.0
                elif z1 >= tv:
                    theta = _hermite_root(zi, z1, rem * vertical_rate(model, p0, p1, p2, p3, zi),
                                          rem * vertical_rate(model, p0, p1, p2, p3, z1), tv)
            elif term == T_BELOW:
                if zi <= tv:
                    theta = 0.0
                elif z1 <= tv:
                    theta = _hermite_root(zi, z1, rem * vertical_rate(model, p0, p1, p2, p3, zi),
                                          rem * vertical_rate(model, p0, p1, p2, p3, z1), tv)
            elif term == T_TIME:
                if sgn * (ti + rem - tv) >= -TIME_TOL:
                    theta = max(0.0, min(1.0, (tv - ti) / rem))
            if theta <= 1.0:
                ev = 1
            if sgn * (ti + rem - t_end[i]) >= -TIME_TOL:
                te_frac = max(0.0, min(1.0, (t_end[i] - ti) / rem))
                if te_frac < theta:
                    theta = te_frac
                    ev = 2
            if ev == 0:
                target = ti + rem
                if abs(target - step_end) < TIME_TOL:
                    target = step_end
            else:
                target = ti + theta * rem
        elif phase == 1:
            _emit(i, o_t, o_la, o_lo, o_z, o_st, o_n, nxt, la1, lo1, z1, s)
            nxt += sgn * out_dt
        # more output points strictly before the end of this (partial) step?
        if phase <= 1 and sgn * (nxt - target) < -TIME_TOL:
            phase = 1
            continue
        if ev != 0 and phase != 2 and 0.0 < theta < 1.0:
            phase = 2
            continue
        # accept
        if ev == 0 or (phase != 2 and theta >= 1.0):
            fle = tfl
            ela, elo, ez = tla, tlo, tz
        elif phase == 2:
            fle = fl
            ela, elo, ez = la1, lo1, z1
        else:
            fle = 0
            ela, elo, ez = lai, loi, zi
        phase = 0
        if fle != 0:
            if stop_outside:
                st = _status_from_flags(fle)
                _emit(i, o_t, o_la, o_lo, o_z, o_st, o_n, ti, lai, loi, zi, s)
                _event(i, e_t, e_la, e_lo, e_z, e_kind, e_n, ti, lai, loi, zi, EV_LEFT)
                break
            _count(clamp, i, fle)
        if ev == 0:
            if abs(nxt - target) <= TIME_TOL:
                _emit(i, o_t, o_la, o_lo, o_z, o_st, o_n, target, ela, elo, ez, s)
                nxt += sgn * out_dt
            ti = target
            lai, loi, zi = ela, elo, ez
            rem = 0.0
            continue
        if ev == 1 and (term == T_ABOVE or term == T_BELOW):
            ez = tv
        _emit(i, o_t, o_la, o_lo, o_z, o_st, o_n, target, ela, elo, ez, s)
        if abs(nxt - target) <= TIME_TOL:
            nxt += sgn * out_dt
        ti = target
        lai, loi, zi = ela, elo, ez
        rem = step_end - ti
        if ev == 2:
            _event(i, e_t, e_la, e_lo, e_z, e_kind, e_n, ti, lai, loi, zi, EV_MAX_DURATION)
            st = MAX_DURATION
            break
        _event(i, e_t, e_la, e_lo, e_z, e_kind, e_n, ti, lai, loi, zi, s)
        s += 1
        if s >= nst:
            s = nst - 1
            st = DONE
            break
    t[i] = ti
    la[i] = lai
    lo[i] = loi
    z[i] = zi
    stage[i] = s
    status[i] = st
    khint[i] = kh
    thint[i] = th
    next_out[i] = nxt


@njit(cache=True, parallel=True, error_model="numpy", _nrt=False)
def advance(data, lat, knots, kidx, fp, ip, t, la, lo, z, stage, status, khint, thint, next_out,
            codes, vals, t_end, h, t_until, out_dt, stop_outside,
            o_t, o_la, o_lo, o_z, o_st, o_n, e_t, e_la, e_lo, e_z, e_kind, e_n, clamp):
    """Advance every running particle by whole steps of ``h`` up to ``t_until`` (in place).

    Per-particle state: t, la, lo, z, stage, status, level/time hints, next output time.  Stage models and
    parameters come from ``codes``/``vals`` (see :meth:`stratotrack.flight.Profile.encode`) and may be changed
    between calls.  Output points and events are appended to the ``o_*`` and ``e_*`` buffers; ``clamp`` counts,
    per particle, the steps that sampled outside the data (above, below, time, region) when not stopping there.
    """
    for i in prange(t.shape[0]):
        if status[i] == RUNNING:
            _advance_one(i, data, lat, knots, kidx, fp, ip, t, la, lo, z, stage, status, khint, thint, next_out,
                         codes, vals, t_end, h, t_until, out_dt, stop_outside,
                         o_t, o_la, o_lo, o_z, o_st, o_n, e_t, e_la, e_lo, e_z, e_kind, e_n, clamp)


def sqrt_density_ratio_array(z):
    """Vectorised :func:`sqrt_density_ratio` (for tests against :mod:`stratotrack.atmosphere`)."""
    return np.array([sqrt_density_ratio(float(v)) for v in np.ravel(z)]).reshape(np.shape(z))
