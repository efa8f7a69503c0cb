"""Live tracking sessions over HTTP on a real server, on SQLite and on a real PostgreSQL server.

Observations go in as JSON objects, CSV and SondeHub JSON; the re-predicted landing comes back after them and in the
Server-Sent Events stream; the observations are counted back from the database itself; another key sees nothing.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest

pytest.importorskip("fastapi")
from _pg import TempDatabase  # noqa: E402
from _serve import Server  # noqa: E402


def _ascent(n=8, t0=1673953200.0, lat0=37.74, lon0=-122.22):
    """A sonde climbing at 5 m/s for n minutes (telemetry every minute, drifting east)."""
    out = []
    for k in range(n):
        t = t0 + 60.0 * k
        out.append({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)), "latitude": lat0 + 0.001 * k,
                    "longitude": lon0 + 0.004 * k, "altitude": 10.0 + 300.0 * k})
    return out


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"sessions_{request.param}")
    pg = None
    # these tests count observations, not rate limits (tests/test_serve_security.py does those): limits far above
    # what 20 threads on a quiet machine can send, so that a fast machine does not answer 429
    unlimited = ("--rate-per-key", "100000", "--rate-per-address", "100000")
    if request.param == "postgresql":
        pg = TempDatabase()
        srv = Server(tmp, "--session-particles", "500", *unlimited, workers=1, database=pg.url)
    else:
        srv = Server(tmp, "--session-particles", "500", *unlimited, workers=2)
    srv.key = srv.new_key("owner")
    srv.other = srv.new_key("other")
    yield srv
    srv.stop()
    if pg is not None:
        pg.drop()


def _h(key):
    return {"Authorization": f"Bearer {key}"}


def _state(c, sid, n, total=150.0):
    """The session's state once it includes n observations (the first update starts a job process: on a loaded
    machine that alone can take tens of seconds)."""
    end = time.monotonic() + total
    while True:
        st = c.get(f"/api/v2/sessions/{sid}/state", params={"min_obs": n, "wait": 20}).json()
        if st.get("state_n_obs", 0) >= n or time.monotonic() > end:
            return st


def _count_in_db(server, session_id) -> int:
    import sqlalchemy as sa

    from stratotrack.service.db import Database, ObservationRow

    db = Database(server.database)
    try:
        with db.session() as s:
            return s.scalar(sa.select(sa.func.count()).select_from(ObservationRow)
                            .where(ObservationRow.session_id == session_id))
    finally:
        db.dispose()


def test_session_predicts_the_landing_after_each_batch(server):
    c = httpx.Client(base_url=server.url, timeout=60, headers=_h(server.key))
    r = c.post("/api/v2/sessions", json={"name": "sonde", "mode": "sounding", "burst_altitude": 20000})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    obs = _ascent(10)
    r = c.post(f"/api/v2/sessions/{sid}/observations", json=obs[:6])
    assert r.status_code == 201 and r.json()["accepted"] == 6
    st = _state(c, sid, 6)
    assert st["state_n_obs"] >= 6, st
    first = st["state"]["landing"]
    # the rest as CSV (the format track reads)
    csv = "time,latitude,longitude,altitude\n" + "".join(
        f"{o['time']},{o['latitude']},{o['longitude']},{o['altitude']}\n" for o in obs[6:])
    r = c.post(f"/api/v2/sessions/{sid}/observations", content=csv, headers={"Content-Type": "text/csv"})
    assert r.status_code == 201 and r.json()["accepted"] == 4
    st = _state(c, sid, 10)
    assert st["state_n_obs"] == 10 and st["n_obs"] == 10
    land = st["state"]["landing"]
    assert land["phase"] == "ascent" and land["burst_altitude_m"] == pytest.approx(20000.0)
    # a sonde drifting east at ~6 m/s lands east of the launch, within a few hundred km
    assert land["landing_longitude"] > -122.22 and abs(land["landing_latitude"] - 37.74) < 3.0
    assert land["landing_time"] != first["landing_time"] or land["landing_longitude"] != first["landing_longitude"]
    fused = st["state"]["fused"]
    assert len(fused) == 10 and abs(fused[-1]["altitude"] - 2710.0) < 200.0
    assert _count_in_db(server, sid) == 10
    listed = c.get(f"/api/v2/sessions/{sid}/observations").json()["observations"]
    assert [o["lat"] for o in listed[:6]] == [o["latitude"] for o in obs[:6]]


SQLITE_ONLY = pytest.mark.parametrize("server", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_sondehub_json_and_sightings(server):
    c = httpx.Client(base_url=server.url, timeout=60, headers=_h(server.key))
    sid = c.post("/api/v2/sessions", json={"mode": "float", "forecast": "3h"}).json()["id"]
    frames = [{"datetime": "2023-02-01T18:00:00Z", "lat": 45.0, "lon": -110.0, "alt": 18000.0, "serial": "X1"},
              {"datetime": "2023-02-01T19:00:00Z", "lat": 45.1, "lon": -109.6, "alt": 18010.0, "serial": "X1"}]
    r = c.post(f"/api/v2/sessions/{sid}/observations", content=json.dumps(frames),
               headers={"Content-Type": "application/json"})
    assert r.status_code == 201 and r.json()["accepted"] == 2, r.text
    r = c.post(f"/api/v2/sessions/{sid}/observations", json={
        "time": "2023-02-01T20:00:00Z", "latitude": 45.3, "longitude": -109.5, "azimuth": 60, "elevation": 40})
    assert r.status_code == 201
    rows = c.get(f"/api/v2/sessions/{sid}/observations").json()["observations"]
    assert [o["kind"] for o in rows] == ["fix", "fix", "sighting"]
    st = _state(c, sid, 3)
    assert st["state"]["summary"]["mode"] == "float" and st["state"]["forecast"]


def test_events_stream_observations_and_states(server):
    c = httpx.Client(base_url=server.url, timeout=60, headers=_h(server.key))
    sid = c.post("/api/v2/sessions", json={"mode": "sounding"}).json()["id"]
    seen = {"observation": 0, "state": 0}
    obs = _ascent(6)
    with httpx.stream("GET", f"{server.url}/api/v2/sessions/{sid}/events", params={"key": server.key},
                      timeout=httpx.Timeout(60, read=90)) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        assert c.post(f"/api/v2/sessions/{sid}/observations", json=obs).status_code == 201
        event = None
        deadline = time.monotonic() + 150
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event:
                data = json.loads(line[6:])
                seen[event] += 1
                if event == "state" and data["n_obs"] == 6:
                    assert "landing" in data["state"]
                    break
            if time.monotonic() > deadline:
                break
    assert seen["observation"] == 6 and seen["state"] >= 1, seen


def test_another_key_sees_nothing(server):
    own = httpx.Client(base_url=server.url, timeout=60, headers=_h(server.key))
    other = httpx.Client(base_url=server.url, timeout=60, headers=_h(server.other))
    anon = httpx.Client(base_url=server.url, timeout=60)
    sid = own.post("/api/v2/sessions", json={}).json()["id"]
    assert own.post(f"/api/v2/sessions/{sid}/observations", json=_ascent(2)).status_code == 201
    for path in ("", "/observations", "/state", "/events"):
        r = other.get(f"/api/v2/sessions/{sid}{path}")
        assert r.status_code == 403 and "latitude" not in r.text, (path, r.text)
        assert anon.get(f"/api/v2/sessions/{sid}{path}").status_code == 401
    r = other.post(f"/api/v2/sessions/{sid}/observations", json=_ascent(1))
    assert r.status_code == 403
    assert anon.post(f"/api/v2/sessions/{sid}/observations", json=_ascent(1)).status_code == 401
    r = other.get(f"/api/v2/sessions/{sid}/events", params={"key": server.key})  # a header wins over ?key=
    assert r.status_code == 403
    assert _count_in_db(server, sid) == 2


@SQLITE_ONLY
@pytest.mark.parametrize("body, ctype, words", [
    ('{"time": "2023-01-17T00:00:00Z", "latitude": 95, "longitude": 0}', "application/json", ["latitude"]),
    ('{"time": "noon", "latitude": 45, "longitude": 0}', "application/json", ["noon"]),
    ('{"time": "2023-01-17T00:00:00Z", "latitude": 45, "longitude": 0, "azimuth": 10}', "application/json",
     ["elevation"]),
    ("time,latitude\n2023-01-17T00:00:00Z,45\n", "text/csv", ["CSV"]),
    ("<kml><nothing/></kml>", "application/vnd.google-earth.kml+xml", ["KML"]),
    ("{not json", "application/json", ["JSON"]),
    ("hello", "text/plain", ["Content-Type"]),
])
def test_bad_observations(server, body, ctype, words):
    c = httpx.Client(base_url=server.url, timeout=60, headers=_h(server.key))
    sid = c.post("/api/v2/sessions", json={}).json()["id"]
    r = c.post(f"/api/v2/sessions/{sid}/observations", content=body, headers={"Content-Type": ctype})
    assert r.status_code == 400, r.text
    desc = r.json()["error"]["description"]
    assert all(w in desc for w in words), desc
    assert "/tmp" not in desc and "Traceback" not in r.text
    assert _count_in_db(server, sid) == 0


@SQLITE_ONLY
def test_ensemble_job(server):
    c = httpx.Client(base_url=server.url, timeout=60, headers=_h(server.key))
    r = c.post("/api/v2/jobs", json={"kind": "ensemble", "latitude": 52.2, "longitude": 0.1,
                                     "time": "2023-01-17T11:00:00Z", "members": 300, "seed": 1,
                                     "spread": {"ascent_rate": 0.5, "burst_altitude": "uniform:2000"},
                                     "passages": [{"latitude": 52.3, "longitude": 1.0, "radius_km": 50}]})
    assert r.status_code == 202, r.text
    job = r.json()
    for _ in range(600):
        job = c.get(job["status_url"]).json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.25)
    assert job["status"] == "done", job
    res = c.get(job["result_url"]).json()["result"]
    land = res["summary"]["products"]["landing"]
    assert land["members"] == 300
    gj = c.get(job["result_url"], params={"format": "geojson"}).json()
    kinds = {f["properties"]["kind"] for f in gj["features"]}
    assert {"highest-density region", "spread ellipse", "passage"} <= kinds
    assert c.get(job["status_url"], headers=_h(server.other)).status_code == 403


@SQLITE_ONLY
def test_a_killed_job_process_is_replaced(server):
    """The job processes are the server's own children: kill them, and the next observations still get a state."""
    import os
    import signal
    import subprocess

    c = httpx.Client(base_url=server.url, timeout=60, headers=_h(server.key))
    sid = c.post("/api/v2/sessions", json={"mode": "sounding"}).json()["id"]
    obs = _ascent(8)
    assert c.post(f"/api/v2/sessions/{sid}/observations", json=obs[:5]).status_code == 201
    assert _state(c, sid, 5)["state_n_obs"] == 5
    pids = subprocess.run(["pgrep", "-g", str(server.proc.pid)], capture_output=True, text=True).stdout.split()
    killed = 0
    for pid in map(int, pids):
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read()
            ppid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
        if b"spawn_main" in cmd and ppid not in (server.proc.pid, 1):  # a job process: a worker's child
            os.kill(pid, signal.SIGKILL)
            killed += 1
    assert killed >= 1
    time.sleep(1.0)
    assert c.post(f"/api/v2/sessions/{sid}/observations", json=obs[5:]).status_code == 201
    st = _state(c, sid, 8)
    assert st["state_n_obs"] == 8 and "landing" in st["state"]
    assert c.get(server.url + "/api/datasetcheck").status_code == 200


@SQLITE_ONLY
def test_concurrent_posts_to_two_workers_lose_nothing(server):
    """20 threads post 200 observations to 4 sessions through the two workers sharing one SQLite file (WAL)."""
    from concurrent.futures import ThreadPoolExecutor

    c = httpx.Client(base_url=server.url, timeout=60, headers=_h(server.key),
                     limits=httpx.Limits(max_connections=20))
    sids = [c.post("/api/v2/sessions", json={"mode": "float", "forecast": "1h"}).json()["id"] for _ in range(4)]

    def post(k):
        o = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1675270800 + 60 * k)),
             "latitude": 45.0 + 0.001 * k, "longitude": -110.0 + 0.002 * k, "sigma_h": 5000}
        return c.post(f"/api/v2/sessions/{sids[k % 4]}/observations", json=o).status_code

    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(post, range(200)))
    assert codes.count(201) == 200, sorted(set(codes))
    assert [_count_in_db(server, s) for s in sids] == [50, 50, 50, 50]
