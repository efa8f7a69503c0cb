"""API v1 over HTTP: a real ``stratotrack serve`` on 127.0.0.1, asked exactly as Tawhiri's documentation asks.

The requests are the curl examples of Tawhiri's docs/api.rst ("Successful Standard Prediction", "Missing
Parameters") and the float and reverse profiles of its parameter tables; a second dataset (a NetCDF file of uniform
wind covering one day, written here) gives answers that are known exactly and a launch outside the dataset.
"""

from __future__ import annotations

import datetime as dt
import json

import httpx
import numpy as np
import pytest

pytest.importorskip("fastapi")
from _serve import Server  # noqa: E402

DOC_STANDARD = ("/api/v1/?launch_latitude=50.0&launch_longitude=0.01&launch_datetime=2014-08-20T00%3A00%3A00%2B01:00"
                "&ascent_rate=5&burst_altitude=30000&descent_rate=10")
DOC_MISSING = "/api/v1/?launch_latitude=50.0&launch_longitude=0.01"
U, V = 10.0, 5.0


def _rfc3339(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from stratotrack.wind.analytic import uniform_wind

    tmp = tmp_path_factory.mktemp("serve_v1")
    ds = uniform_wind(U, V, resolution=2.0).expand_dims(
        time=np.array(["2023-01-17T00:00", "2023-01-18T00:00"], dtype="datetime64[ns]"))
    ds.to_netcdf(tmp / "uniform.nc")
    srv = Server(tmp, "--wind", f"uniform={tmp / 'uniform.nc'}", "--wind", "climatology")
    yield srv
    srv.stop()


def test_documented_standard_prediction(server):
    r = httpx.get(server.url + DOC_STANDARD, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"request", "prediction", "metadata", "warnings"}
    req = body["request"]
    # the request fragment of Tawhiri's example, with the launch time converted to UTC and version filled in
    assert req["version"] == 1 and req["profile"] == "standard_profile"
    assert (req["ascent_rate"], req["burst_altitude"], req["descent_rate"]) == (5.0, 30000.0, 10.0)
    assert (req["launch_latitude"], req["launch_longitude"], req["launch_altitude"]) == (50.0, 0.01, 0)
    assert req["launch_datetime"] == "2014-08-19T23:00:00Z"
    _rfc3339(req["dataset"])  # a forecast time in RFC 3339
    assert [s["stage"] for s in body["prediction"]] == ["ascent", "descent"]
    asc, desc = (s["trajectory"] for s in body["prediction"])
    for p in asc + desc:
        assert set(p) == {"datetime", "latitude", "longitude", "altitude"}
        _rfc3339(p["datetime"])
    assert asc[0]["datetime"] == "2014-08-19T23:00:00Z" and asc[0]["altitude"] == 0.0
    assert asc[-1] == desc[0]  # the burst point ends the ascent and starts the descent, as in Tawhiri's example
    assert asc[-1]["altitude"] == pytest.approx(30000.0, abs=1.0)
    assert _rfc3339(asc[-1]["datetime"]) - _rfc3339(asc[0]["datetime"]) == dt.timedelta(seconds=6000)
    assert desc[-1]["altitude"] == pytest.approx(0.0, abs=1.0)
    # no forecast covers 2014 here: the climatology was used, and the response says so
    assert "climatology" in body["warnings"] and body["warnings"]["climatology"]["count"] == 1
    assert set(body["warnings"]["climatology"]) == {"count", "description"}
    meta = body["metadata"]
    assert _rfc3339(meta["start_datetime"]) <= _rfc3339(meta["complete_datetime"])


def test_landing_equals_the_python_api(server):
    import stratotrack as st

    body = httpx.get(server.url + DOC_STANDARD, timeout=60).json()
    land = body["prediction"][-1]["trajectory"][-1]
    ds = st.predict(50.0, 0.01, 0.0, "2014-08-19T23:00:00Z", ascent_rate=5, burst_altitude=30000, descent_rate=10,
                    landing_altitude=0.0)
    k = list(ds.event.values).index("landing")
    assert land["latitude"] == pytest.approx(float(ds.event_latitude.values[0, k]), abs=1e-9)
    assert land["longitude"] == pytest.approx(float(ds.event_longitude.values[0, k]) % 360.0, abs=1e-9)


def test_documented_missing_parameter(server):
    r = httpx.get(server.url + DOC_MISSING, timeout=30)
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == {"type": "RequestException",
                             "description": "Parameter 'launch_datetime' not provided in request."}
    assert set(body["metadata"]) == {"start_datetime", "complete_datetime"}


def test_uniform_wind_gives_the_exact_landing(server):
    """On uniform wind the landing is the launch moved by the wind over the flight's duration."""
    from stratotrack.wind.analytic import uniform_wind_path

    q = ("/api/v1/?launch_latitude=40&launch_longitude=-100&launch_datetime=2023-01-17T06:00:00Z&launch_altitude=0"
         "&ascent_rate=5&burst_altitude=20000&descent_rate=6&dataset=2023-01-17T00:00:00Z")
    body = httpx.get(server.url + q, timeout=60).json()
    assert body["request"]["dataset"] == "2023-01-17T00:00:00Z"
    assert "climatology" not in body["warnings"], body["warnings"]
    land = body["prediction"][-1]["trajectory"][-1]
    assert -180 <= land["longitude"] < 0  # a request in -180..180 gets that convention back
    seconds = (_rfc3339(land["datetime"]) - _rfc3339(body["request"]["launch_datetime"])).total_seconds()
    lat, lon = uniform_wind_path(40.0, -100.0, 10000.0, U, V, np.array([seconds]))[:2]
    assert land["latitude"] == pytest.approx(float(np.ravel(lat)[-1]), abs=0.02)
    assert land["longitude"] == pytest.approx(float(np.ravel(lon)[-1]), abs=0.02)


def test_float_and_reverse_profiles(server):
    q = ("/api/v1/?profile=float_profile&launch_latitude=52.2&launch_longitude=0.1&launch_datetime=2023-01-17T01:00:00Z"
         "&ascent_rate=5&float_altitude=20000&stop_datetime=2023-01-17T09:00:00Z")
    body = httpx.get(server.url + q, timeout=60).json()
    assert [s["stage"] for s in body["prediction"]] == ["ascent", "float"]
    fl = body["prediction"][1]["trajectory"]
    assert fl[-1]["datetime"] == "2023-01-17T09:00:00Z"
    assert fl[-1]["altitude"] == pytest.approx(20000.0, abs=50.0)
    assert body["request"]["stop_datetime"] == "2023-01-17T09:00:00Z"
    q = ("/api/v1/?profile=reverse_profile&launch_latitude=52.2&launch_longitude=0.1"
         "&launch_datetime=2023-01-17T10:00:00Z&launch_altitude=12000&ascent_rate=5")
    body = httpx.get(server.url + q, timeout=60).json()
    est = body["launch_estimate"]
    assert est["altitude"] == pytest.approx(0.0, abs=1.0)
    assert (_rfc3339("2023-01-17T10:00:00Z") - _rfc3339(est["datetime"])).total_seconds() == pytest.approx(2400, abs=1)
    assert est == body["prediction"][-1]["trajectory"][-1] | {"datetime": est["datetime"]}


def test_formats(server):
    r = httpx.get(server.url + DOC_STANDARD + "&format=csv", timeout=60)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.strip().splitlines()
    assert lines[0] == "datetime,latitude,longitude,altitude" and len(lines) > 100
    assert "attachment" in r.headers["content-disposition"]
    r = httpx.get(server.url + DOC_STANDARD + "&format=kml", timeout=60)
    assert r.status_code == 200 and b"<LineString>" in r.content
    from xml.etree import ElementTree as ET

    ET.fromstring(r.content)


@pytest.mark.parametrize("query, status, words", [
    ("launch_latitude=95&launch_longitude=0.01&launch_datetime=2023-01-17T00:00:00Z&ascent_rate=5&burst_altitude=30000"
     "&descent_rate=5", 400, ["launch_latitude", "95", "-90"]),
    ("launch_latitude=50&launch_longitude=east&launch_datetime=2023-01-17T00:00:00Z&ascent_rate=5&burst_altitude=30000"
     "&descent_rate=5", 400, ["launch_longitude", "east"]),
    ("launch_latitude=50&launch_longitude=1&launch_datetime=yesterday&ascent_rate=5&burst_altitude=30000"
     "&descent_rate=5", 400, ["launch_datetime", "RFC 3339"]),
    ("launch_latitude=50&launch_longitude=1&launch_datetime=2023-01-17T00:00:00Z&ascent_rate=-5&burst_altitude=30000"
     "&descent_rate=5", 400, ["ascent_rate", "greater than 0"]),
    ("launch_latitude=50&launch_longitude=1&launch_datetime=2023-01-17T00:00:00Z&ascent_rate=5&burst_altitude=30000",
     400, ["descent_rate", "not provided"]),
    ("launch_latitude=50&launch_longitude=1&launch_datetime=2023-01-17T00:00:00Z&ascent_rate=5&burst_altitude=30000"
     "&descent_rate=5&profile=balloon", 400, ["balloon", "standard_profile"]),
    ("launch_latitude=50&launch_longitude=1&launch_datetime=2023-01-17T00:00:00Z&ascent_rate=5&burst_altitude=30000"
     "&descent_rate=5&format=xml", 400, ["format", "json"]),
    ("launch_latitude=50&launch_longitude=1&launch_datetime=2023-01-17T00:00:00Z&ascent_rate=5&burst_altitude=30000"
     "&descent_rate=5&dataset=2020-01-01T00:00:00Z", 404, ["2020-01-01T00:00:00Z"]),
    ("launch_latitude=50&launch_longitude=1&launch_datetime=2023-01-17T00:00:00Z&ascent_rate=5&burst_altitude=30000"
     "&descent_rate=5&dataset=gfs", 404, ["gfs"]),
    # a launch outside the dataset asked for: a 4xx, not a 500
    ("launch_latitude=50&launch_longitude=1&launch_datetime=2023-03-01T00:00:00Z&ascent_rate=5&burst_altitude=30000"
     "&descent_rate=5&dataset=uniform", 404, ["uniform", "2023-03-01"]),
])
def test_bad_requests(server, query, status, words):
    r = httpx.get(f"{server.url}/api/v1/?{query}", timeout=30)
    assert r.status_code == status, r.text
    body = r.json()
    expected_type = "RequestException" if status == 400 else "InvalidDatasetException"
    assert body["error"]["type"] == expected_type
    for w in words:
        assert w in body["error"]["description"], body["error"]["description"]
    assert "Traceback" not in r.text


def test_flight_past_the_dataset_is_warned(server):
    q = ("/api/v1/?launch_latitude=40&launch_longitude=260&launch_datetime=2023-01-17T23:00:00Z&launch_altitude=0"
         "&ascent_rate=5&burst_altitude=20000&descent_rate=6&dataset=uniform")
    body = httpx.get(server.url + q, timeout=60).json()
    assert body["warnings"]["time_outside_dataset"]["count"] > 0
    assert body["prediction"][0]["trajectory"][0]["longitude"] == pytest.approx(260.0, abs=1e-9)


def test_static_page_and_unknown_paths(server):
    r = httpx.get(server.url + "/", timeout=30)
    assert r.status_code == 200 and "<html" in r.text.lower()
    r = httpx.get(server.url + "/static/../../../etc/passwd", timeout=30)
    assert r.status_code == 404 and "root:" not in r.text
    r = httpx.get(server.url + "/api/v3/", timeout=30)
    assert r.status_code == 404 and r.json()["error"]["type"] == "NotFoundException"


# -- property-based: malformed requests never give a 500 or a traceback (benchmarks/serve_fuzz.py sends thousands)
from hypothesis import HealthCheck, given, settings  # noqa: E402

import _fuzz  # noqa: E402

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@pytest.fixture(scope="module")
def client(server):
    from _fuzz import V1_BASE  # noqa: F401

    with httpx.Client(base_url=server.url, timeout=120) as c:
        c.headers["Authorization"] = f"Bearer {server.new_key('fuzz')}"
        yield c


@FUZZ
@given(q=_fuzz.v1_queries)
def test_fuzz_v1_queries(client, q):
    _fuzz.check_response(client.get("/api/v1/", params=q), {200, 400, 404})


@FUZZ
@given(body=_fuzz.job_bodies)
def test_fuzz_v2_jobs(client, body):
    raw = json.dumps(body).encode()  # NaN and Infinity as JavaScript writes them: not JSON, must be a 400
    _fuzz.check_response(client.post("/api/v2/jobs", content=raw, headers={"Content-Type": "application/json"}),
                         {202, 400, 404, 501})


@FUZZ
@given(item=_fuzz.obs_bodies)
def test_fuzz_session_observations(client, item):
    ctype, body = item
    sid = getattr(test_fuzz_session_observations, "sid", None)
    if sid is None:
        sid = client.post("/api/v2/sessions", json={"forecast": "1h"}).json()["id"]
        test_fuzz_session_observations.sid = sid
    _fuzz.check_response(client.post(f"/api/v2/sessions/{sid}/observations", content=body,
                                     headers={"Content-Type": ctype} if ctype else {}), {201, 400})


def _finish(client, body):
    r = client.post("/api/v2/jobs", json=body)
    assert r.status_code == 202, r.text
    job = r.json()
    import time

    for _ in range(400):
        job = client.get(job["status_url"]).json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.25)
    assert job["status"] == "done", job
    return client.get(job["result_url"]).json()["result"]


def test_v2_jobs_drift_backward_windows_assess(client):
    # a drifter at 18 km for 3 days on the uniform wind: 10 m/s east for 3 days is ~2600 km at 40N... but the file
    # ends after a day: the winds are held at its last time and the result says so
    res = _finish(client, {"kind": "predict", "latitude": 40, "longitude": -100, "altitude": 18000,
                           "time": "2023-01-17T00:00:00Z", "profile": "drift", "duration": "3d",
                           "dataset": "uniform"})
    assert res["dataset"] == "uniform" and res["geojson"]["type"] == "FeatureCollection"
    assert any("clamped" in w for w in res["warnings"]), res["warnings"]
    end = res["summary"]["trajectories"][0]["end"] if "trajectories" in res["summary"] else None
    assert end is None or end["time"].startswith("2023-01-20")
    back = _finish(client, {"kind": "predict", "latitude": 52.0, "longitude": 1.0, "time": "2023-01-17T13:00:00Z",
                            "backward": True})
    assert back["summary"]
    win = _finish(client, {"kind": "windows", "latitude": 52.2, "longitude": 0.1, "start": "2023-01-17T00:00:00Z",
                           "end": "2023-01-17T06:00:00Z", "every": "3h"})
    assert len(win["launches"]) == 3
    ass = _finish(client, {"kind": "assess", "latitude": 52.2, "longitude": 0.1, "time": "2023-01-17T11:00:00Z",
                           "sites": [{"name": "Cambridge", "latitude": 52.2, "longitude": 0.12, "radius_km": 10}]})
    assert "Cambridge" in json.dumps(ass["assessment"])
    r = client.post("/api/v2/jobs", json={"kind": "steer", "latitude": 52.2, "longitude": 0.1,
                                          "time": "2023-01-17T11:00:00Z"})
    assert r.status_code == 501 and r.json()["error"]["type"] == "NotYetImplementedException"
