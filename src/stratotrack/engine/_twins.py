"""Twins of the compiled kernels for other targets, made from the same Python source.

The engine's kernels are written once, as numba ``@njit`` functions in :mod:`stratotrack.engine.kernels` and
:mod:`stratotrack.wind._sample` (declared through :mod:`stratotrack._jit`: stand-ins until numba is loaded, numba's
dispatchers after; both carry ``py_func``, and neither state imports numba here).  The other backends do not copy
them: :func:`twins` takes the Python function behind each ``@njit`` (``py_func``), gives it a private copy of its module's globals in which every
other kernel it calls is replaced by that kernel's twin, and passes it through a decorator of the target:

* identity: plain Python (the ``python`` backend, used while the compiled kernels are not built yet; NumPy
  scalars, no compilation at all),
* ``numba.cuda.jit(device=True)``: CUDA device functions (the ``gpu`` backend, :mod:`stratotrack.engine.gpu`).

So a change to the kernels reaches every backend, and the NumPy reference (:mod:`stratotrack.engine.reference`)
stays the oracle for all of them.  A target that cannot run a kernel as written (the LLVM intrinsic
``_corner_sums``; ``np.searchsorted`` on the GPU) gets a replacement of the same meaning by name (``overrides``).
"""

from __future__ import annotations

import sys
import types

from .._jit import kind as _kind


def corner_sums_py(flat, bases, weights, off_a, off_b):
    """Plain twin of :func:`stratotrack.wind._sample._corner_sums` (same corner order and partial sums)."""
    a0 = a1 = a2 = a3 = e0 = e1 = e2 = e3 = 0.0
    for half in range(2):
        pa0 = pa1 = pa2 = pa3 = pe0 = pe1 = pe2 = pe3 = 0.0
        for c in range(4 * half, 4 * half + 4):
            b = bases[c]
            w = weights[c]
            pa0 += w * flat[b + off_a]
            pa1 += w * flat[b + off_a + 1]
            pa2 += w * flat[b + off_a + 2]
            pa3 += w * flat[b + off_a + 3]
            pe0 += w * flat[b + off_b]
            pe1 += w * flat[b + off_b + 1]
            pe2 += w * flat[b + off_b + 2]
            pe3 += w * flat[b + off_b + 3]
        a0 += pa0
        a1 += pa1
        a2 += pa2
        a3 += pa3
        e0 += pe0
        e1 += pe1
        e2 += pe2
        e3 += pe3
    return a0, a1, a2, a3, e0, e1, e2, e3


def _kernel_modules():
    """The engine's kernels: the modules they reach (the wind sampler, ...) are found from them."""
    from . import kernels

    return (kernels,)


def _kernels_in(value):
    """The kernels (compiled functions, intrinsics) in a global value: itself, or inside (nested) tuples."""
    if _kind(value) is not None:
        yield value
    elif isinstance(value, tuple):
        for v in value:
            yield from _kernels_in(v)


def reachable_modules(modules=None):
    """``modules`` and every module whose kernels they reach through their globals (a vertical-motion model's rate
    kept in a tuple of models, say), in a stable order."""
    out = list(modules or _kernel_modules())
    k = 0
    while k < len(out):
        for value in list(vars(out[k]).values()):
            for kern in _kernels_in(value):
                if _kind(kern) == "jit":
                    mod = sys.modules.get(kern.py_func.__module__)
                    if mod is not None and mod not in out:
                        out.append(mod)
        k += 1
    return out


def _replaced(value, made):
    """``value`` with every kernel in it (itself, or inside tuples) replaced by its twin."""
    if id(value) in made:
        return made[id(value)]
    if isinstance(value, tuple) and any(True for _ in _kernels_in(value)):
        return tuple(_replaced(v, made) for v in value)
    return value


def _rebind(func, g):
    out = types.FunctionType(func.__code__, g, func.__name__, func.__defaults__, func.__closure__)
    out.__qualname__ = func.__qualname__
    out.__doc__ = func.__doc__
    return out


def twins(decorate, overrides=None, extra=None, modules=None, swap=None) -> dict:
    """Twins of every kernel of ``modules`` (default: the engine's kernels) and of the modules they reach (the
    wind sampler, ...), by name.

    ``decorate(function, name)`` makes the target's callable from a plain Python function.  ``overrides`` maps a
    kernel's name to a plain Python function used in its place, and ``extra`` adds helper functions by name; both
    are decorated and see the globals of the kernels' modules.  ``swap`` maps other global values (by identity)
    to the target's own (a compiler's ``literal_unroll``, say).  Returns {name: twin}; names that several modules
    define (imports) resolve to the same twin.
    """
    modules = reachable_modules(modules)
    overrides = dict(overrides or {})
    overrides.setdefault("_corner_sums", corner_sums_py)
    env = {m.__name__: dict(vars(m)) for m in modules}  # private globals, one per module
    made: dict[int, object] = {}  # id(original) -> twin
    helpers = {name: decorate(_rebind(func, env[modules[-1].__name__]), name) for name, func in (extra or {}).items()}
    for g in env.values():
        g.update(helpers)

    def kernel_of(value):
        return _kind(value) is not None

    # kernels reachable only inside tuples (no module-level name of their own) are twinned too
    for m in modules:
        for name, value in vars(m).items():
            if isinstance(value, tuple):
                for kern in _kernels_in(value):
                    if _kind(kern) == "jit" and not any(v is kern for v in vars(m).values()):
                        home = sys.modules.get(kern.py_func.__module__)
                        if home is not None and not any(v is kern for v in vars(home).values()):
                            raise TypeError(f"kernel {kern.py_func.__qualname__} has no module-level name")
    # 1. a plain function per kernel, bound to its home module's private globals
    plain = {}
    for m in modules:
        for name, value in vars(m).items():
            if not kernel_of(value) or id(value) in plain:
                continue
            jit = _kind(value) == "jit"
            if jit and value.py_func.__name__ != name and name not in overrides:
                name = value.py_func.__name__  # imported under another name: its own name
            home = env[m.__name__]
            if jit:
                home = env.get(value.py_func.__module__)
                if home is None:
                    continue  # a kernel from a module not twinned: left to fail loudly if called
            if name in overrides:
                func = _rebind(overrides[name], home)
            elif jit:
                func = _rebind(value.py_func, home)
            else:
                raise TypeError(f"no twin for the intrinsic {name!r}: give one in overrides")
            plain[id(value)] = (name, func)
    # 2. decorate, then point every private globals dict at the twins
    for key, (name, func) in plain.items():
        made[key] = decorate(func, name)
    swapped = {id(k): v for k, v in (swap or {}).items()}
    for m in modules:
        g = env[m.__name__]
        for name, value in list(g.items()):
            g[name] = swapped.get(id(value), _replaced(value, made))
    out = {}
    for m in modules:
        for name, value in vars(m).items():
            if id(value) in made:
                out[name] = made[id(value)]
    return out
