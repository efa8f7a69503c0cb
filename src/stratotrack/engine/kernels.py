"""Compiled trajectory kernels (numba, cached on disk).

One integrator for everything: fixed-step RK4 on a sphere of radius ``EARTH_RADIUS + altitude``, vectorised over
particles that each carry their own time, position, stage and stage parameters.  Events (a stage's terminator, the
run's end time) are located inside the step: altitude crossings on the cubic Hermite interpolant of z(t) built
from the values and rates at both ends of the step, times exactly; the state at the event is then computed with
a partial RK4 step from the start of the step, and the rest of the step continues under the next stage.  Output
points that fall inside a step are computed the same way, so the output interval is independent of the step.

Away from the poles the state is integrated in (lat, lon); poleward of ``POLAR_LATITUDE`` a step is taken in 3-D
Cartesian coordinates: classic RK4 on the 3-D position vector with unit-sphere velocities (wind / radius), each
stage point and the result projected radially back onto the unit sphere, so trajectories cross the poles without
singularities and the step keeps its fourth order.  :mod:`stratotrack.engine.reference` is the NumPy twin of this
module.
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
def _unit(x, y, zc):
    """The point (x, y, zc) projected radially onto the unit sphere."""
    n = math.sqrt(x * x + y * y + zc * zc)
    return x / n, y / n, zc / n


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
def _sin_cos_near(c0, s0, d):
    """(cos(a + d), sin(a + d)) from cos(a), sin(a) for |d| <= 0.05 rad, by Taylor series exact to double
    precision."""
    d2 = d * d
    cd = 1.0 - d2 / 2.0 * (1.0 - d2 / 12.0 * (1.0 - d2 / 30.0 * (1.0 - d2 / 56.0)))
    sd = d * (1.0 - d2 / 6.0 * (1.0 - d2 / 20.0 * (1.0 - d2 / 42.0 * (1.0 - d2 / 72.0))))
    return c0 * cd - s0 * sd, s0 * cd + c0 * sd


# columns of the per-particle scratch rows used by rk4_rows
C_LA0, C_LO0, C_Z0, C_T0, C_DT, C_POLAR = 0, 1, 2, 3, 4, 5
C_COS0, C_SIN0, C_DLA, C_DLO, C_DZ, C_SLA, C_SLO, C_SZ = 6, 7, 8, 9, 10, 11, 12, 13
C_X0, C_Y0, C_ZC0, C_VX, C_VY, C_VZ, C_SVX, C_SVY, C_SVZ = 14, 15, 16, 17, 18, 19, 20, 21, 22
C_LA1, C_LO1, C_Z1 = 23, 24, 25
#: the latitude whose cosine and sine C_COS0/C_SIN0 hold (NO_LATITUDE: none); carried from one step to the next
C_CLAT = 26
NO_LATITUDE = 1000.0
SCRATCH_COLUMNS = 27


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False)
def rk4_rows(b0, b1, act, data, lat, knots, kidx, fp, ip, stage, khint, thint, codes, vals, sc, fls):
    """One RK4 step for each active row i in [b0, b1): from (t, la, lo, z) = sc[i, C_T0/C_LA0/C_LO0/C_Z0] over
    sc[i, C_DT] seconds (signed) under particle i's current stage; result in sc[i, C_LA1/C_LO1/C_Z1], sample
    flags in fls[i].

    The stages run outer and the particles inner, so the samples of different particles overlap in the CPU; the
    scalar paths call it with one row.  In (lat, lon) away from the poles: cos/sin of the start latitude come from
    the previous step's end (carried by a Taylor step, exact to rounding; recomputed whenever the start latitude is
    not the one they belong to), so the lockstep path makes no trigonometric call.  Poleward of POLAR_LATITUDE on
    the 3-D position vector (stage points renormalised onto the unit sphere before sampling, and the result too).
    This is the engine's only RK4.
    """
    for i in range(b0, b1):
        if act[i]:
            la = sc[i, C_LA0]
            lo = sc[i, C_LO0]
            fls[i] = 0
            polar = abs(la) >= POLAR_LATITUDE
            sc[i, C_POLAR] = 1.0 if polar else 0.0
            if polar:
                cp = math.cos(la * D2R)
                sc[i, C_X0] = cp * math.cos(lo * D2R)
                sc[i, C_Y0] = cp * math.sin(lo * D2R)
                sc[i, C_ZC0] = math.sin(la * D2R)
                for c in range(C_VX, C_SVZ + 1):
                    sc[i, c] = 0.0
            elif sc[i, C_CLAT] != la:
                sc[i, C_COS0] = math.cos(la * D2R)
                sc[i, C_SIN0] = math.sin(la * D2R)
                sc[i, C_CLAT] = la
            for c in range(C_DLA, C_SZ + 1):
                sc[i, c] = 0.0
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
        for i in range(b0, b1):
            if not act[i]:
                continue
            h = sc[i, C_DT]
            la = sc[i, C_LA0]
            lo = sc[i, C_LO0]
            zs = sc[i, C_Z0] + c * h * sc[i, C_DZ]
            if k == 0:
                las = la
                los = lo
            elif sc[i, C_POLAR] > 0.5:
                xs, ys, zcs = _unit(sc[i, C_X0] + c * h * sc[i, C_VX], sc[i, C_Y0] + c * h * sc[i, C_VY],
                                    sc[i, C_ZC0] + c * h * sc[i, C_VZ])
                las, los = _to_latlon(xs, ys, zcs)
            else:
                las, los = _fold(la + c * h * sc[i, C_DLA], lo + c * h * sc[i, C_DLO])
            u, v, _w, fl, kh, th = sample(data, lat, knots, kidx, fp, ip, sc[i, C_T0] + c * h, las, los, zs,
                                          khint[i], thint[i])
            khint[i] = kh
            thint[i] = th
            fls[i] |= fl
            s = stage[i]
            r = EARTH_RADIUS + zs
            dz = vertical_rate(codes[i, s, 0], vals[i, s, 0], vals[i, s, 1], vals[i, s, 2], vals[i, s, 3], zs)
            sc[i, C_DZ] = dz
            sc[i, C_SZ] += wgt * dz
            if sc[i, C_POLAR] > 0.5:
                vx, vy, vz = _tangent(las, los, u, v, r)
                sc[i, C_VX] = vx
                sc[i, C_VY] = vy
                sc[i, C_VZ] = vz
                sc[i, C_SVX] += wgt * vx
                sc[i, C_SVY] += wgt * vy
                sc[i, C_SVZ] += wgt * vz
            else:
                if k == 0:
                    cl = sc[i, C_COS0]
                else:
                    cl = _cos_near(sc[i, C_COS0], sc[i, C_SIN0], (las - sc[i, C_LA0]) * D2R, las)
                if cl < 1e-12:
                    cl = 1e-12
                dla = v / r * R2D
                dlo = u / (r * cl) * R2D
                sc[i, C_DLA] = dla
                sc[i, C_DLO] = dlo
                sc[i, C_SLA] += wgt * dla
                sc[i, C_SLO] += wgt * dlo
    for i in range(b0, b1):
        if act[i]:
            h = sc[i, C_DT]
            if sc[i, C_POLAR] > 0.5:
                xn, yn, zn = _unit(sc[i, C_X0] + h * sc[i, C_SVX], sc[i, C_Y0] + h * sc[i, C_SVY],
                                   sc[i, C_ZC0] + h * sc[i, C_SVZ])
                la1, lo1 = _to_latlon(xn, yn, zn)
            else:
                la0 = sc[i, C_LA0]
                la1, lo1 = _fold(la0 + h * sc[i, C_SLA], sc[i, C_LO0] + h * sc[i, C_SLO])
                # carry cos/sin to the end point for the next step (a trigonometric call when that is far)
                d = (la1 - la0) * D2R
                if abs(d) <= 0.05 and abs(la1) <= 90.0:
                    cn, sn = _sin_cos_near(sc[i, C_COS0], sc[i, C_SIN0], d)
                    sc[i, C_COS0] = cn
                    sc[i, C_SIN0] = sn
                    sc[i, C_CLAT] = la1
            sc[i, C_LA1] = la1
            sc[i, C_LO1] = lo1
            sc[i, C_Z1] = sc[i, C_Z0] + h * sc[i, C_SZ]


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def rk4(data, lat, knots, kidx, fp, ip, stage, khint, thint, codes, vals, sc, fls, act, i, t, la, lo, z, h):
    """One RK4 step of particle i alone (see :func:`rk4_rows`): returns (la, lo, z, flags)."""
    sc[i, C_T0] = t
    sc[i, C_LA0] = la
    sc[i, C_LO0] = lo
    sc[i, C_Z0] = z
    sc[i, C_DT] = h
    act[i] = 1
    rk4_rows(i, i + 1, act, data, lat, knots, kidx, fp, ip, stage, khint, thint, codes, vals, sc, fls)
    return sc[i, C_LA1], sc[i, C_LO1], sc[i, C_Z1], fls[i]


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
def _append(i, b_t, b_la, b_lo, b_z, b_kind, b_n, t, la, lo, z, kind):
    """Append a point (output point with its stage, or event with its kind) to particle i's row of a buffer."""
    n = b_n[i]
    if n < b_t.shape[1]:
        b_t[i, n] = t
        b_la[i, n] = la
        b_lo[i, n] = lo
        b_z[i, n] = z
        b_kind[i, n] = kind
        b_n[i] = n + 1


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
                 o_t, o_la, o_lo, o_z, o_st, o_n, e_t, e_la, e_lo, e_z, e_kind, e_n, clamp, sc, fls, act):
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
        la1, lo1, z1, fl = rk4(data, lat, knots, kidx, fp, ip, stage, khint, thint, codes, vals, sc, fls, act,
                               i, ti, lai, loi, zi, dt)
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
            _append(i, o_t, o_la, o_lo, o_z, o_st, o_n, nxt, la1, lo1, z1, s)
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
                _append(i, o_t, o_la, o_lo, o_z, o_st, o_n, ti, lai, loi, zi, s)
                _append(i, e_t, e_la, e_lo, e_z, e_kind, e_n, ti, lai, loi, zi, EV_LEFT)
                break
            _count(clamp, i, fle)
        if ev == 0:
            if abs(nxt - target) <= TIME_TOL:
                _append(i, o_t, o_la, o_lo, o_z, o_st, o_n, target, ela, elo, ez, s)
                nxt += sgn * out_dt
            ti = target
            lai, loi, zi = ela, elo, ez
            rem = 0.0
            continue
        if ev == 1 and (term == T_ABOVE or term == T_BELOW):
            ez = tv
        _append(i, o_t, o_la, o_lo, o_z, o_st, o_n, target, ela, elo, ez, s)
        if abs(nxt - target) <= TIME_TOL:
            nxt += sgn * out_dt
        ti = target
        lai, loi, zi = ela, elo, ez
        rem = step_end - ti
        if ev == 2:
            _append(i, e_t, e_la, e_lo, e_z, e_kind, e_n, ti, lai, loi, zi, EV_MAX_DURATION)
            st = MAX_DURATION
            break
        _append(i, e_t, e_la, e_lo, e_z, e_kind, e_n, ti, lai, loi, zi, s)
        s += 1
        if s >= nst:
            s = nst - 1
            st = DONE
            break
        stage[i] = s
    t[i] = ti
    la[i] = lai
    lo[i] = loi
    z[i] = zi
    stage[i] = s
    status[i] = st
    next_out[i] = nxt


#: particles stepped in lockstep by one thread (their samples overlap in the CPU)
BLOCK = 16


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False)
def _advance_block(b0, b1, data, lat, knots, kidx, fp, ip, t, la, lo, z, stage, status, khint, thint, next_out,
                   codes, vals, t_end, h, t_until, out_dt, stop_outside,
                   o_t, o_la, o_lo, o_z, o_st, o_n, e_t, e_la, e_lo, e_z, e_kind, e_n, clamp, sc, fls, act):
    """Whole steps for particles b0..b1-1 in lockstep; a step with an event, an output point inside it or a
    sample outside the data (when stopping there) is redone by the scalar state machine :func:`_advance_one`."""
    sgn = 1.0 if h > 0 else -1.0
    while True:
        n_act = 0
        for i in range(b0, b1):
            act[i] = 0
            if status[i] == RUNNING and sgn * (t[i] + h - t_until) <= TIME_TOL:
                act[i] = 1
                n_act += 1
                sc[i, C_T0] = t[i]
                sc[i, C_LA0] = la[i]
                sc[i, C_LO0] = lo[i]
                sc[i, C_Z0] = z[i]
                sc[i, C_DT] = h
        if n_act == 0:
            break
        rk4_rows(b0, b1, act, data, lat, knots, kidx, fp, ip, stage, khint, thint, codes, vals, sc, fls)
        for i in range(b0, b1):
            if not act[i]:
                continue
            s = stage[i]
            term = codes[i, s, 1]
            tv = vals[i, s, 4]
            ti = t[i]
            z1 = sc[i, C_Z1]
            tn = ti + h
            simple = sgn * (tn - t_end[i]) < -TIME_TOL and sgn * (next_out[i] - tn) >= -TIME_TOL
            if term == T_ABOVE:
                simple = simple and z[i] < tv and z1 < tv
            elif term == T_BELOW:
                simple = simple and z[i] > tv and z1 > tv
            elif term == T_TIME:
                simple = simple and sgn * (tn - tv) < -TIME_TOL
            fl = fls[i]
            if fl != 0 and stop_outside:
                simple = False
            if not simple:
                _advance_one(i, data, lat, knots, kidx, fp, ip, t, la, lo, z, stage, status, khint, thint, next_out,
                             codes, vals, t_end, h, tn, out_dt, stop_outside,
                             o_t, o_la, o_lo, o_z, o_st, o_n, e_t, e_la, e_lo, e_z, e_kind, e_n, clamp, sc, fls, act)
                act[i] = 0
                continue
            if fl != 0:
                _count(clamp, i, fl)
            t[i] = tn
            la[i] = sc[i, C_LA1]
            lo[i] = sc[i, C_LO1]
            z[i] = z1
            if abs(next_out[i] - tn) <= TIME_TOL:
                _append(i, o_t, o_la, o_lo, o_z, o_st, o_n, tn, la[i], lo[i], z1, s)
                next_out[i] += sgn * out_dt


@njit(cache=True, parallel=True, error_model="numpy", _nrt=False)
def advance(data, lat, knots, kidx, fp, ip, t, la, lo, z, stage, status, khint, thint, next_out,
            codes, vals, t_end, h, t_until, out_dt, stop_outside,
            o_t, o_la, o_lo, o_z, o_st, o_n, e_t, e_la, e_lo, e_z, e_kind, e_n, clamp, sc, fls, act):
    """Advance every running particle by whole steps of ``h`` up to ``t_until`` (in place).

    Per-particle state: t, la, lo, z, stage, status, level/time hints, next output time.  Stage models and
    parameters come from ``codes``/``vals`` (see :meth:`stratotrack.flight.Profile.encode`) and may be changed
    between calls.  Output points and events are appended to the ``o_*`` and ``e_*`` buffers; ``clamp`` counts,
    per particle, the steps that sampled outside the data (above, below, time, region) when not stopping there.
    ``sc`` (``[n, SCRATCH_COLUMNS]`` float64, column ``C_CLAT`` NO_LATITUDE at first), ``fls`` (int64) and ``act``
    (int8) are per-particle scratch.
    """
    n = t.shape[0]
    nb = (n + BLOCK - 1) // BLOCK
    for b in prange(nb):
        b0 = b * BLOCK
        b1 = min(n, b0 + BLOCK)
        _advance_block(b0, b1, data, lat, knots, kidx, fp, ip, t, la, lo, z, stage, status, khint, thint, next_out,
                       codes, vals, t_end, h, t_until, out_dt, stop_outside,
                       o_t, o_la, o_lo, o_z, o_st, o_n, e_t, e_la, e_lo, e_z, e_kind, e_n, clamp, sc, fls, act)


def sqrt_density_ratio_array(z):
    """Vectorised :func:`sqrt_density_ratio` (for tests against :mod:`stratotrack.atmosphere`)."""
    return np.array([sqrt_density_ratio(float(v)) for v in np.ravel(z)]).reshape(np.shape(z))
