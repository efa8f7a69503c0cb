"""API v1 on downloaded winds: ``--wind gfs`` serves the cache's forecast cycles, the newest covering each launch
by default, or the one whose cycle ``dataset`` names.  Two uniform-wind "GFS" cycles blowing opposite ways are
stored in a temporary cache, so which one answered shows in the landing."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

pytest.importorskip("fastapi")
from _serve import Server  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import stratotrack as st
    from stratotrack.wind.analytic import uniform_wind
    from stratotrack.wind.cache import Cache

    tmp = tmp_path_factory.mktemp("serve_cache")
    cache = Cache(tmp / "cache")
    for cycle, u in (("2023-01-17T00:00", 15.0), ("2023-01-17T06:00", -15.0)):
        t0 = np.datetime64(cycle, "ns")
        ds = uniform_wind(u, 0.0, resolution=2.0).expand_dims(time=np.array([t0, t0 + np.timedelta64(24, "h")]))
        cache.store(st.open_wind(ds), entry_id=f"gfs-{cycle[:10]}-{cycle[11:13]}", source="gfs", model="gfs",
                    cycle=np.datetime64(cycle, "s"))
    srv = Server(tmp, "--wind", "gfs", env={"STRATOTRACK_CACHE_DIR": str(tmp / "cache")})
    yield srv
    srv.stop()


def _get(server, launch, dataset=None):
    q = (f"/api/v1/?launch_latitude=40&launch_longitude=-100&launch_datetime={launch}&launch_altitude=0"
         "&ascent_rate=5&burst_altitude=20000&descent_rate=6")
    if dataset:
        q += f"&dataset={dataset}"
    return httpx.get(server.url + q, timeout=60)


def test_newest_covering_cycle_by_default(server):
    body = _get(server, "2023-01-17T07:00:00Z").json()
    assert body["request"]["dataset"] == "2023-01-17T06:00:00Z"
    assert body["prediction"][-1]["trajectory"][-1]["longitude"] < -100.5  # the 06Z cycle blows west
    assert "climatology" not in body["warnings"]
    body = _get(server, "2023-01-17T02:00:00Z").json()  # only the 00Z cycle covers 02Z
    assert body["request"]["dataset"] == "2023-01-17T00:00:00Z"
    assert body["prediction"][-1]["trajectory"][-1]["longitude"] > -99.5


def test_dataset_names_a_cycle(server):
    body = _get(server, "2023-01-17T07:00:00Z", "2023-01-17T00:00:00Z").json()
    assert body["request"]["dataset"] == "2023-01-17T00:00:00Z"
    assert body["prediction"][-1]["trajectory"][-1]["longitude"] > -99.5
    r = _get(server, "2023-01-17T07:00:00Z", "2023-01-16T00:00:00Z")
    assert r.status_code == 404 and r.json()["error"]["type"] == "InvalidDatasetException"
    r = _get(server, "2023-01-18T03:00:00Z", "2023-01-17T00:00:00Z")  # that cycle ends at 18T00
    assert r.status_code == 404 and "does not cover" in r.json()["error"]["description"]
    r = _get(server, "2023-01-20T00:00:00Z")  # no cycle covers it, and no climatology is served
    assert r.status_code == 404


def test_datasets_list_the_cycles(server):
    ds = httpx.get(server.url + "/api/v2/datasets", timeout=30).json()["datasets"]
    assert [d["name"] for d in ds] == ["gfs"]
    assert {c["cycle"] for c in ds[0]["cycles"]} == {"2023-01-17T00:00:00Z", "2023-01-17T06:00:00Z"}
    assert "cache" not in str(ds).lower().replace("cache entry", "")


def test_datasetcheck_names_the_newest_cycle(server):
    body = httpx.get(server.url + "/api/datasetcheck", timeout=30).json()
    assert body["request"]["dataset"] == "2023-01-17T06:00:00Z" and body["request"]["dataset_name"] == "gfs"
