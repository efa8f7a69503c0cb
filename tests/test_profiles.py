"""Flight profiles through predict(): standard (forward and backward), float and drift, checked against the
analytic integrals of their vertical laws; events located inside the integration step."""

import functools

import numpy as np
import pytest
from scipy.integrate import quad

import stratotrack as st
from stratotrack import atmosphere as atm
from stratotrack.geodesy import EARTH_RADIUS, great_circle_distance
from stratotrack.wind import analytic

T0 = np.datetime64("2023-01-01T00:00:00", "ns")
U, V = 10.0, 5.0
#: the standard atmosphere's layer bases below 47 km, as geometric altitudes (kinks of the density profile)
KINKS = [float(atm.geopotential_to_geometric(h)) for h in atm.LAYER_H[1:4]]


@functools.lru_cache(maxsize=None)
def wind():
    return st.open_wind(analytic.uniform_wind(U, V, resolution=1.0))


def seconds(times):
    """Seconds since T0 of datetime64 values."""
    return (np.asarray(times) - T0) / np.timedelta64(1, "ns") / 1e9


def fall_time(rate, top, bottom):
    """Analytic descent time from ``top`` to ``bottom``: integral of dz / (v0 sqrt(rho0 / rho(z)))."""
    inside = [k for k in KINKS if bottom < k < top]
    value, err = quad(lambda z: 1.0 / atm.descent_speed(rate, z), bottom, top, points=inside or None, limit=200,
                      epsabs=1e-10, epsrel=1e-12)
    assert err < 1e-6
    return value


def events(ds, i=0):
    return dict(zip([str(e) for e in ds.event.values], seconds(ds.event_time.values[i])))


STANDARD = [
    # launch, ascent, burst, descent, landing
    (10.0, 5.0, 30000.0, 5.0, 0.0),
    (1234.5, 4.3, 27777.0, 6.2, 350.0),
    (0.0, 7.0, 35500.0, 3.5, 0.0),
]


@pytest.mark.parametrize("launch, ascent, burst, descent, landing", STANDARD)
def test_standard_burst_and_landing_times_match_the_analytic_integrals(launch, ascent, burst, descent, landing):
    ds = st.predict(45.0, 7.0, launch, T0, ascent_rate=ascent, burst_altitude=burst, descent_rate=descent,
                    landing_altitude=landing, wind=wind())
    ev = events(ds)
    assert list(ev) == ["launch", "burst", "landing"]
    t_burst = (burst - launch) / ascent
    t_land = t_burst + fall_time(descent, burst, landing)
    assert ev["launch"] == 0.0
    assert abs(ev["burst"] - t_burst) < 1e-3
    assert abs(ev["landing"] - t_land) < 0.1  # measured: 9 ms at the default step
    np.testing.assert_allclose(ds.event_altitude.values[0], [launch, burst, landing], atol=1e-6)
    assert str(ds.end_reason.values[0]) == "landed"
    assert float(ds.end_altitude.values[0]) == pytest.approx(landing, abs=1e-6)
    assert seconds(ds.end_time.values[0]) == ev["landing"]
    # the landing point is where a uniform wind carries the balloon in that time
    ela, elo = analytic.uniform_wind_path(45.0, 7.0, 0.0, U, V, ev["landing"])
    d = great_circle_distance(ds.end_latitude.values[0], ds.end_longitude.values[0], ela, elo)
    # the winds move the balloon on the sphere of radius R + z, so the angle differs by z/R at most
    assert d < np.hypot(U, V) * ev["landing"] * burst / EARTH_RADIUS


def test_descent_rates_aloft_follow_the_density_formula():
    """From the output trajectory itself: central differences of the altitude every 2 s of the descent."""
    ds = st.predict(45.0, 7.0, 10.0, T0, ascent_rate=5.0, burst_altitude=30000.0, descent_rate=5.0, wind=wind(),
                    output_interval=2.0)
    n = int(ds.n_obs.values[0])
    t, z, stage = seconds(ds.time.values[0, :n]), ds.altitude.values[0, :n], ds.stage.values[0, :n]
    up = stage == 0
    np.testing.assert_allclose(np.diff(z[up]) / np.diff(t[up]), 5.0, rtol=1e-9)
    down = stage == 1
    td, zd = t[down], z[down]
    rate = -(zd[2:] - zd[:-2]) / (td[2:] - td[:-2])
    mid = zd[1:-1]
    expected = atm.descent_speed(5.0, mid)
    smooth = np.min(np.abs(mid[:, None] - np.array(KINKS)[None, :]), axis=1) > 100.0
    rel = np.abs(rate / expected - 1.0)
    assert rel[smooth].max() < 2e-4
    assert rel.max() < 2e-3  # a central difference across a kink of the density profile
    # 5 m/s at sea level is 18.5594 m/s at 20 km (test_atmosphere checks the law against Tawhiri's)
    at20 = np.interp(20000.0, mid[::-1], rate[::-1])
    assert at20 == pytest.approx(18.5594, rel=1.5e-4)  # measured: 5.1e-5 below (central differences, 2 s apart)
    assert mid[0] > 29800.0 and rate[0] > 35.0  # 5 m/s at sea level is 40 m/s near 30 km
    assert rate[-1] == pytest.approx(5.0, rel=1e-3)


def test_events_are_located_inside_the_step():
    """Burst at 5998 s (not a multiple of the 60 s step) and the landing are exact times inside their steps."""
    ds = st.predict(45.0, 7.0, 10.0, T0, ascent_rate=5.0, burst_altitude=30000.0, descent_rate=5.0, wind=wind())
    ev = events(ds)
    assert 5998.0 % 60.0 != 0.0
    assert ev["burst"] == pytest.approx(5998.0, abs=1e-6)
    n = int(ds.n_obs.values[0])
    t, z, stage = seconds(ds.time.values[0, :n]), ds.altitude.values[0, :n], ds.stage.values[0, :n]
    # the output has a point at the burst, and otherwise keeps the step grid
    k = int(np.argmin(np.abs(t - 5998.0)))
    assert t[k] == pytest.approx(5998.0, abs=1e-6) and z[k] == pytest.approx(30000.0, abs=1e-6)
    assert stage[k] == 0 and stage[k + 1] == 1
    grid = np.delete(t, [k, n - 1])
    np.testing.assert_allclose(grid % 60.0, 0.0, atol=1e-6)
    # the event's horizontal position is the exact one at that time: in a uniform wind the angles travelled
    # are integrals of dt / (R + z(t)), which for z = z0 + a t is the path at one effective radius
    r_eff = 5.0 * 5998.0 / np.log((EARTH_RADIUS + 30000.0) / (EARTH_RADIUS + 10.0))
    ela, elo = analytic.uniform_wind_path(45.0, 7.0, r_eff - EARTH_RADIUS, U, V, 5998.0)
    d = great_circle_distance(ds.event_latitude.values[0, 1], ds.event_longitude.values[0, 1], ela, elo)
    assert d < 1e-3  # metres
    # a coarse step finds the same burst (the ascent is linear) and nearly the same landing (measured: 0.05 s off
    # at 240 s; RK4 over the kinks of the density profile loses accuracy quickly beyond: 0.5 s at 300 s, 21 s at 600 s)
    coarse = st.predict(45.0, 7.0, 10.0, T0, ascent_rate=5.0, burst_altitude=30000.0, descent_rate=5.0,
                        wind=wind(), step=240.0)
    evc = events(coarse)
    assert evc["burst"] == pytest.approx(5998.0, abs=1e-6)
    assert evc["landing"] == pytest.approx(ev["landing"], abs=1.0)


def test_float_profile_starts_floating_at_the_end_of_the_ascent_and_stops_on_time():
    stop = "2023-01-01T05:17:23Z"  # 19043 s, not on the step grid
    ds = st.predict(45.0, 7.0, 10.0, T0, "float", ascent_rate=4.0, float_altitude=25000.0, stop=stop, wind=wind())
    ev = events(ds)
    assert list(ev) == ["launch", "float_start", "end"]
    assert ev["float_start"] == pytest.approx((25000.0 - 10.0) / 4.0, abs=1e-6)
    assert ev["end"] == 19043.0  # exactly
    assert seconds(ds.end_time.values[0]) == 19043.0
    assert str(ds.end_reason.values[0]) == "stop time reached"
    n = int(ds.n_obs.values[0])
    t, z, stage = seconds(ds.time.values[0, :n]), ds.altitude.values[0, :n], ds.stage.values[0, :n]
    assert ds.stage.attrs["flag_meanings"] == "ascent float"
    afloat = t >= ev["float_start"]
    np.testing.assert_allclose(z[afloat], 25000.0, atol=1e-6)
    assert np.all(stage[t > ev["float_start"]] == 1) and np.all(stage[t < ev["float_start"]] == 0)
    np.testing.assert_allclose(z[~afloat], 10.0 + 4.0 * t[~afloat], atol=1e-6)
    # the same stop given as a duration
    same = st.predict(45.0, 7.0, 10.0, T0, "float", ascent_rate=4.0, float_altitude=25000.0, duration=19043.0,
                      wind=wind())
    np.testing.assert_array_equal(same.end_time.values, ds.end_time.values)
    assert float(same.end_latitude.values[0]) == float(ds.end_latitude.values[0])


def test_drift_profile_holds_its_altitude_and_follows_the_wind():
    ds = st.predict([30.0, -10.0], [0.0, 100.0], [18000.0, 24000.0], T0, "drift", duration="12h", wind=wind())
    assert [str(e) for e in ds.event.values] == ["start", "end"]
    assert ds.attrs["profile"] == "drift"
    # the altitude of every output point is there (the drift's altitude parameter is stored beside it)
    assert ds.altitude.dims == ("trajectory", "obs")
    np.testing.assert_array_equal(ds.drift_altitude.values, [18000.0, 24000.0])
    for i, (lat, lon, alt) in enumerate([(30.0, 0.0, 18000.0), (-10.0, 100.0, 24000.0)]):
        n = int(ds.n_obs.values[i])
        t = seconds(ds.time.values[i, :n])
        assert t[-1] == 12 * 3600.0
        np.testing.assert_allclose(ds.altitude.values[i, :n], alt, atol=1e-9)
        ela, elo = analytic.uniform_wind_path(lat, lon, alt, U, V, t)
        d = great_circle_distance(ds.latitude.values[i, :n], ds.longitude.values[i, :n], ela, elo)
        assert d.max() < 1e-3


def test_backward_standard_runs_from_the_landing_back_to_the_launch():
    fw = st.predict(45.0, 7.0, 120.0, T0, ascent_rate=5.0, burst_altitude=30000.0, descent_rate=5.0, wind=wind())
    fev = events(fw)
    land_time = fw.end_time.values[0]
    bw = st.predict(fw.end_latitude.values[0], fw.end_longitude.values[0], 0.0, land_time, ascent_rate=5.0,
                    burst_altitude=30000.0, descent_rate=5.0, launch_altitude=120.0, backward=True, wind=wind())
    assert bw.attrs["direction"] == "backward"
    assert [str(e) for e in bw.event.values] == ["landing", "burst", "launch"]
    assert str(bw.end_reason.values[0]) == "reached the launch altitude"
    assert bw.stage.attrs["flag_meanings"] == "descent ascent"
    bev = events(bw)
    assert bev["landing"] == pytest.approx(fev["landing"], abs=1e-6)
    assert bev["burst"] == pytest.approx(fev["burst"], abs=0.1)
    assert bev["launch"] == pytest.approx(0.0, abs=0.1)
    np.testing.assert_allclose(bw.event_altitude.values[0], [0.0, 30000.0, 120.0], atol=1e-6)
    n = int(bw.n_obs.values[0])
    t = seconds(bw.time.values[0, :n])
    assert np.all(np.diff(t) < 0)  # time runs backwards
    # back where it was launched (within what 0.1 s of drift at 11 m/s covers)
    d = great_circle_distance(bw.end_latitude.values[0], bw.end_longitude.values[0], 45.0, 7.0)
    assert d < 2.0
    # the backward descent takes the analytic fall time too
    assert bev["landing"] - bev["burst"] == pytest.approx(fall_time(5.0, 30000.0, 0.0), abs=0.1)


def test_backward_float_floats_back_to_its_start_then_descends_the_ascent():
    bw = st.predict(46.0, 9.0, 25000.0, "2023-01-01T05:17:23Z", "float", ascent_rate=4.0, stop="2023-01-01T01:44:00Z",
                    launch_altitude=10.0, backward=True, wind=wind())
    assert [str(e) for e in bw.event.values] == ["start", "float_start", "launch"]
    ev = events(bw)
    assert ev["float_start"] == 6240.0
    assert ev["launch"] == pytest.approx(6240.0 - (25000.0 - 10.0) / 4.0, abs=1e-6)
    assert str(bw.end_reason.values[0]) == "reached the launch altitude"
