"""The compiled engine against its plain NumPy twin, stratotrack.engine.reference.rk4_reference.

Both take the same RK4 steps (lat/lon stepping, and Cartesian great-circle stepping poleward of 70 degrees), so
they must agree to rounding: ~1e-9 of the distance travelled, on an analytic field and on a pressure-level field
with geopotential heights, a time axis and an irregular latitude grid, for every vertical-motion model, forward
and backward, with particles that cross the poles and the antimeridian.
"""

import functools

import numpy as np
import pytest
import xarray as xr

import stratotrack as st
from stratotrack import atmosphere as atm
from stratotrack.engine import Integrator
from stratotrack.engine.kernels import BLOCK, POLAR_LATITUDE, locality_order
from stratotrack.engine.reference import rk4_reference
from stratotrack.flight import Profile, Stage
from stratotrack.geodesy import EARTH_RADIUS, great_circle_distance, path_length
from stratotrack.timeutil import to_epoch_seconds
from stratotrack.wind import analytic

T0 = float(to_epoch_seconds("2023-02-01T01:00:00Z"))
# tropics, mid-latitudes, across the antimeridian, just below and above the polar switch, next to both poles
LAT = np.array([0.0, 45.3, -33.0, 12.0, 69.95, 70.5, 78.0, -84.0, 89.7, -89.9])
LON = np.array([10.0, -120.0, 179.8, -179.7, 30.0, 100.0, -60.0, 150.0, 0.0, -45.0])


def pressure_dataset():
    """GFS-like pressure levels: winds varying in space, height and time; geopotential height that varies with
    place and time; a non-uniform (Gaussian-like) latitude axis, north to south; 0..360 longitudes.

    The wind is a continuous vector field on the sphere (terms that depend on longitude vanish at the poles, plus
    a rotation about a tilted axis that crosses them), as real winds are: a field whose wind at a pole depends on
    the longitude would separate neighbouring paths there and amplify rounding."""
    lat = np.degrees(np.arcsin(np.linspace(1.0, -1.0, 61)))  # irregular spacing, exactly +-90 at the ends
    lon = np.arange(0.0, 360.0, 3.0)
    lev = np.array([1000.0, 700.0, 500.0, 300.0, 200.0, 100.0, 70.0, 50.0, 30.0, 20.0, 10.0])
    times = np.array(["2023-02-01T00", "2023-02-01T12", "2023-02-02T00", "2023-02-02T12"], dtype="datetime64[ns]")
    tt = ((times - times[0]) / np.timedelta64(1, "h")).astype(float)[:, None, None, None]
    rot = analytic.solid_body_rotation(35.0, 40.0, 1.0, resolution=3.0, altitudes=(0.0,))
    scale = 15.0 / float(np.abs(rot.eastward_wind).max())  # 15 m/s on the rotation's equator
    ur = rot.eastward_wind.values[0, ::-1] * scale  # analytic grids run south to north on the same longitudes
    vr = rot.northward_wind.values[0, ::-1] * scale
    ur, vr = (xr.DataArray(x, coords={"latitude": np.arange(90.0, -90.1, -3.0), "longitude": lon})
              .interp(latitude=lat).values[None, None] for x in (ur, vr))
    c = np.cos(np.radians(lat))[None, None, :, None]
    lo = np.radians(lon)[None, None, None, :]
    std = atm.geometric_to_geopotential(atm.altitude_from_pressure(lev * 100.0))[None, :, None, None]
    gh = std + 300.0 * c + 80.0 * np.sin(lo) * c + 5.0 * tt
    u = c * (25.0 * c + 8.0 * np.sin(2 * lo) * c + 0.0008 * std + 0.4 * tt) + ur
    v = 6.0 * np.cos(lo + 0.05 * tt) * c + vr
    shape = (times.size, lev.size, lat.size, lon.size)
    dims = ("time", "isobaricInhPa", "latitude", "longitude")
    return xr.Dataset(
        {"u": (dims, np.broadcast_to(u, shape).astype(np.float32), {"units": "m s**-1"}),
         "v": (dims, np.broadcast_to(v, shape).astype(np.float32), {"units": "m s**-1"}),
         "gh": (dims, np.broadcast_to(gh, shape).astype(np.float32), {"units": "gpm"})},
        coords={"time": times, "isobaricInhPa": ("isobaricInhPa", lev, {"units": "hPa"}), "latitude": lat,
                "longitude": lon},
    )


@functools.lru_cache(maxsize=None)
def field(name):
    if name == "pressure levels":
        return st.open_wind(pressure_dataset())
    times = np.array(["2023-02-01T00", "2023-02-03T00"], dtype="datetime64[ns]")
    return st.open_wind(analytic.solid_body_rotation(5.0, 100.0, 2.0, resolution=1.0, times=times,
                                                     acceleration=2e-10))


MODELS = {
    # name: (stage, reference model code, reference params, (start altitude, steps) forward, backward)
    "hold altitude (target)": (Stage("drift", "target", (None, 60.0, 5.0, 5.0), "none", None, "end"), 2,
                               (0.0, 60.0, 5.0, 5.0), (18500.0, 120), (18500.0, 25)),
    "ascent (rate)": (Stage("ascent", "rate", (4.5,), "none", None, "end"), 0, (4.5,), (300.0, 120), (15000.0, 25)),
    # falling from 29 km for 30 min; backward, rising from 1 km for 20 min (to ~14 km)
    "descent (drag)": (Stage("descent", "drag", (6.0,), "none", None, "end"), 1, (6.0,), (29000.0, 15), (1000.0, 10)),
}


def engine(wind, stage, alt, h, nsteps):
    """Whole steps of one stage through the compiled Integrator (one output point per step)."""
    n = LAT.size
    z = np.full(n, alt)
    if stage.model == "target":
        stage = Stage(stage.name, stage.model, (z,) + stage.params[1:], stage.terminator, stage.value, stage.event)
    codes, vals = Profile("test", [stage]).encode(n)
    t0 = np.full(n, T0)
    integ = Integrator(wind, t0, LAT, LON, z, codes, vals, t0 + h * nsteps, step=abs(h), backward=h < 0)
    integ.run()
    raw = integ.result()
    assert np.all(raw.n_obs == nsteps + 1)
    assert np.all(raw.status == 2)  # ended at the run's end time, as asked
    return raw.lat.T, raw.lon.T, raw.alt.T


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("wind_name", ["analytic rotation", "pressure levels"])
@pytest.mark.parametrize("h", [120.0, -120.0], ids=["forward", "backward"])
def test_compiled_engine_matches_the_numpy_reference(wind_name, model, h):
    wind = field(wind_name)
    stage, code, params, forward, backward = MODELS[model]
    alt, nsteps = forward if h > 0 else backward  # the fields start 1 h before T0
    ela, elo, ez = engine(wind, stage, alt, h, nsteps)
    rla, rlo, rz = rk4_reference(wind, T0, LAT, LON, np.full(LAT.size, alt), h, nsteps, model=code, params=params)
    assert ela.shape == rla.shape == (nsteps + 1, LAT.size)
    lengths = np.array([path_length(rla[:, i], rlo[:, i]) for i in range(LAT.size)])
    assert np.all(lengths > 1e3) and np.median(lengths) > 1e4  # each particle moved, most by tens of km
    d = great_circle_distance(ela, elo, rla, rlo)
    assert np.all(d.max(axis=0) / lengths < 1e-9), d.max(axis=0) / lengths
    np.testing.assert_allclose(ez, rz, rtol=1e-12, atol=1e-7)
    if stage.model != "target":
        assert np.ptp(ez) > 1000.0  # the altitude did change
    # the comparison covered the Cartesian stepping near the poles and crossed the antimeridian
    assert (np.abs(rla) >= POLAR_LATITUDE).any(axis=0).sum() >= 4
    if h > 0:
        assert np.any(np.abs(np.diff(rlo, axis=0)) > 180.0)


def test_a_particle_crossing_a_pole_agrees_with_the_reference():
    """Straight over the north pole (rotation about an equatorial axis), with big steps so that each step
    spans the pole region in a few steps."""
    wind = st.open_wind(analytic.solid_body_rotation(0.0, 30.0, 2.0, resolution=1.0))
    lat, lon = np.array([80.0, 85.0, -80.0]), np.array([120.0, 121.0, -60.0])
    n, h = lat.size, 600.0
    stage = Stage("drift", "target", (np.full(n, 20000.0), 60.0, 5.0, 5.0), "none", None, "end")
    codes, vals = Profile("test", [stage]).encode(n)
    t0 = np.full(n, T0)
    integ = Integrator(wind, t0, lat, lon, np.full(n, 20000.0), codes, vals, t0 + 36 * h, step=h)
    integ.run()
    raw = integ.result()
    rla, rlo, _ = rk4_reference(wind, T0, lat, lon, np.full(n, 20000.0), h, 36)
    assert np.all(np.nanmax(np.abs(raw.lat), axis=1) > 88.0)
    crossed = np.abs(np.diff(rlo, axis=0)) > 90.0  # the longitude flips at the pole
    assert crossed.any(axis=0).all()
    d = great_circle_distance(raw.lat.T, raw.lon.T, rla, rlo, EARTH_RADIUS)
    lengths = np.array([path_length(rla[:, i], rlo[:, i]) for i in range(n)])
    assert np.all(d.max(axis=0) / lengths < 1e-9)


def test_reference_takes_a_scalar_altitude_like_the_engine():
    wind = field("analytic rotation")
    la, lo, z = rk4_reference(wind, T0, LAT[:3], LON[:3], 18000.0, 120.0, 2)
    assert z.shape == (3, 3)
    np.testing.assert_allclose(z, 18000.0)


@pytest.mark.parametrize("name", ["pressure levels", "analytic rotation"])
def test_paths_do_not_depend_on_which_particles_share_a_block(name):
    """Each chunk regroups the particles by position into blocks of BLOCK (kernels.locality_order), and a block's
    rows keep their state, level and time hints and time interval in the block's scratch: the same particles,
    given in another order and run in other chunks, must follow bit-identical paths (uniform and irregular
    latitude grids, time knots crossed, polar rows, several blocks and a partial one)."""
    wind = field(name)
    rng = np.random.default_rng(3)
    n = 3 * BLOCK + 5
    lat = rng.uniform(-85.0, 85.0, n)
    lon = rng.uniform(-180.0, 180.0, n)
    alt = rng.uniform(12000.0, 25000.0, n)
    stage = Stage("drift", "target", (alt, 60.0, 5.0, 5.0), "none", None, "end")
    t0 = np.full(n, T0) + rng.choice([0.0, 30.0, 600.0], n)  # start times off each other's step grid too
    t_end = t0 + 14 * 3600.0

    def paths(order, chunk):
        codes, vals = Profile("test", [stage]).encode(n)
        integ = Integrator(wind, t0[order], lat[order], lon[order], alt[order], codes[order], vals[order],
                           t_end[order], step=120.0, output_interval=3600.0)
        integ.run(chunk_seconds=chunk)
        return integ.result()

    a = paths(np.arange(n), 14 * 3600.0)
    perm = rng.permutation(n)
    b = paths(perm, 2.5 * 3600.0)
    for x, y in ((a.time, b.time), (a.lat, b.lat), (a.lon, b.lon), (a.alt, b.alt)):
        np.testing.assert_array_equal(x[perm], y)
    assert np.any(np.abs(a.lat) > POLAR_LATITUDE)


@pytest.mark.parametrize("slices", [1, 3])
def test_paths_do_not_depend_on_how_blocks_share_the_scratch(monkeypatch, slices):
    """The kernels step groups of consecutive blocks one after another in one slice of scratch (at most
    kernels.SCRATCH_SLICES of them); a block that follows another in the same slice, at every call of a run cut into
    short calls as a controller's is, must follow the paths it follows in a slice of its own."""
    from stratotrack.engine import kernels

    wind = field("pressure levels")
    rng = np.random.default_rng(5)
    n = 4 * BLOCK + 3
    lat = rng.uniform(-85.0, 85.0, n)
    lon = rng.uniform(-180.0, 180.0, n)
    alt = rng.uniform(12000.0, 25000.0, n)
    codes, vals = Profile("test", [Stage("drift", "target", (alt, 60.0, 5.0, 5.0), "none", None, "end")]).encode(n)

    def paths():
        integ = Integrator(wind, np.full(n, T0), lat, lon, alt, codes, vals, np.full(n, T0 + 6 * 3600.0),
                           step=120.0, output_interval=600.0)
        integ.run(chunk_seconds=360.0)
        return integ.result()

    a = paths()
    monkeypatch.setattr(kernels, "SCRATCH_SLICES", slices)
    b = paths()
    for x, y in ((a.time, b.time), (a.lat, b.lat), (a.lon, b.lon), (a.alt, b.alt)):
        np.testing.assert_array_equal(x, y)


def test_locality_order_is_a_permutation_with_nearby_running_particles_together():
    lat = np.array([10.0, -40.0, 10.01, 60.0, -40.02, 10.02])
    lon = np.array([20.0, 100.0, 20.01, -10.0, 100.01, 20.0])
    running = np.array([True, True, True, False, True, True])
    order = locality_order(lat, lon, running)
    assert sorted(order) == list(range(6))
    assert order[-1] == 3  # not running: last
    pos = {p: k for k, p in enumerate(order)}
    assert {pos[0], pos[2], pos[5]} == set(range(min(pos[0], pos[2], pos[5]), min(pos[0], pos[2], pos[5]) + 3))
    assert abs(pos[1] - pos[4]) == 1
