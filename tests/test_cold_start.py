"""Cold start: a one-shot ``stratotrack predict`` runs uncompiled without importing numba (stratotrack._jit declares
the compiled functions and makes numba's dispatchers only when compiled code is first needed), and compiled runs
afterwards in the same process give the same results as ever.  See docs/engine.md, "Cold start"."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

import stratotrack as st

ARGS = ["predict", "--lat", "37.74", "--lon", "-122.22", "--time", "2023-01-17T11:00:00Z", "--json"]

ONE_SHOT = textwrap.dedent("""
    import contextlib, io, json, sys
    from stratotrack.cli import run
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = run({args!r})
    summary = json.loads(out.getvalue())
    modules = sorted(m for m in ("numba", "llvmlite", "xarray", "pandas") if m in sys.modules)
    from stratotrack import _jit
    loaded_after_cli = _jit.loaded()
    import stratotrack as st
    p = st.predict(37.74, -122.22, 10.0, "2023-01-17T11:00:00Z", result="light", backend="serial")
    q = st.predict(37.74, -122.22, 10.0, "2023-01-17T11:00:00Z", result="light", backend="cpu")
    print(json.dumps({{"code": code, "summary": summary, "modules": modules, "loaded_after_cli": loaded_after_cli,
                      "loaded": _jit.loaded(), "serial": [p.latitude.tolist(), p.longitude.tolist(), p.altitude.tolist()],
                      "cpu": [q.latitude.tolist(), q.longitude.tolist(), q.altitude.tolist()]}}))
""")


def _landing(summary):
    (ev,) = [e for e in summary["trajectories"][0]["events"] if e["event"] == "landing"]
    return ev["latitude"], ev["longitude"]


def test_one_shot_predict_imports_no_numba_and_compiled_runs_after_it_are_unchanged(climatology):
    # the compiled kernels, in this process (built into numba's cache if they were not: the subprocess loads them)
    ref = st.predict(37.74, -122.22, 10.0, "2023-01-17T11:00:00Z", wind=climatology, result="light",
                     backend="serial")
    uncompiled = st.predict(37.74, -122.22, 0.0, "2023-01-17T11:00:00Z", wind=climatology, backend="python")
    # "python": small runs uncompiled and no background compilation (a later process's first run is uncompiled too)
    env = dict(os.environ, STRATOTRACK_COLD_START="python")
    proc = subprocess.run([sys.executable, "-c", ONE_SHOT.format(args=ARGS)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["code"] == 0
    assert got["modules"] == [], f"a one-shot predict imported {got['modules']}"
    assert not got["loaded_after_cli"] and got["loaded"]
    # the command line's flight (uncompiled) lands where the python backend lands here
    lat, lon = _landing(got["summary"])
    assert abs(lat - float(uncompiled.end_latitude[0])) < 1e-4 and abs(lon - float(uncompiled.end_longitude[0])) < 1e-4
    # compiled runs after it, in the same process: bit for bit those of a process that compiled from the start
    for backend in ("serial", "cpu"):
        lat_, lon_, alt_ = (np.array(a) for a in got[backend])
        for a, b in ((lat_, ref.latitude), (lon_, ref.longitude), (alt_, ref.altitude)):
            assert np.array_equal(a, b, equal_nan=True), backend


CACHE_DIR = textwrap.dedent("""
    import sys
    from stratotrack import _jit
    from stratotrack.engine import kernels as K, warmup
    ours = warmup._numba_cache_dir(K.__file__)
    before = "numba" in sys.modules
    _jit.load()
    print(ours, K.advance._cache._cache_path, before)
""")


def test_the_warm_up_finds_numba_s_cache_folder_without_importing_numba(tmp_path):
    for extra in ({}, {"NUMBA_CACHE_DIR": str(tmp_path)}):
        env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"} | extra
        proc = subprocess.run([sys.executable, "-c", CACHE_DIR], env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
        ours, numbas, before = proc.stdout.split()
        assert Path(ours) == Path(numbas) and before == "False"
        if extra:
            assert Path(ours).is_relative_to(tmp_path)


def test_stand_ins_become_numba_dispatchers_with_their_options():
    import numba

    from stratotrack import _jit
    from stratotrack.engine import kernels as K
    from stratotrack.flight import models
    from stratotrack.wind import _sample

    _jit.load()
    assert isinstance(K.advance, numba.core.dispatcher.Dispatcher) and K.advance.targetoptions["parallel"]
    assert K.prange is numba.prange and _sample.prange is numba.prange
    assert _sample.vertical.targetoptions["inline"] == "always" and _sample.vertical._cache.__class__.__name__ == \
        "FunctionCache"
    assert all(_jit.kind(r) == "jit" and not isinstance(r, _jit.LazyJit) for _, r, _ in K._MODEL_SLOTS)
    assert _jit.kind(_sample._corner_sums) == "intrinsic" and not isinstance(_sample._corner_sums, _jit.LazyIntrinsic)
    # a model's rate kept in its record (perhaps a stand-in made before numba was loaded) still calls and compiles
    rate = models.MODELS["rate"].rate

    @numba.njit
    def climb(z):
        return rate(z, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0)

    assert climb(1.0) == (3.0, 0.0, 0.0) and rate(1.0, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0) == (3.0, 0.0, 0.0)
