"""The ``gpu`` backend: one CUDA thread per particle (numba.cuda).

Each thread runs the engine's scalar state machine (:func:`stratotrack.engine.kernels._advance_one`: RK4 steps,
events inside the step, output points) for its particle up to the chunk's end, in its own row of a block scratch
on the device, stencil cache included.  The device functions are the CPU kernels' own Python source compiled for
CUDA (:mod:`stratotrack.engine._twins`), with two replacements of the same meaning: a binary search for
``np.searchsorted`` and plain sums for the LLVM intrinsic of the sampler.  Results agree with the CPU backends to
rounding (they are not bit-identical: no lockstep block path, trigonometry from the device's math library).

The prepared wind field is copied to the device once and kept while it is in use; the particle arrays travel to
the device and back at every chunk (:meth:`stratotrack.engine.Integrator.advance`).

Install the ``gpu`` extra (``pip install 'stratotrack[gpu]'``: numba-cuda, the maintained CUDA target of numba,
with the CUDA 12 compiler libraries); numba's own deprecated ``numba.cuda`` fails to type builtins such as
``max(a, b)`` in device code.  With it, the whole kernel compiles to PTX without a GPU
(tests/test_engine_backends.py compiles it for compute capability 9.0).

Without a GPU: ``NUMBA_ENABLE_CUDASIM=1`` (set before numba.cuda is first imported) runs the same kernels on
numba's CUDA simulator, in Python: slow, for tests on a few particles.
"""

from __future__ import annotations

import functools
import math

import numpy as np

try:
    from numba import cuda  # a module global: the CUDA simulator swaps it inside kernels
except ImportError:  # a numba without its CUDA target (newer ones move it to the numba-cuda package)
    cuda = None

from ..errors import InputError

#: CUDA threads per thread block
THREADS = 128


@functools.cache
def available() -> bool:
    """Whether a CUDA device (or numba's CUDA simulator) can run the backend."""
    try:
        return cuda is not None and bool(cuda.is_available())
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


#: parameters of kernels.advance that are the prepared field (copied to the device once per field)
FIELD_ARGS = ("data", "lat", "knots", "kidx", "fp", "ip")
#: parameters of kernels._advance_one that are not parameters of kernels.advance: what the CUDA kernel passes
_ONE_LOCAL = {"i": "i", "sf": "sfb", "si": "sib", "row": "r"}


def _kernel_source(advance_params, one_params) -> str:
    """The CUDA kernel, written for the parameters that kernels.advance and kernels._advance_one have now (they
    change as the engine grows: the kernel follows them by name rather than by a list kept here)."""
    missing = [p for p in one_params if p not in _ONE_LOCAL and p not in advance_params]
    if missing:
        raise RuntimeError(f"internal error: the GPU kernel cannot pass {missing} to _advance_one")
    args = ", ".join(_ONE_LOCAL.get(p, p) for p in one_params)
    return f"""
def advance_kernel({", ".join(advance_params)}):
    i = cuda.grid(1)
    if i >= t.shape[0] or status[i] != RUNNING:
        return
    b = i // B
    r = i - b * B
    sfb = sf[b]
    sib = si[b]
    sib[J_KH * B + r] = khint[i]  # a row of its own per particle: hints, cos/sin carry and stencil cache
    sib[J_TH * B + r] = thint[i]
    sfb[F_KB * B + r] = -1.0
    sfb[F_COS0 * B + r] = trig[i, 0]
    sfb[F_SIN0 * B + r] = trig[i, 1]
    sfb[F_CLAT * B + r] = trig[i, 2]
    advance_one({args})
    khint[i] = sib[J_KH * B + r]
    thint[i] = sib[J_TH * B + r]
    trig[i, 0] = sfb[F_COS0 * B + r]
    trig[i, 1] = sfb[F_SIN0 * B + r]
    trig[i, 2] = sfb[F_CLAT * B + r]
"""


def _params(func) -> list:
    import inspect

    return list(inspect.signature(func.py_func).parameters)


@functools.cache
def _kernel():
    import numba

    from .._jit import load
    from . import kernels as K
    from ._twins import twins

    load()  # the kernels' globals are numba's dispatchers, as the CUDA target expects
    swap = {}
    try:  # numba-cuda types its own literal_unroll, not numba's
        from numba.cuda.misc.special import literal_unroll as cuda_unroll

        swap[numba.literal_unroll] = cuda_unroll
    except ImportError:
        pass
    dev = twins(lambda func, name: cuda.jit(device=True)(func),
                overrides={"locate_time": _locate_time, "locate_lat": _locate_lat},
                extra={"_searchsorted_right": _searchsorted_right}, swap=swap)
    names = dict(globals())  # cuda stays a module global (the CUDA simulator swaps it inside kernels)
    names.update(advance_one=dev["_advance_one"], B=K.BLOCK, RUNNING=K.RUNNING, J_KH=K.J_KH, J_TH=K.J_TH,
                 F_KB=K.F_KB, F_COS0=K.F_COS0, F_SIN0=K.F_SIN0, F_CLAT=K.F_CLAT)
    exec(compile(_kernel_source(_params(K.advance), _params(K._advance_one)), "<stratotrack gpu kernel>", "exec"),
         names)
    return cuda.jit(names["advance_kernel"])


_FIELD: list = []  # [(host data array, device arrays)]: the last field used, kept on the device
_SCRATCH: list = []  # [(host scratch array, device scratch)]: per Integrator (its scratch), the last one


def _field_on_device(args: dict) -> dict:
    if not (_FIELD and _FIELD[0][0] is args["data"]):
        _FIELD.clear()
        _FIELD.append((args["data"], {k: cuda.to_device(args[k]) for k in FIELD_ARGS}))
    return _FIELD[0][1]


def _scratch_on_device(sf_host, n):
    from . import kernels as K

    if not (_SCRATCH and _SCRATCH[0][0] is sf_host):
        _SCRATCH.clear()
        sf, si = K.scratch(n)
        _SCRATCH.append((sf_host, (cuda.to_device(sf), cuda.to_device(si))))
    return _SCRATCH[0][1]


def advance(*args):
    """:func:`stratotrack.engine.kernels.advance` on the GPU: the same arguments, the same effect (``order`` is
    not needed: a thread's particle is its index; the scratch is the device's own)."""
    from . import kernels as K

    require()
    named = dict(zip(_params(K.advance), args))
    n = named["t"].shape[0]
    if n == 0:
        return
    dev = dict(_field_on_device(named))
    dev["sf"], dev["si"] = _scratch_on_device(named["sf"], n)
    back = []
    for k, v in named.items():
        if k in dev:
            continue
        if isinstance(v, np.ndarray):
            # (the integrator's per-particle arrays are column views of one record per particle: copied to
            # contiguous arrays for the transfer and back into the views after)
            dev[k] = cuda.to_device(np.ascontiguousarray(v))
            back.append((v, dev[k]))
        else:
            dev[k] = v
    blocks = (n + THREADS - 1) // THREADS
    _kernel()[blocks, THREADS](*(dev[k] for k in named))
    for host, d in back:
        if host.flags.c_contiguous:
            d.copy_to_host(host)
        else:
            host[...] = d.copy_to_host()
