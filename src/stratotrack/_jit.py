"""numba's ``@njit``, made only when compiled code is first needed.

Importing numba costs 0.3-0.7 s, and making its dispatchers at import 0.1-0.2 s more: more than a whole standard
flight takes uncompiled (the ``python`` backend, :mod:`stratotrack.engine._twins`), which is how a one-shot
``stratotrack predict`` runs.  So stratotrack's compiled functions are declared with :func:`njit` from here, which
records the Python function and its options and returns a light stand-in (:class:`LazyJit`) without importing
numba.  The stand-in carries what the uncompiled twins need (``py_func``, the name, module and docstring).

:func:`load` imports numba, makes every recorded function's real dispatcher (``numba.njit(**options)(py_func)``:
the same function and options, so numba's on-disk cache, keyed on the function's file, name and code, finds what
an earlier process compiled), makes the intrinsics declared with :func:`intrinsic`, and then rebinds every global
of stratotrack's modules that names a stand-in (also inside tuples) to the real object, and ``prange`` to numba's:
numba resolves a compiled function's callees from its module's globals when it compiles it, so by then they must
be dispatchers.  It runs when compiled code is first needed: a stand-in called from Python (a compiled backend,
the warm-up, the models' fingerprint check), any of numba's own attributes asked of a stand-in (``signatures``,
``_cache``...), or numba typing a stand-in that some other compiled code holds (through ``_numba_type_``).
Functions declared once numba is loaded get their dispatcher at once.

``prange`` is ``range`` until then (as numba's own ``prange`` is when called from Python).
"""

from __future__ import annotations

import functools
import importlib
import sys
import threading

__all__ = ["njit", "intrinsic", "prange", "load", "loaded", "kind"]

_lock = threading.RLock()
_loaded = False
_pending: list = []  # stand-ins made before load(), in order of declaration


def _py_prange(*args):
    """``prange`` while numba is not loaded: ``range`` (what numba's prange is outside compiled code)."""
    return range(*args)


def __getattr__(name):
    if name == "prange":  # numba's once it is loaded: a module declared later then compiles parallel loops
        return sys.modules["numba"].prange if _loaded else _py_prange
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _StandIn:
    """What the stand-ins share: calling one, or asking it for anything else numba's object has (``signatures``,
    ``_cache``, ``_numba_type_``...), loads numba and forwards to the real object, made by ``_make``."""

    _dispatcher = None

    @property
    def dispatcher(self):
        if not _loaded:
            load()
        return self._dispatcher

    def __call__(self, *args, **kwargs):
        return self.dispatcher(*args, **kwargs)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.dispatcher, name)


class LazyJit(_StandIn):
    """A function declared with :func:`njit` before numba is loaded: ``py_func`` is the Python function; calling it
    (or asking it for anything else numba's dispatcher has) loads numba and forwards to the dispatcher."""

    def __init__(self, py_func, options: dict):
        self.py_func = py_func
        self.options = dict(options)
        functools.update_wrapper(self, py_func)  # __name__, __qualname__, __module__, __doc__, __wrapped__

    def _make(self, numba):
        if self._dispatcher is None:
            self._dispatcher = numba.njit(**self.options)(self.py_func)
        return self._dispatcher

    def __reduce__(self):
        return _resolve, (self.__module__, self.__qualname__)

    def __repr__(self):
        return f"<stratotrack lazy njit {self.__module__}.{self.__qualname__}>"


class LazyIntrinsic(_StandIn):
    """A numba intrinsic defined by ``module`` (imported by :func:`load`, after numba) under ``name``."""

    def __init__(self, module: str, name: str, doc: str | None = None):
        self.module, self.__name__, self.__qualname__, self.__doc__ = module, name, name, doc

    def _make(self, numba):
        if self._dispatcher is None:
            self._dispatcher = getattr(importlib.import_module(self.module), self.__name__)
        return self._dispatcher

    def __repr__(self):
        return f"<stratotrack lazy intrinsic {self.module}.{self.__name__}>"


def _resolve(module, qualname):
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def njit(*args, **options):
    """``numba.njit`` (as ``@njit`` or ``@njit(**options)``; options reach numba unchanged), made when compiled
    code is first needed (see the module's docstring)."""
    if args:
        if len(args) == 1 and callable(args[0]) and not options:
            return njit()(args[0])
        raise TypeError("stratotrack._jit.njit takes a function or keyword options only (no signatures)")

    def decorate(func):
        with _lock:
            if _loaded:
                return sys.modules["numba"].njit(**options)(func)
            stand_in = LazyJit(func, options)
            _pending.append(stand_in)
            return stand_in

    return decorate


def intrinsic(module: str, name: str, doc: str | None = None):
    """The numba intrinsic ``name`` of ``module``, a module that imports numba and is imported only by
    :func:`load` (an intrinsic is numba typing code: it cannot be declared without numba)."""
    with _lock:
        stand_in = LazyIntrinsic(module, name, doc)
        if _loaded:
            return stand_in._make(sys.modules["numba"])
        _pending.append(stand_in)
        return stand_in


def loaded() -> bool:
    """Whether numba is loaded and the real dispatchers made."""
    return _loaded


def kind(value):
    """``"jit"`` for a compiled function (a stand-in or a numba dispatcher), ``"intrinsic"`` for an intrinsic,
    else None; never imports numba."""
    if isinstance(value, LazyJit):
        return "jit"
    if isinstance(value, LazyIntrinsic):
        return "intrinsic"
    dispatcher = sys.modules.get("numba.core.dispatcher")
    if dispatcher is not None and isinstance(value, dispatcher.Dispatcher):
        return "jit"
    extending = sys.modules.get("numba.core.extending")
    if extending is not None and isinstance(value, extending._Intrinsic):
        return "intrinsic"
    return None


def real(value):
    """``value`` with stand-ins replaced by numba's objects (itself, or inside nested tuples); call after load()."""
    if isinstance(value, _StandIn):
        return value._dispatcher
    if isinstance(value, tuple) and _holds_stand_in(value):
        return tuple(real(v) for v in value)
    return value


def _holds_stand_in(value) -> bool:
    if isinstance(value, _StandIn):
        return True
    return isinstance(value, tuple) and any(_holds_stand_in(v) for v in value)


def _rebind_globals(numba) -> None:
    for modname, mod in list(sys.modules.items()):
        if mod is None or modname == __name__ or not (modname == "stratotrack" or modname.startswith("stratotrack.")):
            continue
        g = getattr(mod, "__dict__", None)
        if g is None:
            continue
        for name, value in list(g.items()):
            if value is _py_prange:
                g[name] = numba.prange
            elif _holds_stand_in(value):
                g[name] = real(value)


def load() -> None:
    """Import numba, make the real dispatchers of every function declared so far and rebind stratotrack's globals
    to them (once per process; safe from several threads)."""
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        import numba

        while _pending:  # in order of declaration
            stand_in = _pending.pop(0)
            stand_in._make(numba)
        _rebind_globals(numba)
        _loaded = True  # (last: another thread's stand-in call waits on the lock until the globals are rebound)
