"""The map page at / in a real headless Chromium against a real ``stratotrack serve`` on 127.0.0.1: it loads with
no console errors and nothing fetched from outside the server, a click on the map and Predict draw a path whose
landing is the API's own, the downloads are the API's, and a live session updates on screen as observations arrive
(see tests/_browser.py for the browser; screenshots in out/browser/)."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

pytest.importorskip("fastapi")
from _browser import Page, browser  # noqa: E402,F401  (fixture)
from _serve import Server  # noqa: E402

LAUNCH = (52.2, 0.1)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("serve_map"), "--wind", "climatology")
    yield srv
    srv.stop()


@pytest.fixture
def page(browser, server):  # noqa: F811
    pg = Page(browser, offline_origin=server.url)
    yield pg
    pg.close()


def _open(pg, server):
    pg.page.goto(server.url + "/")
    pg.page.wait_for_function("window.stratoPage !== undefined && Object.keys(stratoMap.offsets).length > 0")


def test_click_and_predict_shows_the_api_landing(page, server):
    p = page.page
    _open(page, server)
    assert p.title().startswith("stratotrack")
    assert p.locator(".leaflet-container").count() == 1
    # a click at the pixel of the launch point chooses it
    p.evaluate(f"void stratoMap.map.setView([{LAUNCH[0]}, {LAUNCH[1]}], 7, {{animate: false}})")
    xy = p.evaluate(f"(() => {{ const q = stratoMap.map.latLngToContainerPoint([{LAUNCH[0]}, {LAUNCH[1]}]);"
                    " const r = document.getElementById('map').getBoundingClientRect();"
                    " return [r.left + q.x, r.top + q.y]; })()")
    p.mouse.click(*xy)
    lat, lon = float(p.input_value("#lat")), float(p.input_value("#lon"))
    assert abs(lat - LAUNCH[0]) < 0.05 and abs(lon - LAUNCH[1]) < 0.05
    p.fill("#time", "2023-06-01T12:00")
    with p.expect_response(lambda r: "/api/v1/?" in r.url) as resp_info:
        p.click("#predict")
    p.wait_for_selector("#result:not([hidden])")
    used = resp_info.value.url
    # the same request, asked of the API directly
    api = httpx.get(used, timeout=60).json()
    end = api["prediction"][-1]["trajectory"][-1]
    shown = p.eval_on_selector("#landing", "e => [e.dataset.lat, e.dataset.lon, e.dataset.time]")
    assert [float(shown[0]), float(shown[1]), shown[2]] == [end["latitude"], end["longitude"], end["datetime"]]
    assert dict(parse_qsl(urlsplit(used).query))["launch_latitude"] == p.input_value("#lat")
    # drawn: one line per stage, launch/burst/landing labelled
    assert p.evaluate("stratoMap.groups.flight.getLayers().length") == len(api["prediction"]) + 2
    labels = p.locator(".leaflet-tooltip").all_inner_texts()
    assert "landing" in labels and "launch" in labels and any(t.startswith("burst") for t in labels)
    assert p.locator("#warnings li").count() == len(api["warnings"])
    # downloads: CSV and KML are the API's; the GeoJSON ends at the landing
    csv = httpx.get(server.url + "/" + p.get_attribute("#dl-csv", "href"), timeout=60)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    kml = httpx.get(server.url + "/" + p.get_attribute("#dl-kml", "href"), timeout=60)
    assert kml.status_code == 200 and b"<kml" in kml.content
    gj = json.loads(p.evaluate("fetch(document.getElementById('dl-geojson').href).then(r => r.text())"))
    point = gj["features"][-1]["geometry"]["coordinates"]
    assert point[1] == end["latitude"] and abs((point[0] - end["longitude"] + 180) % 360 - 180) < 1e-9
    assert [f["properties"]["stage"] for f in gj["features"][:-1]] == [s["stage"] for s in api["prediction"]]
    page.screenshot("map_page_prediction.png")
    assert page.errors == [] and page.external == []


def test_a_rejected_request_is_shown_in_one_line(page, server):
    p = page.page
    _open(page, server)
    p.evaluate(f"stratoPage.setLaunch({LAUNCH[0]}, {LAUNCH[1]})")
    p.fill("#burst_altitude", "-5")
    p.click("#predict")
    p.wait_for_selector("#error:not([hidden])")
    text = p.inner_text("#error")
    assert text.startswith("HTTP 400: ") and "burst_altitude" in text and "\n" not in text
    assert p.locator("#result").is_hidden() and not p.is_disabled("#predict")
    # the browser logs the 400 itself; nothing else went wrong
    assert [e for e in page.errors if "status of 400" not in e] == [] and page.external == []


def test_live_session_updates_on_screen(page, server):
    p = page.page
    key = server.new_key("map-page")
    _open(page, server)
    p.wait_for_selector("#live:not([hidden])")
    p.click("#settings summary")
    p.fill("#api-key", key)
    p.select_option("#session-mode", "sounding")
    p.click("#open-session")
    p.wait_for_function("document.getElementById('session-id').value.length > 0")
    sid = p.input_value("#session-id")
    p.wait_for_function("document.getElementById('live-status').textContent.includes('listening')")
    # telemetry of a rising balloon: the API's own predicted ascent, every 5 minutes
    flight = httpx.get(server.url + "/api/v1/", params={
        "launch_latitude": LAUNCH[0], "launch_longitude": LAUNCH[1], "launch_datetime": "2023-06-01T12:00:00Z",
        "ascent_rate": 5, "burst_altitude": 30000, "descent_rate": 5}, timeout=60).json()
    ascent = flight["prediction"][0]["trajectory"][::5][:8]
    # ... drifting 2 km further east than predicted each time: the re-predicted landing must follow
    fixes = [{"time": q["datetime"], "latitude": q["latitude"], "longitude": q["longitude"] + 0.03 * i,
              "altitude": q["altitude"]} for i, q in enumerate(ascent)]
    headers = {"X-API-Key": key}
    landings = []
    for n in (4, len(fixes)):
        batch = fixes[n - 4:n]
        r = httpx.post(f"{server.url}/api/v2/sessions/{sid}/observations", json=batch, headers=headers, timeout=60)
        assert r.status_code == 201, r.text
        # the observations appear at once, the re-prediction when the tracker has run on all of them
        p.wait_for_function(f"document.getElementById('live-count').dataset.count === '{n}'", timeout=30_000)
        p.wait_for_function(f"document.getElementById('live-landing').dataset.nObs === '{n}'", timeout=120_000)
        state = httpx.get(f"{server.url}/api/v2/sessions/{sid}/state", headers=headers, timeout=60).json()
        assert state["state_n_obs"] == n
        land = state["state"]["landing"]
        shown = p.eval_on_selector("#live-landing", "e => [Number(e.dataset.lat), Number(e.dataset.lon)]")
        assert shown == [land["landing_latitude"], land["landing_longitude"]]
        landings.append(shown)
        assert p.evaluate("stratoMap.groups['live-obs'].getLayers().length") == n
        page.screenshot(f"map_page_live_{n}.png")
    assert landings[1][1] > landings[0][1] + 0.03  # the re-prediction moved east with the new observations
    labels = p.locator(".leaflet-tooltip").all_inner_texts()
    assert "balloon" in labels and "predicted landing" in labels
    assert page.errors == [] and page.external == []


def test_ensemble_contours_and_launch_windows(page, server):
    p = page.page
    key = server.new_key("map-page-v2")
    _open(page, server)
    p.wait_for_selector("#v2:not([hidden])")
    p.click("#settings summary")
    p.fill("#api-key", key)
    p.evaluate(f"stratoPage.setLaunch({LAUNCH[0]}, {LAUNCH[1]})")
    p.fill("#time", "2023-06-01T12:00")
    p.click("#v2 summary")
    p.fill("#members", "60")
    with p.expect_response(lambda r: "/result?format=geojson" in r.url, timeout=120_000) as res_info:
        p.click("#run-ensemble")
    gj = res_info.value.json()
    p.wait_for_function("document.getElementById('job-status').textContent.includes('drawn')")
    assert gj["features"] and p.evaluate("stratoMap.groups.ensemble.getLayers()[0].getLayers().length") == \
        len(gj["features"])
    p.fill("#every", "6h")
    p.fill("#span", "12h")
    p.click("#run-windows")
    p.wait_for_function("document.getElementById('job-status').textContent.includes('launch times')",
                        timeout=120_000)
    assert p.locator("#windows-table tr").count() == 1 + 3  # a header and 3 launch times
    assert p.evaluate("stratoMap.groups.windows.getLayers().length") == 3
    legend = p.locator(".stratomap-legend-row").all_inner_texts()
    assert "ensemble: highest-density regions" in legend and "landing of each launch time" in legend
    page.screenshot("map_page_ensemble_windows.png")
    assert page.errors == [] and page.external == []


def test_a_configured_tile_url_is_used(page, server):
    from pathlib import Path

    import stratotrack

    png = (Path(stratotrack.__file__).parent / "service" / "static" / "vendor" / "leaflet" / "images" /
           "layers.png").read_bytes()
    tiles = []

    def serve_tile(route):
        tiles.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=png)

    page.page.route("http://tiles.test/**", serve_tile)
    page.page.goto(server.url + "/?tiles=http://tiles.test/{z}/{x}/{y}.png")
    page.page.wait_for_function("document.querySelectorAll('img.leaflet-tile-loaded').length > 0")
    assert tiles and all(u.startswith("http://tiles.test/2/") for u in tiles)
    assert page.page.input_value("#tiles") == "http://tiles.test/{z}/{x}/{y}.png"
    assert page.errors == [] and page.external == []
