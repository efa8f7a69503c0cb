"""Tracking on synthetic truth (analytic winds built in code, fixed seeds) and bad input.  No shared data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import stratotrack as st
from stratotrack.errors import InputError
from stratotrack.geodesy import great_circle_distance
from stratotrack.track import Observation, ParticleFilter, altitude_from_drift, backtrack, collect, read_observations
from stratotrack.track import geometry as G
from stratotrack.track.origin import Site
from stratotrack.track.sounding import profile_field
from stratotrack.wind.analytic import uniform_wind_path

T0 = 1675285200.0  # 2023-02-01T21:00Z
LEVELS = np.arange(0.0, 36001.0, 500.0)
U = 5.0 + 1.5 * LEVELS / 1000.0  # 17 m/s at 8 km, 32 m/s at 18 km
V = 8.0 * np.sin(LEVELS / 5000.0)  # direction differs by level too


@pytest.fixture(scope="module")
def sheared():
    """Horizontally uniform winds that change with height (steady), over the central United States."""
    return st.open_wind(profile_field(LEVELS, U, V, 40.0, -100.0, half_width=25.0, resolution=1.0))


def truth(t, alt=18000.0, lat0=40.0, lon0=-105.0):
    u, v = np.interp(alt, LEVELS, U), np.interp(alt, LEVELS, V)
    return uniform_wind_path(lat0, lon0, alt, float(u), float(v), np.asarray(t, float) - T0)


def test_altitude_from_drift_identifies_the_level_with_odds(sheared):
    rng = np.random.default_rng(3)
    times = T0 + np.arange(7) * 3600.0
    la, lo = truth(times)
    e, n = 2000.0 * rng.standard_normal(7), 2000.0 * rng.standard_normal(7)
    la, lo = G.offset_points(la, lo, e, n)
    obs = [Observation.fix(np.datetime64(int(t), "s"), a, b, sigma_h=2000.0) for t, a, b in zip(times, la, lo)]
    ans = altitude_from_drift(obs, sheared, wind_error_sd=1.0)
    assert abs(ans.best - 18000.0) <= 1000.0
    lo90, hi90 = ans.interval(0.9)
    assert lo90 <= 18000.0 <= hi90 and hi90 - lo90 < 4000.0
    assert ans.odds(18000.0, 8000.0) > 1e6  # "was it at 8 km or 18 km?": decisively 18 km
    assert ans.segments == 6


def test_single_fix_gives_the_prior_and_says_so(sheared):
    ans = altitude_from_drift([Observation.fix("2023-02-01T21:00Z", 40, -105, sigma_h=1e3)], sheared)
    assert ans.segments == 0 and np.allclose(ans.probability, ans.probability[0])
    assert any("says nothing" in a for a in ans.assumptions)


def sightings(times, observers, rng, sigma=0.5, alt=18000.0):
    out = []
    for t in times:
        la, lo = truth(t, alt)
        for olat, olon in observers:
            az, el, _, _ = G.look_angles(olat, olon, 0.0, la, lo, alt)
            out.append(Observation.sighting(np.datetime64(int(t), "s"), olat, olon,
                                            float(az + sigma * rng.standard_normal() / max(math.cos(el * G.D2R), 0.1)),
                                            float(el + sigma * rng.standard_normal()), sigma_angle=sigma))
    return out


def test_filter_recovers_position_and_altitude_from_noisy_sightings(sheared):
    rng = np.random.default_rng(7)
    times = T0 + np.arange(0, 4 * 3600.0 + 1, 1800.0)
    # two observers along the path, 60 km either side of it
    observers = [(40.55, -103.8), (39.45, -103.8)]
    obs = sightings(times, observers, rng)
    pf = ParticleFilter(sheared, n=4000, seed=11, wind_error_sd=1.0)
    pf.run(obs)
    e = pf.estimate()
    la, lo = truth(times[-1])
    err_km = float(great_circle_distance(e["lat"], e["lon"], la, lo)) / 1000.0
    assert err_km < e["r95_km"], (err_km, e["r95_km"])
    assert e["r95_km"] < 30.0  # and the stated uncertainty is informative
    assert e["alt_q05"] <= 18000.0 <= e["alt_q95"]
    assert abs(e["alt"] - 18000.0) < 2000.0


def test_filter_rejects_an_outlier_and_survives_a_gap(sheared):
    times = T0 + np.array([0.0, 3600.0, 7200.0, 6 * 3600.0])  # a 4 h gap before the last fix
    la, lo = truth(times)
    obs = [Observation.fix(np.datetime64(int(t), "s"), a, b, 18000.0, sigma_h=1000.0, sigma_z=300.0)
           for t, a, b in zip(times, la, lo)]
    bad = Observation.fix(np.datetime64(int(T0 + 5400), "s"), 45.0, -90.0, 18000.0, sigma_h=1000.0, sigma_z=300.0,
                          label="conflicting report")
    pf = ParticleFilter(sheared, n=3000, seed=2, wind_error_sd=1.0)
    pf.run(obs + [bad])
    p_out = {h.observation.split(" at ")[0]: h.outlier_probability for h in pf.history}
    assert p_out["conflicting report"] > 0.99
    e = pf.estimate()
    assert float(great_circle_distance(e["lat"], e["lon"], la[-1], lo[-1])) / 1000.0 < max(e["r95_km"], 3.0)


def test_two_observers_triangulate():
    rng = np.random.default_rng(5)
    lat, lon, alt = 45.75, -109.0, 18300.0
    obs_pos = [(45.71, -109.54), (45.78, -108.50), (46.2, -109.1)]
    o, d = [], []
    for olat, olon in obs_pos:
        az, el, _, _ = G.look_angles(olat, olon, 1000.0, lat, lon, alt)
        az, el = az + 0.2 * rng.standard_normal(), el + 0.2 * rng.standard_normal()
        o.append(G.ecef(olat, olon, 1000.0))
        d.append(G.direction(olat, olon, az, el))
    x, cov, ranges = G.triangulate(np.array(o[:2]), np.array(d[:2]), np.radians(0.2))
    la, lo, z = G.to_geodetic(x)
    err = float(np.linalg.norm(x - G.ecef(lat, lon, alt)))
    sd = math.sqrt(np.trace(cov))
    assert err < 3 * sd and sd < 2000.0
    assert abs(z - alt) < 3 * sd
    x3, cov3, _ = G.triangulate(np.array(o), np.array(d), np.radians(0.2))
    assert np.trace(cov3) < np.trace(cov)  # a third observer tightens it


def test_backtracking_a_synthetic_launch_finds_the_true_site(sheared):
    site = Site("true site", 40.0, -112.0)
    launch = "2023-01-31T12:00Z"
    ds = st.predict(site.lat, site.lon, 0.0, launch, "float", ascent_rate=5.0, float_altitude=18000.0,
                    duration="40h", wind=sheared, step=120.0, output_interval=600.0)
    t = ds.time.values[0]
    k1, k2 = int(ds.n_obs.values[0]) // 2, int(ds.n_obs.values[0]) - 1
    obs = [Observation.fix(t[k], float(ds.latitude.values[0, k]), float(ds.longitude.values[0, k]), sigma_h=5e3)
           for k in (k1, k2)]
    cands = [site, Site("north", 44.0, -112.0), Site("south", 36.0, -112.0), Site("far west", 46.0, -124.0)]
    res = backtrack(obs, sheared, candidates=cands, altitude=18000.0, altitude_sd=500.0, max_days=2.0, n=1500,
                    seed=4, max_km=300.0, chunk=3 * 3600.0)
    assert res.ranking[0]["name"] == "true site"
    assert res.ranking[0]["probability"] > 2 * res.ranking[1]["probability"]
    assert res.ranking[0]["passage_probability"] > max(r["passage_probability"] for r in res.ranking[1:])


# -- readers and bad input -------------------------------------------------------------------------------------------
def test_readers_aprs_sondehub_and_sighting_csv(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"entries": [
        {"name": "BLN1", "time": "1675285200", "lat": "45.7", "lng": "-109.5", "altitude": 18000},
        {"name": "BLN1", "time": "1675288800", "lat": "45.8", "lng": "-108.9", "altitude": 18100}]}))
    (tmp_path / "s.json").write_text(json.dumps({"S123": {
        "2023-02-01T21:00:00.000Z": {"lat": 45.7, "lon": -109.5, "alt": 18000.0, "vel_v": 0.1},
        "2023-02-01T20:00:00.000Z": {"lat": 45.6, "lon": -110.0, "alt": 17900.0}}}))
    (tmp_path / "v.csv").write_text("time,latitude,longitude,azimuth,elevation,sigma_angle\n"
                                    "2023-02-01T21:21:00Z,45.71,-109.54,95,42,2\n")
    a = read_observations(tmp_path / "a.json")
    s = read_observations(tmp_path / "s.json")
    v = read_observations(tmp_path / "v.csv")
    assert len(a) == 2 and a[0].alt == 18000 and a[1].lon == -108.9
    assert [o.alt for o in s] == [17900.0, 18000.0]  # sorted by time
    assert v[0].kind == "sighting" and v[0].azimuth == 95 and v[0].sigma_angle == 2


@pytest.mark.parametrize("text, words", [
    ("time,latitude,longitude\n2023-02-01T21:00Z,abc,-109\n", "is not a number"),
    ("when,where\n1,2\n", "expected at least time, latitude and longitude"),
    ("time,latitude,longitude,azimuth,elevation\n2023-02-01T21:00Z,45,-109,400,30\n", "azimuth 400.0"),
    ("time,latitude,longitude,azimuth,elevation\n2023-02-01T21:00Z,45,-109,90,95\n", "elevation 95.0"),
    ("time,latitude,longitude\nyesterday,45,-109\n", "not an ISO 8601"),
    ("time,latitude,longitude\n2023-02-01T21:00Z,95,-109\n", "latitude 95.0"),
])
def test_bad_observation_files_give_one_line_errors(tmp_path, text, words):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(InputError) as exc:
        read_observations(p)
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_malformed_kml_and_json(tmp_path):
    (tmp_path / "x.kml").write_text("<kml><Document>")
    (tmp_path / "x.json").write_text("{not json")
    (tmp_path / "y.json").write_text(json.dumps({"entries": [{"time": 1, "lat": 1}]}))
    for name, words in (("x.kml", "not well-formed"), ("x.json", "not valid JSON"), ("y.json", "lacks a usable")):
        with pytest.raises(InputError, match=words):
            read_observations(tmp_path / name)


def test_out_of_order_observations_are_sorted_and_said(tmp_path):
    p = tmp_path / "o.csv"
    p.write_text("time,latitude,longitude\n2023-02-01T23:00Z,45.8,-108.5\n2023-02-01T21:00Z,45.7,-109.5\n")
    obs = read_observations(p)
    assert obs[0].lon == -109.5 and any("out of time order" in n for n in obs.notes)


def test_single_observation_is_an_honest_degenerate_answer():
    from stratotrack.track import track

    r = track([Observation.fix("2023-02-01T21:00Z", 45.7, -109.5, sigma_h=20e3)], particles=500, forecast="6h",
              forecast_members=100)
    d = r.to_dict()
    assert d["observations"] == 1 and abs(d["last"]["r50_km"] - 23.5) < 5  # the report's own uncertainty
    assert d["altitude_from_drift"]["segments"] == 0
    assert any("single observation" in n for n in d["notes"])
    assert d["forecast"][-1]["r90_km"] > d["forecast"][0]["r90_km"]


def test_collect_refuses_nothing_and_sighting_below_all_altitudes():
    with pytest.raises(InputError, match="no observations"):
        collect([])
    pf = ParticleFilter("climatology", n=100, seed=0, altitude_prior=(500.0, 1000.0))
    with pytest.raises(InputError, match="sight line reaches none"):
        pf.run([Observation.sighting("2023-02-01T21:00Z", 45, -109, 90, -4.0, observer_alt=0.0, sigma_angle=0.5)])


def test_cli_track_and_origin_bad_input_exit_2(tmp_path, capsys):
    from stratotrack.cli import run

    p = tmp_path / "bad.csv"
    p.write_text("time,latitude,longitude,azimuth,elevation\n2023-02-01T21:00Z,45,-109,90,120\n")
    assert run(["track", str(p)]) == 2
    err = capsys.readouterr().err
    assert "elevation 120.0" in err and err.count("\n") == 1
    assert run(["origin", str(tmp_path / "missing.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
