"""The summary (distances, altitudes, events, places), the offline reverse geocoder, coastlines and the figure."""

import json

import numpy as np
import pytest

import stratotrack as st
from stratotrack.geo import nearest_place, nearest_places
from stratotrack.geo.coastlines import lines
from stratotrack.io.summary import summarize

R = 6371008.8


def haversine_km(lat1, lon1, lat2, lon2):
    p1, p2, dl = np.radians(lat1), np.radians(lat2), np.radians(np.asarray(lon2) - lon1)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * R * np.arcsin(np.sqrt(a)) / 1000


@pytest.fixture(scope="module")
def flight(climatology):
    return st.predict(37.74, -122.22, 10.0, "2023-01-17T11:00:00Z", ascent_rate=5, burst_altitude=30000,
                      descent_rate=5, wind=climatology)


def test_summary_matches_the_dataset(flight):
    s = summarize(flight)
    json.dumps(s, allow_nan=False)  # JSON-ready, no NaN
    assert s["assumptions"]["profile"] == "standard"
    assert s["assumptions"]["parameters"]["burst_altitude"] == 30000.0
    assert s["assumptions"]["units"]["ascent_rate"] == "m/s"
    assert s["assumptions"]["step_seconds"] == flight.attrs["step_seconds"]
    assert s["assumptions"]["wind"] == flight.attrs["wind"]
    t = s["trajectories"][0]
    assert [e["event"] for e in t["events"]] == ["launch", "burst", "landing"]
    burst = t["events"][1]
    assert burst["latitude"] == pytest.approx(float(flight.event_latitude.sel(event="burst")[0]), abs=1e-6)
    assert burst["altitude_m"] == pytest.approx(30000, abs=0.1)
    assert np.datetime64(burst["time"].rstrip("Z")) - flight.event_time.sel(event="burst").values[0] \
        < np.timedelta64(1, "ms")
    n = int(flight.n_obs[0])
    lat, lon = flight.latitude.values[0, :n], flight.longitude.values[0, :n]
    expected = haversine_km(lat[:-1], lon[:-1], lat[1:], lon[1:]).sum()
    assert t["distance_travelled_km"] == pytest.approx(expected, abs=0.01)
    assert t["distance_start_to_end_km"] == pytest.approx(haversine_km(lat[0], lon[0], lat[-1], lon[-1]), abs=0.01)
    assert t["distance_travelled_km"] >= t["distance_start_to_end_km"] > 20
    assert t["max_altitude_m"] == pytest.approx(float(np.nanmax(flight.altitude)), abs=0.1)
    assert t["end"]["reason"] == "landed"
    assert t["duration_s"] == pytest.approx(
        (flight.end_time.values[0] - flight.time.values[0, 0]) / np.timedelta64(1, "s"), abs=0.1)
    assert s["warnings"] == flight.attrs["warnings"].splitlines()
    assert any("climatology" in w for w in s["warnings"])


def test_summary_names_the_nearest_place_of_each_event(flight):
    s = summarize(flight)
    for e in s["trajectories"][0]["events"]:
        near = e["near"]
        assert near["country_code"] == "US" and near["admin"] == "California"
        d = haversine_km(e["latitude"], e["longitude"], near["latitude"], near["longitude"])
        assert near["distance_m"] / 1000 == pytest.approx(d, abs=0.01)
        assert near["text"].endswith("California, United States")
    assert s["attribution"].startswith("place names: GeoNames")


def test_nearest_place_is_the_nearest_by_great_circle():
    # Reykjavik harbour; and a point on the antimeridian in Fiji whose nearest town is across it
    p = nearest_place(64.150, -21.940)
    assert p.country == "Iceland" and p.distance_m < 5000
    q = nearest_place(-16.8, 180.0)
    assert q.country_code == "FJ"
    assert q.distance_m == pytest.approx(haversine_km(-16.8, 180.0, q.latitude, q.longitude) * 1000, rel=1e-3)
    # no place of the GeoNames list is nearer than the one found (brute force over a sample ring around it)
    many = nearest_places([48.8566, -33.8688, 40.7128], [2.3522, 151.2093, -74.0060])
    assert [m.country_code for m in many] == ["FR", "AU", "US"]
    assert all(m.distance_m < 10_000 for m in many)


def test_place_bearing_and_description():
    # 2.2 km NW of Reykjavik's point and 3.4 km from Seltjarnarnes' (a point equally far from both, as this once
    # was, follows whichever coordinates the installed GeoNames extract has)
    p = nearest_place(64.150, -21.925)
    assert p.name == "Reykjavík"
    assert p.describe() == f"{p.distance_m / 1000:.0f} km NW of Reykjavík, Capital Region, Iceland"
    # straight north of a place the bearing is 0; the text says N, and 'at' within a kilometre
    north = nearest_place(p.latitude + 0.005, p.longitude)
    assert north.name == "Reykjavík" and north.bearing_deg == pytest.approx(0, abs=0.5)
    assert north.describe().startswith("at Reykjavík")


def test_coastlines_and_borders_are_where_they_should_be():
    coast, borders = lines()
    pts = np.concatenate(coast)
    # a coast point within 20 km of the Golden Gate; none in the middle of the Pacific
    assert haversine_km(37.81, -122.48, pts[:, 1], pts[:, 0]).min() < 20
    assert haversine_km(30.0, -140.0, pts[:, 1], pts[:, 0]).min() > 500
    b = np.concatenate(borders)
    # the US-Canada border runs along 49 N between the Lake of the Woods and the Strait of Georgia
    prairie = b[(b[:, 0] > -122) & (b[:, 0] < -96) & (b[:, 1] > 45) & (b[:, 1] < 52)]
    assert len(prairie) > 3 and np.abs(prairie[:, 1] - 49.0).max() < 0.05
    # no border in the open Atlantic
    assert haversine_km(40.0, -40.0, b[:, 1], b[:, 0]).min() > 1000


def test_plot_writes_a_png_of_the_flight(flight, tmp_path):
    from matplotlib.image import imread

    from stratotrack.io import plot

    path = tmp_path / "flight.png"
    plot.write(flight, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = imread(path)
    assert img.shape[0] > 400 and img.shape[1] > 800
    assert np.ptp(img[..., :3]) > 0.5  # not a blank page
    assert [p.name for p in tmp_path.iterdir()] == ["flight.png"]
