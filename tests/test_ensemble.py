"""Ensembles (issue 5): exactness with perturbations off, analytic spreads, coverage, passage, seeds, bad input.

Statistical checks use fixed seeds and tolerances from the sampling error of the quantity checked (stated at each
assertion), so they are reproducible and a failure means a real disagreement, not bad luck (z > 4: p < 1e-4).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import stratotrack as st
from stratotrack.ensemble import Balloon, Normal, Offsets, Uniform, WindError
from stratotrack.ensemble.perturb import BALLOONS
from stratotrack.errors import InputError
from stratotrack.geodesy import EARTH_RADIUS, great_circle_distance
from stratotrack.wind.analytic import solid_body_rotation, uniform_wind

T0 = "2023-01-17T11:00:00Z"
U, V = 20.0, 0.0


@pytest.fixture(scope="module")
def uniform():
    return st.open_wind(uniform_wind(U, V, resolution=1.0))


@pytest.fixture(scope="module")
def rotation():
    return st.open_wind(solid_body_rotation(resolution=1.0))


# -- all perturbations off: every member is the deterministic prediction, bit for bit ---------------------------------
@pytest.mark.parametrize("profile,kw", [
    ("standard", {"ascent_rate": 4.5, "burst_altitude": 28000.0}),
    ("float", {"float_altitude": 20000.0, "duration": "10h"}),
])
def test_members_equal_deterministic_prediction(rotation, profile, kw):
    det = st.predict(45.0, 10.0, 100.0, T0, profile, wind=rotation, **kw)
    res = st.ensemble(45.0, 10.0, 100.0, T0, profile, members=7, seed=5, wind=rotation, keep="trajectories",
                      batch_size=3, **kw)  # three batches
    tr = res.trajectories
    assert tr.sizes["trajectory"] == 7
    width = det.sizes["obs"]
    assert tr.sizes["obs"] == width
    for var in ("time", "latitude", "longitude", "altitude", "stage", "event_time", "event_latitude",
                "event_longitude", "end_latitude", "end_longitude"):
        a = tr[var].values
        b = np.broadcast_to(det[var].values, a.shape)
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), var
    # offsets of zero cells and zero height are the unperturbed field, and the streamed end points agree too
    res0 = st.ensemble(45.0, 10.0, 100.0, T0, profile, members=27, wind=rotation, offsets=Offsets(0.0, 0.0), **kw)
    assert np.all(res0.members.end_latitude.values == det.end_latitude.values[0])
    assert np.all(res0.members.end_longitude.values == det.end_longitude.values[0])


# -- a Gaussian ascent-rate spread in a uniform wind: burst positions against the analytic distribution ----------------
def test_ascent_rate_spread_gives_analytic_burst_spread(uniform):
    """Burst longitude = lon0 + U ln((R+B)/(R+z0)) / (a cos(lat0)) (in radians) for ascent rate a, exactly.

    With a ~ N(a0, s^2) the mean and standard deviation of 1/a follow from Gauss-Hermite quadrature (s/a0 = 0.1:
    the truncation at a > 0 is 10 standard deviations away).  Sampling error: SE(mean) = sd/sqrt(n),
    SE(sd) = sd * sqrt((kurtosis - 1) / (4 n)) with the kurtosis of 1/a from the same quadrature."""
    a0, s, burst, z0, lat0 = 5.0, 0.5, 30000.0, 0.0, 40.0
    n = 3000
    res = st.ensemble(lat0, 0.0, z0, T0, members=n, seed=11, wind=uniform, ascent_rate=a0, burst_altitude=burst,
                      spread={"ascent_rate": Normal(s)}, keep="members")
    blon = res.members.burst_longitude.values
    x, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    inv = 1.0 / (a0 + s * x)
    k = U * math.log((EARTH_RADIUS + burst) / (EARTH_RADIUS + z0)) / math.cos(math.radians(lat0)) * 180 / math.pi
    mean = k * (w @ inv)
    sd = k * math.sqrt(w @ (inv - w @ inv) ** 2)
    kurt = (w @ (inv - w @ inv) ** 4) / (w @ (inv - w @ inv) ** 2) ** 2
    assert abs(blon.mean() - mean) < 4 * sd / math.sqrt(n)
    assert abs(blon.std(ddof=1) - sd) < 4 * sd * math.sqrt((kurt - 1) / (4 * n))
    # the streamed moments (spread ellipse) agree with the member table: east-west semi-axis = k sd in km
    e = res.ellipses("burst", [0.5])[0]
    km_per_deg = (EARTH_RADIUS / 1000) * math.pi / 180 * math.cos(math.radians(lat0))
    assert e["semi_major_km"] / math.sqrt(-2 * math.log(0.5)) == pytest.approx(blon.std(ddof=1) * km_per_deg,
                                                                                 rel=0.01)
    assert e["azimuth_deg"] == pytest.approx(90.0, abs=1.0)
    # the burst latitude does not move in a zonal wind
    assert np.allclose(res.members.burst_latitude.values, lat0, atol=1e-9)


# -- coverage of the highest-density regions ------------------------------------------------------------------------------
def test_contours_cover_an_independent_sample(uniform):
    """The 50/90% regions from one ensemble hold 50/90% of an independent one; SE sqrt(p(1-p)/n) of the check
    sample plus the estimation error of the region itself (about as large again), so 4 * sqrt(2) * SE."""
    kw = dict(members=3000, wind=uniform, spread={"ascent_rate": Normal(0.4), "descent_rate": Uniform(1.0)},
              wind_error=WindError(initial=3.0, growth=2.0, correlation_time=3600.0))
    a = st.ensemble(50.0, 5.0, 0.0, T0, seed=1, keep="summary", **kw)
    b = st.ensemble(50.0, 5.0, 0.0, T0, seed=2, keep="members", **kw)
    for level in (0.5, 0.9):
        inside = a.contains("landing", level, b.members.end_latitude.values, b.members.end_longitude.values)
        se = math.sqrt(level * (1 - level) / b.members.sizes["trajectory"])
        assert abs(inside.mean() - level) < 4 * math.sqrt(2) * se, (level, inside.mean())
    polys = a.contours("landing", [0.9])[0][2]
    assert polys and all(ring.shape[1] == 2 for poly in polys for ring in poly)


# -- passage: agreement with a direct count, convergence ------------------------------------------------------------------
def _direct_passage(tr, lat, lon, radius_km, sub=20):
    """Count members whose path (great-circle arcs between output points, densified) comes within the radius."""
    passed = 0
    la, lo, n_obs = tr.latitude.values, tr.longitude.values, tr.n_obs.values
    f = np.linspace(0.0, 1.0, sub + 1)[:-1]
    for k in range(la.shape[0]):
        m = int(n_obs[k])
        p1, p2 = np.radians(la[k, :m]), np.radians(lo[k, :m])
        xyz = np.stack([np.cos(p1) * np.cos(p2), np.cos(p1) * np.sin(p2), np.sin(p1)], axis=1)
        a, b = xyz[:-1, None, :], xyz[1:, None, :]
        pts = a + f[None, :, None] * (b - a)  # chords, projected back onto the sphere (same great circle)
        pts = np.concatenate([pts.reshape(-1, 3), xyz[-1:]])
        plat = np.degrees(np.arcsin(pts[:, 2] / np.linalg.norm(pts, axis=1)))
        plon = np.degrees(np.arctan2(pts[:, 1], pts[:, 0]))
        if (great_circle_distance(lat, lon, plat, plon) <= radius_km * 1000).any():
            passed += 1
    return passed


def test_passage_agrees_with_direct_count_and_converges(uniform):
    kw = dict(wind=uniform, spread={"ascent_rate": Normal(0.5)},
              wind_error=WindError(initial=4.0, growth=0.0, correlation_time=1800.0))
    target = (50.3, 7.2, 15.0)
    res = st.ensemble(50.0, 5.0, 0.0, T0, members=400, seed=3, keep="trajectories", output_interval=600.0,
                      passages=[target], **kw)
    streamed = res.passage("point1")
    direct = _direct_passage(res.trajectories, *target)
    # the same paths, the stream tests exact arcs, the direct count 20 sub-points per arc: equal up to grazing arcs
    assert abs(streamed["passed"] - direct) <= 2, (streamed["passed"], direct)
    assert 0.05 < streamed["probability"] < 0.95
    # convergence: estimates from 250 to 4000 members approach the 16000-member value within their standard error
    ref = st.ensemble(50.0, 5.0, 0.0, T0, members=16000, seed=100, keep="summary", passages=[target], **kw)
    p_ref = ref.passage("point1")["probability"]
    errors = []
    for n, seed in ((250, 21), (1000, 22), (4000, 23)):
        p = st.ensemble(50.0, 5.0, 0.0, T0, members=n, seed=seed, keep="summary", passages=[target],
                        **kw).passage("point1")
        se = math.sqrt(p_ref * (1 - p_ref) * (1 / n + 1 / 16000))
        assert abs(p["probability"] - p_ref) < 4 * se, (n, p["probability"], p_ref)
        assert p["standard_error"] == pytest.approx(math.sqrt(p["probability"] * (1 - p["probability"]) / n))
        errors.append(p["standard_error"])
    assert errors[0] > errors[1] > errors[2]
    # the first-passage curve rises to the probability
    times = np.array(["2023-01-17T11:00:00", "2023-01-17T20:00:00"], dtype="datetime64[s]")
    curve = ref.passage_curve("point1", times)
    assert curve[0] == 0.0 and curve[1] == pytest.approx(p_ref)


def test_polygon_entry(uniform):
    # a box straddling the path of the nominal flight (eastward drift from 5 E): every member enters it
    box = [(6.0, 49.9), (6.5, 49.9), (6.5, 50.1), (6.0, 50.1)]
    res = st.ensemble(50.0, 5.0, 0.0, T0, members=50, seed=1, wind=uniform, spread={"ascent_rate": Normal(0.3)},
                      passages=[{"polygon": box, "name": "box"}], keep="members")
    r = res.passage("box")
    assert r["probability"] == 1.0
    far = st.ensemble(50.0, 5.0, 0.0, T0, members=50, seed=1, wind=uniform, spread={"ascent_rate": Normal(0.3)},
                      passages=[{"polygon": [(x, y + 5) for x, y in box]}]).passage()[0]
    assert far["probability"] == 0.0


# -- wind error: the OU displacement variance against its closed form ------------------------------------------------------
def test_wind_error_displacement_variance(uniform):
    """With constant RMS (growth 0), per-component sd sigma = initial/sqrt(2), the displacement after T has variance
    2 sigma^2 tau^2 (T/tau - 1 + exp(-T/tau)).  SE of a sample variance: var * sqrt(2/(n-1))."""
    tau, T, rms, n = 6 * 3600.0, 24 * 3600.0, 4.0, 3000
    res = st.ensemble(0.0, 0.0, 20000.0, T0, "drift", members=n, seed=9, wind=uniform, duration=T,
                      wind_error=WindError(initial=rms, growth=0.0, correlation_time=tau), keep="members")
    det = st.predict(0.0, 0.0, 20000.0, T0, "drift", wind=uniform, duration=T)
    r = EARTH_RADIUS + 20000.0
    dy = np.radians(res.members.end_latitude.values) * r
    dx = np.radians(res.members.end_longitude.values - det.end_longitude.values[0]) * r
    var = 2 * (rms ** 2 / 2) * tau ** 2 * (T / tau - 1 + math.exp(-T / tau))
    for comp in (dx, dy):
        assert abs(comp.var(ddof=1) - var) < 4 * var * math.sqrt(2 / (n - 1)), (comp.var(ddof=1), var)
        assert abs(comp.mean()) < 4 * math.sqrt(var / n)


def test_wind_error_grows_linearly_with_lead_time_up_to_its_maximum():
    m = WindError(initial=1.0, growth=2.0, maximum=4.0)
    lead = np.array([-1.0, 0.0, 0.5, 1.0, 1.5, 2.0, 30.0]) * 86400
    np.testing.assert_allclose(m.rms_vector(lead), [1.0, 1.0, 2.0, 3.0, 4.0, 4.0, 4.0])


# -- seeds ---------------------------------------------------------------------------------------------------------------
def test_same_seed_same_result_and_different_seeds_consistent(uniform):
    from scipy import stats

    kw = dict(members=1500, wind=uniform, spread={"ascent_rate": Normal(0.5), "launch_time": "uniform:1h"},
              wind_error=WindError(), keep="members")
    a = st.ensemble(50.0, 5.0, 0.0, T0, seed=42, **kw)
    b = st.ensemble(50.0, 5.0, 0.0, T0, seed=42, **kw)
    c = st.ensemble(50.0, 5.0, 0.0, T0, seed=43, **kw)
    assert a.members.equals(b.members)
    assert a.summary()["products"] == b.summary()["products"]
    assert not np.array_equal(a.members.end_longitude.values, c.members.end_longitude.values)
    for var in ("end_longitude", "end_latitude", "burst_longitude"):
        x, y = a.members[var].values, c.members[var].values
        assert stats.ks_2samp(x, y).pvalue > 1e-4, var
        se = math.sqrt(x.var() / x.size + y.var() / y.size)
        assert abs(x.mean() - y.mean()) < 4 * se, var
    # launch times spread uniformly over +-1 h
    lt = (a.members.launch_time.values - np.datetime64("2023-01-17T11:00:00")) / np.timedelta64(1, "s")
    assert lt.min() >= -3600 and lt.max() <= 3600 and abs(lt.mean()) < 4 * 3600 / math.sqrt(3 * lt.size)


def test_batch_size_does_not_change_flight_parameter_ensembles(uniform):
    # flight parameters are drawn before batching: members are identical whatever the batch size, and so are the
    # streamed moments (the density grid's origin and cell come from the first batch, so only its cells may differ)
    kw = dict(members=600, seed=7, wind=uniform, spread={"burst_altitude": Normal(1500.0)}, keep="members")
    a = st.ensemble(50.0, 5.0, 0.0, T0, batch_size=600, **kw)
    b = st.ensemble(50.0, 5.0, 0.0, T0, batch_size=64, **kw)
    assert np.array_equal(a.members.end_longitude.values, b.members.end_longitude.values)
    ea, eb = a.ellipses("landing", [0.9])[0], b.ellipses("landing", [0.9])[0]
    for key in ("center_latitude", "center_longitude", "semi_major_km", "semi_minor_km"):
        assert ea[key] == pytest.approx(eb[key], rel=1e-9, abs=1e-9)
    assert a.products["landing"].counts.sum() == b.products["landing"].counts.sum() == 600


# -- offsets, several wind sources, balloon model --------------------------------------------------------------------------
def test_offsets_share_the_data_and_spread_members(rotation):
    res = st.ensemble(45.0, 10.0, 0.0, T0, members=54, wind=rotation, offsets=True, keep="members")
    assert len(set(np.round(res.members.end_longitude.values, 9))) > 20
    assert set(res.members.offset.values) == set(range(27))
    from stratotrack.ensemble.perturb import shifted_field

    cache = {}
    f = shifted_field(rotation, 0.5, -0.5, 0.0, cache)
    assert np.shares_memory(f.data, rotation.data) and f.lat[0] == rotation.lat[0] + 0.5
    g = shifted_field(rotation, 0, 0, 250.0, cache)
    assert not np.shares_memory(g.data, rotation.data)
    assert np.allclose(g.data[..., 0], rotation.data[..., 0] + 250.0)


def test_members_follow_their_wind_source():
    slow, fast = (st.open_wind(uniform_wind(u, 0.0)) for u in (10.0, 30.0))
    res = st.ensemble(0.0, 0.0, 0.0, T0, members=6, winds=[slow, fast], keep="members")
    for src in (0, 1):
        want = st.predict(0.0, 0.0, 0.0, T0, wind=(slow, fast)[src]).end_longitude.values[0]
        got = res.members.end_longitude.values[res.members.wind_source.values == src]
        assert got.size == 3 and np.all(got == want)


def test_balloon_model_against_the_cusf_calculator_formulae():
    b = Balloon("k1000", payload=1.0, neck_lift=1.8)
    ascent, burst = b.predict()
    # the CUSF calculator's own formulae (exponential air, scale height 7238.3 m, sea-level air 1.2050 kg/m3)
    d, cd = BALLOONS["k1000"]
    v0 = (1.0 + 1.8) / (1.2050 - 0.1786)
    r0 = (3 * v0 / (4 * math.pi)) ** (1 / 3)
    cusf_ascent = math.sqrt((1.8 - 1.0) * 9.80665 / (0.5 * cd * 1.2050 * math.pi * r0 ** 2))
    cusf_burst = -7238.3 * math.log(v0 / (math.pi * d ** 3 / 6))
    # measured: ascent 0.18% below (1.225 vs 1.205 kg/m3 at launch), burst 1.53% below (32,321 vs 32,824 m: the
    # standard atmosphere against exponential air of scale height 7238.3 m)
    assert float(ascent) == pytest.approx(cusf_ascent, rel=0.005)
    assert float(burst) == pytest.approx(cusf_burst, rel=0.03)
    # more gas: faster and lower
    a2, b2 = b.predict(neck_lift=2.2)
    assert a2 > ascent and b2 < burst
    res = st.ensemble(50.0, 5.0, 0.0, T0, members=200, seed=1, wind="climatology",
                      balloon=Balloon("k1000", 1.0, 1.8, neck_lift_sd=0.05, burst_diameter_sd=0.05), keep="members")
    bursts = res.members.burst_altitude.values
    assert abs(np.median(bursts) - float(burst)) < 1500 and bursts.std() > 300


# -- products and files ----------------------------------------------------------------------------------------------------
def test_products_and_exports(uniform, tmp_path):
    import json

    import xarray as xr

    res = st.ensemble(50.0, 5.0, 0.0, T0, members=500, seed=1, wind=uniform, spread={"ascent_rate": Normal(0.5)},
                      at=["2023-01-17T12:00:00Z"], passages=[(50.0, 6.0, 20.0)], keep="members")
    assert set(res.products) == {"landing", "burst", "at 2023-01-17T12:00:00Z"}
    assert res.meta["snapshots"]["at 2023-01-17T12:00:00Z"]["aloft"] == 500
    res.write(tmp_path / "p.nc")
    ds = xr.open_dataset(tmp_path / "p.nc")
    assert ds["landing_probability"].sum() == pytest.approx(1.0)
    assert int(ds["landing_count"].sum()) == 500
    assert float(ds["passage_point1_probability"]) == res.passage("point1")["probability"]
    ds.close()
    res.write(tmp_path / "p.geojson")
    doc = json.loads((tmp_path / "p.geojson").read_text())
    kinds = {(f["properties"]["kind"], f["properties"].get("level")) for f in doc["features"]}
    assert ("highest-density region", 0.9) in kinds and ("spread ellipse", 0.99) in kinds and ("passage", None) in kinds
    res.write(tmp_path / "m.csv")
    import pandas as pd

    df = pd.read_csv(tmp_path / "m.csv")
    assert list(df["trajectory"]) == list(range(500)) and "burst_latitude" in df


def test_windows_table_map_and_ensembles(uniform, tmp_path):
    w = st.windows(50.0, 5.0, 0.0, "2023-01-17T00:00Z", "2023-01-17T06:00Z", "3h", wind=uniform)
    assert len(w.table) == 3
    det = st.predict(50.0, 5.0, 0.0, "2023-01-17T03:00Z", wind=uniform)
    assert w.table.end_longitude.iloc[1] == det.end_longitude.values[0]
    # the map a reader sees: the three landing points where the table puts them, inside the axes, coloured by launch
    # time with a labelled colour bar, and the launch site marked
    fig = w.figure()
    ax, cbar = fig.axes
    pts = np.vstack([c.get_offsets() for c in ax.collections if len(c.get_offsets()) == 3])
    np.testing.assert_allclose(pts, w.table[["end_longitude", "end_latitude"]].to_numpy())
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert np.all((x0 < pts[:, 0]) & (pts[:, 0] < x1) & (y0 < pts[:, 1]) & (pts[:, 1] < y1))
    assert x0 < 5.0 < x1 and y0 < 50.0 < y1  # and the launch
    assert ax.get_title() == "3 launches: landing points coloured by launch time"
    assert ax.get_xlabel().startswith("longitude") and ax.get_ylabel().startswith("latitude")
    assert cbar.get_ylabel() == "launch time (UTC)"
    assert [t.get_text() for t in cbar.get_yticklabels()][0] == "2023-01-17 00:00"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["launch"]
    w.write(tmp_path / "w.png")
    w.write(tmp_path / "w.csv")
    we = st.windows(50.0, 5.0, 0.0, "2023-01-17T00:00Z", "2023-01-17T03:00Z", "3h", wind=uniform, members=40,
                    seed=1, ensemble_options={"spread": {"ascent_rate": 0.5}})
    assert len(we.ensembles) == 2 and (we.table.ellipse90_semi_major_km > 0).all()


# -- bad input ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,match", [
    ({"members": 0}, "members 0 is invalid"),
    ({"members": -3}, "members -3 is invalid"),
    ({"spread": {"ascent_rate": -0.5}}, "spread of ascent_rate -0.5"),
    ({"spread": {"burst_altitude": "uniform:-10"}}, "spread of burst_altitude -10"),
    ({"spread": {"wind_speed": 1.0}}, "cannot spread 'wind_speed'"),
    ({"spread": {"ascent_rate": "gamma:1"}}, "distribution 'gamma'"),
    ({"levels": (0.5, 1.0)}, r"contour level 1.0 is outside \(0, 1\)"),
    ({"levels": (0.0,)}, r"contour level 0.0 is outside \(0, 1\)"),
    ({"levels": ()}, "no contour levels"),
    ({"passages": [(50.0, 5.0, -1.0)]}, "passage radius -1.0 km"),
    ({"keep": "all"}, "keep='all' is invalid"),
    ({"members": "ten"}, "members 'ten' is not a whole number"),
])
def test_bad_input(uniform, kwargs, match):
    args = dict(members=10, wind=uniform)
    args.update(kwargs)
    with pytest.raises(InputError, match=match) as err:
        st.ensemble(50.0, 5.0, 0.0, T0, **args)
    assert "\n" not in str(err.value)


def test_bad_perturbation_objects():
    with pytest.raises(InputError, match="standard deviation -1"):
        Normal(-1.0)
    with pytest.raises(InputError, match="wind error initial -2"):
        WindError(initial=-2.0)
    with pytest.raises(InputError, match="balloon 'k999' is unknown"):
        Balloon("k999", 1.0, 2.0)
    with pytest.raises(InputError, match="does not exceed the payload"):
        Balloon("k1000", 2.0, 1.5)
    with pytest.raises(InputError, match="offset height -1"):
        Offsets(1.0, -1.0)

