"""Cold start: the first prediction without waiting for numba.

Compiling the kernels takes 30-40 s (2 cores), once per install: numba keeps the machine code on disk, and later
processes load it in well under a second.  Routes considered:

* ahead-of-time compilation (``numba.pycc``) is deprecated and gone from recent numba, and would need a
  compiler at install time;
* compiling at ``pip install`` time is not possible for a wheel (no post-install hook);
* fewer and smaller compiled functions: the kernels were already split (54 s -> 32 s), and the block kernel is
  the engine's speed; it cannot be made 10x smaller without losing that;
* **chosen**: the kernels' own Python source runs uncompiled (the ``python`` backend,
  :mod:`stratotrack.engine._twins`) for the first small runs of an install, while one background process
  compiles the kernels into numba's disk cache and then leaves a stamp beside it.  A single standard flight is
  a few hundred steps: a fraction of a second uncompiled, so the first ``stratotrack predict`` after ``pip
  install`` answers at once, and every process after the stamp loads compiled code.  Large runs (more than
  :data:`backends.PYTHON_MAX_STEPS` particle-steps) compile in the process as before: uncompiled they would be
  slower than the compilation.

Loading the compiled kernels from numba's cache is itself 0.3-2 s in a new process (numba's type registries are
set up on the first compiled call), more than a whole flight takes uncompiled; so the first small run of every
process runs uncompiled too (:data:`stratotrack.engine.backends.PYTHON_FIRST_STEPS`), and the compiled kernels
load on the second.  A one-shot ``stratotrack predict`` never loads them, and does not import numba either: the
kernels are declared through :mod:`stratotrack._jit`, which makes numba's dispatchers when compiled code is first
needed; this module finds numba's cache folder and version without importing it.

``STRATOTRACK_COLD_START`` chooses: ``background`` (default, the route above), ``python`` (uncompiled small runs,
no background compilation: tests), ``compile`` (always compile in the process).

Run ``python -m stratotrack.engine.warmup`` to compile in the foreground (what the background process does).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

#: a background compilation younger than this is taken to be still running
LOCK_SECONDS = 600.0
_READY = False
_FIRST = True


def _mode() -> str:
    mode = os.environ.get("STRATOTRACK_COLD_START", "background")
    return mode if mode in ("background", "python", "compile") else "background"


def _cache_dir() -> Path | None:
    """numba's cache folder for the kernels (where their compiled code goes), or None if there is none.  Found as
    numba's cache locator finds it, without importing numba (a one-shot run on the python backend never loads it),
    the same way in the process that compiles and in those that look for its stamp; numba is asked only where its
    settings could say otherwise (tests/test_cold_start.py checks that the two agree)."""
    from . import kernels

    found = _numba_cache_dir(kernels.__file__)
    if found is not None:
        return found
    try:
        return Path(kernels.advance._cache._cache_path)
    except Exception:  # a numba without this layout: no stamp, compile in the process
        return None


def _numba_cache_dir(py_file: str) -> Path | None:
    """Where ``numba.core.caching`` puts the compiled code of functions defined in ``py_file``: under
    ``NUMBA_CACHE_DIR`` if set, else in the ``__pycache__`` beside the file if it is writable, else in the user's
    cache folder (POSIX).  None where numba's settings could say otherwise (a ``.numba_config.yaml``, other cache
    locators, Windows, macOS): ask numba then."""
    if os.environ.get("NUMBA_CACHE_LOCATOR_CLASSES") or os.path.exists(".numba_config.yaml"):
        return None
    if sys.platform.startswith(("win", "darwin")) or getattr(sys, "frozen", False):
        return None

    def usable(d: str) -> bool:
        try:
            os.makedirs(d, exist_ok=True)
        except OSError:
            return False
        return os.access(d, os.W_OK | os.X_OK)

    def subpath() -> str:  # numba's _CacheLocator.get_suitable_cache_subpath
        folder = os.path.dirname(os.path.abspath(py_file))
        return "_".join([os.path.split(folder)[-1], hashlib.sha1(folder.encode()).hexdigest()])

    if os.environ.get("NUMBA_CACHE_DIR"):
        d = os.path.join(os.environ["NUMBA_CACHE_DIR"], subpath())
        if usable(d):
            return Path(d)
    d = os.path.join(os.path.dirname(py_file), "__pycache__")
    if usable(d):
        return Path(d)
    d = os.path.join(os.getenv("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "numba", subpath())
    return Path(d) if usable(d) else None


def _numba_version() -> str:
    """numba's version file (its release and revision) without importing numba."""
    import importlib.util

    spec = importlib.util.find_spec("numba")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        for name in ("_version.py", "__init__.py"):
            try:
                return hashlib.sha256(Path(folder, name).read_bytes()).hexdigest()
            except OSError:
                continue
    import numba

    return numba.__version__


def _key() -> str:
    """Changes whenever numba would compile the kernels again (their sources, numba, Python)."""
    from . import backends
    from ._twins import reachable_modules

    h = hashlib.sha256(f"{_numba_version()} {sys.version} {sys.platform}".encode())
    # the kernels, every module whose kernels they compile in, and the sampler's intrinsic (not imported here: it
    # needs numba)
    files = [mod.__file__ for mod in (*reachable_modules(), backends)]
    files.append(os.path.join(os.path.dirname(files[-1]), os.pardir, "wind", "_intrinsics.py"))
    for file in files:
        st = os.stat(file)
        h.update(f"{file} {st.st_mtime_ns} {st.st_size}".encode())
    return h.hexdigest()[:16]


def _stamp() -> Path | None:
    d = _cache_dir()
    return None if d is None else d / f"stratotrack-compiled-{_key()}"


def ready() -> bool:
    """Whether ``auto`` should use the compiled kernels: they are built (the stamp is there) or compiling in the
    process is what was asked for."""
    global _READY
    if _READY:
        return True
    mode = _mode()
    if mode == "compile":
        _READY = True
        return True
    if mode == "python":
        return False
    stamp = _stamp()
    _READY = stamp is None or stamp.exists()
    return _READY


def first_small_run() -> bool:
    """True once per process: its first small run may go uncompiled rather than wait for the kernels to load
    (``STRATOTRACK_COLD_START=compile`` says no)."""
    global _FIRST
    first, _FIRST = _FIRST, False
    return first and _mode() != "compile"


def start_background() -> None:
    """Start one detached process that compiles the kernels (none if one is already at it, or not asked for)."""
    if _mode() != "background":
        return
    d = _cache_dir()
    if d is None:
        return
    try:
        d.mkdir(parents=True, exist_ok=True)
        lock = d / "stratotrack-compiling"
        if lock.exists() and time.time() - lock.stat().st_mtime < LOCK_SECONDS:
            return
        lock.write_text(str(os.getpid()))
        subprocess.Popen([sys.executable, "-m", "stratotrack.engine.warmup"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                         env=dict(os.environ, STRATOTRACK_COLD_START="compile"))
    except OSError:  # a read-only install: the process compiles when a run needs it
        return


def compile_all() -> float:
    """Compile (or load) every CPU kernel a prediction uses, then leave the stamp; returns the seconds taken."""
    import numpy as np

    from ..flight import profiles as P
    from ..wind import open_wind
    from .runner import Integrator

    start = time.perf_counter()
    field = open_wind("climatology")
    t0 = 1673953200.0
    prof = P.standard(5.0, 30000.0, 5.0, start_altitude=np.array([10.0]))
    for backend, n in (("serial", 1), ("cpu", 40)):
        codes, vals = prof.encode(n)
        integ = Integrator(field, np.full(n, t0), np.full(n, 37.7), np.full(n, -122.2), np.full(n, 10.0),
                           codes, vals, np.full(n, t0 + 3 * 3600.0), backend=backend)
        integ.run()
    stamp = _stamp()
    if stamp is not None:
        stamp.write_text(f"compiled in {time.perf_counter() - start:.1f} s\n")
        try:
            (stamp.parent / "stratotrack-compiling").unlink()
        except OSError:
            pass
    return time.perf_counter() - start


if __name__ == "__main__":
    os.environ["STRATOTRACK_COLD_START"] = "compile"
    if hasattr(os, "nice"):
        try:
            os.nice(10)  # behind the command that started it, which is answering its user meanwhile
        except OSError:
            pass
    print(f"stratotrack kernels compiled in {compile_all():.1f} s")
