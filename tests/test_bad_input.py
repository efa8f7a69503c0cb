"""Bad input: each gives one clear sentence (a StratotrackError) that names the bad value and what was expected."""

import functools

import numpy as np
import pytest
import xarray as xr

import stratotrack as st
from stratotrack.errors import InputError, StratotrackError, WindDataError
from stratotrack.wind import analytic

T0 = "2023-01-01T00:00:00Z"
TIMES = np.array(["2023-01-01T00:00", "2023-01-02T00:00", "2023-01-03T00:00"], dtype="datetime64[ns]")


def base():
    """A small, valid CF wind dataset (5 degree grid, 3 altitude levels)."""
    return analytic.uniform_wind(10.0, 5.0, resolution=5.0, altitudes=(0.0, 20000.0, 40000.0))


def series():
    """A valid time series (three daily times)."""
    return analytic.solid_body_rotation(resolution=5.0, altitudes=(0.0, 20000.0, 40000.0), times=TIMES)


def pressure_levels(p_units="hPa", gh_units="gpm"):
    """A small, valid dataset on pressure levels with geopotential height (GRIB-like short names)."""
    lev = np.array([1000.0, 100.0, 10.0])
    lat, lon = np.arange(-90.0, 91.0, 10.0), np.arange(0.0, 360.0, 10.0)
    shape = (lev.size, lat.size, lon.size)
    gh = np.broadcast_to(np.array([100.0, 16000.0, 31000.0])[:, None, None], shape)
    dims = ("level", "lat", "lon")
    return xr.Dataset({"u": (dims, np.ones(shape), {"units": "m s-1"}), "v": (dims, np.ones(shape), {"units": "m s-1"}),
                       "gh": (dims, gh.copy(), {"units": gh_units})},
                      coords={"level": ("level", lev, {"units": p_units}), "lat": lat, "lon": lon})


@functools.lru_cache(maxsize=None)
def wind():
    return st.open_wind(base())


def check(err, *words):
    """One sentence, no NumPy reprs, and the given words in it."""
    msg = str(err.value)
    assert isinstance(err.value, StratotrackError)
    assert "\n" not in msg and msg.count("; ") <= 1, msg
    assert "np." not in msg and "array(" not in msg, msg
    for w in words:
        assert w in msg, (w, msg)
    return msg


def test_nan_in_the_wind_data():
    ds = base()
    v = ds.northward_wind.values.copy()
    v[1, 20, 7] = np.nan  # altitude 20000 m, latitude 10, longitude 35
    v[2, 25, 3] = np.nan  # latitude 35: the message names the first (by latitude, longitude, level)
    ds["northward_wind"] = (ds.northward_wind.dims, v, ds.northward_wind.attrs)
    with pytest.raises(WindDataError) as err:
        st.open_wind(ds)
    check(err, "northward_wind", "2 NaN", "latitude 10", "longitude 35", "level 20000", "expected finite winds")


def test_nan_in_the_geopotential_height():
    gh = pressure_levels().gh.values.copy()
    gh[1, 4, 5] = np.inf  # 100 hPa, latitude -50, longitude 50
    ds = pressure_levels()
    ds["gh"] = (ds.gh.dims, gh, ds.gh.attrs)
    with pytest.raises(WindDataError) as err:
        st.open_wind(ds)
    check(err, "gh", "NaN or infinite", "latitude -50", "longitude 50", "level 10000")


@pytest.mark.parametrize("drop, named", [
    (["northward_wind"], "no northward_wind (v)"),
    (["eastward_wind"], "no eastward_wind (u)"),
    (["eastward_wind", "northward_wind"], "no eastward_wind (u) and no northward_wind (v)"),
])
def test_missing_variables(drop, named):
    with pytest.raises(WindDataError) as err:
        st.open_wind(base().drop_vars(drop))
    check(err, named, "expected CF standard names")


def test_missing_vertical_dimension():
    with pytest.raises(WindDataError) as err:
        st.open_wind(base().isel(altitude=0))
    check(err, "expected a pressure or altitude level dimension")


@pytest.mark.parametrize("where, units, words", [
    ("eastward_wind", "K", ["eastward_wind", "'K'", "expected a speed"]),
    ("northward_wind", "furlong fortnight-1", ["northward_wind", "'furlong fortnight-1'", "expected a speed"]),
    ("altitude", "ft", ["altitude", "'ft'", "expected 'm' or 'km'"]),
])
def test_wrong_units(where, units, words):
    ds = base()
    ds[where].attrs["units"] = units
    with pytest.raises(WindDataError) as err:
        st.open_wind(ds)
    check(err, *words)


def test_wrong_units_of_pressure_and_geopotential():
    assert st.open_wind(pressure_levels()).vertical == "pressure"  # the valid one works
    with pytest.raises(WindDataError) as err:
        st.open_wind(pressure_levels(p_units="degC"))
    check(err, "pressure coordinate 'level'", "'degc'", "expected 'hPa' or 'Pa'")
    with pytest.raises(WindDataError) as err:
        st.open_wind(pressure_levels(gh_units="K"))
    check(err, "gh has units 'K'", "expected geopotential height")


@pytest.mark.parametrize("dim, order, words", [
    ("latitude", [0, 1, 3, 2, 4, 5], ["'latitude' is not sorted", "at -80.0 after -75.0"]),
    ("longitude", [0, 2, 1, 3, 4], ["'longitude' is not sorted", "at 5.0 after 10.0"]),
    ("altitude", [1, 0, 2], ["'altitude' is not sorted", "at 40000.0 after 0.0"]),
])
def test_unsorted_coordinates(dim, order, words):
    ds = base().isel({dim: order})
    with pytest.raises(WindDataError) as err:
        st.open_wind(ds)
    check(err, *words, "expected ascending or descending values")


def test_unsorted_times():
    ds = series().isel(time=[0, 2, 1])
    with pytest.raises(WindDataError) as err:
        st.open_wind(ds)
    check(err, "'time' is not sorted", "2023-01-02T00:00:00Z after 2023-01-03T00:00:00Z")


@pytest.mark.parametrize("dim, index, value", [
    ("latitude", [0, 1, 1, 2, 3], "-85.0"),
    ("longitude", [0, 1, 2, 2, 3], "10.0"),
    ("altitude", [0, 1, 1, 2], "20000.0"),
    ("time", [0, 1, 1, 2], "2023-01-02T00:00:00Z"),
])
def test_duplicated_coordinates(dim, index, value):
    ds = (series() if dim == "time" else base()).isel({dim: index})
    with pytest.raises(WindDataError) as err:
        st.open_wind(ds)
    check(err, f"'{dim}' has the duplicated value {value}", "expected distinct values")


def test_latitude_beyond_90_in_the_data():
    ds = base()
    ds = ds.assign_coords(latitude=("latitude", np.linspace(-92.5, 92.5, ds.sizes["latitude"]), ds.latitude.attrs))
    with pytest.raises(WindDataError) as err:
        st.open_wind(ds)
    check(err, "latitude -92.5 in the data", "±90")


@pytest.mark.parametrize("lat", [90.5, -91.0, [45.0, 120.0]])
def test_latitude_beyond_90_in_the_start_positions(lat):
    with pytest.raises(InputError) as err:
        st.predict(lat, 0.0, 0.0, T0, wind=wind())
    bad = np.ravel(lat)[np.abs(np.ravel(lat)) > 90][0]
    check(err, f"latitude {float(bad)!r}", "beyond ±90 degrees")


@pytest.mark.parametrize("lon", [400.0, -180.5, [10.0, 361.0]])
def test_longitude_outside_either_convention(lon):
    with pytest.raises(InputError) as err:
        st.predict(10.0, lon, 0.0, T0, wind=wind())
    bad = [x for x in np.ravel(lon) if not -180 <= x <= 360][0]
    check(err, f"longitude {float(bad)!r}", "-180..360")


@pytest.mark.parametrize("kwargs, words", [
    (dict(burst_altitude=45000.0), ["the burst altitude of 45.0 km", "levels reach 40.0 km"]),
    (dict(profile="float", float_altitude=41000.0, duration="3h"), ["the float altitude of 41.0 km"]),
    (dict(profile="drift", alt=42000.0, duration="1h"), ["the start altitude of 42.0 km"]),
])
def test_levels_that_do_not_reach_the_requested_altitude(kwargs, words):
    """With outside='stop' a flight above the data's top would end at once: refused up front (clamp warns)."""
    kwargs = {"alt": 0.0, **kwargs}
    with pytest.raises(WindDataError) as err:
        st.predict(10.0, 20.0, time=T0, wind="climatology", outside="stop", **kwargs)
    check(err, *words, "expected winds with higher levels")
    ds = st.predict(10.0, 20.0, time=T0, wind="climatology", outside="clamp", **kwargs)
    assert "clamp" in ds.attrs["warnings"]


def test_latitude_beyond_90_when_sampling():
    with pytest.raises(InputError) as err:
        wind().sample(T0, [10.0, -95.0], 0.0, 1000.0)
    check(err, "latitude -95.0", "beyond ±90 degrees")


def test_non_finite_start_position():
    with pytest.raises(InputError) as err:
        st.predict(10.0, [0.0, np.inf], 0.0, T0, wind=wind())
    check(err, "longitude inf degrees is invalid", "expected a finite number")


@pytest.mark.parametrize("kwargs, words", [
    (dict(ascent_rate=0.0), ["ascent rate 0.0 m/s"]),
    (dict(ascent_rate=-5.0), ["ascent rate -5.0 m/s"]),
    (dict(descent_rate=0.0), ["descent rate 0.0 m/s"]),
    (dict(descent_rate=-5.0), ["descent rate -5.0 m/s"]),
    (dict(ascent_rate=[5.0, -1.0]), ["ascent rate -1.0 m/s"]),
    (dict(ascent_rate=np.nan), ["ascent rate nan m/s"]),
    (dict(profile="float", ascent_rate=0.0, float_altitude=20000.0, duration="1h"), ["ascent rate 0.0 m/s"]),
    (dict(descent_rate=-5.0, backward=True), ["descent rate -5.0 m/s"]),
])
def test_negative_or_zero_rates(kwargs, words):
    with pytest.raises(InputError) as err:
        st.predict(10.0, 0.0, 100.0, T0, wind=wind(), **kwargs)
    check(err, *words, "expected a positive finite number")


@pytest.mark.parametrize("kwargs, words", [
    (dict(burst_altitude=50.0), ["burst altitude 50 m is not above the launch altitude 100 m"]),
    (dict(burst_altitude=100.0), ["burst altitude 100 m is not above the launch altitude 100 m"]),
    (dict(burst_altitude=[30000.0, 20.0]), ["burst altitude 20 m is not above the launch altitude 100 m"]),
    (dict(burst_altitude=500.0, landing_altitude=800.0), ["burst altitude 500 m is not above the landing altitude 800 m"]),
    (dict(burst_altitude=500.0, launch_altitude=900.0, backward=True),
     ["burst altitude 500 m is not above the launch altitude 900 m"]),
    (dict(profile="float", float_altitude=60.0, duration="1h"), ["float altitude 60 m is not above the launch altitude 100 m"]),
])
def test_burst_below_launch(kwargs, words):
    with pytest.raises(InputError) as err:
        st.predict(10.0, 0.0, 100.0, T0, wind=wind(), **kwargs)
    check(err, *words, "expected")


@pytest.mark.parametrize("backward", [False, True])
def test_burst_above_the_atmosphere_model(backward):
    """The drag law's density ends at 86 km; above it a descent used to 'land' 17 s after a 100 km burst, or
    fail with an internal error (NaN positions) from 178 km up."""
    with pytest.raises(InputError) as err:
        st.predict(10.0, 0.0, 0.0, T0, burst_altitude=100000.0, backward=backward, wind=wind())
    check(err, "burst altitude 100000 m is above the top of the standard atmosphere", "expected at most 86000 m")
    ds = st.predict(10.0, 0.0, 0.0, T0, burst_altitude=86000.0, wind=wind())
    assert str(ds.end_reason.values[0]) == "landed"


@pytest.mark.parametrize("time, backward", [("2022-12-31T23:00:00Z", False), ("2023-01-03T00:00:01Z", False),
                                           ("2023-01-04T00:00:00Z", True)])
def test_start_times_outside_the_data(time, backward):
    w = st.open_wind(series())
    with pytest.raises(InputError) as err:
        st.predict(10.0, 0.0, 18000.0, time, "drift", duration="1h", backward=backward, wind=w)
    check(err, f"time {time} is outside the wind data", "which covers 2023-01-01T00:00:00Z to 2023-01-03T00:00:00Z")


def test_running_out_of_the_data_times_is_named_not_silent():
    """A run that starts inside the data but outlasts it either stops there, saying why, or counts and reports
    every clamped step."""
    w = st.open_wind(series())
    stop = st.predict(10.0, 0.0, 18000.0, "2023-01-02T12:00:00Z", "drift", duration="1d", wind=w, outside="stop")
    assert str(stop.end_reason.values[0]) == "left the wind data (outside its times)"
    assert stop.end_time.values[0] == np.datetime64("2023-01-03T00:00:00", "ns")
    clamp = st.predict(10.0, 0.0, 18000.0, "2023-01-02T12:00:00Z", "drift", duration="1d", wind=w)
    assert str(clamp.end_reason.values[0]) == "stop time reached"
    counts = dict(zip([str(o) for o in clamp.outside.values], clamp.clamped_steps.values[0]))
    assert counts["outside_time"] == 12 * 60
    assert "720 steps in 1 of 1 trajectories used winds clamped outside time" in clamp.attrs["warnings"]


@pytest.mark.parametrize("kwargs, words", [
    (dict(step=0.0), ["step 0.0 s is invalid", "expected a positive number of seconds"]),
    (dict(step=-60.0), ["step -60.0 s is invalid"]),
    (dict(output_interval=-1.0), ["output interval -1.0 s is invalid"]),
    (dict(profile="drift", duration=-3600.0), ["duration -3600.0 is invalid", "expected a positive length of time"]),
    (dict(profile="drift", stop="2022-12-31T00:00:00Z"), ["stop time 2022-12-31T00:00:00Z is not after the start"]),
    (dict(profile="hover"), ["profile 'hover' is unknown", "expected one of standard, float, drift"]),
    (dict(profile="float", duration="1h"), ["the float profile needs a float altitude"]),
])
def test_other_bad_options(kwargs, words):
    with pytest.raises(InputError) as err:
        st.predict(10.0, 0.0, 18000.0, T0, wind=wind(), **kwargs)
    check(err, *words)
