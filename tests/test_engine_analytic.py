"""The engine on analytic wind fields with exact answers: accuracy, convergence orders, poles, the antimeridian,
forward-then-backward round trips and output points inside a step.

Every field here is a CF Dataset built in the test by :mod:`stratotrack.wind.analytic`; every expected position
comes from the closed-form path of that field.  Errors are great-circle distances on the sphere the engine moves
on (radius EARTH_RADIUS + altitude), relative to the distance travelled.
"""

import functools

import numpy as np
import pytest

import stratotrack as st
from stratotrack.geodesy import EARTH_RADIUS, great_circle_distance, path_length
from stratotrack.wind import analytic

T0 = "2023-01-01T00:00:00Z"
ALT = 18000.0
RADIUS = EARTH_RADIUS + ALT
DAY = 86400.0
ACCEL_TIMES = np.array(["2023-01-01T00:00", "2023-01-05T00:00"], dtype="datetime64[ns]")
#: doubles the rotation rate in two days (rad/s2)
ACCEL = 2 * np.pi / (10 * DAY) / (2 * DAY)


@functools.lru_cache(maxsize=None)
def uniform(u, v, resolution=0.5):
    return st.open_wind(analytic.uniform_wind(u, v, resolution=resolution))


@functools.lru_cache(maxsize=None)
def rotation(axis_lat, axis_lon, resolution=0.5, accelerating=False):
    kw = dict(times=ACCEL_TIMES, acceleration=ACCEL) if accelerating else {}
    return st.open_wind(analytic.solid_body_rotation(axis_lat, axis_lon, 10.0, resolution=resolution, **kw))


def drift(wind, lat, lon, duration, step=60.0, **kw):
    return st.predict(np.asarray(lat, float), np.asarray(lon, float), ALT, T0, "drift", duration=duration,
                      wind=wind, step=step, **kw)


def lengths(ds):
    return np.array([path_length(ds.latitude.values[i], ds.longitude.values[i], RADIUS)
                     for i in range(ds.sizes["trajectory"])])


def end_error(ds, lat, lon):
    return great_circle_distance(ds.end_latitude.values, ds.end_longitude.values, lat, lon, RADIUS)


def order(coarse, fine, ratio=2.0):
    return np.log(coarse / fine) / np.log(ratio)


# -- cases with exact answers ------------------------------------------------------------------------------------
def _uniform_case(u, v, lat, lon, duration):
    def exact():
        return analytic.uniform_wind_path(lat, lon, ALT, u, v, duration)
    return uniform(u, v), lat, lon, duration, exact


def _rotation_case(axis_lat, axis_lon, lat, lon, duration, accelerating=False):
    def exact():
        return analytic.solid_body_path(np.asarray(lat), np.asarray(lon), duration, axis_lat, axis_lon, 10.0,
                                        acceleration=ACCEL if accelerating else 0.0)
    return rotation(axis_lat, axis_lon, accelerating=accelerating), lat, lon, duration, exact


CASES = {
    # a loxodrome with a northward component that crosses the antimeridian eastwards
    "uniform, across the antimeridian": lambda: _uniform_case(25.0, 10.0, 40.0, 170.0, 2 * DAY),
    # the same law poleward of 70 degrees (the Cartesian stepping), spiralling towards the pole
    "uniform, polar cap": lambda: _uniform_case(20.0, 10.0, 72.0, -30.0, 0.75 * DAY),
    # rotation about a tilted axis: paths through the tropics, mid-latitudes and past 70 degrees
    "rotation about (10, -60)": lambda: _rotation_case(10.0, -60.0, [40.0, 0.0, -30.0, 20.0],
                                                       [120.0, 170.0, 30.0, -100.0], 3 * DAY),
    # axis on the equator: the paths run along meridians straight over the poles
    "rotation over the poles": lambda: _rotation_case(0.0, 30.0, [60.0, 75.0, -60.0], [120.0, 120.0, -60.0], 3 * DAY),
    # axis at low latitude: paths pass within 0.4 and 3 degrees of the north pole
    "rotation near the pole": lambda: _rotation_case(3.0, 30.0, [60.0, 0.0], [120.0, 120.0], 3 * DAY),
    # angular rate growing in time (a time series, linear in time), axis near the antimeridian
    "accelerating rotation": lambda: _rotation_case(20.0, -150.0, [60.0, 0.0, -20.0, 45.0],
                                                    [120.0, 170.0, 0.0, -179.0], 3 * DAY, accelerating=True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_end_point_error_at_the_default_step(case):
    wind, lat, lon, duration, exact = CASES[case]()
    ds = drift(wind, lat, lon, duration)  # default step 60 s, 0.5 degree grid
    assert ds.attrs["step_seconds"] == 60.0
    assert set(ds.end_reason.values) == {"stop time reached"}
    assert ds.clamped_steps.values.sum() == 0
    ela, elo = exact()
    rel = end_error(ds, ela, elo) / lengths(ds)
    assert np.all(lengths(ds) > 1.0e6)  # each travelled more than 1000 km
    # measured: 9.4e-6 at most for solid-body rotation (the bilinear grid), 1.2e-12 for the uniform field
    assert np.all(rel < (1e-11 if case.startswith("uniform") else 3e-5)), rel
    assert np.all(np.abs(ds.altitude.values[np.isfinite(ds.altitude.values)] - ALT) < 1e-6)


def test_pole_cases_really_reach_the_poles():
    wind, lat, lon, duration, _ = CASES["rotation over the poles"]()
    ds = drift(wind, lat, lon, duration)
    top = np.nanmax(np.abs(ds.latitude.values), axis=1)
    assert np.all(top > 89.99)  # straight over a pole (each path crosses one)
    wind, lat, lon, duration, _ = CASES["rotation near the pole"]()
    top = np.nanmax(np.abs(drift(wind, lat, lon, duration).latitude.values), axis=1)
    np.testing.assert_allclose(top, [89.6, 87.0], atol=0.05)


def test_antimeridian_crossing_is_continuous():
    wind, lat, lon, duration, exact = CASES["uniform, across the antimeridian"]()
    ds = drift(wind, lat, lon, duration)
    lo = ds.longitude.values[0]
    lo = lo[np.isfinite(lo)]
    assert lo.min() >= -180.0 and lo.max() < 180.0
    assert (lo > 175).any() and (lo < -175).any()  # it did cross
    jumps = np.abs(np.diff(np.unwrap(np.radians(lo))))
    assert np.degrees(jumps).max() < 0.1  # 25 m/s for 60 s is 0.02 degrees of longitude here
    # every output point, not only the end, is on the exact loxodrome
    t = (ds.time.values[0] - ds.time.values[0, 0]) / np.timedelta64(1, "s")
    ok = np.isfinite(t)
    ela, elo = analytic.uniform_wind_path(40.0, 170.0, ALT, 25.0, 10.0, t[ok])
    err = great_circle_distance(ds.latitude.values[0][ok], lo, ela, elo, RADIUS)
    assert err.max() < 1e-3  # metres


def test_regional_field_spanning_the_antimeridian():
    """A limited-area field with longitudes 150..230 (0-360 convention) carries a particle across 180 without
    leaving the data, whatever convention the start longitude uses."""
    ds = analytic.uniform_wind(20.0, 0.0, resolution=0.5).sel(longitude=slice(150.0, 230.0),
                                                                latitude=slice(0.0, 60.0))
    wind = st.open_wind(ds)
    assert not wind.is_global
    # one start west of the antimeridian, one east of it given in the 0..360 convention (182 = -178)
    out = st.predict([30.0, 30.0], [170.0, 182.0], ALT, T0, "drift", duration="1d", wind=wind, outside="stop")
    assert list(out.end_reason.values) == ["stop time reached"] * 2
    assert out.clamped_steps.values.sum() == 0
    ela, elo = analytic.uniform_wind_path(30.0, np.array([170.0, -178.0]), ALT, 20.0, 0.0, DAY)
    assert elo[0] < -170.0  # the end is east of the antimeridian
    assert end_error(out, ela, elo).max() < 1e-3
    # and a particle that drifts out of the region is stopped at its edge, not carried on silently
    gone = st.predict(30.0, 225.0, ALT, T0, "drift", duration="1d", wind=wind, outside="stop")
    assert str(gone.end_reason.values[0]) == "left the wind data (outside its region)"
    assert -135.0 < float(gone.end_longitude.values[0]) <= -130.0 + 1e-9


# -- convergence orders ------------------------------------------------------------------------------------------
def test_time_step_order_is_four_on_a_uniform_wind():
    """Uniform wind with a northward component, 50N -> 65.5N: the grid interpolation is exact, so the error is
    the time integration's alone.  Measured errors 4.6e-3, 2.9e-4, 1.8e-5 m (orders 4.0, 4.0)."""
    u, v = 40.0, 20.0
    wind = uniform(u, v)
    ela, elo = analytic.uniform_wind_path(50.0, -170.0, ALT, u, v, DAY)
    errors = []
    for step in (3600.0, 1800.0, 900.0):
        ds = drift(wind, 50.0, -170.0, DAY, step=step)
        assert np.nanmax(np.abs(ds.latitude.values)) < 70.0  # the (lat, lon) stepping throughout
        errors.append(float(end_error(ds, ela, elo)[0]))
    orders = [order(a, b) for a, b in zip(errors, errors[1:])]
    assert errors[0] > 1e-3  # large enough to be above rounding
    assert all(3.6 < q < 4.4 for q in orders), (errors, orders)


def test_grid_order_is_two_for_solid_body_rotation():
    """Bilinear interpolation of a rotation field: halving the grid spacing divides the error by 4 (step 60 s, so
    the time error is negligible).  Measured relative errors ~1.3e-4, 3.3e-5, 8e-6 at 2, 1 and 0.5 degrees."""
    lat, lon = [40.0, 0.0, -30.0, 20.0], [120.0, 170.0, 30.0, -100.0]
    ela, elo = analytic.solid_body_path(np.array(lat), np.array(lon), 3 * DAY, 10.0, -60.0, 10.0)
    errors = []
    for res in (2.0, 1.0, 0.5):
        ds = drift(rotation(10.0, -60.0, resolution=res), lat, lon, 3 * DAY)
        errors.append(end_error(ds, ela, elo) / lengths(ds))
    orders = [order(a, b) for a, b in zip(errors, errors[1:])]
    assert np.all(errors[-1] < 1e-4)
    for q in orders:
        assert np.all((1.7 < q) & (q < 2.4)), orders


def test_grid_order_is_two_for_the_accelerating_rotation():
    lat, lon = [60.0, 0.0, -20.0], [120.0, 170.0, 0.0]
    ela, elo = analytic.solid_body_path(np.array(lat), np.array(lon), 3 * DAY, 20.0, -150.0, 10.0, acceleration=ACCEL)
    errors = []
    for res in (2.0, 1.0, 0.5):
        ds = drift(rotation(20.0, -150.0, resolution=res, accelerating=True), lat, lon, 3 * DAY)
        errors.append(end_error(ds, ela, elo) / lengths(ds))
    for a, b in zip(errors, errors[1:]):
        assert np.all((1.7 < order(a, b)) & (order(a, b) < 2.4)), errors
    # the field really accelerates: the path is longer than a steady rotation would make it
    steady = drift(rotation(20.0, -150.0, resolution=0.5), lat, lon, 3 * DAY)
    assert np.all(lengths(ds) > 1.2 * lengths(steady))


def test_time_step_order_is_four_in_the_polar_cap():
    """Rotation about an equatorial axis along grid meridians: the wind along the path is exact on the grid
    (constant speed along a great circle over the pole), so only the time integration errs.  The rotation is fast
    (one turn a day) and the particles stay poleward of 70 degrees (72N -> pole -> 78N), so every step is a
    Cartesian one and the time error stands well above the ~1 cm floor of float32 winds.  Measured errors 48, 3.1,
    0.21 m (orders 3.97, 3.90); the former tangent-plane/exponential-map step was second order here."""
    wind = st.open_wind(analytic.solid_body_rotation(0.0, 30.0, 1.0, resolution=0.5))
    lat, lon = np.array([72.0, -72.0]), np.array([120.0, -60.0])
    duration = 7200.0
    ela, elo = analytic.solid_body_path(lat, lon, duration, 0.0, 30.0, 1.0)
    errors = []
    for s in (3600.0, 1800.0, 900.0):
        ds = drift(wind, lat, lon, duration, step=s)
        assert np.nanmin(np.abs(ds.latitude.values)) >= 70.0
        errors.append(end_error(ds, ela, elo))
    orders = [order(a, b) for a, b in zip(errors, errors[1:])]
    assert np.all(errors[-1] > 0.05)  # above rounding
    assert all(np.all((3.6 < q) & (q < 4.4)) for q in orders), (errors, orders)


# -- forward, then backward -----------------------------------------------------------------------------------------
ROUND_TRIPS = {
    "uniform": (lambda: uniform(30.0, 12.0), [60.0, 0.0, -30.0, 45.0, 75.0], [120.0, 179.5, 30.0, -179.0, 10.0], "1d"),
    "rotation near the pole": (lambda: rotation(5.0, 100.0), [60.0, 0.0, -30.0, 45.0, 80.0],
                               [120.0, 179.5, 30.0, -179.0, 10.0], "3d"),
    "accelerating rotation": (lambda: rotation(20.0, -150.0, accelerating=True), [60.0, 0.0, -30.0, 45.0, 80.0],
                              [120.0, 179.5, 30.0, -179.0, 10.0], "3d"),
}


@pytest.mark.parametrize("name", list(ROUND_TRIPS))
def test_forward_then_backward_returns_to_the_start(name):
    make, lat, lon, duration = ROUND_TRIPS[name]
    wind = make()
    fw = drift(wind, lat, lon, duration)
    bw = st.predict(fw.end_latitude.values, fw.end_longitude.values, fw.end_altitude.values, fw.end_time.values,
                    "drift", duration=duration, backward=True, wind=wind)
    assert bw.attrs["direction"] == "backward"
    assert set(bw.end_reason.values) == {"stop time reached"}
    np.testing.assert_array_equal(bw.end_time.values, fw.time.values[:, 0])
    length = lengths(fw)
    assert np.all(length > 2.0e6)
    back = great_circle_distance(bw.end_latitude.values, bw.end_longitude.values, lat, lon, RADIUS)
    assert np.all(back / length < 5e-11), back / length  # measured: 4.7e-12 at most (13 um after 2,800 km)
    # the backward path retraces the forward one point by point (same output times, reversed)
    for i in range(len(lat)):
        n = int(fw.n_obs.values[i])
        assert int(bw.n_obs.values[i]) == n
        np.testing.assert_array_equal(bw.time.values[i, :n], fw.time.values[i, :n][::-1])
        d = great_circle_distance(bw.latitude.values[i, :n], bw.longitude.values[i, :n],
                                  fw.latitude.values[i, :n][::-1], fw.longitude.values[i, :n][::-1], RADIUS)
        assert d.max() / length[i] < 5e-11  # measured: 4.7e-12 at most


# -- output points inside a step ------------------------------------------------------------------------------------
def test_output_points_inside_steps_are_on_the_exact_path():
    """An output interval that does not divide the step: points inside a step come from partial RK4 steps."""
    u, v = 30.0, -15.0
    ds = st.predict(35.0, 100.0, ALT, T0, "drift", duration="6h", wind=uniform(u, v), step=600.0,
                    output_interval=45.0)
    t = (ds.time.values[0] - ds.time.values[0, 0]) / np.timedelta64(1, "s")
    t = t[np.isfinite(t)]
    np.testing.assert_allclose(np.diff(t), 45.0)  # 21600 s is a multiple of 45 s
    assert t[-1] == 6 * 3600.0
    n = t.size
    ela, elo = analytic.uniform_wind_path(35.0, 100.0, ALT, u, v, t)
    err = great_circle_distance(ds.latitude.values[0, :n], ds.longitude.values[0, :n], ela, elo, RADIUS)
    assert err.max() < 0.01  # metres, after 650 km
