"""Ensembles and launch windows on a real Dask cluster (``LocalCluster``, 2 worker processes, 1 thread each),
checked against the same runs in this process: the results must be equal, bit for bit.

The cluster starts once for the module (its workers compile or load the numba kernels on their first batch).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import stratotrack as st
from stratotrack.engine.cluster import open_handle, wind_handle
from stratotrack.ensemble import Normal, Offsets, Passage, WindError
from stratotrack.wind.analytic import solid_body_rotation

T0 = "2023-01-17T11:00:00Z"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("cache")
    mp.setenv("STRATOTRACK_CACHE_DIR", str(path))
    yield path
    mp.undo()


@pytest.fixture(scope="module")
def client(cache):
    distributed = pytest.importorskip("distributed")  # the [dask] extra (also in [test])
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       worker_dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def rotation():
    return st.open_wind(solid_body_rotation(resolution=2.0))


def _same_members(a, b):
    assert a.members.sizes == b.members.sizes
    for var in a.members.data_vars:
        x, y = a.members[var].values, b.members[var].values
        assert np.array_equal(x, y, equal_nan=x.dtype.kind in "fmM"), var


def test_distributed_ensemble_equals_local(client, rotation):
    kw = dict(members=120, seed=7, wind=rotation, batch_size=30, keep="members",  # 4 batches over 2 workers
              spread={"ascent_rate": Normal(0.4), "launch_time": "uniform:30m"},
              wind_error=WindError(), at=["2023-01-17T12:00Z"],
              passages=[(52.0, 7.0, 40.0), {"polygon": [(5, 49), (12, 49), (12, 56), (5, 56)], "name": "box"}])
    local = st.ensemble(50.0, 5.0, 0.0, T0, **kw)
    dist = st.ensemble(50.0, 5.0, 0.0, T0, client=client, **kw)
    assert dist.meta["cluster"]["workers"] == 2
    _same_members(local, dist)
    assert local.summary()["products"] == dist.summary()["products"]
    assert local.passage() == dist.passage()
    assert 0 < local.passage("box")["probability"]
    for name in local.products:  # densities, counts and HDR thresholds: the same grids, bit for bit
        a, b = local.grid(name), dist.grid(name)
        for x, y in zip(a[:5], b[:5]):
            assert np.array_equal(x, y), name
        assert local.contours(name)[0][1] == dist.contours(name)[0][1]


def test_distributed_trajectories_with_offsets_equal_local(client, rotation):
    kw = dict(members=9, seed=3, wind=rotation, batch_size=4, keep="trajectories", profile="float",
              float_altitude=20000.0, duration="3h", offsets=Offsets(0.5, 300.0))
    local = st.ensemble(45.0, 10.0, 100.0, T0, **kw)
    dist = st.ensemble(45.0, 10.0, 100.0, T0, client=client, **kw)
    assert local.trajectories.identical(dist.trajectories)


def test_distributed_windows_equal_local(client, rotation):
    kw = dict(every="2h", end="2023-01-17T15:00:00Z", members=40, seed=5, wind=rotation,
              ensemble_options={"spread": {"ascent_rate": Normal(0.5)}, "wind_error": True, "batch_size": 15})
    local = st.windows(50.0, 5.0, 0.0, T0, **kw)
    dist = st.windows(50.0, 5.0, 0.0, T0, client=client, **kw)
    assert local.table.equals(dist.table)
    assert len(dist.ensembles) == 3
    for a, b in zip(local.ensembles, dist.ensembles):
        assert a.summary()["products"] == b.summary()["products"]


def test_wind_handles_map_the_cache_and_write_one_prepared_copy(cache, rotation):
    h1 = wind_handle(rotation)
    h2 = wind_handle(rotation)
    assert h1["path"] == h2["path"] and h1["path"].startswith(str(cache))
    assert len(list((cache / "prepared").glob("shared-*.npy"))) == 1
    f = open_handle(h1)
    assert isinstance(f.data.base, np.memmap) or isinstance(f.data, np.memmap)
    assert np.array_equal(f.data, rotation.data) and np.array_equal(f.lat, rotation.lat)
    # a field that is already memory-mapped from a file is mapped in place, not copied
    assert wind_handle(f)["path"] == h1["path"]
    a = st.predict(45.0, 10.0, 20000.0, T0, "drift", wind=rotation, duration="2h")
    b = st.predict(45.0, 10.0, 20000.0, T0, "drift", wind=f, duration="2h")
    assert np.array_equal(a.end_longitude.values, b.end_longitude.values)


def test_passage_counts_start_afresh_in_every_run(rotation):
    """A Passage object given to two runs: each reports its own members (it used to keep counting)."""
    p = Passage("near", lat=50.0, lon=5.0, radius_km=500.0)
    kw = dict(members=50, seed=1, wind=rotation, passages=[p], keep="summary")
    r1 = st.ensemble(50.0, 5.0, 0.0, T0, **kw)
    r2 = st.ensemble(50.0, 5.0, 0.0, T0, **kw)
    assert r1.passage("near")["members"] == 50
    assert r2.passage("near")["members"] == 50
    assert r1.passage() == r2.passage()


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_scheduler_that_does_not_answer_is_one_line_exit_2():
    """The CLI's own part within 10 s: the run's wall time less that of the same command with an empty address
    (refused before any connection, after the same imports), since this shared machine may be loaded."""
    pytest.importorskip("distributed")
    env = dict(os.environ, NO_COLOR="1")

    def cli(address):
        t = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "stratotrack", "predict", "--lat", "50", "--lon", "5", "--members",
                            "10", "--scheduler", address], capture_output=True, text=True, env=env, timeout=120)
        return p, time.perf_counter() - t

    base, startup = cli(" ")
    assert base.returncode == 2 and "address is empty" in base.stderr, base.stderr
    p, took = cli(f"tcp://127.0.0.1:{_free_port()}")
    assert p.returncode == 2, p.stderr
    errors = [x for x in p.stderr.splitlines() if "error" in x]  # besides the progress lines of a piped stderr
    assert len(errors) == 1 and "does not answer" in errors[0] and "Traceback" not in p.stderr, p.stderr
    assert took - startup < 10.0, (took, startup)


def test_silent_listener_is_refused_within_10_s():
    """Something accepts the connection but never answers: InputError within the deadline (API)."""
    pytest.importorskip("distributed")
    from stratotrack.engine.cluster import connect
    from stratotrack.errors import InputError

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    try:
        t = time.perf_counter()
        with pytest.raises(InputError, match="does not answer"):
            connect(f"tcp://127.0.0.1:{srv.getsockname()[1]}")
        assert time.perf_counter() - t < 10.0
    finally:
        srv.close()


def test_distributed_assess_equals_local(client):
    """The termination falls of assess(client=) on an ensemble run as tasks on the workers (3 batches of release
    times), and the result is the local one, bit for bit: timeline, windows, every footprint's impacts.  (Called
    as engagement_windows, which assess calls with its client: the rest of assess, sites and airspace, runs here
    either way, and its first airspace in this module's new cache folder would build the borders for half a
    minute.)"""
    from distributed import get_task_stream

    from stratotrack import analysis as A

    wind = st.open_wind("climatology")
    ens = st.ensemble(45.7, -109.5, 18300.0, "2023-02-01T21:00Z", "drift", members=6, seed=2, duration="36h",
                      wind=wind, wind_error=True, keep="trajectories", step=120.0, output_interval=600.0)
    kw = dict(wind=wind, every=7200.0, samples=3, seed=5, batch_releases=8)  # 19 release times: 8 + 8 + 3
    local = A.engagement_windows(ens, **kw)
    with get_task_stream(client) as ts:
        dist = A.engagement_windows(ens, client=client, **kw)
    assert sum(str(t.get("key", "")).startswith("('_task") or str(t.get("key", "")).startswith("_task")
               for t in ts.data) == 3
    assert len(local["timeline"]) == 19
    assert local["timeline"] == dist["timeline"] and local["windows"] == dist["windows"]
    for fa, fb in zip(local["_footprints"], dist["_footprints"]):
        for name in ("lat", "lon", "time", "piece", "weight", "density"):
            assert np.array_equal(getattr(fa, name), getattr(fb, name)), name
        assert fa.ec == fb.ec
    # the batches draw their own streams: another seed, other impacts
    other = A.engagement_windows(ens, **{**kw, "seed": 6})
    assert not np.array_equal(other["_footprints"][0].lat, local["_footprints"][0].lat)
