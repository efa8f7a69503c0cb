"""WindField: layouts, conventions, edges, and the compiled sampler against its NumPy twin."""

import numpy as np
import pytest
import xarray as xr

import stratotrack as st
from stratotrack import atmosphere as atm
from stratotrack.wind import analytic
from stratotrack.wind.reference import sample_reference
from stratotrack.timeutil import to_epoch_seconds

LEVELS_HPA = np.array([1000.0, 500.0, 200.0, 100.0, 50.0, 20.0, 10.0])


def pressure_dataset(lat_desc=True, lon_180=False, levels_desc=True, times=None, geopotential=False):
    """A GFS-like pressure-level dataset whose winds vary smoothly in space, height and time."""
    lat = np.arange(90.0, -90.1, -2.5) if lat_desc else np.arange(-90.0, 90.1, 2.5)
    lon = np.arange(-180.0, 180.0, 2.5) if lon_180 else np.arange(0.0, 360.0, 2.5)
    lev = LEVELS_HPA if levels_desc else LEVELS_HPA[::-1]
    times = np.array(["2023-02-01T00", "2023-02-01T06", "2023-02-01T12"], dtype="datetime64[ns]") if times is None else times
    tt = ((times - times[0]) / np.timedelta64(1, "h")).astype(float)[:, None, None, None]
    la = np.deg2rad(lat)[None, None, :, None]
    lo = np.deg2rad(lon)[None, None, None, :]
    hgt = atm.geometric_to_geopotential(atm.altitude_from_pressure(lev * 100.0))[None, :, None, None]
    gh = hgt + 300.0 * np.cos(la) + 50.0 * np.sin(lo) + 10.0 * tt
    u = 20.0 * np.cos(la) + 5.0 * np.sin(2 * lo) + 0.001 * hgt + 0.5 * tt
    v = 4.0 * np.cos(lo) * np.cos(la) + 0.2 * tt
    dims = ("time", "isobaricInhPa", "latitude", "longitude")
    shape = (times.size, lev.size, lat.size, lon.size)
    hvar = ("z", gh * atm.G0, "m2 s-2") if geopotential else ("gh", gh, "gpm")
    return xr.Dataset(
        {"u": (dims, np.broadcast_to(u, shape).astype(np.float32), {"units": "m s**-1"}),
         "v": (dims, np.broadcast_to(v, shape).astype(np.float32), {"units": "m s**-1"}),
         hvar[0]: (dims, np.broadcast_to(hvar[1], shape).astype(np.float32), {"units": hvar[2]})},
        coords={"time": times, "isobaricInhPa": ("isobaricInhPa", lev, {"units": "hPa"}), "latitude": lat,
                "longitude": lon},
    )


POINTS = dict(time=["2023-02-01T01:30Z", "2023-02-01T09:00Z", "2023-02-01T11:59Z", "2023-02-01T03:00Z"],
              lat=[45.3, -12.1, 89.9, -89.99], lon=[-109.5, 179.9, 0.1, -0.01], alt=[18500.0, 20500.0, 3000.0, 30000.0])


def sample(wind, **pts):
    s = wind.sample(pts["time"], pts["lat"], pts["lon"], pts["alt"])
    return s.eastward_wind.values, s.northward_wind.values, s.outside.values


def test_climatology_is_embedded_and_monthly(climatology):
    assert climatology.time_mode == "monthly"
    assert climatology.kind == "climatology"
    assert climatology.vertical == "altitude"
    assert climatology.altitude_range == (0.0, 40000.0)
    assert "climatology" in climatology.label()


def test_climatology_interpolates_between_months_continuously(climatology):
    # at mid-month exactly, the sample equals the file's value at a grid point
    raw = xr.open_dataset(st.wind.climatology_path())
    s = climatology.sample("2023-01-15T00:00Z", 45.0, -110.0, 18000.0)
    assert float(s.eastward_wind) == pytest.approx(float(raw.eastward_wind.sel(month=1, altitude=18000, latitude=45, longitude=250)), abs=1e-3)
    # between months it is a blend; every day of the year differs little from the next (no jumps at month ends)
    days = np.datetime64("2023-01-01") + np.arange(365).astype("timedelta64[D]")
    u = climatology.sample(days, 45.0, -110.0, 18000.0).eastward_wind.values
    assert np.max(np.abs(np.diff(u))) < 1.0
    jan, feb = (float(raw.eastward_wind.sel(month=m, altitude=18000, latitude=45, longitude=250)) for m in (1, 2))
    mid = climatology.sample("2023-01-30T00:00Z", 45.0, -110.0, 18000.0).eastward_wind.item()
    assert min(jan, feb) - 1e-6 <= mid <= max(jan, feb) + 1e-6


@pytest.mark.parametrize("lat_desc", [True, False])
@pytest.mark.parametrize("lon_180", [True, False])
@pytest.mark.parametrize("levels_desc", [True, False])
def test_layouts_and_conventions_give_the_same_wind(lat_desc, lon_180, levels_desc):
    base = st.open_wind(pressure_dataset())
    other = st.open_wind(pressure_dataset(lat_desc, lon_180, levels_desc))
    for a, b in zip(sample(base, **POINTS), sample(other, **POINTS)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-5)


def test_input_longitudes_in_either_convention():
    wind = st.open_wind(pressure_dataset())
    a = wind.sample("2023-02-01T02:00Z", 40.0, -100.0, 18000.0)
    b = wind.sample("2023-02-01T02:00Z", 40.0, 260.0, 18000.0)
    c = wind.sample("2023-02-01T02:00Z", 40.0, -460.0, 18000.0)
    assert float(a.eastward_wind) == pytest.approx(float(b.eastward_wind)) == pytest.approx(float(c.eastward_wind))


def test_geopotential_in_m2s2_equals_geopotential_height():
    a = st.open_wind(pressure_dataset())
    b = st.open_wind(pressure_dataset(geopotential=True))
    for x, y in zip(sample(a, **POINTS), sample(b, **POINTS)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-4)


def test_altitude_maps_to_pressure_through_geopotential_height():
    ds = pressure_dataset()
    wind = st.open_wind(ds)
    # at a grid point and a time of the data, the altitude of the 50 hPa surface gives the 50 hPa wind
    gh = float(ds.gh.sel(isobaricInhPa=50, latitude=40, longitude=260).isel(time=1))
    z = float(atm.geopotential_to_geometric(gh))
    s = wind.sample(ds.time.values[1], 40.0, 260.0, z)
    assert float(s.eastward_wind) == pytest.approx(float(ds.u.sel(isobaricInhPa=50, latitude=40, longitude=260).isel(time=1)), abs=1e-4)


def test_without_geopotential_height_the_standard_atmosphere_is_used_and_said():
    ds = pressure_dataset().drop_vars("gh")
    wind = st.open_wind(ds)
    assert any("standard atmosphere" in n for n in wind.notes)
    z = float(atm.altitude_from_pressure(5000.0))
    s = wind.sample(ds.time.values[0], 40.0, 260.0, z)
    assert float(s.eastward_wind) == pytest.approx(float(ds.u.sel(isobaricInhPa=50, latitude=40, longitude=260).isel(time=0)), abs=1e-4)


def test_single_time_is_steady_and_reported():
    ds = pressure_dataset().isel(time=[0])
    wind = st.open_wind(ds)
    assert wind.time_mode == "steady"
    assert any("steady" in n for n in wind.notes)
    a = wind.sample("2023-02-01T00:00Z", 40.0, 260.0, 18000.0)
    b = wind.sample("2030-07-01T00:00Z", 40.0, 260.0, 18000.0)
    assert float(a.eastward_wind) == float(b.eastward_wind)
    assert int(b.outside) == 0


def test_time_interpolation_is_linear():
    wind = st.open_wind(pressure_dataset())
    times = ["2023-02-01T00:00Z", "2023-02-01T03:00Z", "2023-02-01T06:00Z"]
    # v grows linearly in time by 0.2 m/s per hour at a fixed pressure; sample on the 50 hPa surface at a grid point
    u = wind.sample(times, 0.0, 0.0, 20000.0).northward_wind.values
    assert u[1] == pytest.approx(0.5 * (u[0] + u[2]), abs=1e-4)


def test_poles_antimeridian_and_edges_are_finite_and_flagged():
    wind = st.open_wind(pressure_dataset())
    s = wind.sample("2023-02-01T02:00Z", [90.0, -90.0, 89.99, 0.0, 0.0, 0.0, 10.0],
                    [0.0, 123.0, 179.99, 180.0, -180.0, 359.999, 20.0], [20000.0] * 6 + [60000.0])
    assert np.all(np.isfinite(s.eastward_wind.values)) and np.all(np.isfinite(s.northward_wind.values))
    assert s.eastward_wind.values[3] == pytest.approx(s.eastward_wind.values[4])
    assert list(s.outside.values[:6]) == [0] * 6
    assert s.outside.values[6] == 1  # above the data
    late = wind.sample("2023-02-03T00:00Z", 10.0, 10.0, 20000.0)
    assert int(late.outside) == 4  # outside the times


def test_regional_field_flags_points_outside_and_crosses_antimeridian():
    ds = pressure_dataset().sel(latitude=slice(70, 20))
    ds = ds.isel(longitude=((ds.longitude >= 160) & (ds.longitude <= 220)).values)
    ds = ds.assign_coords(longitude=((ds.longitude + 180) % 360) - 180).sortby("longitude")  # -180..-140 + 160..177.5
    ds = ds.roll(longitude=0)
    east = pressure_dataset().sel(latitude=slice(70, 20))
    east = east.isel(longitude=((east.longitude >= 160) & (east.longitude <= 220)).values)
    wind = st.open_wind(east)
    assert not wind.is_global
    s = wind.sample("2023-02-01T02:00Z", [40.0, 40.0, 40.0, 10.0], [175.0, -175.0, 100.0, 180.0], 18000.0)
    assert list(s.outside.values) == [0, 0, 8, 8]
    glob = st.open_wind(pressure_dataset()).sample("2023-02-01T02:00Z", [40.0, 40.0], [175.0, -175.0], 18000.0)
    np.testing.assert_allclose(s.eastward_wind.values[:2], glob.eastward_wind.values, rtol=1e-6)


@pytest.mark.parametrize("vertical_wind", [False, True], ids=["u, v", "u, v, w"])
def test_compiled_sampler_matches_numpy_reference(vertical_wind):
    """Both layouts of the prepared columns: (height, u, v) and (height, u, v, w) per level."""
    ds = pressure_dataset()
    if vertical_wind:
        ds["wa"] = (ds.u.dims, (0.01 * ds.v.values + 0.002 * np.arange(ds.u.shape[1])[None, :, None, None]
                                ).astype(np.float32), {"standard_name": "upward_air_velocity", "units": "m s-1"})
    wind = st.open_wind(ds)
    assert wind.data.shape[-1] == (4 if vertical_wind else 3)
    rng = np.random.default_rng(7)
    n = 2000
    t = to_epoch_seconds("2023-02-01T00:00Z") + rng.uniform(-3600, 13 * 3600, n)
    lat = rng.uniform(-90, 90, n)
    lon = rng.uniform(-400, 400, n)
    z = rng.uniform(-500, 35000, n)
    s = wind.sample(t.astype("datetime64[s]"), lat, lon, z)
    u, v, _w, f = sample_reference(wind, np.floor(t), lat, lon, z)
    np.testing.assert_allclose(s.eastward_wind.values, u, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(s.northward_wind.values, v, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(s.upward_air_velocity.values, _w, rtol=1e-9, atol=1e-12)
    if vertical_wind:
        assert np.ptp(_w) > 0.1
    np.testing.assert_array_equal(s.outside.values, f)


def test_analytic_fields_are_cf():
    ds = analytic.solid_body_rotation(resolution=5.0)
    assert ds.eastward_wind.attrs["standard_name"] == "eastward_wind"
    wind = st.open_wind(ds)
    assert wind.vertical == "altitude" and wind.time_mode == "steady"
