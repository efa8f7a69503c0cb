"""The ``gpu`` backend: one CUDA thread per particle (numba.cuda).

Each thread runs the engine's scalar state machine (:func:`stratotrack.engine.kernels._advance_one`: RK4 steps,
events inside the step, output points) for its particle up to the chunk's end, in its own row of a block scratch
on the device, stencil cache included.  The device functions are the CPU kernels' own Python source compiled for
CUDA (:mod:`stratotrack.engine._twins`), with two replacements of the same meaning: a binary search for
``np.searchsorted`` and plain sums for the LLVM intrinsic of the sampler.  Results agree with the CPU backends to
rounding (they are not bit-identical: no lockstep block path, trigonometry from the device's math library).

The prepared wind field is copied to the device once and kept while it is in use; the particle arrays travel to
the device and back at every chunk (:meth:`stratotrack.engine.Integrator.advance`).

Without a GPU: ``NUMBA_ENABLE_CUDASIM=1`` (set before numba.cuda is first imported) runs the same kernels on
numba's CUDA simulator, in Python: slow, for tests on a few particles.
"""

from __future__ import annotations

import functools
import math

from numba import cuda  # a module global: the CUDA simulator swaps it inside kernels

from ..errors import InputError

#: CUDA threads per thread block
THREADS = 128


def available() -> bool:
    """Whether a CUDA device (or numba's CUDA simulator) can run the backend."""
    try:
        return bool(cuda.is_available())
    except Exception:  # no numba.cuda, no driver
        return False


def require() -> None:
    if not available():
        raise InputError("backend 'gpu' needs a CUDA GPU with its driver, and none is available here; the "
                         "default backend 'auto' runs on the CPU")


def _searchsorted_right(a, x):
    """np.searchsorted(a, x, side='right') for an ascending 1-D array."""
    lo = 0
    hi = a.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _locate_time(knots, fp, t, hint):
    """:func:`stratotrack.wind._sample.locate_time` with :func:`_searchsorted_right`."""
    nk = knots.shape[0]
    if nk == 1:
        return 0, 0.0, 0
    if t <= knots[0]:
        return 0, 0.0, (FLAG_TIME if t < knots[0] else 0)  # noqa: F821 (the sampler's globals)
    if t >= knots[nk - 1]:
        return nk - 2, 1.0, (FLAG_TIME if t > knots[nk - 1] else 0)  # noqa: F821
    j = hint
    if j < 0 or j > nk - 2 or not (knots[j] <= t < knots[j + 1]):
        j = _searchsorted_right(knots, t) - 1
        if j > nk - 2:
            j = nk - 2
    return j, (t - knots[j]) * fp[P_KINV + j], 0  # noqa: F821


def _locate_lat(lat, fp, ip, la):
    """:func:`stratotrack.wind._sample.locate_lat` with :func:`_searchsorted_right`."""
    n = lat.shape[0]
    if ip[I_LAT_UNIFORM]:  # noqa: F821
        y = (la - fp[P_LAT0]) * fp[P_IDLAT]  # noqa: F821
        j = int(math.floor(y))
        f = y - j
    else:
        j = _searchsorted_right(lat, la) - 1
        f = 0.0
        if 0 <= j < n - 1:
            f = (la - lat[j]) / (lat[j + 1] - lat[j])
    if j < 0:
        return 0, 0.0, FLAG_REGION  # noqa: F821
    if j >= n - 1:
        if la > lat[n - 1]:
            return n - 2, 1.0, FLAG_REGION  # noqa: F821
        return n - 2, 1.0, 0
    return j, f, 0


@functools.cache
def _kernel():
    from . import kernels as K
    from ._twins import twins

    dev = twins(lambda func, name: cuda.jit(device=True)(func),
                overrides={"locate_time": _locate_time, "locate_lat": _locate_lat},
                extra={"_searchsorted_right": _searchsorted_right})
    advance_one = dev["_advance_one"]
    B = K.BLOCK
    J_KH, J_TH, F_KB, F_COS0, F_SIN0, F_CLAT = K.J_KH, K.J_TH, K.F_KB, K.F_COS0, K.F_SIN0, K.F_CLAT
    running = K.RUNNING

    @cuda.jit
    def advance_kernel(data, lat, knots, kidx, fp, ip, t, la, lo, z, stage, status, khint, thint, next_out,
                       codes, vals, t_end, h, t_until, out_dt, stop_outside,
                       o_t, o_la, o_lo, o_z, o_st, o_n, e_t, e_la, e_lo, e_z, e_kind, e_n, clamp, trig, sf, si):
        i = cuda.grid(1)
        if i >= t.shape[0] or status[i] != running:
            return
        b = i // B
        r = i - b * B
        sfb = sf[b]
        sib = si[b]
        sib[J_KH * B + r] = khint[i]
        sib[J_TH * B + r] = thint[i]
        sfb[F_KB * B + r] = -1.0
        sfb[F_COS0 * B + r] = trig[i, 0]  # cos/sin of the latitude carried from step to step, as on the CPU
        sfb[F_SIN0 * B + r] = trig[i, 1]
        sfb[F_CLAT * B + r] = trig[i, 2]
        advance_one(i, data, lat, knots, kidx, fp, ip, t, la, lo, z, stage, status, next_out,
                    codes, vals, t_end, h, t_until, out_dt, stop_outside,
                    o_t, o_la, o_lo, o_z, o_st, o_n, e_t, e_la, e_lo, e_z, e_kind, e_n, clamp, sfb, sib, r)
        khint[i] = sib[J_KH * B + r]
        thint[i] = sib[J_TH * B + r]
        trig[i, 0] = sfb[F_COS0 * B + r]
        trig[i, 1] = sfb[F_SIN0 * B + r]
        trig[i, 2] = sfb[F_CLAT * B + r]

    return advance_kernel


_FIELD: list = []  # [(host data array, device arrays)]: the last field used, kept on the device
_SCRATCH: list = []  # [(host scratch array, device scratch)]: per Integrator (its scratch), the last one


def _field_on_device(data, lat, knots, kidx, fp, ip):
    if not (_FIELD and _FIELD[0][0] is data):
        _FIELD.clear()
        _FIELD.append((data, tuple(cuda.to_device(a) for a in (data, lat, knots, kidx, fp, ip))))
    return _FIELD[0][1]


def _scratch_on_device(sf_host, n):
    from . import kernels as K

    if not (_SCRATCH and _SCRATCH[0][0] is sf_host):
        _SCRATCH.clear()
        sf, si = K.scratch(n)
        _SCRATCH.append((sf_host, (cuda.to_device(sf), cuda.to_device(si))))
    return _SCRATCH[0][1]


def advance(data, lat, knots, kidx, fp, ip, t, la, lo, z, stage, status, khint, thint, next_out,
            codes, vals, t_end, h, t_until, out_dt, stop_outside,
            o_t, o_la, o_lo, o_z, o_st, o_n, e_t, e_la, e_lo, e_z, e_kind, e_n, clamp, order, trig, sf, si):
    """:func:`stratotrack.engine.kernels.advance` on the GPU (same arguments, same effect; ``order`` is not
    needed: a thread's particle is its index)."""
    require()
    n = t.shape[0]
    if n == 0:
        return
    field = _field_on_device(data, lat, knots, kidx, fp, ip)
    d_sf, d_si = _scratch_on_device(sf, n)
    state = (t, la, lo, z, stage, status, khint, thint, next_out)
    outs = (o_t, o_la, o_lo, o_z, o_st, o_n, e_t, e_la, e_lo, e_z, e_kind, e_n, clamp, trig)
    d_state = [cuda.to_device(a) for a in state]
    d_codes, d_vals, d_tend = (cuda.to_device(a) for a in (codes, vals, t_end))
    d_outs = [cuda.to_device(a) for a in outs]
    blocks = (n + THREADS - 1) // THREADS
    _kernel()[blocks, THREADS](*field, *d_state, d_codes, d_vals, d_tend, float(h), float(t_until), float(out_dt),
                               bool(stop_outside), *d_outs, d_sf, d_si)
    for host, dev in zip(state + outs, d_state + d_outs):
        dev.copy_to_host(host)
