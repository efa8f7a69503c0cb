"""Readers: every wind format gives the same winds at the same places; several files combine; bad files fail in one line.

Tests marked ``shared`` read the real GFS GRIB2 file ../shared/data/gfs/gfs.t12z.pgrbf120.2p5deg.grib2 (through the
``shared_data`` fixture) and write the same field at test time as GRIB1, GRIB2 forecast steps, a regional GRIB2,
ERA5 and NCEP-layout NetCDF, a CF NetCDF and Zarr (see tests/_windfiles.py).  tests/data/grib holds two small real
files from PyPI source distributions (see its README): an ECMWF GRIB1 file and a NAM Lambert-conformal subset.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import stratotrack as st
from stratotrack.errors import WindDataError
from stratotrack.wind import check_altitude, describe, open_dataset
from stratotrack.wind.grib import read_grib

import _windfiles as wf

GFS = "gfs/gfs.t12z.pgrbf120.2p5deg.grib2"
VALID = np.datetime64("2011-01-15T12:00:00", "s")
DATA = Path(__file__).parent / "data" / "grib"
GRIB1_ECMWF = DATA / "uv_on_different_levels.grib"  # cfgrib 0.9.15.1 sample data (Apache-2.0)
NAM_LAMBERT = DATA / "nam_lambert_500_250hpa.grib2"  # pygrib 2.1.8 sampledata/eta.grb, 6 messages kept


@pytest.fixture(scope="module")
def gfs(shared_data):
    """Reads ../shared: the GFS file's path, its isobaric Dataset and its WindField."""
    path = shared_data / GFS
    return path, read_grib(path), st.open_wind(path)


@pytest.fixture(scope="module")
def points():
    """Points inside every field: all latitudes, both longitude conventions, 1-28 km (1000 to 10 hPa)."""
    rng = np.random.default_rng(3)
    n = 400
    return rng.uniform(-88.0, 88.0, n), rng.uniform(-180.0, 180.0, n), rng.uniform(1000.0, 28000.0, n)


@pytest.fixture(scope="module")
def files(gfs, tmp_path_factory):
    """Reads ../shared: the GFS field written in every format (paths by name)."""
    path, ds, _ = gfs
    d = tmp_path_factory.mktemp("formats")
    out = {"grib2": path}
    wf.write_grib1(ds, d / "gfs.grib1", bits=24)
    out["grib1"] = d / "gfs.grib1"
    wf.write_era5_netcdf(ds, d / "era5_old.nc", layout="old")
    out["era5-netcdf"] = d / "era5_old.nc"
    wf.write_era5_netcdf(ds, d / "era5_cds.nc", layout="new")
    out["era5-cds-netcdf"] = d / "era5_cds.nc"
    wf.write_ncep_netcdf(ds, d / "ncep.nc")
    out["ncep-netcdf"] = d / "ncep.nc"
    cf = wf.cf_dataset(ds)
    cf.to_netcdf(d / "cf.nc")
    out["cf-netcdf"] = d / "cf.nc"
    pytest.importorskip("zarr", reason="writing the Zarr test store needs the zarr package (test extra)")
    cf.to_zarr(d / "cf.zarr", mode="w")
    out["zarr"] = d / "cf.zarr"
    return out


# packed formats agree to their packing step (NCEP: 0.01 m/s and 1 m of height; ERA5 int16: ~0.003 m/s, ~0.5 m)
TOLERANCE = {"grib1": 2e-3, "era5-netcdf": 0.05, "ncep-netcdf": 0.05}
FORMATS = ["grib2", "grib1", "era5-netcdf", "era5-cds-netcdf", "ncep-netcdf", "cf-netcdf", "zarr"]


@pytest.mark.shared
def test_grib_reader_keeps_only_the_isobaric_fields(gfs):
    """Reads ../shared: the one-pass eccodes reader returns u/v/gh/t on the 26 isobaric levels and nothing of the
    file's ~200 other messages (surface, tropopause, omega on only 21 levels).  (tests/test_gfs_real.py checks its
    winds against cfgrib's decoding of the same file.)"""
    path, ds, wind = gfs
    assert set(ds.data_vars) == {"u", "v", "gh", "t"}
    assert ds.sizes == {"time": 1, "pressure": 26, "latitude": 73, "longitude": 144}
    assert ds.attrs["source_format"] == "GRIB2" and ds.attrs["reference_time"] == "2011-01-10T12:00:00Z"
    assert ds.u.attrs == {"standard_name": "eastward_wind", "units": "m s**-1", "GRIB_shortName": "u"}
    assert ds.latitude.values[0] == -90.0 and ds.longitude.values[-1] == 357.5
    assert wind.data.shape == (1, 73, 144, 26, 3) and wind.valid_time == VALID


@pytest.mark.shared
@pytest.mark.parametrize("fmt", FORMATS)
def test_same_place_same_wind_in_every_format(gfs, files, points, fmt):
    """Reads ../shared: the GFS field written as GRIB2, GRIB1, ERA5 NetCDF (old packed and new CDS layouts), NCEP
    reanalysis NetCDF, CF NetCDF and Zarr samples to the same winds at 400 points within float32/packing precision."""
    _, _, ref = gfs
    wind = st.open_wind(files[fmt])
    assert wind.vertical == "pressure" and wind.data.shape[:4] == ref.data.shape[:4]
    np.testing.assert_allclose(wind.levels, ref.levels)
    lat, lon, alt = points
    a = ref.sample(VALID, lat, lon, alt)
    b = wind.sample(VALID, lat, lon, alt)
    assert np.all(a.outside.values == 0) and np.all(b.outside.values == 0)
    tol = TOLERANCE.get(fmt, 2e-4)
    for var in ("eastward_wind", "northward_wind"):
        np.testing.assert_allclose(b[var].values, a[var].values, rtol=1e-5, atol=tol, err_msg=f"{fmt} {var}")
    # level heights agree too (ERA5's geopotential is converted back to the same geopotential height)
    assert np.abs(wind.data[..., 0] - ref.data[..., 0][:, :, _lon_perm(ref.lon, wind.lon)]).max() < 1.0


def _lon_perm(ref_lon, lon):
    """Columns of ref_lon matching lon (same longitudes, maybe another convention)."""
    return np.array([int(np.argmin(np.abs(((ref_lon - x + 180.0) % 360.0) - 180.0))) for x in lon])


@pytest.mark.shared
def test_ncep_and_era5_layouts_are_recognised_by_their_names(files):
    """Reads ../shared: describe() names the variables it used: uwnd/vwnd/hgt (millibar levels, packed int16),
    u/v/z (geopotential) in both ERA5 layouts, and ua/va/zg identified only by their standard names."""
    d = describe(files["ncep-netcdf"])
    assert d["variables"][0].startswith("u: uwnd") and d["variables"][2].startswith("height: hgt")
    assert d["levels_hPa"][0] == 1000.0 and d["levels_hPa"][-1] == 10.0 and d["format"].startswith("NetCDF")
    for key in ("era5-netcdf", "era5-cds-netcdf"):
        d = describe(files[key])
        assert d["variables"][2].startswith("height: z (geopotential, m**2 s**-2)")
        assert d["other_variables"] == ["t"]
    d = describe(files["cf-netcdf"])
    assert [v.split(" ")[1] for v in d["variables"]] == ["ua", "va", "zg"]
    assert d["resolution_deg"] == [2.5, 2.5] and d["grid_points"] == [73, 144]


def test_real_grib1_file_with_different_levels_for_u_and_v():
    """A real ECMWF GRIB1 file (cfgrib's sample data): u on 5 levels, v on 3, two times.  The 3 common levels are
    used and said so; with no geopotential the level heights come from the standard atmosphere; the samples at the
    grid points are the GRIB values as cfgrib decodes them."""
    wind = st.open_wind(GRIB1_ECMWF)
    assert wind.time_mode == "series" and wind.knots.size == 2
    np.testing.assert_allclose(wind.levels, [100000.0, 70000.0, 50000.0])
    assert any("u is on 5 and v on 3" in n for n in wind.notes)
    assert any("standard atmosphere" in n for n in wind.notes)
    ref = xr.open_dataset(GRIB1_ECMWF, engine="cfgrib", decode_timedelta=True, backend_kwargs={
        "filter_by_keys": {"shortName": "v"}, "indexpath": ""}).sel(isobaricInhPa=700)
    t = ref.valid_time.values[1]
    j, i = np.meshgrid(np.arange(2, 35, 4), np.arange(0, 72, 7), indexing="ij")
    lat, lon = ref.latitude.values[j], ref.longitude.values[i]
    z = st.atmosphere.altitude_from_pressure(70000.0)
    s = wind.sample(t, lat, lon, np.full(lat.shape, z))
    np.testing.assert_allclose(s.northward_wind.values, ref.v.values[1][j, i], rtol=1e-5, atol=1e-4)
    assert describe(GRIB1_ECMWF)["format"] == "GRIB1"


@pytest.mark.shared
def test_regional_grib2_across_the_antimeridian(gfs, tmp_path):
    """Reads ../shared: a regional GRIB2 cut (60..20 N, 170 E..170 W) gives the global field's winds inside, flags
    points outside, and a drift that leaves the region ends saying so (outside="stop")."""
    path, _, ref = gfs
    region = tmp_path / "north_pacific.grib2"
    wf.write_grib2_region(path, region, slice(12, 29), np.arange(68, 77))
    wind = st.open_wind(region)
    np.testing.assert_allclose(wind.lon[[0, -1]], [170.0, 190.0])
    np.testing.assert_allclose(wind.lat[[0, -1]], [20.0, 60.0])
    assert not wind.is_global
    rng = np.random.default_rng(5)
    lat, lon = rng.uniform(21.0, 59.0, 200), rng.uniform(-189.5, -170.5, 200) + 360.0 * (rng.random(200) < 0.5)
    lon = np.where(lon > 180.0, lon - 360.0, lon)  # mixed conventions: -189..-170 is 171..190 E
    alt = rng.uniform(1000.0, 28000.0, 200)
    a, b = ref.sample(VALID, lat, lon, alt), wind.sample(VALID, lat, lon, alt)
    assert np.all(b.outside.values == 0)
    np.testing.assert_allclose(b.eastward_wind.values, a.eastward_wind.values, rtol=1e-5, atol=2e-4)
    assert wind.sample(VALID, 40.0, 150.0, 10000.0).outside.values == 8  # west of the region
    ds = st.predict(40.0, 175.0, 12000.0, VALID, "drift", duration="3d", wind=wind, outside="stop")
    assert str(ds.end_reason.values[0]) == "left the wind data (outside its region)"


@pytest.mark.shared
def test_regional_cf_grid_written_170_to_180_then_minus_180(gfs):
    """Reads ../shared: a regional grid in -180..180 convention that crosses the antimeridian (170, 172.5 .. 180,
    -177.5 .. -170) is unwrapped to 170..190 and samples as the global field does on both sides."""
    _, ds, ref = gfs
    cf = wf.cf_dataset(ds, regional_lon=[170.0, 172.5, 175.0, 177.5, 180.0, -177.5, -175.0, -172.5, -170.0])
    assert cf.lon.values[4] == -180.0
    wind = st.open_wind(cf)
    np.testing.assert_allclose(wind.lon, np.arange(170.0, 190.1, 2.5))
    assert any("antimeridian" in n for n in wind.notes)
    lat = np.array([10.0, -45.0, 60.0, 0.0])
    lon = np.array([171.0, -171.0, 179.9, -179.9])
    alt = np.array([5000.0, 12000.0, 20000.0, 25000.0])
    a, b = ref.sample(VALID, lat, lon, alt), wind.sample(VALID, lat, lon, alt)
    assert np.all(b.outside.values == 0)
    np.testing.assert_allclose(b.northward_wind.values, a.northward_wind.values, rtol=1e-5, atol=2e-4)


def test_lambert_conformal_nam_grid_is_refused_naming_the_grid():
    """A real NAM file (Lambert conformal, grid-relative winds) is refused in one line that names the grid and
    says how to regrid, rather than read as if it were latitude/longitude."""
    with pytest.raises(WindDataError, match="Lambert conformal") as err:
        st.open_wind(NAM_LAMBERT)
    text = str(err.value)
    assert "\n" not in text and "regrid" in text and str(NAM_LAMBERT) in text


@pytest.fixture(scope="module")
def steps(gfs, tmp_path_factory):
    """Reads ../shared: forecast steps 114, 120, 126 h (winds x0.5, x1, x1.5) as three files and as one file."""
    path, _, _ = gfs
    d = tmp_path_factory.mktemp("steps")
    parts = []
    for step, factor in ((114, 0.5), (120, 1.0), (126, 1.5)):
        p = d / f"gfs.f{step:03d}.grib2"
        wf.write_grib2_steps(path, p, [step], [factor], levels=(850, 500, 250, 100, 50, 20, 10))
        parts.append(p)
    whole = d / "all" / "gfs.grib2"
    whole.parent.mkdir()
    wf.write_grib2_steps(path, whole, [114, 120, 126], [0.5, 1.0, 1.5], levels=(850, 500, 250, 100, 50, 20, 10))
    return d, parts, whole


@pytest.mark.shared
def test_several_files_combine_into_the_single_file_field(steps, points):
    """Reads ../shared: three forecast-step files (as a list in any order, or a glob) give exactly the field of
    one file holding the three steps, and sample identically between the steps."""
    d, parts, whole = steps
    one = st.open_wind(whole)
    assert one.time_mode == "series" and one.knots.size == 3
    for combined in (st.open_wind(parts[::-1]), st.open_wind(str(d / "gfs.f*.grib2"))):
        assert combined.time_mode == "series"
        np.testing.assert_array_equal(combined.knots, one.knots)
        np.testing.assert_array_equal(combined.data, one.data)
        lat, lon, alt = points
        t = VALID - np.timedelta64(4, "h")  # between the first two steps
        a, b = one.sample(t, lat, lon, np.minimum(alt, 20000.0)), combined.sample(t, lat, lon, np.minimum(alt, 20000.0))
        np.testing.assert_array_equal(b.eastward_wind.values, a.eastward_wind.values)
        assert "3 files" in combined.source
    # the middle step of the combined field is the original file's wind
    ref = st.open_wind(parts[1])
    np.testing.assert_array_equal(one.data[1], ref.data[0])


@pytest.mark.shared
def test_gap_between_files_is_reported(gfs, steps, tmp_path):
    """Reads ../shared: steps 108, 114 and 126 h combine, with a note that names the missing 6 h and the usual spacing."""
    path, _, _ = gfs
    d, parts, _ = steps
    extra = tmp_path / "gfs.f108.grib2"
    wf.write_grib2_steps(path, extra, [108], [0.25], levels=(850, 500, 250, 100, 50, 20, 10))
    wind = st.open_wind([extra, parts[0], parts[2]])
    gap = [n for n in wind.notes if n.startswith("gap")]
    assert gap == ["gap in the wind data: nothing between 2011-01-15T06:00:00Z and 2011-01-15T18:00:00Z (12 h, the "
                   "other times are 6 h apart); winds are interpolated linearly across it"]


@pytest.mark.shared
def test_incompatible_files_are_refused(gfs, steps, tmp_path):
    """Reads ../shared: files with other levels, another grid, or another wind at the same time are refused in one
    line naming both files."""
    path, _, _ = gfs
    d, parts, _ = steps
    with pytest.raises(WindDataError, match="expected the same levels in every file") as err:
        st.open_wind([parts[0], path])
    assert str(parts[0]) in str(err.value) and str(path) in str(err.value)
    region = tmp_path / "region.grib2"
    wf.write_grib2_region(path, region, slice(12, 29), np.arange(68, 77), levels=(850, 500, 250, 100, 50, 20, 10))
    with pytest.raises(WindDataError, match="expected the same grid in every file"):
        st.open_wind([parts[0], region])
    other = tmp_path / "other.grib2"
    wf.write_grib2_steps(path, other, [120], [2.0], levels=(850, 500, 250, 100, 50, 20, 10))
    with pytest.raises(WindDataError, match="both hold 2011-01-15T12:00:00Z with different winds"):
        st.open_wind([parts[1], other])
    with pytest.raises(WindDataError, match="monthly climatology"):
        st.wind.combine([st.open_wind("climatology"), st.open_wind(parts[0])])


# -- bad input: one clear line each --------------------------------------------------------------------------------
def _one_line(exc_info, *words):
    text = str(exc_info.value)
    assert "\n" not in text
    for w in words:
        assert w in text, text
    return text


def test_unreadable_files(tmp_path):
    garbage = tmp_path / "broken.grib2"
    garbage.write_bytes(b"GRIB" + bytes(range(256)) * 4)
    with pytest.raises(WindDataError) as err:
        st.open_wind(garbage)
    _one_line(err, "broken.grib2", "not a readable GRIB file")
    text = tmp_path / "notes.nc"
    text.write_text("not a netcdf file\n")
    with pytest.raises(WindDataError) as err:
        st.open_wind(text)
    _one_line(err, "notes.nc", "not a NetCDF file")
    other = tmp_path / "winds.dat"
    other.write_text("1 2 3\n")
    with pytest.raises(WindDataError) as err:
        st.open_wind(other)
    _one_line(err, "winds.dat", "neither GRIB, NetCDF nor Zarr")
    with pytest.raises(WindDataError) as err:
        st.open_wind(tmp_path / "missing.grib2")
    _one_line(err, "missing.grib2", "does not exist")
    with pytest.raises(WindDataError) as err:
        st.open_wind(str(tmp_path / "nothing*.grib2"))
    _one_line(err, "no wind files match")
    with pytest.raises(WindDataError) as err:
        st.open_wind(tmp_path)
    _one_line(err, "is a folder")


@pytest.mark.shared
def test_file_without_winds(gfs, tmp_path):
    """Reads ../shared: a GRIB file with heights and temperatures only, and a NetCDF with other variables."""
    path, ds, _ = gfs
    p = tmp_path / "no_winds.grib2"
    wf.write_grib2_steps(path, p, [120], [1.0], shorts=("gh", "t"))
    with pytest.raises(WindDataError) as err:
        st.open_wind(p)
    _one_line(err, "no_winds.grib2", "no isobaric u and v wind messages", "gh, t")
    nc = tmp_path / "temperature.nc"
    ds[["t"]].to_netcdf(nc)
    with pytest.raises(WindDataError) as err:
        st.open_wind(nc)
    _one_line(err, "no eastward_wind (u) and no northward_wind (v) variable found", "['t']")


def test_unknown_wind_name_lists_the_valid_names():
    with pytest.raises(WindDataError) as err:
        st.open_wind("gfs025")
    _one_line(err, "'gfs025'", "'climatology'", "'gfs'", "'gefs'", "'ecmwf'", "'era5'", "'ncep'")


@pytest.mark.shared
def test_levels_that_do_not_reach_the_requested_altitude(gfs):
    """Reads ../shared: GFS at 2.5 degrees stops at 10 hPa (~32 km): asking for 35 km is refused in one line
    (also by predict when told to stop at the data's edge); with clamping, predict counts it in a warning."""
    _, _, wind = gfs
    check_altitude(wind, 30000.0)
    with pytest.raises(WindDataError) as err:
        check_altitude(wind, [20000.0, 35000.0], what="the burst altitude")
    _one_line(err, "the burst altitude of 35.0 km", "reach 32.0 km (top level 10 hPa)")
    with pytest.raises(WindDataError) as err:  # a run told to stop at the data's edge is refused up front
        st.predict(45.0, 10.0, 500.0, VALID, burst_altitude=35000.0, wind=wind, outside="stop")
    _one_line(err, "the burst altitude of 35.0 km", "reach 32.0 km")
    ds = st.predict(45.0, 10.0, 500.0, VALID, burst_altitude=35000.0, wind=wind)
    assert "clamped above data" in ds.attrs["warnings"]


# -- inspect -------------------------------------------------------------------------------------------------------
@pytest.mark.shared
def test_inspect_describes_a_grib_file(gfs, capsys):
    """Reads ../shared: ``stratotrack inspect FILE --json`` gives format, variables, levels, times, region and
    resolution; the plain form prints them as rows."""
    from stratotrack.cli import run

    path, _, _ = gfs
    assert run(["inspect", str(path), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["format"] == "GRIB2" and d["valid_time"] == "2011-01-15T12:00:00Z"
    assert d["variables"] == ["u: u (eastward_wind, m s**-1)", "v: v (northward_wind, m s**-1)",
                              "height: gh (geopotential_height, gpm)"]
    assert len(d["levels_hPa"]) == 26 and d["resolution_deg"] == [2.5, 2.5] and d["global"] is True
    assert d["latitude_range"] == [-90.0, 90.0] and d["longitude_range"] == [0.0, 357.5]
    assert run(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2.5 x 2.5 (lat x lon)" in out and "1000, 975, 950" in out


@pytest.mark.shared
def test_inspect_describes_several_files(steps, capsys):
    """Reads ../shared: a quoted glob of forecast steps is described as one time series."""
    from stratotrack.cli import run

    d, _, _ = steps
    assert run(["inspect", str(d / "gfs.f*.grib2"), "--json"]) == 0
    desc = json.loads(capsys.readouterr().out)
    assert desc["time_mode"] == "series" and desc["time_step_h"] == [6.0]
    assert desc["times"] == ["2011-01-15T06:00:00Z", "2011-01-15T12:00:00Z", "2011-01-15T18:00:00Z"]


def test_inspect_bad_file_is_one_line(tmp_path, capsys):
    from stratotrack.cli import run

    bad = tmp_path / "x.grib2"
    bad.write_bytes(b"nothing here")
    assert run(["inspect", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "x.grib2" in err[0]


def test_open_dataset_keeps_the_grib_fields_for_users():
    """open_dataset gives the reader's CF Dataset (for users who want to look before preparing)."""
    ds = open_dataset(GRIB1_ECMWF)
    assert ds.u.attrs["standard_name"] == "eastward_wind" and ds.pressure.attrs["units"] == "hPa"
