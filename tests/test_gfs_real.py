"""Real data: a GFS forecast field (2.5 degrees, 26 pressure levels), read from ../shared beside the checkout.

Every test here reads ../shared/data/gfs/gfs.t12z.pgrbf120.2p5deg.grib2 through the ``shared_data`` fixture.
"""

import numpy as np
import pytest
import xarray as xr

import stratotrack as st
from stratotrack import atmosphere as atm
from stratotrack.geodesy import EARTH_RADIUS, great_circle_distance

GFS = "gfs/gfs.t12z.pgrbf120.2p5deg.grib2"
VALID = np.datetime64("2011-01-15T12:00:00", "s")
# tropics, both mid-latitudes, the jets, the antimeridian and both polar caps
LAT = np.array([0.0, 45.0, -30.0, 60.0, -60.0, 20.0, 75.0, -80.0])
LON = np.array([30.0, -100.0, 150.0, 10.0, -70.0, 178.0, 100.0, 0.0])


@pytest.fixture(scope="module")
def gfs(shared_data):
    """The GFS file from ../shared prepared as a WindField, and its 50 hPa messages read on their own."""
    path = shared_data / GFS
    wind = st.open_wind(path)
    level = xr.open_dataset(path, engine="cfgrib", decode_timedelta=True, backend_kwargs={
        "filter_by_keys": {"typeOfLevel": "isobaricInhPa", "level": 50}, "indexpath": ""}).load()
    return wind, level


@pytest.mark.shared
def test_gfs_field_loads(gfs):
    """Reads ../shared: the GRIB2 file opens as a global, steady, 26-level pressure field whose samples at the
    grid points of the 50 hPa surface are the GRIB's own winds."""
    wind, level = gfs
    assert wind.vertical == "pressure"
    assert wind.time_mode == "steady" and wind.valid_time == VALID
    assert wind.is_global and wind.lat_uniform
    assert wind.data.shape == (1, 73, 144, 26, 3)
    np.testing.assert_allclose(wind.levels[[0, -1]], [100000.0, 1000.0])
    lo, hi = wind.altitude_range
    assert -1000.0 < lo < 500.0 and 30000.0 < hi < 33000.0  # 1000 hPa near sea level, 10 hPa near 31 km
    assert "steady" in wind.label() and "2011-01-15T12:00:00Z" in wind.label()
    # at grid points, on the height of the 50 hPa surface there, the sample is the 50 hPa wind
    rng = np.random.default_rng(7)
    j, i = rng.integers(1, 72, 30), rng.integers(0, 144, 30)
    lat, lon = level.latitude.values[j], level.longitude.values[i]
    z = atm.geopotential_to_geometric(level.gh.values[j, i].astype(float))
    s = wind.sample(VALID, lat, lon, z)
    assert np.all(s.outside.values == 0)
    np.testing.assert_allclose(s.eastward_wind.values, level.u.values[j, i], rtol=1e-5, atol=2e-4)
    np.testing.assert_allclose(s.northward_wind.values, level.v.values[j, i], rtol=1e-5, atol=2e-4)


@pytest.mark.shared
def test_gfs_three_day_drift_at_50_hpa_moves_at_the_sampled_wind_speed(gfs):
    """Reads ../shared: 3-day drifts at the height of the 50 hPa surface (from the GRIB geopotential height at
    each start, ~20.6 km in the tropics); the speed between consecutive output points equals the wind speed
    sampled there."""
    wind, level = gfs
    gh = level.gh.interp(latitude=xr.DataArray(LAT), longitude=xr.DataArray(LON % 360.0)).values
    alt = atm.geopotential_to_geometric(gh)
    assert alt[0] == pytest.approx(20650.0, abs=100.0)  # the tropical 50 hPa surface
    assert np.all((19000.0 < alt) & (alt < 21500.0))
    ds = st.predict(LAT, LON, alt, VALID, "drift", duration="3d", wind=wind)
    assert list(ds.end_reason.values) == ["stop time reached"] * LAT.size
    assert ds.clamped_steps.values.sum() == 0
    assert "used as steady" in ds.attrs["warnings"]
    n = int(ds.n_obs.values[0])
    assert np.all(ds.n_obs.values == n) and n == 3 * 1440 + 1
    la, lo, z = ds.latitude.values, ds.longitude.values, ds.altitude.values
    np.testing.assert_allclose(z, np.broadcast_to(alt[:, None], z.shape), atol=1e-6)
    t = (ds.time.values - ds.time.values[:, :1]) / np.timedelta64(1, "s")
    # speed on the sphere the engine moves on (radius R + z) between consecutive points, 60 s apart
    speed = great_circle_distance(la[:, :-1], lo[:, :-1], la[:, 1:], lo[:, 1:], EARTH_RADIUS + z[:, :-1]) / np.diff(t)
    s = wind.sample(ds.time.values, la, lo, z)
    assert np.all(s.outside.values == 0)
    wind_speed = np.hypot(s.eastward_wind.values, s.northward_wind.values)
    expected = 0.5 * (wind_speed[:, :-1] + wind_speed[:, 1:])
    rel = np.abs(speed / expected - 1.0)
    assert rel.max() < 5e-4  # measured: 1.08e-4 at most
    assert np.median(rel) < 1e-7  # measured: 1.3e-8
    # real stratospheric winds (a strong polar-night jet in the north), and every balloon went somewhere
    assert expected.mean() > 5.0 and expected.max() > 30.0
    assert np.all(great_circle_distance(la[:, 0], lo[:, 0], la[:, -1], lo[:, -1]) > 100e3)
