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
from ..wind._sample import FLAG_ABOVE, FLAG_BELOW, FLAG_REGION, FLAG_TIME, sample

#: mean Earth radius (IUGG), m; the engine's sphere has radius EARTH_RADIUS + altitude
EARTH_RADIUS = 6371008.8
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


@njit(cache=True, fastmath=True)
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


@njit(cache=True, fastmath=True)
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


@njit(cache=True, fastmath=True)
def _fold(la, lo):
    """Bring a latitude that went past a pole back into [-90, 90]."""
    if la > 90.0:
        return 180.0 - la, lo + 180.0
    if la < -90.0:
        return -180.0 - la, lo + 180.0
    return la, lo


@njit(cache=True, fastmath=True)
def _deriv(data, lat, knots, kidx, fp, ip, t, la, lo, z, model, p0, p1, p2, p3, kh, th):
    u, v, _w, fl, kh, th = sample(data, lat, knots, kidx, fp, ip, t, la, lo, z, kh, th)
    r = EARTH_RADIUS + z
    c = math.cos(la * D2R)
    if c < 1e-12:
        c = 1e-12
    return v / r * R2D, u / (r * c) * R2D, vertical_rate(model, p0, p1, p2, p3, z), fl, kh, th


@njit(cache=True, fastmath=True)
def _rk4_latlon(data, lat, knots, kidx, fp, ip, t, la, lo, z, h, model, p0, p1, p2, p3, kh, th):
    a1, b1, c1, f1, kh, th = _deriv(data, lat, knots, kidx, fp, ip, t, la, lo, z, model, p0, p1, p2, p3, kh, th)
    la2, lo2 = _fold(la + 0.5 * h * a1, lo + 0.5 * h * b1)
    a2, b2, c2, f2, kh, th = _deriv(data, lat, knots, kidx, fp, ip, t + 0.5 * h, la2, lo2, z + 0.5 * h * c1,
                                    model, p0, p1, p2, p3, kh, th)
    la3, lo3 = _fold(la + 0.5 * h * a2, lo + 0.5 * h * b2)
    a3, b3, c3, f3, kh, th = _deriv(data, lat, knots, kidx, fp, ip, t + 0.5 * h, la3, lo3, z + 0.5 * h * c2,
                                    model, p0, p1, p2, p3, kh, th)
    la4, lo4 = _fold(la + h * a3, lo + h * b3)
    a4, b4, c4, f4, kh, th = _deriv(data, lat, knots, kidx, fp, ip, t + h, la4, lo4, z + h * c3,
                                    model, p0, p1, p2, p3, kh, th)
    la1, lo1 = _fold(la + h / 6.0 * (a1 + 2.0 * a2 + 2.0 * a3 + a4), lo + h / 6.0 * (b1 + 2.0 * b2 + 2.0 * b3 + b4))
    z1 = z + h / 6.0 * (c1 + 2.0 * c2 + 2.0 * c3 + c4)
    return la1, lo1, z1, f1 | f2 | f3 | f4, kh, th


@njit(cache=True, fastmath=True)
def _vel3(data, lat, knots, kidx, fp, ip, t, x, y, zc, z, model, p0, p1, p2, p3, kh, th):
    """Velocity on the unit sphere (rad/s as a 3-vector) and dz/dt at Cartesian point (x, y, zc)."""
    la = math.asin(max(-1.0, min(1.0, zc))) * R2D
    lo = math.atan2(y, x) * R2D
    u, v, _w, fl, kh, th = sample(data, lat, knots, kidx, fp, ip, t, la, lo, z, kh, th)
    r = EARTH_RADIUS + z
    sl = math.sin(lo * D2R)
    cl = math.cos(lo * D2R)
    sp = zc
    cp = math.sqrt(max(0.0, 1.0 - zc * zc))
    vx = (-sl * u - sp * cl * v) / r
    vy = (cl * u - sp * sl * v) / r
    vz = (cp * v) / r
    return vx, vy, vz, vertical_rate(model, p0, p1, p2, p3, z), fl, kh, th


@njit(cache=True, fastmath=True)
def _expmap(x, y, zc, vx, vy, vz, h):
    """Move from unit vector (x, y, zc) along tangent velocity v for time h (great-circle arc)."""
    d = vx * x + vy * y + vz * zc
    vx -= d * x
    vy -= d * y
    vz -= d * zc
    s = math.sqrt(vx * vx + vy * vy + vz * vz)
    ang = s * h
    if s * abs(h) < 1e-15:
        return x + h * vx, y + h * vy, zc + h * vz
    ca = math.cos(ang)
    sa = math.sin(ang) / s
    nx, ny, nz = ca * x + sa * vx, ca * y + sa * vy, ca * zc + sa * vz
    n = math.sqrt(nx * nx + ny * ny + nz * nz)
    return nx / n, ny / n, nz / n


@njit(cache=True, fastmath=True)
def _rk4_cart(data, lat, knots, kidx, fp, ip, t, la, lo, z, h, model, p0, p1, p2, p3, kh, th):
    cp = math.cos(la * D2R)
    x, y, zc = cp * math.cos(lo * D2R), cp * math.sin(lo * D2R), math.sin(la * D2R)
    ax, ay, az, c1, f1, kh, th = _vel3(data, lat, knots, kidx, fp, ip, t, x, y, zc, z, model, p0, p1, p2, p3, kh, th)
    x2, y2, z2 = _expmap(x, y, zc, ax, ay, az, 0.5 * h)
    bx, by, bz, c2, f2, kh, th = _vel3(data, lat, knots, kidx, fp, ip, t + 0.5 * h, x2, y2, z2, z + 0.5 * h * c1,
                                       model, p0, p1, p2, p3, kh, th)
    x3, y3, z3 = _expmap(x, y, zc, bx, by, bz, 0.5 * h)
    cx, cy, cz, c3, f3, kh, th = _vel3(data, lat, knots, kidx, fp, ip, t + 0.5 * h, x3, y3, z3, z + 0.5 * h * c2,
                                       model, p0, p1, p2, p3, kh, th)
    x4, y4, z4 = _expmap(x, y, zc, cx, cy, cz, h)
    dx, dy, dz, c4, f4, kh, th = _vel3(data, lat, knots, kidx, fp, ip, t + h, x4, y4, z4, z + h * c3,
                                       model, p0, p1, p2, p3, kh, th)
    xn, yn, zn = _expmap(x, y, zc, (ax + 2 * bx + 2 * cx + dx) / 6.0, (ay + 2 * by + 2 * cy + dy) / 6.0,
                         (az + 2 * bz + 2 * cz + dz) / 6.0, h)
    la1 = math.asin(max(-1.0, min(1.0, zn))) * R2D
    lo1 = math.atan2(yn, xn) * R2D
    z1 = z + h / 6.0 * (c1 + 2.0 * c2 + 2.0 * c3 + c4)
    return la1, lo1, z1, f1 | f2 | f3 | f4, kh, th


@njit(cache=True, fastmath=True)
def rk4(data, lat, knots, kidx, fp, ip, t, la, lo, z, h, model, p0, p1, p2, p3, kh, th):
    """One RK4 step of length h (signed) from (t, la, lo, z): returns (la, lo, z, flags, level_hint, time_hint)."""
    if abs(la) < POLAR_LATITUDE:
        return _rk4_latlon(data, lat, knots, kidx, fp, ip, t, la, lo, z, h, model, p0, p1, p2, p3, kh, th)
    return _rk4_cart(data, lat, knots, kidx, fp, ip, t, la, lo, z, h, model, p0, p1, p2, p3, kh, th)


@njit(cache=True, fastmath=True)
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


@njit(cache=True)
def _emit(i, o_t, o_la, o_lo, o_z, o_st, o_n, t, la, lo, z, st):
    n = o_n[i]
    if n < o_t.shape[1]:
        o_t[i, n] = t
        o_la[i, n] = la
        o_lo[i, n] = lo
        o_z[i, n] = z
        o_st[i, n] = st
        o_n[i] = n + 1


@njit(cache=True)
def _event(i, e_t, e_la, e_lo, e_z, e_kind, e_n, t, la, lo, z, kind):
    n = e_n[i]
    if n < e_t.shape[1]:
        e_t[i, n] = t
        e_la[i, n] = la
        e_lo[i, n] = lo
        e_z[i, n] = z
        e_kind[i, n] = kind
        e_n[i] = n + 1


@njit(cache=True)
def _count(clamp, i, fl):
    for b in range(4):
        if fl & (1 << b):
            clamp[i, b] += 1


@njit(cache=True, fastmath=True)
def _status_from_flags(fl):
    if fl & FLAG_TIME:
        return LEFT_TIME
    if fl & FLAG_REGION:
        return LEFT_REGION
    if fl & FLAG_ABOVE:
        return LEFT_ABOVE
    return LEFT_BELOW


@njit(cache=True, fastmath=True)
def _advance_one(i, data, lat, knots, kidx, fp, ip, t, la, lo, z, stage, status, khint, thint, next_out,
                 codes, vals, t_end, h, t_until, out_dt, stop_outside,
                 o_t, o_la, o_lo, o_z, o_st, o_n, e_t, e_la, e_lo, e_z, e_kind, e_n, clamp):
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
    while st == RUNNING:
        if sgn * (ti + h - t_until) > TIME_TOL:
            break
        step_end = ti + h
        rem = h
        while st == RUNNING and sgn * rem > TIME_TOL:
            model = codes[i, s, 0]
            term = codes[i, s, 1]
            p0 = vals[i, s, 0]
            p1 = vals[i, s, 1]
            p2 = vals[i, s, 2]
            p3 = vals[i, s, 3]
            tv = vals[i, s, 4]
            la1, lo1, z1, fl, kh, th = rk4(data, lat, knots, kidx, fp, ip, ti, lai, loi, zi, rem, model,
                                           p0, p1, p2, p3, kh, th)
            # the earliest event inside this (partial) step
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
                if fl != 0:
                    if stop_outside:
                        st = _status_from_flags(fl)
                        _emit(i, o_t, o_la, o_lo, o_z, o_st, o_n, ti, lai, loi, zi, s)
                        _event(i, e_t, e_la, e_lo, e_z, e_kind, e_n, ti, lai, loi, zi, EV_LEFT)
                        break
                    _count(clamp, i, fl)
                tn = ti + rem
                if abs(tn - step_end) < TIME_TOL:
                    tn = step_end
                while sgn * (nxt - tn) <= TIME_TOL:
                    if abs(nxt - tn) <= TIME_TOL:
                        _emit(i, o_t, o_la, o_lo, o_z, o_st, o_n, tn, la1, lo1, z1, s)
                    else:
                        la_o, lo_o, z_o, _f, kh, th = rk4(data, lat, knots, kidx, fp, ip, ti, lai, loi, zi, nxt - ti,
                                                          model, p0, p1, p2, p3, kh, th)
                        _emit(i, o_t, o_la, o_lo, o_z, o_st, o_n, nxt, la_o, lo_o, z_o, s)
                    nxt += sgn * out_dt
                ti = tn
                lai = la1
                loi = lo1
                zi = z1
                rem = 0.0
            else:
                dte = theta * rem
                te = ti + dte
                if theta >= 1.0:
                    lae, loe, zee, fle = la1, lo1, z1, fl
                elif theta <= 0.0:
                    lae, loe, zee, fle = lai, loi, zi, 0
                else:
                    lae, loe, zee, fle, kh, th = rk4(data, lat, knots, kidx, fp, ip, ti, lai, loi, zi, dte,
                                                     model, p0, p1, p2, p3, kh, th)
                if fle != 0:
                    if stop_outside:
                        st = _status_from_flags(fle)
                        _emit(i, o_t, o_la, o_lo, o_z, o_st, o_n, ti, lai, loi, zi, s)
                        _event(i, e_t, e_la, e_lo, e_z, e_kind, e_n, ti, lai, loi, zi, EV_LEFT)
                        break
                    _count(clamp, i, fle)
                while sgn * (nxt - te) < -TIME_TOL:
                    la_o, lo_o, z_o, _f, kh, th = rk4(data, lat, knots, kidx, fp, ip, ti, lai, loi, zi, nxt - ti,
                                                      model, p0, p1, p2, p3, kh, th)
                    _emit(i, o_t, o_la, o_lo, o_z, o_st, o_n, nxt, la_o, lo_o, z_o, s)
                    nxt += sgn * out_dt
                if ev == 1 and (term == T_ABOVE or term == T_BELOW):
                    zee = tv
                _emit(i, o_t, o_la, o_lo, o_z, o_st, o_n, te, lae, loe, zee, s)
                if abs(nxt - te) <= TIME_TOL:
                    nxt += sgn * out_dt
                ti = te
                lai = lae
                loi = loe
                zi = zee
                rem = step_end - ti
                if ev == 2:
                    _event(i, e_t, e_la, e_lo, e_z, e_kind, e_n, ti, lai, loi, zi, EV_MAX_DURATION)
                    st = MAX_DURATION
                else:
                    _event(i, e_t, e_la, e_lo, e_z, e_kind, e_n, ti, lai, loi, zi, s)
                    s += 1
                    if s >= nst:
                        s = nst - 1
                        st = DONE
    t[i] = ti
    la[i] = lai
    lo[i] = loi
    z[i] = zi
    stage[i] = s
    status[i] = st
    khint[i] = kh
    thint[i] = th
    next_out[i] = nxt


@njit(cache=True, parallel=True)
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
