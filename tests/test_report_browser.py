"""The assess report in a real headless Chromium: one file that opens offline, a map with its labels, plain
headers, and the JSON report's numbers (see tests/_browser.py for the browser)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from _browser import Page, browser  # noqa: F401  (fixture)

TLE_FILE = Path(__file__).parent / "data" / "tle" / "sample_2023.tle"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    import stratotrack as st
    from stratotrack import analysis as A

    folder = tmp_path_factory.mktemp("report")
    traj = st.predict(45.71, -109.54, 18300, "2023-02-01T21:21Z", "drift", duration="12h", step=120.0,
                      output_interval=600.0)
    sites = [A.parse_site("Malmstrom AFB,47.505,-111.187,150"), A.parse_site("Bismarck,46.81,-100.78,20")]
    zones = [A.Zone(A.parse_site("Range X,45.5,-104.0,80"))]
    res = A.assess(traj, sites, tles=A.read_tles(TLE_FILE), zones=zones, every=6 * 3600.0, samples=4)
    html, js = folder / "report.html", folder / "report.json"
    A.write_report(res, html, js)
    return html, json.loads(js.read_text())


def test_report_opens_offline_with_map_labels_and_the_json_numbers(browser, report):  # noqa: F811
    html_path, rep = report
    text = html_path.read_text()
    assert "<link" not in text and not re.search(r"""\ssrc=["']""", text), "the report must inline everything"
    pg = Page(browser)
    try:
        page = pg.page
        page.goto(html_path.as_uri())
        page.wait_for_function("window.reportMap !== undefined")
        # the map: borders drawn, one path, the sites with permanent labels, the airspace entry
        n = page.evaluate("""() => ({
            paths: reportMap.groups.paths.getLayers().length,
            sites: reportMap.groups.sites.getLayers().length,
            footprints: reportMap.groups.footprints ? reportMap.groups.footprints.getLayers().length : 0,
            borders: Object.keys(reportMap.offsets).length,
            zoom: reportMap.map.getZoom()})""")
        assert n["paths"] == 1 and n["borders"] >= 1 and n["zoom"] >= 4
        assert n["sites"] == 4  # an outline and a marker per site
        assert n["footprints"] >= len(rep["termination"]["timeline"])  # debris impacts of every release time
        labels = page.locator(".leaflet-tooltip").all_inner_texts()
        assert {"Malmstrom AFB", "Bismarck", "start", "end", "enters Range X"} <= set(labels), labels
        legend = page.locator(".stratomap-legend-row").all_inner_texts()
        assert len(legend) == len(set(legend)) and "path" in legend  # each entry once
        # plain headers and values: no snake_case, no Python literals
        headers = page.locator("th").all_inner_texts()
        assert headers and not [h for h in headers if "_" in h]
        cells = page.locator("td").all_inner_texts()
        assert not {"False", "True", "[]", "None", "nan"} & set(cells)
        # the numbers are the JSON report's
        for i, site in enumerate(rep["sites"]):
            row = page.locator("#sites-table tbody tr").nth(i)
            assert row.locator("td").first.inner_text() == site["site"]["name"]
            for key in ("closest_approach_km", "hours_in_reach", "elevation_at_closest_deg"):
                assert float(row.locator(f"td[data-key='{key}']").inner_text()) == site[key]
            assert row.locator("td[data-key='in_reach']").inner_text() == ("yes" if site["in_reach"] else "no")
        country = rep["airspace"]["countries"][0]
        assert page.locator("#countries-table td").first.inner_text() == country["name"]
        assert float(page.locator("#countries-table td[data-key='hours_inside']").first.inner_text()) == \
            country["hours_inside"]
        zone = rep["airspace"]["zones"][0]
        assert float(page.locator("#zones-table td[data-key='hours_inside']").inner_text()) == zone["hours_inside"]
        balloon = rep["pattern_of_life"][0]["rows"][0]
        assert float(page.locator("#pattern-table td[data-key='hours_in_view']").first.inner_text()) == \
            balloon["hours_in_view"]
        # the winds used and their warnings
        assert rep["winds"]["warnings"]
        warnings = page.locator("#wind-warnings li").all_inner_texts()
        assert warnings == rep["winds"]["warnings"]
        assert rep["winds"]["path"] in page.locator("#winds").inner_text()
        # why a site can be in reach for hours and in view for none
        body = page.locator("body").inner_text()
        assert "in view for none" in body
        site = rep["sites"][0]
        assert (f"is in reach for {site['hours_in_reach']:g} h and in view for 0 h because at the closest approach "
                f"({site['closest_approach_km']:g} km) the balloon stood {site['elevation_at_closest_deg']:g}°") in body
        shot = pg.screenshot("assess_report.png", full_page=True)
        assert shot.stat().st_size > 20_000
        assert pg.errors == [] and pg.external == []
    finally:
        pg.close()


def test_a_path_across_180_degrees_stays_in_one_piece(browser, tmp_path):  # noqa: F811
    import numpy as np

    from stratotrack import analysis as A

    t = np.datetime64("2023-02-01T00:00") + np.arange(25) * np.timedelta64(1, "h")
    lon = 170.0 + np.arange(25) * 1.0  # 170 E to 194 E = 166 W
    track = {"time": t, "latitude": np.full(25, 40.0), "longitude": (lon + 180) % 360 - 180,
             "altitude": np.full(25, 18000.0)}
    res = A.assess(track, [A.parse_site("Midway,28.2,-177.4,50")], termination=False)
    A.write_report(res, tmp_path / "r.html")
    pg = Page(browser)
    try:
        pg.page.goto((tmp_path / "r.html").as_uri())
        pg.page.wait_for_function("window.reportMap !== undefined")
        west, east, offsets = pg.page.evaluate(
            "[reportMap.groups.paths.getBounds().getWest(), reportMap.groups.paths.getBounds().getEast(),"
            " Object.keys(reportMap.offsets).map(Number).sort()]")
        assert west == pytest.approx(170.0) and east == pytest.approx(194.0)  # unwrapped, not 360 degrees wide
        assert offsets == [0, 360]  # the borders repeated east of 180
        site = pg.page.evaluate("reportMap.groups.sites.getLayers().map(l => l.getLatLng ? l.getLatLng().lng : null)"
                                ".filter(x => x !== null)")
        assert site == [pytest.approx(182.6)]  # Midway drawn beside the path, not 360 degrees away
        assert "Midway" in pg.page.locator(".leaflet-tooltip").all_inner_texts()
        pg.screenshot("assess_report_dateline.png")
        assert pg.errors == [] and pg.external == []
    finally:
        pg.close()
