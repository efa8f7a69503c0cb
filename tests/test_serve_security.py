"""Security of the service on a real server: keys (created by the CLI, stored hashed, revocable), per-key and
per-address rate limits (429 with Retry-After while other clients are served), body size (413), CORS, and no
endpoint that reads or writes a path."""

from __future__ import annotations

import time
from urllib.parse import quote

import httpx
import numpy as np
import pytest

pytest.importorskip("fastapi")
from _serve import Server  # noqa: E402

V1 = ("/api/v1/?launch_latitude=50&launch_longitude=0.01&launch_datetime=2023-01-17T11:00:00Z&ascent_rate=5"
      "&burst_altitude=30000&descent_rate=5")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from stratotrack.wind.analytic import uniform_wind

    tmp = tmp_path_factory.mktemp("serve_security")
    ds = uniform_wind(5.0, 0.0, resolution=5.0).expand_dims(
        time=np.array(["2023-01-17T00:00", "2023-01-18T00:00"], dtype="datetime64[ns]"))
    ds.to_netcdf(tmp / "secret_winds.nc")
    srv = Server(tmp, "--wind", f"{tmp / 'secret_winds.nc'}", "--wind", "climatology", "--rate-per-key", "3",
                 "--rate-per-address", "40", "--max-body", "4096", "--cors", "https://allowed.example", "--timeout", "3")
    srv.tmp = tmp
    yield srv
    srv.stop()


def test_keys_from_the_command_line_are_stored_hashed_and_revocable(server):
    import sqlalchemy as sa

    from stratotrack.service.db import ApiKey, Database

    key = server.cli("keys", "create", "--name", "cli").splitlines()[-1]
    assert key.startswith("st_")
    kid, secret = key.split("_", 2)[1:]
    db = Database(server.database)
    with db.session() as s:
        row = s.get(ApiKey, kid)
        assert row is not None and row.name == "cli"
        dump = " ".join(str(v) for r in s.execute(sa.select(ApiKey)).all() for v in r[0].__dict__.values())
    db.dispose()
    assert secret not in dump and len(row.secret_hash) == 64
    h = {"Authorization": f"Bearer {key}"}
    assert httpx.post(server.url + "/api/v2/sessions", json={}, headers=h, timeout=30).status_code == 201
    wrong = {"Authorization": f"Bearer st_{kid}_{'x' * len(secret)}"}
    r = httpx.post(server.url + "/api/v2/sessions", json={}, headers=wrong, timeout=30)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    listed = server.cli("keys", "list")
    assert kid in listed and secret not in listed
    server.cli("keys", "revoke", kid)
    time.sleep(5.5)  # the server remembers a key's answer for 5 s
    r = httpx.post(server.url + "/api/v2/sessions", json={}, headers=h, timeout=30)
    assert r.status_code == 401 and "revoked" in r.json()["error"]["description"]


def test_rate_limits_answer_429_and_others_are_served(server):
    key = server.new_key("busy")
    h = {"X-API-Key": key}
    codes = []
    with httpx.Client(base_url=server.url, timeout=30) as c:
        for _ in range(12):
            r = c.post("/api/v2/sessions", json={}, headers=h)
            codes.append(r.status_code)
            if r.status_code == 429:
                assert int(r.headers["retry-after"]) >= 1
                assert r.json()["error"]["type"] == "RateLimitException"
        # another key and the open v1 API are still served
        assert c.post("/api/v2/sessions", json={}, headers={"X-API-Key": server.new_key("calm")}).status_code == 201
        assert c.get(V1).status_code == 200
    assert 201 in codes and 429 in codes, codes
    # per address: a burst of cheap requests from one address is cut off too
    with httpx.Client(base_url=server.url, timeout=30) as c:
        statuses = [c.get("/api/v2/datasets").status_code for _ in range(120)]
    assert 429 in statuses and statuses[0] == 200
    time.sleep(2.5)  # the bucket refills
    assert httpx.get(server.url + V1, timeout=60).status_code == 200


def test_oversize_body_is_413(server):
    key = server.new_key("big")
    h = {"X-API-Key": key}
    sid = httpx.post(server.url + "/api/v2/sessions", json={}, headers=h, timeout=30).json()["id"]
    body = "time,latitude,longitude\n" + "2023-01-17T00:00:00Z,45,0\n" * 400
    r = httpx.post(f"{server.url}/api/v2/sessions/{sid}/observations", content=body,
                   headers={**h, "Content-Type": "text/csv"}, timeout=30)
    assert r.status_code == 413 and r.json()["error"]["type"] == "PayloadTooLargeException"

    def chunks():  # no Content-Length: the limit is counted as the body arrives
        for _ in range(20):
            yield b"x" * 1000

    r = httpx.post(f"{server.url}/api/v2/sessions/{sid}/observations", content=chunks(),
                   headers={**h, "Content-Type": "text/csv"}, timeout=30)
    assert r.status_code == 413
    assert httpx.get(server.url + V1, timeout=60).status_code == 200


def test_cors_only_for_the_configured_origin(server):
    pre = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    r = httpx.options(server.url + "/api/v2/sessions", headers={"Origin": "https://allowed.example", **pre}, timeout=30)
    assert r.headers.get("access-control-allow-origin") == "https://allowed.example"
    r = httpx.options(server.url + "/api/v2/sessions", headers={"Origin": "https://evil.example", **pre}, timeout=30)
    assert r.headers.get("access-control-allow-origin") is None
    r = httpx.get(server.url + V1, headers={"Origin": "https://evil.example"}, timeout=60)
    assert r.headers.get("access-control-allow-origin") is None


def test_no_paths_in_or_out(server):
    """Datasets are listed by name only; a request naming a path gets a 404, not the file."""
    text = httpx.get(server.url + "/api/v2/datasets", timeout=30).text
    assert "secret_winds" in text and str(server.tmp) not in text
    for ds in (str(server.tmp / "secret_winds.nc"), "/etc/passwd", "../../etc/passwd"):
        r = httpx.get(server.url + V1 + "&dataset=" + quote(ds, safe=""), timeout=30)
        assert r.status_code == 404 and "root:" not in r.text and "prediction" not in r.text, r.text
    key = server.new_key("paths")
    r = httpx.post(server.url + "/api/v2/jobs", json={"kind": "predict", "latitude": 50, "longitude": 0,
                                                      "time": "2023-01-17T11:00:00Z", "dataset": "/etc/passwd"},
                   headers={"X-API-Key": key}, timeout=30)
    assert r.status_code == 400 and "root:" not in r.text
    for path in ("/static/../../pyproject.toml", "/static/%2e%2e/app.py", "/static//etc/passwd"):
        r = httpx.get(server.url + path, timeout=30)
        assert r.status_code == 404, path


def test_requests_longer_than_the_limit_are_cut_off(server):
    """A request may take --timeout seconds (3 here): a long-poll asking to wait 25 s gets a 503 after 3."""
    h = {"X-API-Key": server.new_key("slow")}
    sid = httpx.post(server.url + "/api/v2/sessions", json={}, headers=h, timeout=30).json()["id"]
    t = time.monotonic()
    r = httpx.get(f"{server.url}/api/v2/sessions/{sid}/state", params={"min_obs": 1, "wait": 25}, headers=h,
                  timeout=30)
    took = time.monotonic() - t
    assert r.status_code == 503 and r.json()["error"]["type"] == "TimeoutException" and "retry-after" in r.headers
    assert 2.5 < took < 15.0
    assert httpx.get(server.url + V1, timeout=60).status_code == 200
