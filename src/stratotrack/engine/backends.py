"""Backends: which code advances the particles.  All take the arguments of :func:`kernels.advance` and do the
same arithmetic (the NumPy reference, :mod:`stratotrack.engine.reference`, is the oracle for all of them).

``cpu``
    :func:`stratotrack.engine.kernels.advance`: compiled, blocks of particles spread over numba's threads.
``serial``
    The same function compiled without a parallel region (one thread, no thread pool woken).  For a few particles
    the parallel region costs more than the work: see :data:`SERIAL_MAX`.
``gpu``
    One CUDA thread per particle (:mod:`stratotrack.engine.gpu`, numba.cuda).  Never chosen by ``auto``.
``python``
    The kernels' own Python source run uncompiled (:mod:`stratotrack.engine._twins`): 700-2,000 particle-steps
    per second, no compilation; results agree with the compiled kernels to rounding (1e-12 degrees).  ``auto``
    uses it for small runs while the compiled kernels are not built yet, and for the first small run of a process
    (see :mod:`stratotrack.engine.warmup`: the cold-start route).
``auto`` (default)
    ``serial`` up to :data:`SERIAL_MAX` particles, ``cpu`` above; ``python`` for small runs while the compiled
    kernels are not built yet (:data:`PYTHON_MAX_STEPS`), and for the first small run of a process
    (:data:`PYTHON_FIRST_STEPS`), which would otherwise wait for the compiled kernels to load.
"""

from __future__ import annotations

import functools
import math
import types

from ..errors import InputError

BACKENDS = ("auto", "cpu", "serial", "gpu", "python")

#: ``auto`` runs at most this many particles without a parallel region: one block of ``kernels.BLOCK``, which a
#: parallel region could not share out anyway.  Measured with benchmarks/backend_threshold.py (kernel time of 1 h
#: of drift, 60 s steps, climatology; 2 threads; median of 21), load average 2.4 on 2 cores: 1 particle 0.26 ms
#: serial against 0.30 ms parallel, 16: 0.56 against 0.59, 32: 0.96 against 0.70 (parallel ahead from 2 blocks
#: on).  At load average 5.3 the parallel region cost 8-10 ms whatever the size (a thread waiting for a core) and
#: serial was faster up to 2,048 particles: no fixed threshold serves a machine shared that heavily.
SERIAL_MAX = 16
#: ``auto`` runs at most this many particle-steps on the ``python`` backend while the compiled kernels are not
#: built yet (compiling takes 30-40 s; uncompiled, a step of one particle costs 0.5-1.5 ms)
PYTHON_MAX_STEPS = 20_000
#: ... and the first run of a process, whose compiled kernels would have to be loaded from numba's disk cache
#: first, if it has at most this many particle-steps.  Measured (new processes, load average 12 on 2 cores): a
#: standard flight of one balloon (148 steps) took 0.22-0.33 s uncompiled against 1.7-1.9 s loading the compiled
#: kernels; one uncompiled particle-step costs about 1.5 ms there, so the two break even near 1,200 steps.
PYTHON_FIRST_STEPS = 1_000
_compiled_loaded = False
_before_compiled: list = []


def before_compiled(func) -> None:
    """Call ``func()`` once, just before this process first uses the compiled kernels (at once if it has)."""
    if _compiled_loaded:
        func()
    else:
        _before_compiled.append(func)


def _loading_compiled() -> None:
    global _compiled_loaded
    if not _compiled_loaded:
        _compiled_loaded = True
        while _before_compiled:
            _before_compiled.pop(0)()
        from . import kernels

        # (here rather than when an Integrator is made: checking calls a compiled function, which sets up numba's
        # registries, 0.3-2 s that a first small run on the python backend does not need)
        kernels.ensure_models()


def check(backend: str) -> str:
    """The backend name, checked (one line naming the value otherwise)."""
    if backend not in BACKENDS:
        raise InputError(f"backend {backend!r} is unknown; expected one of {', '.join(BACKENDS)}")
    if backend == "gpu":
        from . import gpu

        gpu.require()
    return backend


def choose(backend: str, n: int, steps=None) -> str:
    """The concrete backend for ``n`` particles (about ``steps`` steps each, if known: a number or a function
    that returns it) from a requested one."""
    if backend == "auto":  # (the single call's path: no import, no check)
        from . import warmup

        if not _compiled_loaded and steps is not None:
            work = n * (steps() if callable(steps) else steps)
            if not warmup.ready():
                if work <= PYTHON_MAX_STEPS:
                    warmup.start_background()
                    return "python"
            elif work <= PYTHON_FIRST_STEPS and warmup.first_small_run():
                return "python"
        return "serial" if n <= SERIAL_MAX else "cpu"
    return check(backend)


def advance_function(backend: str):
    """The function that advances particles on a concrete backend (the signature of :func:`kernels.advance`)."""
    if backend == "cpu":
        from . import kernels

        _loading_compiled()
        return kernels.advance
    if backend == "serial":
        _loading_compiled()
        return serial_advance()
    if backend == "python":
        return python_advance()
    if backend == "gpu":
        from . import gpu

        return gpu.advance
    raise ValueError(f"not a concrete backend: {backend!r}")


@functools.cache
def serial_advance():
    """:func:`kernels.advance` compiled again without ``parallel=True`` (``prange`` is then ``range``): the same
    Python function, so the same results bit for bit; cached on disk under its own name."""
    import numba

    from . import kernels

    py = kernels.advance.py_func
    func = types.FunctionType(py.__code__, py.__globals__, py.__name__, py.__defaults__, py.__closure__)
    func.__qualname__ = "advance_serial"  # its own numba cache file beside the parallel one
    func.__doc__ = "Serial twin of :func:`advance` (no parallel region)."
    return numba.njit(cache=True, parallel=False, error_model="numpy", _nrt=False)(func)


def _nan_tolerant_math():
    """``math`` as compiled kernels see it: rounding a NaN or infinity to an integer gives a value (numba's, like
    C's, is undefined but does not raise) instead of Python's ValueError.  The kernels compute such values on rows
    that are not running (their state is NaN) and never use them."""
    ns = types.SimpleNamespace(**{k: getattr(math, k) for k in dir(math) if not k.startswith("_")})

    def _rounding(f):
        return lambda x: f(x) if math.isfinite(x) else 0

    ns.floor, ns.ceil, ns.trunc = _rounding(math.floor), _rounding(math.ceil), _rounding(math.trunc)
    return ns


@functools.cache
def python_advance():
    """:func:`kernels.advance` and everything it calls, as plain Python (see :mod:`stratotrack.engine._twins`)."""
    from ._twins import twins

    advance = twins(lambda func, name: func, swap={math: _nan_tolerant_math()})["advance"]

    def run(*args):
        import numpy as np

        with np.errstate(all="ignore"):  # as the kernels' error_model="numpy"
            advance(*args)

    return run
