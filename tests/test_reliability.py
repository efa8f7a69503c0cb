"""Reliability (issue 15): every case runs through the real command line in a subprocess and must end with the
promised exit status (2 bad input, 1 a fault of the environment, 130/143 interrupted), exactly one line on stderr
naming the value or the resource, no traceback, and no partial file.

The argument cases run in parallel threads (each is a new Python process: ~1-2 s of imports); the faults that need
a process of their own (signals, a full disk, a silent server, a damaged cache) have their own tests.  Servers are
real sockets on 127.0.0.1.
"""

from __future__ import annotations

import concurrent.futures
import http.server
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

T0 = "2023-01-17T11:00:00Z"
L = ["--lat", "37.74", "--lon", "-122.22", "--time", T0]


def _env(cache, **extra):
    env = {**os.environ, "STRATOTRACK_CACHE_DIR": str(cache), "COLUMNS": "100", "STRATOTRACK_TIMEOUT": "2"}
    env.pop("STRATOTRACK_DEBUG", None)
    env.pop("STRATOTRACK_MIRROR", None)
    env.update(extra)
    return env


def cli(*args, cache, cwd=None, timeout=120, env=None, **kw):
    return subprocess.run([sys.executable, "-m", "stratotrack", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env=_env(cache, **(env or {})), **kw)


def _progress(line) -> bool:
    """A progress line (what a step that takes long prints where stderr is piped), not a message."""
    return line.startswith("stratotrack: ") and not line.startswith(("stratotrack: error:", "stratotrack: warning:"))


def messages(err) -> list:
    """The lines of stderr other than progress lines."""
    return [x for x in err.splitlines() if not _progress(x)]


def one_line(p, code, *words):
    """Exit status ``code``, one line on stderr that starts with the program's name (besides progress lines that a
    slow step prints), no traceback, the words."""
    lines = messages(p.stderr)
    assert p.returncode == code, (p.returncode, p.stderr[-3000:])
    assert "Traceback" not in p.stderr, p.stderr[-3000:]
    errors = [x for x in lines if x.startswith("stratotrack: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], p.stderr[-3000:]
    assert len(lines) == 1, p.stderr[-3000:]
    for w in words:
        assert w in errors[0], (w, errors[0])
    return errors[0]


# -- a silent server: accepts connections and never answers ----------------------------------------------------------
class SilentServer:
    """A TCP listener on 127.0.0.1 that accepts (at most 64 connections) and never sends a byte; closes all on exit."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.conns, self._stop = [], threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            if len(self.conns) < 64:
                self.conns.append(conn)
            else:
                conn.close()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.fixture(scope="module")
def silent():
    with SilentServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A cache folder for the module and a working folder with a file that is not a folder."""
    root = tmp_path_factory.mktemp("rel")
    (root / "cache").mkdir()
    (root / "work").mkdir()
    (root / "work" / "file.txt").write_text("not a folder")
    return root


# -- the argument and environment cases, all in parallel -------------------------------------------------------------
# (args, exit status, words in the message); {work} is a folder that must stay as it was
CASES = [
    # steps, intervals, durations, budgets
    (["predict", *L, "--step", "1e-3"], 2, ["--step 0.001 s", "1..600"]),
    (["predict", *L, "--step", "1e7"], 2, ["--step 1e+07 s", "1..600"]),
    (["predict", *L, "--step", "86400"], 2, ["--step 86400"]),
    (["predict", *L, "--step", "300"], 2, ["--step 300 s is too long for a descent", "at most 275 s"]),
    (["predict", *L, "--ascent-rate", "1", "--burst-altitude", "500", "--step", "120"], 2, ["too long for an ascent"]),
    (["predict", *L, "--output-interval", "1e-3"], 2, ["--output-interval 0.001 s", "step"]),
    (["predict", *L, "--profile", "drift", "--alt", "18000", "--duration", "100000d"], 2, ["100,000 days", "400"]),
    (["predict", *L, "--profile", "drift", "--alt", "18000", "--duration", "399d", "--step", "1"], 2,
     ["steps", "longer --step"]),
    (["predict", *L, "--profile", "drift", "--alt", "18000", "--duration", "100d", "--step", "2"], 2,
     ["output points", "--output-interval"]),
    (["predict", *L, "--max-duration", "100000d"], 2, ["--max-duration", "400 days"]),
    # rates, altitudes
    (["predict", *L, "--ascent-rate", "1e-6"], 2, ["--ascent-rate 1e-06 m/s", "0.1..50"]),
    (["predict", *L, "--ascent-rate", "1e9"], 2, ["--ascent-rate 1e+09"]),
    (["predict", *L, "--descent-rate", "1e6"], 2, ["--descent-rate 1e+06"]),
    (["predict", *L, "--burst-altitude", "1e6"], 2, ["--burst-altitude 1e+06 m"]),
    (["predict", *L, "--alt", "-1000"], 2, ["--alt -1000 m", "Dead Sea"]),
    (["predict", *L, "--alt", "-1e9"], 2, ["--alt -1e+09 m"]),
    (["predict", *L, "--landing-altitude", "1e5"], 2, ["--landing-altitude 100000 m"]),
    (["predict", *L, "--profile", "float", "--float-altitude", "20000", "--duration", "6h", "--backward"], 2,
     ["backward float starts afloat", "--alt 20000"]),
    (["predict", *L, "--ascent-rate", "-5"], 2, ["ascent rate -5", "positive"]),
    # ensembles
    (["predict", *L, "--members", "100", "--seed", "-1"], 2, ["seed -1", "non-negative"]),
    (["predict", *L, "--members", "1000000000"], 2, ["--members 1000000000", "10,000,000"]),
    (["predict", *L, "--members", "0"], 2, ["members 0 is invalid"]),
    (["predict", *L, "--members", "10", "--batch-size", "0"], 2, ["--batch-size 0"]),
    (["predict", *L, "--members", "10", "--spread", "ascent_rate=100"], 2, ["ascent_rate=100", "below 5 m/s"]),
    (["predict", *L, "--members", "10", "--spread", "burst_altitude=uniform:40000"], 2, ["burst_altitude"]),
    # times
    (["predict", "--lat", "37", "--lon", "-122", "--time", "9999-12-31T23:00Z"], 2, ["9999-12-31", "1678-2261"]),
    (["predict", "--lat", "37", "--lon", "-122", "--time", "2300-01-01T00:00Z"], 2, ["2300-01-01"]),
    (["predict", "--lat", "37", "--lon", "-122", "--time", "1800-01-01T00:00Z"], 2, ["1800-01-01", "1900 to 2200"]),
    (["predict", "--lat", "37", "--lon", "-122", "--time", "2201-01-01T00:00Z"], 2, ["2201-01-01"]),
    (["windows", "--lat", "52", "--lon", "0", "--start", "1800-01-01T00:00Z"], 2, ["--start 1800-01-01"]),
    # outputs
    (["predict", *L, "-o", "/proc/f.kml"], 1, ["/proc/f.kml", "does not accept new files"]),
    (["predict", *L, "-o", "{work}/missing/f.kml"], 2, ["does not exist"]),
    (["predict", *L, "-o", "{work}/file.txt/f.kml"], 2, ["not a folder"]),
    (["assess", "--lat", "45", "--lon", "-110", "-o", "/proc/r.html"], 1, ["/proc/r.html"]),
    # assess, windows, track, origin
    (["assess", "--lat", "45", "--lon", "-110", "--samples", "0"], 2, ["--samples 0"]),
    (["assess", "--lat", "45", "--lon", "-110", "--members", "-5"], 2, ["--members -5"]),
    (["assess", "--lat", "45", "--lon", "-110", "--min-elevation", "120"], 2, ["--min-elevation 120", "zenith"]),
    (["assess", "--lat", "45", "--lon", "-110", "--seed", "-1"], 2, ["seed -1"]),
    (["assess", "--lat", "45", "--lon", "-110", "--every", "1s"], 2, ["--every '1s'"]),
    (["assess", "--lat", "45", "--lon", "-110", "--duration", "1000d"], 2, ["--duration '1000d'"]),
    (["windows", "--lat", "52", "--lon", "0", "--members", "-1"], 2, ["members -1 is invalid"]),
    (["windows", "--lat", "52", "--lon", "0", "--members", "1000000"], 2, ["--members 1000000"]),
    (["windows", "--lat", "52", "--lon", "0", "--every", "1s"], 2, ["--every '1s'"]),
    (["windows", "--lat", "52", "--lon", "0", "--ascent-rate", "0.001"], 2, ["--ascent-rate 0.001"]),
    (["origin", "obs.csv", "--max-km", "-1"], 2, ["--max-km -1"]),
    (["origin", "obs.csv", "--altitude-sd", "-1"], 2, ["--altitude-sd -1"]),
    (["origin", "obs.csv", "--max-days", "100000"], 2, ["--max-days 100000", "year"]),
    (["origin", "obs.csv", "--min-days", "5", "--max-days", "2"], 2, ["--max-days 2 is not above"]),
    (["origin", "obs.csv", "--particles", "1"], 2, ["--particles 1"]),
    (["track", "obs.csv", "--forecast", "100000d"], 2, ["--forecast '100000d'", "30 days"]),
    (["track", "obs.csv", "--particles", "100000000"], 2, ["--particles 100000000"]),
    (["track", "obs.csv", "--seed", "-1"], 2, ["seed -1"]),
    # downloads with no server: a closed port
    (["fetch", "gfs", "--cycle", "2023-02-01T00", "--hours", "0-120", "--levels", "150-10", "--region",
      "-130,20,-60,55", "--mirror", "http://127.0.0.1:9"], 1, ["cannot reach http://127.0.0.1:9/", "network"]),
    (["fetch", "gefs", "--cycle", "2023-02-01T00", "--member", "3", "--levels", "150-10", "--mirror",
      "http://127.0.0.1:9"], 1, ["cannot reach"]),
    (["fetch", "ncep", "--start", "2023-02-01", "--end", "2023-02-05", "--mirror", "http://127.0.0.1:9"], 1,
     ["cannot reach"]),
    (["fetch", "ecmwf", "--cycle", "2023-02-01T00", "--hours", "0-6", "--mirror", "http://127.0.0.1:9"], 1,
     ["cannot reach"]),
    # downloads from a server that accepts and never answers ({silent}); $STRATOTRACK_TIMEOUT is 2 s here
    (["fetch", "gfs", "--cycle", "2023-02-01T00", "--hours", "0-3", "--levels", "150-10", "--mirror", "{silent}"], 1,
     ["did not answer within 2 s"]),
    (["fetch", "ncep", "--start", "2023-02-01", "--end", "2023-02-02", "ENV:STRATOTRACK_MIRROR={silent}"], 1,
     ["did not answer within 2 s"]),
    (["fetch", "era5", "--start", "2023-02-01", "--end", "2023-02-02", "ENV:CDSAPI_URL={silent}/api",
      "ENV:CDSAPI_KEY=1:x"], 1, ["did not answer within 2 s"]),
    # the cache
    (["fetch", "ncep", "--start", "2023-02-01", "--end", "2023-02-02", "ENV:STRATOTRACK_CACHE_DIR=/proc/stc"], 1,
     ["wind cache '/proc/stc' cannot be written", "STRATOTRACK_CACHE_DIR"]),
    (["cache", "clear", "gfs-nothing-here"], 2, ["gfs-nothing-here", "cache list"]),
    (["cache", "verify", "gfs-nothing-here"], 2, ["gfs-nothing-here"]),
    (["predict", *L, "--wind", "gfs"], 2, ["no gfs winds are in the cache"]),
]


# the cases share a few processes, each running the real command line's run() on one case after another with the
# case's environment (a new Python process costs 1-2 s of imports, and the download libraries more); the faults that
# need a process of their own (signals, a full disk, a damaged cache) have tests of their own below
_BATCH = r"""
import contextlib, io, json, os, sys
from stratotrack.cli.app import run
out = []
for argv, env in json.load(sys.stdin):
    saved = dict(os.environ)
    os.environ.update(env)
    o, e = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
            code = run(argv)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    out.append([code, o.getvalue(), e.getvalue()])
sys.stdout.write(json.dumps(out))
"""
BATCHES = 4


def _expand(args, home, silent):
    env, real = {}, []
    for a in args:
        a = a.replace("{work}", str(home / "work")).replace("{silent}", silent.url)
        if a.startswith("ENV:"):
            k, _, v = a[4:].partition("=")
            env[k] = v
        else:
            real.append(a)
    return real, env


def batch(runs, cache, cwd=None, preexec_fn=None, timeout=300):
    """Run several command lines one after another in one process (the real ``run()``): ``runs`` is a list of
    (argv, env) pairs; returns a CompletedProcess per command line."""
    p = subprocess.run([sys.executable, "-c", _BATCH], input=json.dumps([[list(map(str, a)), e] for a, e in runs]),
                       capture_output=True, text=True, cwd=cwd, timeout=timeout, env=_env(cache),
                       preexec_fn=preexec_fn)
    assert p.returncode == 0, p.stderr[-3000:]
    return [subprocess.CompletedProcess(a, code, out, err) for (a, _), (code, out, err) in
            zip(runs, json.loads(p.stdout))]


def _run_batch(cases, home, silent):
    argvs = [_expand(c[0], home, silent) for c in cases]
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", _BATCH], input=json.dumps(argvs), capture_output=True, text=True,
                       cwd=home / "work", timeout=300, env=_env(home / "cache"))
    assert p.returncode == 0, p.stderr[-3000:]
    wall = time.perf_counter() - t
    return [(subprocess.CompletedProcess(a[0], code, out, err), wall / len(cases))
            for a, (code, out, err) in zip(argvs, json.loads(p.stdout))]


@pytest.fixture(scope="module")
def results(home, silent):
    """Every case run once, in BATCHES processes running side by side."""
    before = sorted(p.name for p in (home / "work").iterdir())
    t = time.perf_counter()
    # the slow ones (downloads that wait for a timeout) spread over the batches, which run in parallel
    order = sorted(range(len(CASES)), key=lambda k: CASES[k][0][0] != "fetch")
    jobs = [(order[i::BATCHES], _run_batch, [CASES[k] for k in order[i::BATCHES]]) for i in range(BATCHES)]
    out = [None] * len(CASES)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = [(ks, pool.submit(fn, arg, home, silent)) for ks, fn, arg in jobs]
        for ks, f in futures:
            for k, r in zip(ks, f.result()):
                out[k] = r
    wall = time.perf_counter() - t
    print(f"\n{len(CASES)} command-line cases in {wall:.1f} s ({len(jobs)} processes)")
    if os.environ.get("RELIABILITY_TIMES"):
        for (p, s), c in sorted(zip(out, CASES), key=lambda x: -x[0][1])[:12]:
            print(f"{s:6.1f} s  {' '.join(c[0])[:100]}")
    return out, before


def _ids():
    return [" ".join(a for a in c[0] if not a.startswith("ENV:")).replace(" ".join(L), "L")[:90] for c in CASES]


@pytest.mark.parametrize("k", range(len(CASES)), ids=_ids())
def test_case_ends_in_one_line_with_its_exit_status(k, results, home):
    out, before = results
    p, seconds = out[k]
    args, code, words = CASES[k]
    words = [w.replace("{work}", str(home / "work")) for w in words]
    one_line(p, code, *words)
    assert p.stdout == ""
    assert seconds < 60, f"took {seconds:.0f} s"


def test_no_case_left_a_file(results, home):
    out, before = results
    assert sorted(p.name for p in (home / "work").iterdir()) == before
    assert not list(Path("/proc").glob("f.kml*"))


def test_debug_help_and_flags(home):
    debug, helped, top = batch([(["predict", *L, "--step", "0", "--debug"], {}), (["predict", "--help"], {}),
                                (["--help"], {})], home / "cache")
    assert debug.returncode == 2 and "Traceback" in debug.stderr
    assert debug.stderr.splitlines()[-1].startswith("stratotrack: error: step 0")
    assert helped.returncode == 0
    text = " ".join(helped.stdout.split())
    assert "[default: 5]" in text and "[default: 30000]" in text and "[default: 60]" in text
    line = next(x for x in helped.stdout.splitlines() if "--backward" in x and "Run back" in x)
    assert "<bool>" not in line
    assert "--debug" in top.stdout


def test_an_interrupt_ends_in_one_line_and_leaves_no_file(home, tmp_path):
    """Ctrl-C (exit 130) and SIGTERM (143) in the middle of an ensemble: one line, the old output kept whole."""
    procs = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        folder = tmp_path / sig.name
        folder.mkdir()
        (folder / "e.geojson").write_text("the old file")
        procs[sig] = subprocess.Popen([sys.executable, "-m", "stratotrack", "predict", *L, "--members", "2000000",
                                       "--seed", "1", "-o", str(folder / "e.geojson")], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, env=_env(home / "cache"))
    time.sleep(5)
    for sig, proc in procs.items():
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(sig)
    for sig, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=60)
        p = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
        code, word = (130, "interrupted") if sig == signal.SIGINT else (143, "terminated")
        one_line(p, code, word)
        assert (tmp_path / sig.name / "e.geojson").read_text() == "the old file"  # kept whole
        assert [x.name for x in (tmp_path / sig.name).iterdir()] == ["e.geojson"]


def _small_file_limit(nbytes):
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, like a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return limit


def test_a_full_disk_keeps_the_old_files_whole(home, tmp_path):
    # compiled first, with no limit (numba writes its cache of compiled kernels beside the package)
    assert cli("predict", *L, "--json", cache=home / "cache").returncode == 0
    names = ["keep.nc", "keep.kml", "keep.csv", "keep.geojson"]
    for name in names:
        (tmp_path / name).write_text("the old file")
    procs = batch([(["predict", *L, "--step", "10", "-o", tmp_path / name], {}) for name in names], home / "cache",
                  preexec_fn=_small_file_limit(20_000))
    for name, p in zip(names, procs):
        one_line(p, 1, f"cannot write '{tmp_path / name}'", "nothing was written")
        assert (tmp_path / name).read_text() == "the old file"
    assert sorted(x.name for x in tmp_path.iterdir()) == sorted(names)


# -- the cache: fault injection ---------------------------------------------------------------------------------------
def _cached_entry(cache_dir, eid="gfs-2023020100-test"):
    """Store a small real forecast-like entry (3 times, 4 levels) and return (Cache, Entry)."""
    import xarray as xr

    from stratotrack.wind.cache import Cache
    from stratotrack.wind.prepare import from_dataset

    rng = np.random.default_rng(0)
    times = np.datetime64("2023-02-01T00", "ns") + np.array([0, 6, 12], dtype="timedelta64[h]").astype("m8[ns]")
    lat, lon = np.arange(30.0, 50.1, 2.5), np.arange(250.0, 280.1, 2.5)
    lev = np.array([150.0, 100.0, 50.0, 10.0])
    shape = (3, 4, lat.size, lon.size)
    gh = np.broadcast_to(np.array([13500.0, 16200.0, 20600.0, 31000.0])[None, :, None, None], shape).copy()
    dims = ("time", "isobaricInhPa", "latitude", "longitude")
    ds = xr.Dataset({"u": (dims, rng.normal(10, 5, shape), {"units": "m s-1"}),
                     "v": (dims, rng.normal(0, 5, shape), {"units": "m s-1"}), "gh": (dims, gh, {"units": "gpm"})},
                    coords={"time": times, "isobaricInhPa": ("isobaricInhPa", lev, {"units": "hPa"}),
                            "latitude": lat, "longitude": lon})
    cache = Cache(cache_dir)
    field = from_dataset(ds, source="test", kind="forecast")
    entry = cache.store(field, entry_id=eid, source="gfs", cycle=np.datetime64("2023-02-01T00"),
                        levels=[150, 100, 50, 10], region="-110,30,-80,50", resolution=2.5)
    return cache, entry


DRIFT = ["predict", "--lat", "40", "--lon", "-95", "--alt", "18000", "--profile", "drift", "--duration", "3h",
         "--time", "2023-02-01T01:00Z"]


def _damage(entry, how):
    npy = entry.path / "field.npy"
    if how == "truncate":
        with open(npy, "r+b") as fh:
            fh.truncate(npy.stat().st_size // 2)
    elif how == "delete":
        npy.unlink()
    elif how == "meta":
        (entry.path / "meta.json").write_text("{not json")
    elif how == "random":  # the same size: only the checksum tells
        size = npy.stat().st_size
        with open(npy, "r+b") as fh:
            fh.seek(256)
            fh.write(np.random.default_rng(1).bytes(size - 256))


DAMAGES = {"truncate": ["bytes"], "delete": ["field.npy is missing"], "meta": ["meta.json"],
           "random": ["checksum"]}


def test_damaged_entries_are_named_and_verify_repairs_them(tmp_path):
    cache_dir = tmp_path / "cache"
    entries = {how: _cached_entry(cache_dir, f"gfs-2023020100-{how}")[1] for how in DAMAGES}
    first = batch([([*DRIFT, "--wind", e.id, "--json"], {}) for e in entries.values()], cache_dir)
    for p, e in zip(first, entries.values()):
        assert p.returncode == 0, p.stderr
        assert (e.path / "verified.json").is_file()  # the checksum was checked once and recorded
    for how, e in entries.items():
        _damage(e, how)
    runs = [([*DRIFT, "--wind", e.id, "-o", tmp_path / f"{how}.kml"], {}) for how, e in entries.items()]
    runs += [(["cache", "list"], {}), (["cache", "verify", "--dry-run"], {}), (["cache", "verify"], {}),
             (["cache", "list", "--json"], {})]
    runs += [([*DRIFT, "--wind", e.id], {}) for e in entries.values()]
    procs = batch(runs, cache_dir)
    for p, (how, e) in zip(procs, entries.items()):
        one_line(p, 1, e.id, "damaged", "cache verify", *DAMAGES[how])
    listed, dry, fixed, after = procs[4:8]
    assert listed.returncode == 0 and messages(listed.stderr) == []
    for how, e in entries.items():
        assert e.id in listed.stdout
        assert f"{e.id}: damaged" in dry.stdout and f"{e.id}: damaged" in fixed.stdout
        assert not e.path.exists()
    assert listed.stdout.count("DAMAGED") == 2  # truncated and deleted fields show without a checksum
    assert dry.returncode == 1 and fixed.returncode == 0 and "4 damaged and removed" in fixed.stdout
    assert json.loads(after.stdout)["entries"] == []
    for p, e in zip(procs[8:], entries.values()):
        one_line(p, 2, e.id, "unknown wind source")  # now simply not there
    assert sorted(x.name for x in tmp_path.iterdir()) == ["cache"]


def test_verify_keeps_good_entries_and_checks_them_again_after_a_change(tmp_path):
    cache, good = _cached_entry(tmp_path / "cache", "gfs-2023020100-good")
    assert cache.verify(good) and (good.path / "verified.json").is_file()
    stamp = (good.path / "verified.json").read_text()
    assert cache.check(good) is None and (good.path / "verified.json").read_text() == stamp
    os.utime(good.path / "field.npy", ns=(1, 1))  # touched: the next open checks the checksum again
    assert cache.check(good) is None and (good.path / "verified.json").read_text() != stamp
    assert cache.repair() == [(good, None)] and good.path.exists()


def test_a_damaged_index_is_rebuilt_from_the_entries(tmp_path):
    hows = ["garbage", "deleted", "truncated"]
    ids = {}
    for how in hows:
        cache, entry = _cached_entry(tmp_path / how)
        ids[how] = entry.id
        index = tmp_path / how / "index.sqlite"
        if how == "garbage":
            index.write_bytes(b"this is not a database" * 100)
        elif how == "deleted":
            index.unlink()
        else:
            with open(index, "r+b") as fh:
                fh.truncate(100)
    runs = []
    for how in hows:
        env = {"STRATOTRACK_CACHE_DIR": str(tmp_path / how)}
        runs += [(["cache", "list", "--json"], env), ([*DRIFT, "--wind", "gfs", "--json"], env),
                 (["cache", "clear", ids[how]], env)]
    procs = batch(runs, tmp_path)
    for k, how in enumerate(hows):
        listed, ran, cleared = procs[3 * k:3 * k + 3]
        assert listed.returncode == 0, listed.stderr
        assert [e["id"] for e in json.loads(listed.stdout)["entries"]] == [ids[how]]
        warn = messages(listed.stderr)
        assert len(warn) == 1 and warn[0].startswith("stratotrack: warning: ") and "rebuilt" in warn[0], listed.stderr
        assert ran.returncode == 0 and messages(ran.stderr) == [], ran.stderr
        assert cleared.returncode == 0 and "removed 1 entry" in cleared.stdout


def test_a_damaged_prepared_climatology_is_rebuilt(tmp_path):
    import shutil

    first = cli("predict", *L, "--json", cache=tmp_path / "good")
    assert first.returncode == 0
    (npz,) = (tmp_path / "good" / "prepared").glob("*.npz")
    size = npz.stat().st_size
    hows = ["truncate", "random", "empty"]
    for how in hows:
        shutil.copytree(tmp_path / "good", tmp_path / how)
        damaged = tmp_path / how / "prepared" / npz.name
        if how == "truncate":
            with open(damaged, "r+b") as fh:
                fh.truncate(size // 3)
        elif how == "random":
            with open(damaged, "r+b") as fh:
                fh.seek(size // 2)
                fh.write(np.random.default_rng(2).bytes(4096))
        else:
            damaged.write_bytes(b"")
    # a process each: the climatology is read once per process
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        procs = list(pool.map(lambda how: cli("predict", *L, "--json", cache=tmp_path / how), hows))
    for how, p in zip(hows, procs):
        assert p.returncode == 0 and messages(p.stderr) == [], p.stderr
        assert json.loads(p.stdout)["trajectories"] == json.loads(first.stdout)["trajectories"]
        assert (tmp_path / how / "prepared" / npz.name).stat().st_size == size  # rebuilt


# -- downloads: retries on 429/5xx that keep the partial file -------------------------------------------------------
class _Flaky(http.server.BaseHTTPRequestHandler):
    """Byte ranges of BODY; answers the statuses in ``plan`` first (one per request), then 206."""

    BODY = bytes(range(256)) * 400
    plan: list = []
    seen: list = []

    def log_message(self, *a):
        pass

    def do_GET(self):
        rng = self.headers.get("Range", "")
        type(self).seen.append(rng)
        if type(self).plan:
            status = type(self).plan.pop(0)
            self.send_response(status)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        a, b = (int(x) for x in rng.split("=")[1].split("-"))
        body = self.BODY[a:b + 1]
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {a}-{b}/{len(self.BODY)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def flaky(monkeypatch):
    from stratotrack.wind.download import _http

    monkeypatch.setattr(_http, "BACKOFF", 0.01)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    _Flaky.plan, _Flaky.seen = [], []
    yield f"http://127.0.0.1:{srv.server_address[1]}/f.bin"
    srv.shutdown()
    srv.server_close()


def test_429_and_5xx_back_off_and_resume_without_losing_bytes(flaky, tmp_path):
    from stratotrack.wind.download import _http

    part = tmp_path / "f.bin.part"
    dest = tmp_path / "f.bin"
    # 10,000 bytes already received by an earlier attempt: kept, and only the rest is asked for
    _http.download_ranges(_http.session(), flaky, [(0, 9_999)], tmp_path / "first", stats=_http.Stats())
    (tmp_path / "first").rename(part)
    (tmp_path / "f.bin.plan").write_text(__import__("hashlib").sha256(json.dumps(
        [flaky, [[0, len(_Flaky.BODY) - 1]]]).encode()).hexdigest())
    _Flaky.plan, _Flaky.seen = [429, 503, 502], []
    _http.download_ranges(_http.session(), flaky, [(0, len(_Flaky.BODY) - 1)], dest, stats=_http.Stats())
    assert dest.read_bytes() == _Flaky.BODY
    assert _Flaky.seen == [f"bytes=10000-{len(_Flaky.BODY) - 1}"] * 4


def test_a_server_that_stays_busy_keeps_the_partial_file(flaky, tmp_path):
    from stratotrack.errors import DownloadError
    from stratotrack.wind.download import _http

    (tmp_path / "f.bin.part").write_bytes(_Flaky.BODY[:5000])
    (tmp_path / "f.bin.plan").write_text(__import__("hashlib").sha256(json.dumps(
        [flaky, [[0, len(_Flaky.BODY) - 1]]]).encode()).hexdigest())
    _Flaky.plan = [503] * 20
    with pytest.raises(DownloadError, match="answered HTTP 503 5 times; 5000 of .* bytes are kept"):
        _http.download_ranges(_http.session(), flaky, [(0, len(_Flaky.BODY) - 1)], tmp_path / "f.bin",
                              stats=_http.Stats())
    assert (tmp_path / "f.bin.part").read_bytes() == _Flaky.BODY[:5000]


def test_progress_is_reported_when_stderr_is_piped(capsys, monkeypatch):
    from stratotrack.wind.download._http import Progress

    monkeypatch.setattr(Progress, "PLAIN_EVERY", 0.0)
    with Progress() as bar:
        bar.start("gfs f003", 2_000_000)
        bar.advance(1_000_000)
    line = capsys.readouterr().err.splitlines()[-1]
    assert line.startswith("stratotrack: gfs f003: 1.0 of 2.0 MB,") and "MB/s" in line and "s left" in line


# -- times, exports, review bugs ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["1900-01-01T00:00:00Z", "1969-12-31T23:59:59.5Z", "2200-12-31T23:59:59Z",
                                  "2200-12-31T23:59:59.999999Z", "2099-06-30T12:00:00.000001Z"])
def test_times_from_1900_to_2200_are_exact(text):
    from stratotrack.timeutil import from_epoch_seconds, parse_time, to_epoch_seconds

    t = parse_time(text)
    assert t == np.datetime64(text.rstrip("Z"), "ns")
    assert from_epoch_seconds(to_epoch_seconds(t)) == t


def test_flights_outside_1900_to_2200_are_refused():
    from stratotrack.errors import InputError
    from stratotrack.timeutil import check_span

    check_span(["1900-01-01T00:00Z", "2200-12-31T23:59:59Z"])
    for text in ("1899-12-31T23:59:59Z", "2201-01-01T00:00Z"):
        with pytest.raises(InputError, match="1900 to 2200"):
            check_span(text)


@pytest.mark.parametrize("value", ["9999-12-31T23:00:00Z", "1500-01-01", np.datetime64("2300-01-01", "s"),
                                   np.array(["2023-01-01", "2400-01-01"], dtype="datetime64[D]")])
def test_times_the_type_cannot_hold_are_refused_not_wrapped(value):
    import datetime as dt

    from stratotrack.errors import InputError
    from stratotrack.timeutil import parse_time

    with pytest.raises(InputError, match="1678-2261"):
        parse_time(value)
    with pytest.raises(InputError, match="1678-2261"):
        parse_time(dt.datetime(9999, 12, 31, 23))


def test_kml_has_no_ns0_prefix_once_the_gpx_writer_is_imported(tmp_path):
    code = ("import stratotrack.io.gpx, stratotrack.io.kml as k, stratotrack.io._common as c, numpy as np\n"
            "t = np.array(['2023-01-01T00:00', '2023-01-01T00:01'], dtype='datetime64[ns]')\n"
            "ds = c.to_dataset([c.Track(0, t, np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array([5.0, 6.0]))], 'x')\n"
            "import stratotrack.io.gpx as g\n"
            "print(k.document(ds).decode()); print(g.document(ds).decode() if hasattr(g, 'document') else '')\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "ns0:" not in p.stdout and '<kml xmlns="http://www.opengis.net/kml/2.2"' in p.stdout


def test_a_kmz_bomb_is_refused_without_unpacking_it(tmp_path, monkeypatch):
    import zipfile

    import stratotrack.io as sio
    import stratotrack.io.kml as kml
    from stratotrack.errors import InputError

    path = tmp_path / "bomb.kmz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("doc.kml", "w") as fh:
            for _ in range(64):
                fh.write(b" " * (1 << 20))  # 64 MiB of spaces: ~64 kB zipped
    assert path.stat().st_size < 1_000_000
    monkeypatch.setattr(kml, "MAX_KML_BYTES", 16 << 20)
    with pytest.raises(InputError, match="refusing to unpack"):
        sio.read(path)


def test_a_passage_counts_each_ensemble_call_once():
    import stratotrack as st
    from stratotrack.ensemble.summaries import Passage
    from stratotrack.wind import analytic

    wind = st.open_wind(analytic.uniform_wind(10.0, 0.0, resolution=5.0, altitudes=(0.0, 20000.0, 40000.0)))
    p = Passage("near", lat=0.0, lon=0.5, radius_km=500.0)
    for _ in range(2):
        res = st.ensemble(0.0, 0.0, 18000.0, "2023-01-01T00:00Z", "drift", duration="2h", members=20, seed=1,
                          wind=wind, passages=[p], keep="summary", step=120.0)
        (r,) = res.summary()["passages"]
        assert r["members"] == 20


# -- winds that do not fit the flight -------------------------------------------------------------------------------
def test_winds_far_from_the_flight_or_too_fast_are_warnings_in_the_result():
    import stratotrack as st
    from stratotrack.wind import analytic

    fast = analytic.uniform_wind(1e6, 0.0, resolution=5.0, altitudes=(0.0, 20000.0, 40000.0))
    old = analytic.uniform_wind(10.0, 0.0, resolution=5.0, altitudes=(0.0, 20000.0, 40000.0)) \
        .assign_coords(time=np.datetime64("2011-01-15T12:00", "ns"))
    near = st.predict(10, 0, 18000, "2011-01-16T00:00Z", "drift", duration="1h", wind=old)
    far = st.predict(10, 0, 18000, "2026-01-01T00:00Z", "drift", duration="1h", wind=old)
    assert "years from the flight" not in near.attrs["warnings"]
    assert "valid 2011-01-15T12:00:00Z, 15.0 years from the flight" in far.attrs["warnings"]
    field = st.open_wind(fast)
    assert any("1,000,000 m/s" in w for w in field.warnings_for(np.array([0.0])))
    valid = 1295092800.0  # 2011-01-15T12:00Z
    assert st.open_wind(old).warnings_for(np.array([valid + 86400.0])) == []  # a day away: fine
    (w,) = st.open_wind(old).warnings_for(np.array([valid + 57 * 86400.0]))
    assert "57 days from the flight" in w


def test_ctrl_c_during_a_download_keeps_a_resumable_part_file(tmp_path):
    """A server that trickles bytes; Ctrl-C in the middle: the .part file keeps what arrived, no final file."""
    code = r"""
import http.server, sys, threading, time
from stratotrack.wind.download import _http

BODY = bytes(range(256)) * 4000

class Slow(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        a, b = (int(x) for x in self.headers["Range"].split("=")[1].split("-"))
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {a}-{b}/{len(BODY)}")
        self.send_header("Content-Length", str(b - a + 1))
        self.end_headers()
        for k in range(a, b + 1, 4096):
            self.wfile.write(BODY[k:min(k + 4096, b + 1)])
            self.wfile.flush()
            time.sleep(0.05)

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
threading.Thread(target=srv.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{srv.server_address[1]}/f.bin"
print("ready", flush=True)
_http.download_ranges(_http.session(), url, [(0, len(BODY) - 1)], __import__("pathlib").Path(sys.argv[1]),
                      stats=_http.Stats())
"""
    dest = tmp_path / "f.bin"
    proc = subprocess.Popen([sys.executable, "-c", code, str(dest)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "ready"
    part = tmp_path / "f.bin.part"
    t = time.monotonic()
    while (not part.exists() or part.stat().st_size < 20_000) and time.monotonic() - t < 30:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    kept = part.stat().st_size
    assert 20_000 <= kept < 256 * 4000 and not dest.exists()
    assert part.read_bytes() == (bytes(range(256)) * 4000)[:kept]  # what arrived, in order: resumable
