"""Backends (stratotrack.engine.backends): the compiled parallel kernels, their serial twin, the uncompiled Python
twin and the CUDA kernel (on numba's CUDA simulator: CI has no GPU) against the NumPy reference and each other.

The CUDA simulator must be switched on before numba.cuda is first imported, and then it replaces numba.cuda for
the whole process: its test runs in a subprocess so that the other tests keep the real numba.cuda.
"""

import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import stratotrack as st
from stratotrack.engine import Integrator, backends
from stratotrack.engine.kernels import BLOCK, POLAR_LATITUDE
from stratotrack.engine.reference import rk4_reference
from stratotrack.errors import InputError
from stratotrack.flight import Profile, Stage
from stratotrack.flight import profiles as P
from stratotrack.geodesy import great_circle_distance, path_length
from stratotrack.wind import analytic

T0 = 1675213200.0  # 2023-02-01T01:00Z
LAT = np.array([0.0, 45.3, -33.0, 69.95, 70.5, 78.0, -84.0, 89.7])
LON = np.array([10.0, -120.0, 179.8, 30.0, 100.0, -60.0, 150.0, 0.0])
ROTATION = dict(lat_pole=5.0, lon_pole=100.0, speed=2.0)


def rotation():
    times = np.array(["2023-02-01T00", "2023-02-03T00"], dtype="datetime64[ns]")
    return st.open_wind(analytic.solid_body_rotation(5.0, 100.0, 2.0, resolution=1.0, times=times,
                                                     acceleration=2e-10))


def drift(wind, backend, h=120.0, nsteps=20, lat=LAT, lon=LON):
    n = lat.size
    z = np.full(n, 18500.0)
    stage = Stage("drift", "target", (z, 60.0, 5.0, 5.0), "none", None, "end")
    codes, vals = Profile("test", [stage]).encode(n)
    t0 = np.full(n, T0)
    integ = Integrator(wind, t0, lat, lon, z, codes, vals, t0 + h * nsteps, step=h, backend=backend)
    integ.run()
    assert integ.backend == backend
    return integ.result()


def standard(wind, backend, lat, lon):
    n = lat.size
    prof = P.standard(5.0, 12000.0, 6.0, start_altitude=np.full(n, 10.0))
    codes, vals = prof.encode(n)
    t0 = np.full(n, T0) + np.arange(n) * 37.0  # off each other's step grid
    integ = Integrator(wind, t0, lat, lon, np.full(n, 10.0), codes, vals, t0 + 3 * 3600.0, step=60.0,
                       output_interval=150.0, backend=backend)
    integ.run()
    return integ.result()


def assert_matches_reference(wind, raw, h=120.0, nsteps=20):
    rla, rlo, _ = rk4_reference(wind, T0, LAT, LON, np.full(LAT.size, 18500.0), h, nsteps)
    lengths = np.array([path_length(rla[:, i], rlo[:, i]) for i in range(LAT.size)])
    assert np.all(lengths > 1e3)
    d = great_circle_distance(raw.lat.T, raw.lon.T, rla, rlo)
    assert np.all(d.max(axis=0) / lengths < 1e-9), d.max(axis=0) / lengths
    assert (np.abs(rla) >= POLAR_LATITUDE).any(axis=0).sum() >= 3  # the Cartesian stepping near the poles too


@pytest.mark.parametrize("backend", ["cpu", "serial", "python"])
def test_each_cpu_backend_matches_the_numpy_reference(backend):
    wind = rotation()
    assert_matches_reference(wind, drift(wind, backend))


def test_serial_and_parallel_backends_are_bit_identical_and_python_agrees_to_rounding(climatology):
    rng = np.random.default_rng(5)
    n = 2 * BLOCK + 3
    lat, lon = rng.uniform(-60, 75, n), rng.uniform(-180, 180, n)
    a = standard(climatology, "cpu", lat, lon)
    b = standard(climatology, "serial", lat, lon)
    for name in ("time", "lat", "lon", "alt", "stage", "n_obs", "ev_time", "ev_lat", "ev_kind", "status", "clamped"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert np.all(a.ev_kind[:, :2] == [0, 1])  # burst and landing located in every flight
    c = standard(climatology, "python", lat[:3], lon[:3])
    assert np.array_equal(c.n_obs, a.n_obs[:3]) and np.array_equal(c.ev_kind, a.ev_kind[:3])
    np.testing.assert_allclose(c.ev_time, a.ev_time[:3], rtol=0, atol=1e-6)
    w = c.n_obs.max()
    np.testing.assert_allclose(c.lat, a.lat[:3, :w], rtol=0, atol=1e-9)
    np.testing.assert_allclose(c.alt, a.alt[:3, :w], rtol=0, atol=1e-6)


def test_auto_runs_few_particles_serially_and_many_in_parallel(climatology):
    for n, expected in ((1, "serial"), (backends.SERIAL_MAX, "serial"), (backends.SERIAL_MAX + 1, "cpu")):
        codes, vals = P.drift(np.full(n, T0 + 600.0), start_altitude=np.full(n, 18000.0)).encode(n)
        t0 = np.full(n, T0)
        integ = Integrator(climatology, t0, np.full(n, 40.0), np.full(n, 10.0), np.full(n, 18000.0), codes, vals,
                           t0 + 600.0)
        assert integ.backend == expected


def test_unknown_backend_and_gpu_without_a_device_are_one_line_input_errors(climatology):
    with pytest.raises(InputError, match="backend 'tpu' is unknown; expected one of auto, cpu, serial, gpu"):
        st.predict(40.0, 10.0, 18000.0, "2023-01-17T11:00Z", profile="drift", duration="1h", wind=climatology,
                   backend="tpu")
    from stratotrack.engine import gpu

    if gpu.available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(InputError) as err:
        st.predict(40.0, 10.0, 18000.0, "2023-01-17T11:00Z", profile="drift", duration="1h", wind=climatology,
                   backend="gpu")
    assert "backend 'gpu' needs a CUDA GPU" in str(err.value) and "\n" not in str(err.value)


def test_command_line_backend_gpu_without_a_device_exits_2_with_one_line(capsys):
    from stratotrack.cli import run
    from stratotrack.engine import gpu

    if gpu.available():
        pytest.skip("a CUDA device is present")
    code = run(["predict", "--lat", "37.74", "--lon", "-122.22", "--time", "2023-01-17T11:00:00Z", "--backend",
                "gpu"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and "backend 'gpu' needs a CUDA GPU" in err


GPU_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    sys.path.insert(0, {tests!r})
    import test_engine_backends as T
    wind = T.rotation()
    d = T.drift(wind, "gpu")
    s = T.standard(T.st.open_wind("climatology"), "gpu", np.array([37.7, 75.0]), np.array([-122.2, 20.0]))
    np.savez({out!r}, d_lat=d.lat, d_lon=d.lon, d_alt=d.alt, **{{"s_" + k: getattr(s, k) for k in
             ("time", "lat", "lon", "alt", "n_obs", "ev_time", "ev_kind", "status")}})
""")


def test_gpu_kernels_on_the_cuda_simulator_match_the_reference_and_the_cpu(tmp_path, climatology):
    out = tmp_path / "gpu.npz"
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    script = GPU_SCRIPT.format(tests=os.path.dirname(__file__), out=str(out))
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    g = np.load(out)

    class Raw:
        lat, lon = g["d_lat"], g["d_lon"]

    assert_matches_reference(rotation(), Raw)
    c = standard(climatology, "cpu", np.array([37.7, 75.0]), np.array([-122.2, 20.0]))
    assert np.array_equal(g["s_n_obs"], c.n_obs) and np.array_equal(g["s_ev_kind"], c.ev_kind)
    assert np.array_equal(g["s_status"], c.status)
    np.testing.assert_allclose(g["s_ev_time"], c.ev_time, rtol=0, atol=1e-6)
    np.testing.assert_allclose(g["s_lat"], c.lat, rtol=0, atol=1e-9)
    np.testing.assert_allclose(g["s_alt"], c.alt, rtol=0, atol=1e-6)


PTX_SCRIPT = textwrap.dedent("""
    import types, numpy as np, numba
    import numba.cuda.dispatcher as D
    D.get_current_device = lambda: types.SimpleNamespace(compute_capability=(9, 0))  # no GPU here: say which
    from numba import cuda
    import stratotrack as st
    from stratotrack.engine import backends, gpu
    from stratotrack.flight import profiles as P
    captured = []
    backends.advance_function = lambda name: lambda *args: captured.append(args)
    n, t0 = 2, 1673953200.0
    codes, vals = P.standard(5.0, 30000.0, 5.0, start_altitude=np.full(n, 10.0)).encode(n)
    integ = st.Integrator(st.open_wind("climatology"), np.full(n, t0), np.full(n, 37.0), np.full(n, -122.0),
                          np.full(n, 10.0), codes, vals, np.full(n, t0 + 3600.0), backend="cpu")
    integ.advance(t0 + 600.0)
    ptx, _ = cuda.compile_ptx(gpu._kernel().py_func, tuple(numba.typeof(a) for a in captured[0]), cc=(9, 0))
    print(len(ptx), ".entry" in ptx)
""")


def test_the_cuda_kernel_compiles_for_a_real_gpu():
    """The whole CUDA kernel (the engine's own kernels as device functions) compiled to PTX for compute
    capability 9.0 by the maintained CUDA target (numba-cuda, the ``gpu`` extra), without a GPU (about 15 s)."""
    pytest.importorskip("numba_cuda", reason="the gpu extra (numba-cuda) is not installed")
    env = dict(os.environ)
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    proc = subprocess.run([sys.executable, "-c", PTX_SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    if "libnvvm" in proc.stderr.lower() and "not found" in proc.stderr.lower():
        pytest.skip("no NVVM library for numba-cuda here")
    assert proc.returncode == 0, proc.stderr[-3000:]
    size, entry = proc.stdout.split()
    assert int(size) > 10_000 and entry == "True"


COLD_SCRIPT = textwrap.dedent("""
    import json, time
    t = time.perf_counter()
    import stratotrack as st
    ds = st.predict(37.74, -122.22, 10.0, "2023-01-17T11:00:00Z")
    print(json.dumps({"seconds": time.perf_counter() - t, "backend": ds.attrs["engine_backend"],
                      "landing": float(ds.end_latitude[0])}))
""")


def test_first_prediction_with_an_empty_numba_cache_runs_uncompiled_and_compiles_nothing(tmp_path, climatology):
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), STRATOTRACK_COLD_START="python")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", COLD_SCRIPT], env=env, capture_output=True, text=True,
                          timeout=120)
    wall = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["backend"] == "python"
    assert wall < 20.0  # compiling would take 30 s or more (5 s expected on an idle core; generous when shared)
    assert not list(cache.rglob("*advance*"))  # no kernel compiled
    compiled = st.predict(37.74, -122.22, 10.0, "2023-01-17T11:00:00Z", wind=climatology)
    assert abs(float(compiled.end_latitude[0]) - got["landing"]) < 1e-9


def test_the_cold_start_stamp_decides_when_auto_uses_the_compiled_kernels(tmp_path, monkeypatch):
    from stratotrack.engine import warmup

    monkeypatch.setattr(warmup, "_READY", False)
    monkeypatch.setattr(warmup, "_FIRST", True)
    monkeypatch.setattr(backends, "_compiled_loaded", False)
    monkeypatch.setattr(warmup, "_cache_dir", lambda: tmp_path)
    monkeypatch.setenv("STRATOTRACK_COLD_START", "background")
    (tmp_path / "stratotrack-compiling").write_text("1")  # a compilation already running: none started
    assert not warmup.ready()
    assert backends.choose("auto", 1, steps=200) == "python"
    assert backends.choose("auto", 1000, steps=200) == "cpu"  # too big to run uncompiled
    warmup._stamp().write_text("compiled")
    assert warmup.ready()
    # built: the first small run of the process still goes uncompiled (loading the kernels costs more), once
    assert backends.choose("auto", 1, steps=2000) == "serial"  # more than PYTHON_FIRST_STEPS
    assert backends.choose("auto", 1, steps=200) == "python"
    assert backends.choose("auto", 1, steps=200) == "serial"
    monkeypatch.setattr(warmup, "_FIRST", True)
    backends.advance_function("serial")  # compiled kernels in use: no more uncompiled runs
    assert backends.choose("auto", 1, steps=200) == "serial"
