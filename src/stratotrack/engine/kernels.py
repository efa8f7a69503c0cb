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

from .._jit import njit, prange
from ..flight import models as _models
from ..flight.models.drag import sqrt_density_ratio
from ..geodesy import EARTH_RADIUS
from ..wind._sample import (FLAG_ABOVE, FLAG_REGION, FLAG_TIME, I_LAT_UNIFORM, I_NLAT, I_NLEV, I_NLON,
                            I_NVAR, I_PERIODIC, P_IDLAT, P_IDLON, P_KINV, P_LAT0, P_LON0, P_LONSPAN, bracket, corners,
                            locate, vertical)

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
# terminators (see stratotrack.flight.profiles; vertical-motion models are declared in stratotrack.flight.models)
T_NONE, T_ABOVE, T_BELOW, T_TIME = 0, 1, 2, 3
# event kinds recorded beside the stage index
EV_MAX_DURATION = -1
EV_LEFT = -2

D2R = math.pi / 180.0
R2D = 180.0 / math.pi
TIME_TOL = 1e-6


# -- the vertical-motion models (stratotrack.flight.models), compiled in -------------------------------------------
# The registry's models fill the slots below in order of code: _C<k> the code (as a float), _R<k> the rate function,
# _D<k> parameters at which it is safe to evaluate; unused slots hold NO_MODEL, which no stage uses.  The kernels
# dispatch on a stage's code by an if/elif chain over the slots: row by row in model_rate, and once per block in
# model_rates_block when every running row of the block is in the same model (the common case: then only that
# model's rate is evaluated, in a loop over the rows that LLVM vectorises).  The chain is written out rather than
# generated: numba could not unroll a tuple of models inside the block kernel's nested loops (literal_unroll), and
# it cannot cache functions compiled from generated source on disk.
#: how many vertical-motion models the kernels can dispatch to (raise it by adding slots below)
MODEL_SLOTS = 10
#: the code of an unused slot (and of rows that are not running, in model_rate)
NO_MODEL = -1.0


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def _no_rate(z, q0, q1, cmd, p0, p1, p2, p3):
    return 0.0, 0.0, 0.0


def _model_slots():
    found = list(_models.MODELS.values())
    if len(found) > MODEL_SLOTS:
        raise ImportError(f"{len(found)} vertical-motion models are registered; the kernels have {MODEL_SLOTS} slots "
                          f"(stratotrack.engine.kernels.MODEL_SLOTS): add slots there")
    slots = [(float(m.code), m.rate, tuple(float(d) for d in m.defaults)) for m in found]
    return tuple(slots + [(NO_MODEL, _no_rate, (0.0, 0.0, 0.0, 0.0))] * (MODEL_SLOTS - len(slots)))


_MODEL_SLOTS = _model_slots()
((_C0, _R0, _D0), (_C1, _R1, _D1), (_C2, _R2, _D2), (_C3, _R3, _D3), (_C4, _R4, _D4), (_C5, _R5, _D5),
 (_C6, _R6, _D6), (_C7, _R7, _D7), (_C8, _R8, _D8), (_C9, _R9, _D9)) = _MODEL_SLOTS
#: changes with the models compiled in (see ensure_models)
MODELS_FINGERPRINT = _models.fingerprint()


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False)
def model_rate(m, z, q0, q1, cmd, p0, p1, p2, p3):
    """(dz/dt, dq0/dt, dq1/dt) (forward time) of model code m at altitude z, state q0, q1 and command cmd (zeros
    for NO_MODEL)."""
    if m == _C0:
        return _R0(z, q0, q1, cmd, p0, p1, p2, p3)
    if m == _C1:
        return _R1(z, q0, q1, cmd, p0, p1, p2, p3)
    if m == _C2:
        return _R2(z, q0, q1, cmd, p0, p1, p2, p3)
    if m == _C3:
        return _R3(z, q0, q1, cmd, p0, p1, p2, p3)
    if m == _C4:
        return _R4(z, q0, q1, cmd, p0, p1, p2, p3)
    if m == _C5:
        return _R5(z, q0, q1, cmd, p0, p1, p2, p3)
    if m == _C6:
        return _R6(z, q0, q1, cmd, p0, p1, p2, p3)
    if m == _C7:
        return _R7(z, q0, q1, cmd, p0, p1, p2, p3)
    if m == _C8:
        return _R8(z, q0, q1, cmd, p0, p1, p2, p3)
    if m == _C9:
        return _R9(z, q0, q1, cmd, p0, p1, p2, p3)
    return 0.0, 0.0, 0.0


@njit(cache=True, error_model="numpy", _nrt=False)
def compiled_fingerprint():
    """MODELS_FINGERPRINT as it was when the kernels were compiled (a stale on-disk cache returns an old one)."""
    return MODELS_FINGERPRINT


def ensure_models():
    """Make sure the compiled kernels dispatch to the models registered now.

    numba's on-disk cache checks only this file's time stamp, not the model modules the kernels compile in: if the
    fingerprint compiled into the cached kernels differs from the models' (a model added, removed or edited), the
    cache entries of this module are dropped and the kernels compile again."""
    global _models_checked
    if _models_checked:
        return
    if compiled_fingerprint() != MODELS_FINGERPRINT:
        for obj in list(globals().values()):
            cache = getattr(obj, "_cache", None)
            if getattr(obj, "__module__", None) == __name__ and hasattr(cache, "flush"):
                cache.flush()
    _models_checked = True


_models_checked = False


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


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def _cos_sin_small(d):
    """(cos d, sin d) for |d| <= 0.05 rad by Taylor series, exact to double precision."""
    d2 = d * d
    cd = 1.0 - d2 / 2.0 * (1.0 - d2 / 12.0 * (1.0 - d2 / 30.0 * (1.0 - d2 / 56.0)))
    sd = d * (1.0 - d2 / 6.0 * (1.0 - d2 / 20.0 * (1.0 - d2 / 42.0 * (1.0 - d2 / 72.0))))
    return cd, sd


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def _sin_cos_near(c0, s0, d):
    """(cos(a + d), sin(a + d)) from cos(a), sin(a) for |d| <= 0.05 rad, exact to double precision."""
    cd, sd = _cos_sin_small(d)
    return c0 * cd - s0 * sd, s0 * cd + c0 * sd


# Lockstep scratch.  Particles are stepped in blocks of BLOCK; each block has its own slice of the float and
# integer scratch, laid out column by column (column c of block row r at [c * BLOCK + r]): each pass over a block's
# rows streams through a few short contiguous columns, and a block's scratch stays in the L1 cache.  Passes of
# plain arithmetic over all rows of a block (no calls, selects instead of branches, no skipped rows) are vectorised
# by LLVM across rows; rows counted from a literal 0 (see _advance_block) let it drop numba's negative-index
# handling.  Work that is rare or needs calls (a new grid cell, time interval or level pair, trigonometry far from
# the last latitude, drag descent, events, output points) is marked in a row's J_ATT bits by a vectorised pass and
# done afterwards row by row for the marked rows only.
#: particles stepped in lockstep by one thread (16 rather than 32: a block's scratch, 15 KiB, then stays in the L1
#: cache; about 15% more particle-steps per second on the benchmark's 0.25-degree field)
BLOCK = 16


# float columns
F_LA0, F_LO0, F_Z0, F_T0, F_H = range(0, 5)
F_COS0, F_SIN0, F_CLAT = range(5, 8)  # cos/sin of the start latitude and the latitude they belong to (carried)
F_DLA, F_DLO, F_DZ, F_SLA, F_SLO, F_SZ = range(8, 14)  # last stage's rates; weighted sums of the rates
F_LAS, F_LOS, F_ZS, F_CL, F_U, F_V = range(14, 20)  # stage point, cos of its latitude; its winds
F_JY, F_FY, F_IX, F_FX = range(20, 24)  # its grid cell (lower indices, as floats) and the fractions inside it
F_LA1, F_LO1, F_Z1 = range(24, 27)  # result
F_X0, F_Y0, F_ZC0, F_VX, F_VY, F_VZ, F_SVX, F_SVY, F_SVZ = range(27, 36)  # polar rows
# the time interval a row last sampled in: its knots, the reciprocal of its length, the offsets in the flattened
# field of its first time slice and from the first to the second (carried; any interval is valid for any particle)
F_TA, F_TB, F_TINV, F_TOFF, F_TDT = range(36, 41)
F_BASE, F_DX = range(41, 43)  # the stage point's first corner (offset in the flattened field) and next column
F_W = 43  # F_W + c: the trilinear weight of corner c (c = 0..7)
# the vertical-motion model of the particle's current stage (as a float) and its parameters
F_M, F_P0, F_P1, F_P2, F_P3 = range(51, 56)
# the particle's end time, next output time and its stage's terminator value (with J_TERM)
F_TEND, F_NEXT, F_TV = range(56, 59)
# the stencil cache: the corners whose values the row holds (first corner's offset, steps to the next column and
# time slice) and, from F_C, the 8 corners' height, u, v of level J_KH then of level J_KH + 1 (column F_C + 8q + c
# for quantity q, corner c).  A row keeps the stencil while its stage points stay in the same cell, time interval
# and level pair, which at a 60 s step on a 0.25-degree grid is some 15 steps: the wind field is read once per cell
# rather than at every sample.
F_KB, F_KDX, F_KDT = range(59, 62)
F_C = 62
# the particle's state beyond position (slots q0, q1, see stratotrack.flight.models) and its command, integrated
# with the altitude: at the step's start, stage point, last stage's rates, weighted sums, result
F_Q0, F_Q1, F_QS0, F_QS1, F_DQ0, F_DQ1, F_SQ0, F_SQ1, F_Q10, F_Q11, F_CMD = range(F_C + 48, F_C + 59)
FLOAT_COLUMNS = F_C + 59
# integer columns: active, sample flags of the step, polar row, flags of locating the stage point, work to do row by
# row (J_ATT bits), the particle the row holds and its level and time hints (copied from and back to the
# particle's, so that threads do not write to the same cache lines), its stage's terminator
J_ACT, J_FLAGS, J_POLAR, J_LOC, J_ATT, J_P, J_KH, J_TH, J_TERM = range(0, 9)
J_VFL = 9  # flags of the vertical interpolation at the stage point
INT_COLUMNS = 10
# J_ATT bits: located again row by row (far outside one turn of longitude, non-uniform latitudes, or polar); the
# stage time is outside the row's time interval; the stencil cache does not hold the stage point's corners; the
# stage latitude is far from the start's (cos by a call); the cached levels do not bracket the stage point
RELOCATE, RETIME, NEW_CELL, FAR, NEW_LEVEL = 1, 2, 4, 8, 32
#: F_CLAT when no latitude's cosine is held yet
NO_LATITUDE = 1000.0
#: F_TA (and minus F_TB) when no time interval is held (finite: the kernels are compiled assuming no infinities)
NO_TIME = 1e300


def scratch(n):
    """Zeroed lockstep scratch for n particles: (floats, integers), one slice of each per block of BLOCK."""
    nb = (n + BLOCK - 1) // BLOCK
    sf = np.zeros((nb, FLOAT_COLUMNS * BLOCK))  # cos/sin columns are loaded per particle (particle_trig)
    sf[:, F_TA * BLOCK:(F_TA + 1) * BLOCK] = NO_TIME  # no time interval held yet
    sf[:, F_TB * BLOCK:(F_TB + 1) * BLOCK] = -NO_TIME
    sf[:, F_KB * BLOCK:(F_KB + 1) * BLOCK] = -1.0  # no stencil held
    return sf, np.zeros((nb, INT_COLUMNS * BLOCK), dtype=np.int64)


#: at most this many slices of scratch for :func:`advance` (whatever the number of particles): the blocks are
#: stepped in groups of consecutive blocks, a group in its slice (see :func:`run_scratch`)
SCRATCH_SLICES = 128


def run_scratch(n):
    """The scratch :func:`advance` steps n particles in: min(blocks, SCRATCH_SLICES) slices.

    The blocks are split into as many groups of consecutive blocks as there are slices, and a group's blocks are
    stepped one after another in its slice, which stays in the L1 cache from block to block.  What a row carries
    from one call to the next lives with the particle (position, hints, cos/sin of latitude) or is valid for any
    row (the time interval a row last sampled in); the stencil cache is refilled at a block's first step of a
    call, from wind data that the block's nearby particles share.  A call of a controlled run (a few steps) then
    touches at most 2 MiB of scratch rather than 17 KiB per block (170 MiB for 10^5 particles), and 10^6
    particles no longer need 1 GiB of it."""
    nb = (n + BLOCK - 1) // BLOCK
    return scratch(BLOCK * max(1, min(nb, SCRATCH_SLICES)))


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def _hold_interval(sf, B, r, knots, kidx, fp, ip, jt, fl):
    """Keep time interval jt (from locate_time, with its flags fl) in row r's columns for the next samples."""
    nk = knots.shape[0]
    slab = ip[I_NLAT] * ip[I_NLON] * ip[I_NLEV] * ip[I_NVAR]
    if nk == 1:  # steady: one interval for all times
        sf[F_TA * B + r] = -NO_TIME
        sf[F_TB * B + r] = NO_TIME
        sf[F_TINV * B + r] = 0.0
        sf[F_TOFF * B + r] = float(kidx[0] * slab)
        sf[F_TDT * B + r] = 0.0
    elif fl != 0:  # outside the times: clamped and flagged by locate_time every time
        sf[F_TA * B + r] = NO_TIME
        sf[F_TB * B + r] = -NO_TIME
    else:
        sf[F_TA * B + r] = knots[jt]
        sf[F_TB * B + r] = knots[jt + 1]
        sf[F_TINV * B + r] = fp[P_KINV + jt]
        sf[F_TOFF * B + r] = float(kidx[jt] * slab)
        sf[F_TDT * B + r] = float((kidx[jt + 1] - kidx[jt]) * slab)


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _load_stage(sf, si, r, i, s, codes, vals):
    """Particle i's stage s (model, parameters, terminator) into block row r."""
    B = BLOCK
    m = float(codes[i, s, 0])
    sf[F_M * B + r] = m
    si[J_TERM * B + r] = codes[i, s, 1]
    sf[F_P0 * B + r] = vals[i, s, 0]
    sf[F_P1 * B + r] = vals[i, s, 1]
    sf[F_P2 * B + r] = vals[i, s, 2]
    sf[F_P3 * B + r] = vals[i, s, 3]
    sf[F_TV * B + r] = vals[i, s, 4]


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def _fill_stencil(sf, B, r, data, nvar, row_stride, kb, kdx, kdt, k):
    """Row r's stencil cache from the field: levels k, k + 1 at the 8 corners from offset kb (see F_KB)."""
    sf[F_KB * B + r] = float(kb)
    sf[F_KDX * B + r] = float(kdx)
    sf[F_KDT * B + r] = float(kdt)
    for c in range(8):
        o = kb + (kdx if c & 1 else 0) + (row_stride if c & 2 else 0) + (kdt if c & 4 else 0) + k * nvar
        for q in range(3):
            sf[(F_C + 8 * q + c) * B + r] = data[o + q]
            sf[(F_C + 8 * (q + 3) + c) * B + r] = data[o + nvar + q]


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def _stencil_dot(sf, B, r, q):
    """Trilinear interpolation of cached quantity q (see F_C) with the row's weights."""
    a = F_C + 8 * q
    return ((sf[F_W * B + r] * sf[a * B + r] + sf[(F_W + 1) * B + r] * sf[(a + 1) * B + r])
            + (sf[(F_W + 2) * B + r] * sf[(a + 2) * B + r] + sf[(F_W + 3) * B + r] * sf[(a + 3) * B + r])) + (
           (sf[(F_W + 4) * B + r] * sf[(a + 4) * B + r] + sf[(F_W + 5) * B + r] * sf[(a + 5) * B + r])
            + (sf[(F_W + 6) * B + r] * sf[(a + 6) * B + r] + sf[(F_W + 7) * B + r] * sf[(a + 7) * B + r]))


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def _stage_rates(sf, si, B, r, nlev):
    """Sample and rates at row r's stage point from its stencil cache and weights (steps 3-4 of a sample, as
    :func:`stratotrack.wind._sample.bracket` and :func:`~stratotrack.wind._sample.vertical` do them): winds to
    F_U/F_V, rates to F_DLA/F_DLO/F_DZ, vertical flags to J_VFL; returns whether the cached levels fail to bracket
    the stage point (NEW_LEVEL: the column is searched row by row).  Branch-free, vectorised across rows."""
    zs = sf[F_ZS * B + r]
    hk = _stencil_dot(sf, B, r, 0)
    hk1 = _stencil_dot(sf, B, r, 3)
    k = si[J_KH * B + r]
    miss = (zs < hk and k > 0) or (zs > hk1 and k < nlev - 2)
    u, v, _w, fl = vertical(zs, hk, hk1, _stencil_dot(sf, B, r, 1), _stencil_dot(sf, B, r, 2), 0.0,
                            _stencil_dot(sf, B, r, 4), _stencil_dot(sf, B, r, 5), 0.0)
    si[J_VFL * B + r] = fl
    sf[F_U * B + r] = u
    sf[F_V * B + r] = v
    rad = EARTH_RADIUS + zs
    cl = max(sf[F_CL * B + r], 1e-12)
    q = R2D / (rad * cl)  # one division for both rates
    sf[F_DLA * B + r] = v * q * cl
    sf[F_DLO * B + r] = u * q
    return NEW_LEVEL if miss else 0


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def model_rates_block(r0, r1, sf, si):
    """The rates of each row's model at its stage point (F_ZS, F_QS0, F_QS1, F_CMD; parameters F_P0..F_P3) into
    F_DZ, F_DQ0, F_DQ1, for rows r0..r1 of a block.  When every running row is in the same model, that model
    alone, in a loop over all the rows (rows not running evaluate it at its safe defaults) that LLVM vectorises;
    otherwise row by row through model_rate.  A row's rates are the same arithmetic either way."""
    B = BLOCK
    m = NO_MODEL
    mixed = False
    for r in range(r0, r1):
        if si[J_ACT * B + r] != 0:
            mr = sf[F_M * B + r]
            mixed = mixed or (m != NO_MODEL and mr != m)
            m = mr
    if mixed:
        for r in range(r0, r1):
            dz, d0, d1 = model_rate(sf[F_M * B + r] if si[J_ACT * B + r] != 0 else NO_MODEL, sf[F_ZS * B + r],
                                    sf[F_QS0 * B + r], sf[F_QS1 * B + r], sf[F_CMD * B + r], sf[F_P0 * B + r],
                                    sf[F_P1 * B + r], sf[F_P2 * B + r], sf[F_P3 * B + r])
            sf[F_DZ * B + r] = dz
            sf[F_DQ0 * B + r] = d0
            sf[F_DQ1 * B + r] = d1
        return
    if m == _C0:
        for r in range(r0, r1):
            on = si[J_ACT * B + r] != 0
            dz, d0, d1 = _R0(sf[F_ZS * B + r], sf[F_QS0 * B + r], sf[F_QS1 * B + r], sf[F_CMD * B + r],
                             sf[F_P0 * B + r] if on else _D0[0], sf[F_P1 * B + r] if on else _D0[1],
                             sf[F_P2 * B + r] if on else _D0[2], sf[F_P3 * B + r] if on else _D0[3])
            sf[F_DZ * B + r] = dz
            sf[F_DQ0 * B + r] = d0
            sf[F_DQ1 * B + r] = d1
    elif m == _C1:
        for r in range(r0, r1):
            on = si[J_ACT * B + r] != 0
            dz, d0, d1 = _R1(sf[F_ZS * B + r], sf[F_QS0 * B + r], sf[F_QS1 * B + r], sf[F_CMD * B + r],
                             sf[F_P0 * B + r] if on else _D1[0], sf[F_P1 * B + r] if on else _D1[1],
                             sf[F_P2 * B + r] if on else _D1[2], sf[F_P3 * B + r] if on else _D1[3])
            sf[F_DZ * B + r] = dz
            sf[F_DQ0 * B + r] = d0
            sf[F_DQ1 * B + r] = d1
    elif m == _C2:
        for r in range(r0, r1):
            on = si[J_ACT * B + r] != 0
            dz, d0, d1 = _R2(sf[F_ZS * B + r], sf[F_QS0 * B + r], sf[F_QS1 * B + r], sf[F_CMD * B + r],
                             sf[F_P0 * B + r] if on else _D2[0], sf[F_P1 * B + r] if on else _D2[1],
                             sf[F_P2 * B + r] if on else _D2[2], sf[F_P3 * B + r] if on else _D2[3])
            sf[F_DZ * B + r] = dz
            sf[F_DQ0 * B + r] = d0
            sf[F_DQ1 * B + r] = d1
    elif m == _C3:
        for r in range(r0, r1):
            on = si[J_ACT * B + r] != 0
            dz, d0, d1 = _R3(sf[F_ZS * B + r], sf[F_QS0 * B + r], sf[F_QS1 * B + r], sf[F_CMD * B + r],
                             sf[F_P0 * B + r] if on else _D3[0], sf[F_P1 * B + r] if on else _D3[1],
                             sf[F_P2 * B + r] if on else _D3[2], sf[F_P3 * B + r] if on else _D3[3])
            sf[F_DZ * B + r] = dz
            sf[F_DQ0 * B + r] = d0
            sf[F_DQ1 * B + r] = d1
    elif m == _C4:
        for r in range(r0, r1):
            on = si[J_ACT * B + r] != 0
            dz, d0, d1 = _R4(sf[F_ZS * B + r], sf[F_QS0 * B + r], sf[F_QS1 * B + r], sf[F_CMD * B + r],
                             sf[F_P0 * B + r] if on else _D4[0], sf[F_P1 * B + r] if on else _D4[1],
                             sf[F_P2 * B + r] if on else _D4[2], sf[F_P3 * B + r] if on else _D4[3])
            sf[F_DZ * B + r] = dz
            sf[F_DQ0 * B + r] = d0
            sf[F_DQ1 * B + r] = d1
    elif m == _C5:
        for r in range(r0, r1):
            on = si[J_ACT * B + r] != 0
            dz, d0, d1 = _R5(sf[F_ZS * B + r], sf[F_QS0 * B + r], sf[F_QS1 * B + r], sf[F_CMD * B + r],
                             sf[F_P0 * B + r] if on else _D5[0], sf[F_P1 * B + r] if on else _D5[1],
                             sf[F_P2 * B + r] if on else _D5[2], sf[F_P3 * B + r] if on else _D5[3])
            sf[F_DZ * B + r] = dz
            sf[F_DQ0 * B + r] = d0
            sf[F_DQ1 * B + r] = d1
    elif m == _C6:
        for r in range(r0, r1):
            on = si[J_ACT * B + r] != 0
            dz, d0, d1 = _R6(sf[F_ZS * B + r], sf[F_QS0 * B + r], sf[F_QS1 * B + r], sf[F_CMD * B + r],
                             sf[F_P0 * B + r] if on else _D6[0], sf[F_P1 * B + r] if on else _D6[1],
                             sf[F_P2 * B + r] if on else _D6[2], sf[F_P3 * B + r] if on else _D6[3])
            sf[F_DZ * B + r] = dz
            sf[F_DQ0 * B + r] = d0
            sf[F_DQ1 * B + r] = d1
    elif m == _C7:
        for r in range(r0, r1):
            on = si[J_ACT * B + r] != 0
            dz, d0, d1 = _R7(sf[F_ZS * B + r], sf[F_QS0 * B + r], sf[F_QS1 * B + r], sf[F_CMD * B + r],
                             sf[F_P0 * B + r] if on else _D7[0], sf[F_P1 * B + r] if on else _D7[1],
                             sf[F_P2 * B + r] if on else _D7[2], sf[F_P3 * B + r] if on else _D7[3])
            sf[F_DZ * B + r] = dz
            sf[F_DQ0 * B + r] = d0
            sf[F_DQ1 * B + r] = d1
    elif m == _C8:
        for r in range(r0, r1):
            on = si[J_ACT * B + r] != 0
            dz, d0, d1 = _R8(sf[F_ZS * B + r], sf[F_QS0 * B + r], sf[F_QS1 * B + r], sf[F_CMD * B + r],
                             sf[F_P0 * B + r] if on else _D8[0], sf[F_P1 * B + r] if on else _D8[1],
                             sf[F_P2 * B + r] if on else _D8[2], sf[F_P3 * B + r] if on else _D8[3])
            sf[F_DZ * B + r] = dz
            sf[F_DQ0 * B + r] = d0
            sf[F_DQ1 * B + r] = d1
    elif m == _C9:
        for r in range(r0, r1):
            on = si[J_ACT * B + r] != 0
            dz, d0, d1 = _R9(sf[F_ZS * B + r], sf[F_QS0 * B + r], sf[F_QS1 * B + r], sf[F_CMD * B + r],
                             sf[F_P0 * B + r] if on else _D9[0], sf[F_P1 * B + r] if on else _D9[1],
                             sf[F_P2 * B + r] if on else _D9[2], sf[F_P3 * B + r] if on else _D9[3])
            sf[F_DZ * B + r] = dz
            sf[F_DQ0 * B + r] = d0
            sf[F_DQ1 * B + r] = d1


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False)
def _place_row(r, c, sf, si, data, lat, knots, kidx, fp, ip):
    """Pass 2 of :func:`rk4_block` for block row r (stage fraction c of the step): the J_ATT work of its stage
    point.  Locates it again (RELOCATE) or in a new time interval (RETIME) and keeps the corners' weights; refills
    the stencil cache if it does not hold those corners (at the row's level hint); cos of a far stage latitude.
    (A function of its own, called for the few rows marked: compiled once, not inlined into every copy of the block
    kernel.)"""
    B = BLOCK
    nlat = ip[I_NLAT]
    nlon = ip[I_NLON]
    nlev = ip[I_NLEV]
    att = si[J_ATT * B + r]
    if att & (RELOCATE | RETIME | NEW_CELL):
        if att & (RELOCATE | RETIME):
            ts = sf[F_T0 * B + r] + c * sf[F_H * B + r]
            if att & RELOCATE:
                bases, weights, fl, jt = locate(lat, knots, kidx, fp, ip, ts, sf[F_LAS * B + r], sf[F_LOS * B + r],
                                                si[J_TH * B + r])
                si[J_LOC * B + r] = fl
            else:
                # a new time interval: the corners of the cell found in pass 1, and the interval kept
                jy = min(max(int(sf[F_JY * B + r]), 0), nlat - 2)
                i0 = min(max(int(sf[F_IX * B + r]), 0), nlon - 1)
                i1 = i0 + 1
                if i1 == nlon:
                    i1 = 0
                bases, weights, fl, jt = corners(knots, kidx, fp, ip, ts, jy, i0, i1, sf[F_FY * B + r],
                                                 sf[F_FX * B + r], si[J_TH * B + r])
                _hold_interval(sf, B, r, knots, kidx, fp, ip, jt, fl)
                si[J_LOC * B + r] |= fl
            si[J_TH * B + r] = jt
            for q in range(8):
                sf[(F_W + q) * B + r] = weights[q]
            kb = bases[0]
            kdx = bases[1] - bases[0]
            kdt = bases[4] - bases[0]
        else:
            kb = int(sf[F_BASE * B + r])
            kdx = int(sf[F_DX * B + r])
            kdt = int(sf[F_TDT * B + r])
        if not (sf[F_KB * B + r] == kb and sf[F_KDX * B + r] == kdx and sf[F_KDT * B + r] == kdt):
            kh = min(max(si[J_KH * B + r], 0), nlev - 2)
            si[J_KH * B + r] = kh
            _fill_stencil(sf, B, r, data, ip[I_NVAR], nlon * nlev * ip[I_NVAR], kb, kdx, kdt, kh)
    if att & FAR:
        sf[F_CL * B + r] = math.cos(sf[F_LAS * B + r] * D2R)


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False)
def _new_level(r, sf, si, data, ip):
    """Pass 4 of :func:`rk4_block` for block row r, whose cached levels do not bracket its stage point: search
    the column from there (:func:`stratotrack.wind._sample.bracket`), refill the stencil cache and sample again."""
    B = BLOCK
    nvar = ip[I_NVAR]
    row_stride = ip[I_NLON] * ip[I_NLEV] * nvar
    kb = int(sf[F_KB * B + r])
    kdx = int(sf[F_KDX * B + r])
    kdt = int(sf[F_KDT * B + r])
    b2 = kb + row_stride
    bases = (kb, kb + kdx, b2, b2 + kdx, kb + kdt, kb + kdt + kdx, b2 + kdt, b2 + kdt + kdx)
    weights = (sf[F_W * B + r], sf[(F_W + 1) * B + r], sf[(F_W + 2) * B + r], sf[(F_W + 3) * B + r],
               sf[(F_W + 4) * B + r], sf[(F_W + 5) * B + r], sf[(F_W + 6) * B + r], sf[(F_W + 7) * B + r])
    kh = bracket(data, ip, bases, weights, sf[F_ZS * B + r], si[J_KH * B + r])[8]
    si[J_KH * B + r] = kh
    _fill_stencil(sf, B, r, data, nvar, row_stride, kb, kdx, kdt, kh)
    _stage_rates(sf, si, B, r, ip[I_NLEV])


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False)
def rk4_block(r0, r1, sf, si, data, lat, knots, kidx, fp, ip):
    """One RK4 step for each active row r in [r0, r1) of a block (row r holds particle J_P): from (t, la, lo, z)
    in columns F_T0/F_LA0/F_LO0/F_Z0 over F_H seconds (signed) under the stage in F_M/F_P0.. (see _load_stage);
    result in F_LA1/F_LO1/F_Z1, sample flags in J_FLAGS.  This is the engine's only RK4.

    Each stage is passes over the rows.  Passes of plain arithmetic over all rows (active or not) that the compiler
    vectorises across rows: (1) the stage points, their grid cells, time weights, corner offsets and trilinear
    weights (from the time interval each row holds), and whether the row's stencil cache holds those corners;
    (3) the sample from the stencil cache (the heights of the cached level pair, the winds between them) and the
    horizontal rates; the vertical-motion model's rates (:func:`model_rates_block`: vectorised when the block's
    running rows share a model, row by row otherwise); (5) the rates' weighted sums.  Between them, row by row for
    the rows marked in J_ATT only: (2) rows the
    first pass could not place (a new time interval, a non-uniform latitude grid, far outside one turn of
    longitude, polar) are located by the scalar code of :mod:`stratotrack.wind._sample`, with identical results,
    and rows in a new cell refill their stencil cache; (4) rows whose cached levels do not bracket the stage point
    search the column (:func:`stratotrack.wind._sample.bracket`), refill and sample again.  In (lat, lon) away from
    the poles, cos/sin of the start latitude come from the previous step's end (carried by a Taylor step, exact to
    rounding; recomputed whenever the start latitude is not the one they belong to), so the path makes no
    trigonometric call.  Rows poleward of POLAR_LATITUDE step on the 3-D position vector (stage points
    renormalised onto the unit sphere before sampling, and the result too).
    """
    B = BLOCK
    lat0 = fp[P_LAT0]
    ilat = fp[P_IDLAT]
    lon0 = fp[P_LON0]
    ilon = fp[P_IDLON]
    span = fp[P_LONSPAN]
    uniform = ip[I_LAT_UNIFORM] != 0
    periodic = ip[I_PERIODIC] != 0
    nlat = ip[I_NLAT]
    nlon = ip[I_NLON]
    nlev = ip[I_NLEV]
    nvar = ip[I_NVAR]
    ncol = nlev * nvar
    fcol = float(ncol)
    fnlon = float(nlon)
    wrap_dx = -(nlon - 1.0) * ncol  # from the last column of a periodic grid to the first
    ylast = float(nlat - 1)
    lat_last = lat[nlat - 1]
    xlast = float(nlon - 1) if periodic else float(nlon - 2)
    relocate = 0 if uniform else RELOCATE
    # start: rates zeroed; rows that need trigonometry (polar, or a start latitude without its cos/sin) counted
    nslow = 0
    for r in range(r0, r1):
        la = sf[F_LA0 * B + r]
        polar = abs(la) >= POLAR_LATITUDE
        si[J_POLAR * B + r] = 1 if polar else 0
        si[J_FLAGS * B + r] = 0
        nslow += 1 if (polar or sf[F_CLAT * B + r] != la) and si[J_ACT * B + r] != 0 else 0
        for col in range(F_DLA, F_SZ + 1):
            sf[col * B + r] = 0.0
        for col in range(F_DQ0, F_SQ1 + 1):
            sf[col * B + r] = 0.0
    npolar = 0
    if nslow > 0:
        for r in range(r0, r1):
            if si[J_ACT * B + r] == 0:
                continue
            la = sf[F_LA0 * B + r]
            if si[J_POLAR * B + r]:
                npolar += 1
                lo = sf[F_LO0 * B + r]
                cp = math.cos(la * D2R)
                sf[F_X0 * B + r] = cp * math.cos(lo * D2R)
                sf[F_Y0 * B + r] = cp * math.sin(lo * D2R)
                sf[F_ZC0 * B + r] = math.sin(la * D2R)
                for col in range(F_VX, F_SVZ + 1):
                    sf[col * B + r] = 0.0
            elif sf[F_CLAT * B + r] != la:
                sf[F_COS0 * B + r] = math.cos(la * D2R)
                sf[F_SIN0 * B + r] = math.sin(la * D2R)
                sf[F_CLAT * B + r] = la
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
        # pass 1 (vectorised): stage point, cos of its latitude, grid cell, time weight, corners and weights, and
        # the work left for pass 2
        natt = 0
        for r in range(r0, r1):
            ch = c * sf[F_H * B + r]
            la0 = sf[F_LA0 * B + r]
            las = la0 + ch * sf[F_DLA * B + r]
            los = sf[F_LO0 * B + r] + ch * sf[F_DLO * B + r]
            sf[F_ZS * B + r] = sf[F_Z0 * B + r] + ch * sf[F_DZ * B + r]
            sf[F_QS0 * B + r] = sf[F_Q0 * B + r] + ch * sf[F_DQ0 * B + r]
            sf[F_QS1 * B + r] = sf[F_Q1 * B + r] + ch * sf[F_DQ1 * B + r]
            past = abs(las) > 90.0  # past a pole: back into [-90, 90] (as reference._fold)
            las = (math.copysign(180.0, las) - las) if past else las
            los = los + 180.0 if past else los
            sf[F_LAS * B + r] = las
            sf[F_LOS * B + r] = los
            d = (las - la0) * D2R
            cd, sd = _cos_sin_small(d)  # cos of the stage latitude from the start's (far ones redone in pass 2)
            sf[F_CL * B + r] = sf[F_COS0 * B + r] * cd - sf[F_SIN0 * B + r] * sd
            att = FAR if abs(d) > 0.05 else 0
            # latitude cell (uniform grids; others are located in pass 2), as float indices
            y = (las - lat0) * ilat
            fl = FLAG_REGION if y < 0.0 else 0
            y = max(y, 0.0)
            fl = FLAG_REGION if (y > ylast and las > lat_last) else fl  # in degrees, as locate_lat
            y = min(y, ylast)
            jy = min(math.floor(y), ylast - 1.0)
            fy = y - jy
            sf[F_FY * B + r] = fy
            sf[F_JY * B + r] = jy
            # longitude cell
            x = los - lon0
            x = x + 360.0 if x < 0.0 else x
            x = x - 360.0 if x >= 360.0 else x
            far = x < 0.0 or x >= 360.0
            att = att | RELOCATE if far else att | relocate  # far outside one turn: located again in pass 2
            x = 0.0 if far else x
            out = not periodic and x > span
            fl = fl | FLAG_REGION if out else fl
            x = (span if (x - span) < (360.0 - x) else 0.0) if out else x
            g = x * ilon
            gi = min(math.floor(g), xlast)
            fx = g - gi
            sf[F_FX * B + r] = fx
            sf[F_IX * B + r] = gi
            # time weight in the row's interval; corner offsets and trilinear weights (as corners() computes them)
            ts = sf[F_T0 * B + r] + ch
            ta = sf[F_TA * B + r]
            wt = (ts - ta) * sf[F_TINV * B + r]
            att = att | RETIME if (ts < ta or ts >= sf[F_TB * B + r]) else att  # half-open, as locate_time
            si[J_LOC * B + r] = fl
            base = sf[F_TOFF * B + r] + (jy * fnlon + gi) * fcol
            sf[F_BASE * B + r] = base
            sf[F_DX * B + r] = wrap_dx if gi >= fnlon - 1.0 else fcol
            held = base == sf[F_KB * B + r] and sf[F_TDT * B + r] == sf[F_KDT * B + r]
            att = att if held else att | NEW_CELL
            att = att if si[J_ACT * B + r] != 0 else 0
            si[J_ATT * B + r] = att
            natt += 1 if att != 0 else 0
            c0 = 1.0 - wt
            gy = 1.0 - fy
            gx = 1.0 - fx
            sf[(F_W + 0) * B + r] = c0 * gy * gx
            sf[(F_W + 1) * B + r] = c0 * gy * fx
            sf[(F_W + 2) * B + r] = c0 * fy * gx
            sf[(F_W + 3) * B + r] = c0 * fy * fx
            sf[(F_W + 4) * B + r] = wt * gy * gx
            sf[(F_W + 5) * B + r] = wt * gy * fx
            sf[(F_W + 6) * B + r] = wt * fy * gx
            sf[(F_W + 7) * B + r] = wt * fy * fx
        if npolar > 0:
            # polar rows: the stage point from the 3-D position
            for r in range(r0, r1):
                if si[J_ACT * B + r] == 0 or si[J_POLAR * B + r] == 0:
                    continue
                ch = c * sf[F_H * B + r]
                if k == 0:
                    las = sf[F_LA0 * B + r]
                    los = sf[F_LO0 * B + r]
                else:
                    xs, ys, zcs = _unit(sf[F_X0 * B + r] + ch * sf[F_VX * B + r],
                                        sf[F_Y0 * B + r] + ch * sf[F_VY * B + r],
                                        sf[F_ZC0 * B + r] + ch * sf[F_VZ * B + r])
                    las, los = _to_latlon(xs, ys, zcs)
                sf[F_LAS * B + r] = las
                sf[F_LOS * B + r] = los
                si[J_ATT * B + r] |= RELOCATE
                natt += 1
        # pass 2 (row by row, marked rows): locate, refill the stencil cache, far cos
        if natt > 0:
            for r in range(r0, r1):
                if si[J_ATT * B + r] != 0:
                    _place_row(r, c, sf, si, data, lat, knots, kidx, fp, ip)
        # pass 3 (vectorised): the sample from the stencil cache, and the horizontal rates
        nmiss = 0
        for r in range(r0, r1):
            miss = _stage_rates(sf, si, B, r, nlev)
            miss = miss if si[J_ACT * B + r] != 0 else 0
            si[J_ATT * B + r] = miss
            nmiss += miss
        # pass 4 (row by row, rare): the cached levels do not bracket the stage point
        if nmiss > 0:
            for r in range(r0, r1):
                if si[J_ATT * B + r] != 0:
                    _new_level(r, sf, si, data, ip)
        # the vertical-motion models' rates (vectorised when the block's running rows share a model)
        model_rates_block(r0, r1, sf, si)
        # pass 5 (vectorised): flags and the weighted sums of the rates
        for r in range(r0, r1):
            si[J_FLAGS * B + r] |= si[J_LOC * B + r] | si[J_VFL * B + r]
            sf[F_SLA * B + r] += wgt * sf[F_DLA * B + r]
            sf[F_SLO * B + r] += wgt * sf[F_DLO * B + r]
            sf[F_SZ * B + r] += wgt * sf[F_DZ * B + r]
            sf[F_SQ0 * B + r] += wgt * sf[F_DQ0 * B + r]
            sf[F_SQ1 * B + r] += wgt * sf[F_DQ1 * B + r]
        if npolar > 0:
            for r in range(r0, r1):
                if si[J_ACT * B + r] == 0 or si[J_POLAR * B + r] == 0:
                    continue
                vx, vy, vz = _tangent(sf[F_LAS * B + r], sf[F_LOS * B + r], sf[F_U * B + r], sf[F_V * B + r],
                                      EARTH_RADIUS + sf[F_ZS * B + r])
                sf[F_VX * B + r] = vx
                sf[F_VY * B + r] = vy
                sf[F_VZ * B + r] = vz
                sf[F_SVX * B + r] += wgt * vx
                sf[F_SVY * B + r] += wgt * vy
                sf[F_SVZ * B + r] += wgt * vz
    # the step's end (vectorised), with cos/sin carried to it for the next step (a trigonometric call, at the
    # next step's start, when that is far); polar rows after
    for r in range(r0, r1):
        h = sf[F_H * B + r]
        la0 = sf[F_LA0 * B + r]
        la1 = la0 + h * sf[F_SLA * B + r]
        lo1 = sf[F_LO0 * B + r] + h * sf[F_SLO * B + r]
        past = abs(la1) > 90.0  # as reference._fold
        la1 = (math.copysign(180.0, la1) - la1) if past else la1
        lo1 = lo1 + 180.0 if past else lo1
        d = (la1 - la0) * D2R
        cn, sn = _sin_cos_near(sf[F_COS0 * B + r], sf[F_SIN0 * B + r], d)
        near = abs(d) <= 0.05 and si[J_ACT * B + r] != 0 and si[J_POLAR * B + r] == 0
        sf[F_COS0 * B + r] = cn if near else sf[F_COS0 * B + r]
        sf[F_SIN0 * B + r] = sn if near else sf[F_SIN0 * B + r]
        sf[F_CLAT * B + r] = la1 if near else sf[F_CLAT * B + r]
        sf[F_LA1 * B + r] = la1
        sf[F_LO1 * B + r] = lo1
        sf[F_Z1 * B + r] = sf[F_Z0 * B + r] + h * sf[F_SZ * B + r]
        sf[F_Q10 * B + r] = sf[F_Q0 * B + r] + h * sf[F_SQ0 * B + r]
        sf[F_Q11 * B + r] = sf[F_Q1 * B + r] + h * sf[F_SQ1 * B + r]
    if npolar > 0:
        for r in range(r0, r1):
            if si[J_ACT * B + r] == 0 or si[J_POLAR * B + r] == 0:
                continue
            h = sf[F_H * B + r]
            xn, yn, zn = _unit(sf[F_X0 * B + r] + h * sf[F_SVX * B + r], sf[F_Y0 * B + r] + h * sf[F_SVY * B + r],
                               sf[F_ZC0 * B + r] + h * sf[F_SVZ * B + r])
            sf[F_LA1 * B + r], sf[F_LO1 * B + r] = _to_latlon(xn, yn, zn)


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def rk4(data, lat, knots, kidx, fp, ip, codes, vals, i, s, sf, si, r, t, la, lo, z, q0, q1, h):
    """One RK4 step of particle i in stage s alone, in block row r (see :func:`rk4_block`; its command already in
    F_CMD): returns (la, lo, z, q0, q1, flags)."""
    B = BLOCK
    sf[F_T0 * B + r] = t
    sf[F_LA0 * B + r] = la
    sf[F_LO0 * B + r] = lo
    sf[F_Z0 * B + r] = z
    sf[F_Q0 * B + r] = q0
    sf[F_Q1 * B + r] = q1
    sf[F_H * B + r] = h
    si[J_ACT * B + r] = 1
    _load_stage(sf, si, r, i, s, codes, vals)
    rk4_block(r, r + 1, sf, si, data, lat, knots, kidx, fp, ip)
    return (sf[F_LA1 * B + r], sf[F_LO1 * B + r], sf[F_Z1 * B + r], sf[F_Q10 * B + r], sf[F_Q11 * B + r],
            si[J_FLAGS * B + r])


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
def _advance_one(i, data, lat, knots, kidx, fp, ip, t, la, lo, z, xs, stage, status, next_out,
                 codes, vals, t_end, h, t_until, out_dt, stop_outside,
                 o_t, o_la, o_lo, o_z, o_st, o_n, e_t, e_la, e_lo, e_z, e_kind, e_n, clamp, pid, sf, si, row):
    """Advance particle i (row ``row`` of the block scratch sf, si).  One RK4 call site, driven by a small state machine:

    phase 0 tries the rest of the current step and finds the earliest event in it; phase 1 computes output points
    that fall strictly before the end of what phase 0 covers (partial steps from the step's start); phase 2
    computes the state at an event inside the step.  Then the step (or its part up to the event) is accepted.
    Its output points, events and clamped-sample counts go to row ``pid[i]`` of their buffers.
    """
    p = pid[i]
    ti = t[i]
    lai = la[i]
    loi = lo[i]
    zi = z[i]
    q0i = xs[i, 0]
    q1i = xs[i, 1]
    cmd = xs[i, 2]
    s = stage[i]
    nxt = next_out[i]
    sgn = 1.0 if h > 0 else -1.0
    nst = codes.shape[1]
    st = RUNNING
    rem = 0.0
    step_end = ti
    phase = 0
    tla = tlo = tz = tq0 = tq1 = 0.0
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
        model = float(codes[i, s, 0])
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
        la1, lo1, z1, qa1, qb1, fl = rk4(data, lat, knots, kidx, fp, ip, codes, vals, i, s, sf, si, row,
                                         ti, lai, loi, zi, q0i, q1i, dt)
        if phase == 0:
            tla, tlo, tz, tq0, tq1, tfl = la1, lo1, z1, qa1, qb1, fl
            theta = 2.0
            ev = 0
            if term == T_ABOVE:
                if zi >= tv:
                    theta = 0.0
                elif z1 >= tv:
                    theta = _hermite_root(zi, z1, rem * model_rate(model, zi, q0i, q1i, cmd, p0, p1, p2, p3)[0],
                                          rem * model_rate(model, z1, qa1, qb1, cmd, p0, p1, p2, p3)[0], tv)
            elif term == T_BELOW:
                if zi <= tv:
                    theta = 0.0
                elif z1 <= tv:
                    theta = _hermite_root(zi, z1, rem * model_rate(model, zi, q0i, q1i, cmd, p0, p1, p2, p3)[0],
                                          rem * model_rate(model, z1, qa1, qb1, cmd, p0, p1, p2, p3)[0], tv)
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
            _append(p, o_t, o_la, o_lo, o_z, o_st, o_n, nxt, la1, lo1, z1, s)
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
            ela, elo, ez, eq0, eq1 = tla, tlo, tz, tq0, tq1
        elif phase == 2:
            fle = fl
            ela, elo, ez, eq0, eq1 = la1, lo1, z1, qa1, qb1
        else:
            fle = 0
            ela, elo, ez, eq0, eq1 = lai, loi, zi, q0i, q1i
        phase = 0
        if fle != 0:
            if stop_outside:
                st = _status_from_flags(fle)
                _append(p, o_t, o_la, o_lo, o_z, o_st, o_n, ti, lai, loi, zi, s)
                _append(p, e_t, e_la, e_lo, e_z, e_kind, e_n, ti, lai, loi, zi, EV_LEFT)
                break
            _count(clamp, p, fle)
        if ev == 0:
            if abs(nxt - target) <= TIME_TOL:
                _append(p, o_t, o_la, o_lo, o_z, o_st, o_n, target, ela, elo, ez, s)
                nxt += sgn * out_dt
            ti = target
            lai, loi, zi, q0i, q1i = ela, elo, ez, eq0, eq1
            rem = 0.0
            continue
        if ev == 1 and (term == T_ABOVE or term == T_BELOW):
            ez = tv
        _append(p, o_t, o_la, o_lo, o_z, o_st, o_n, target, ela, elo, ez, s)
        if abs(nxt - target) <= TIME_TOL:
            nxt += sgn * out_dt
        ti = target
        lai, loi, zi, q0i, q1i = ela, elo, ez, eq0, eq1
        rem = step_end - ti
        if ev == 2:
            _append(p, e_t, e_la, e_lo, e_z, e_kind, e_n, ti, lai, loi, zi, EV_MAX_DURATION)
            st = MAX_DURATION
            break
        _append(p, e_t, e_la, e_lo, e_z, e_kind, e_n, ti, lai, loi, zi, s)
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
    xs[i, 0] = q0i
    xs[i, 1] = q1i
    stage[i] = s
    status[i] = st
    next_out[i] = nxt


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _load_row(sf, si, r, i, t, la, lo, z, xs, stage, status, next_out, t_end, codes, vals, h):
    """Particle i's state (position, state slots, command), end and next output times and current stage into block
    row r, active if it is running."""
    B = BLOCK
    sf[F_T0 * B + r] = t[i]
    sf[F_LA0 * B + r] = la[i]
    sf[F_LO0 * B + r] = lo[i]
    sf[F_Z0 * B + r] = z[i]
    sf[F_Q0 * B + r] = xs[i, 0]
    sf[F_Q1 * B + r] = xs[i, 1]
    sf[F_CMD * B + r] = xs[i, 2]
    sf[F_H * B + r] = h
    sf[F_TEND * B + r] = t_end[i]
    sf[F_NEXT * B + r] = next_out[i]
    si[J_ACT * B + r] = 1 if status[i] == RUNNING else 0
    _load_stage(sf, si, r, i, stage[i], codes, vals)


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False)
def _advance_block(rows, data, lat, knots, kidx, fp, ip, t, la, lo, z, xs, stage, status, khint, thint, next_out,
                   codes, vals, t_end, h, t_until, out_dt, stop_outside,
                   o_t, o_la, o_lo, o_z, o_st, o_n, e_t, e_la, e_lo, e_z, e_kind, e_n, clamp, pid, trig, sf, si,
                   st_key, st_val, stencil_io):
    """Whole steps for the particles ``rows`` (one block, stepped in the thread's scratch sf, si) in lockstep; a
    step with an event, an output point inside it or a sample outside the data (when stopping there) is redone by
    the scalar state machine :func:`_advance_one`. The state of a row stays in the scratch between steps and goes
    back to the particle arrays when it ends and around the state machine."""
    B = BLOCK
    sgn = 1.0 if h > 0 else -1.0
    nr = rows.shape[0]
    for r in range(nr):
        i = rows[r]
        si[J_P * B + r] = i
        si[J_KH * B + r] = khint[i]
        si[J_TH * B + r] = thint[i]
        _load_row(sf, si, r, i, t, la, lo, z, xs, stage, status, next_out, t_end, codes, vals, h)
        sf[F_COS0 * B + r] = trig[i, 0]
        sf[F_SIN0 * B + r] = trig[i, 1]
        sf[F_CLAT * B + r] = trig[i, 2]
        if stencil_io == 2:  # the particle's stencil cache as the last call left it (see advance)
            sf[F_KB * B + r] = st_key[i, 0]
            sf[F_KDX * B + r] = st_key[i, 1]
            sf[F_KDT * B + r] = st_key[i, 2]
            for c in range(48):
                sf[(F_C + c) * B + r] = st_val[i, c]
        else:
            sf[F_KB * B + r] = -1.0  # no stencil held yet (refilled at the level hint of the row's particle)
    while True:
        n_act = 0
        for r in range(nr):
            act = si[J_ACT * B + r] != 0 and sgn * (sf[F_T0 * B + r] + h - t_until) <= TIME_TOL
            si[J_ACT * B + r] = 1 if act else 0
            n_act += 1 if act else 0
        if n_act == 0:
            break
        # a literal 0: numba compiles a copy of rk4_block for it in which the rows are known to be non-negative, so
        # the indexing drops numba's negative-index handling and LLVM vectorises its passes
        rk4_block(0, nr, sf, si, data, lat, knots, kidx, fp, ip)
        # (vectorised) rows whose step has no event, no output point inside it and no sample outside the data when
        # stopping there move on; the others (J_ATT 1), and those with an output point at its end or clamped
        # samples to count (J_ATT 2), are seen to row by row
        nwork = 0
        for r in range(nr):
            ti = sf[F_T0 * B + r]
            tn = ti + h
            z0 = sf[F_Z0 * B + r]
            z1 = sf[F_Z1 * B + r]
            tv = sf[F_TV * B + r]
            term = si[J_TERM * B + r]
            nxt = sf[F_NEXT * B + r]
            fl = si[J_FLAGS * B + r]
            simple = sgn * (tn - sf[F_TEND * B + r]) < -TIME_TOL and sgn * (nxt - tn) >= -TIME_TOL
            simple = simple and (term != T_ABOVE or (z0 < tv and z1 < tv))
            simple = simple and (term != T_BELOW or (z0 > tv and z1 > tv))
            simple = simple and (term != T_TIME or sgn * (tn - tv) < -TIME_TOL)
            simple = simple and not (fl != 0 and stop_outside)
            act = si[J_ACT * B + r] != 0
            move = act and simple
            sf[F_T0 * B + r] = tn if move else ti
            sf[F_LA0 * B + r] = sf[F_LA1 * B + r] if move else sf[F_LA0 * B + r]
            sf[F_LO0 * B + r] = sf[F_LO1 * B + r] if move else sf[F_LO0 * B + r]
            sf[F_Z0 * B + r] = z1 if move else z0
            sf[F_Q0 * B + r] = sf[F_Q10 * B + r] if move else sf[F_Q0 * B + r]
            sf[F_Q1 * B + r] = sf[F_Q11 * B + r] if move else sf[F_Q1 * B + r]
            work = 0 if not act else (1 if not simple else (2 if fl != 0 or abs(nxt - tn) <= TIME_TOL else 0))
            si[J_ATT * B + r] = work
            nwork += 1 if work != 0 else 0
        if nwork == 0:
            continue
        for r in range(nr):
            work = si[J_ATT * B + r]
            if work == 0:
                continue
            i = rows[r]
            if work == 1:
                t[i] = sf[F_T0 * B + r]
                la[i] = sf[F_LA0 * B + r]
                lo[i] = sf[F_LO0 * B + r]
                z[i] = sf[F_Z0 * B + r]
                xs[i, 0] = sf[F_Q0 * B + r]
                xs[i, 1] = sf[F_Q1 * B + r]
                next_out[i] = sf[F_NEXT * B + r]
                _advance_one(i, data, lat, knots, kidx, fp, ip, t, la, lo, z, xs, stage, status, next_out,
                             codes, vals, t_end, h, t[i] + h, out_dt, stop_outside,
                             o_t, o_la, o_lo, o_z, o_st, o_n, e_t, e_la, e_lo, e_z, e_kind, e_n, clamp, pid, sf, si,
                             r)
                _load_row(sf, si, r, i, t, la, lo, z, xs, stage, status, next_out, t_end, codes, vals, h)
                continue
            fl = si[J_FLAGS * B + r]
            if fl != 0:
                _count(clamp, pid[i], fl)
            tn = sf[F_T0 * B + r]
            if abs(sf[F_NEXT * B + r] - tn) <= TIME_TOL:
                _append(pid[i], o_t, o_la, o_lo, o_z, o_st, o_n, tn, sf[F_LA0 * B + r], sf[F_LO0 * B + r],
                        sf[F_Z0 * B + r], stage[i])
                sf[F_NEXT * B + r] += sgn * out_dt
    for r in range(nr):
        i = rows[r]
        t[i] = sf[F_T0 * B + r]
        la[i] = sf[F_LA0 * B + r]
        lo[i] = sf[F_LO0 * B + r]
        z[i] = sf[F_Z0 * B + r]
        xs[i, 0] = sf[F_Q0 * B + r]
        xs[i, 1] = sf[F_Q1 * B + r]
        next_out[i] = sf[F_NEXT * B + r]
        khint[i] = si[J_KH * B + r]
        thint[i] = si[J_TH * B + r]
        trig[i, 0] = sf[F_COS0 * B + r]
        trig[i, 1] = sf[F_SIN0 * B + r]
        trig[i, 2] = sf[F_CLAT * B + r]
        if stencil_io != 0:
            kb = sf[F_KB * B + r]
            kdx = sf[F_KDX * B + r]
            kdt = sf[F_KDT * B + r]
            # (loaded at the start and the same corners now: the values held are the ones loaded, since a stencil
            # is a function of its corners; most particles stay within their cell for a decision interval)
            if stencil_io != 2 or kb != st_key[i, 0] or kdx != st_key[i, 1] or kdt != st_key[i, 2]:
                st_key[i, 0] = kb
                st_key[i, 1] = kdx
                st_key[i, 2] = kdt
                for c in range(48):  # (values of the float32 field: exact in float32)
                    st_val[i, c] = sf[(F_C + c) * B + r]


@njit(cache=True, parallel=True, error_model="numpy", _nrt=False)
def advance(data, lat, knots, kidx, fp, ip, t, la, lo, z, xs, stage, status, khint, thint, next_out,
            codes, vals, t_end, h, t_until, out_dt, stop_outside,
            o_t, o_la, o_lo, o_z, o_st, o_n, e_t, e_la, e_lo, e_z, e_kind, e_n, clamp, pid, order, trig, sf, si,
            same_rows, st_key, st_val, stencil_io):
    """Advance every running particle by whole steps of ``h`` up to ``t_until`` (in place).  The engine's one
    entry point: every backend that runs these kernels calls it.

    Per-particle state: t, la, lo, z, the state slots and command ``xs`` [n, 3] (q0, q1, command; see
    :mod:`stratotrack.flight.models`), stage, status, level/time hints, next output time.  Stage models and
    parameters come from ``codes``/``vals`` (see :meth:`stratotrack.flight.Profile.encode`) and may be changed
    between calls.  Output points and events are appended to the ``o_*`` and ``e_*`` buffers; ``clamp`` counts,
    per particle, the steps that sampled outside the data (above, below, time, region) when not stopping there.
    These three are written at row ``pid[i]`` for particle i (the identity, or where the caller keeps the
    particles' records in an order of its own: the particle each record belongs to).  Particles are stepped in
    blocks of BLOCK consecutive entries of ``order`` (a permutation of the particles: the results do not depend on
    it, but blocks of nearby particles share the wind data they read, see
    :func:`locality_order`).  ``trig`` [n, 3] carries each particle's cos/sin of latitude and the latitude they
    belong to from step to step (see :func:`particle_trig`).  ``sf``, ``si`` are the lockstep scratch from
    :func:`run_scratch`: a slice per group of consecutive blocks.  ``same_rows`` (``order`` is the one of the
    previous call) is not used by the CPU kernels.  ``stencil_io``: 0, the stencil caches start empty at each call;
    1, each particle's stencil cache (its corners ``st_key`` [n, 3], values ``st_val`` [n, 48] float32) is saved
    at the end of the call; 2, also loaded at the start (saved by the previous call, for the same particles): a
    block's first step then need not refill them from the field.  Groups of blocks go to the threads in chunks of
    numba's parallel chunk size of the calling thread (see stratotrack.engine.runner).
    """
    n = t.shape[0]
    nb = (n + BLOCK - 1) // BLOCK
    if nb == 0:
        return
    ng = max(1, min(nb, sf.shape[0]))  # groups of consecutive blocks, one slice of the scratch each
    per = (nb + ng - 1) // ng
    ng = (nb + per - 1) // per
    for g in prange(ng):
        for b in range(g * per, min(nb, (g + 1) * per)):
            b0 = b * BLOCK
            b1 = min(n, b0 + BLOCK)
            _advance_block(order[b0:b1], data, lat, knots, kidx, fp, ip, t, la, lo, z, xs, stage, status, khint,
                           thint, next_out, codes, vals, t_end, h, t_until, out_dt, stop_outside, o_t, o_la, o_lo,
                           o_z, o_st, o_n, e_t, e_la, e_lo, e_z, e_kind, e_n, clamp, pid, trig, sf[g], si[g],
                           st_key, st_val, stencil_io)


def particle_trig(n):
    """Per-particle carry of cos/sin of latitude for :func:`advance`: none held yet."""
    trig = np.zeros((n, 3))
    trig[:, 2] = NO_LATITUDE
    return trig


def _spread_bits(v):
    """The low 16 bits of each uint64 in v moved to the even bit positions (for Morton codes)."""
    v = v & 0xFFFF
    v = (v | (v << 8)) & 0x00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F
    v = (v | (v << 2)) & 0x33333333
    return (v | (v << 1)) & 0x55555555


def locality_order(lat, lon, running):
    """A permutation of the particles that puts nearby ones next to each other: running particles by the Morton
    (Z-order) code of their position on a grid of 180/2**16 degrees, then the others.  Blocks of particles that
    are close together read the same few cache lines and pages of the wind field, which on a global 0.25-degree
    field is worth about a third of the time per particle-step."""
    y = np.clip((np.nan_to_num(lat) + 90.0) * (65535.0 / 180.0), 0, 65535).astype(np.uint64)
    x = np.clip((np.nan_to_num(lon) % 360.0) * (65535.0 / 360.0), 0, 65535).astype(np.uint64)
    key = _spread_bits(y) << np.uint64(1) | _spread_bits(x)
    key = np.where(running, key, np.uint64(2**40))
    return np.argsort(key, kind="stable").astype(np.int64)


def sqrt_density_ratio_array(z):  # (sqrt_density_ratio lives with the drag model, flight/models/drag.py)
    """Vectorised :func:`sqrt_density_ratio` (for tests against :mod:`stratotrack.atmosphere`)."""
    return np.array([sqrt_density_ratio(float(v)) for v in np.ravel(z)]).reshape(np.shape(z))
