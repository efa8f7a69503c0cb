"""The wind cache: store/open round trip (memory-mapped), entry choice by time, damage detection, clearing, two
processes storing at once; the reanalysis paths that run without internet (NCEP from a folder laid out like PSL's,
the ERA5 and ECMWF requests as built)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import xarray as xr

from stratotrack.wind.cache import Cache, open_cached
from stratotrack.errors import InputError, WindDataError
from stratotrack.wind.prepare import from_dataset


def _dataset(start="2023-02-01T00", hours=(0, 6, 12), seed=0):
    rng = np.random.default_rng(seed)
    times = np.datetime64(start, "ns") + np.array(hours, dtype="timedelta64[h]").astype("timedelta64[ns]")
    lat = np.arange(30.0, 50.1, 2.5)
    lon = np.arange(250.0, 280.1, 2.5)
    lev = np.array([150.0, 100.0, 50.0, 10.0])
    shape = (times.size, lev.size, lat.size, lon.size)
    gh = np.broadcast_to(np.array([13500.0, 16200.0, 20600.0, 31000.0])[None, :, None, None], shape).copy()
    dims = ("time", "isobaricInhPa", "latitude", "longitude")
    return xr.Dataset(
        {"u": (dims, rng.normal(10, 5, shape), {"units": "m s-1"}),
         "v": (dims, rng.normal(0, 5, shape), {"units": "m s-1"}),
         "gh": (dims, gh, {"units": "gpm"})},
        coords={"time": times, "isobaricInhPa": ("isobaricInhPa", lev, {"units": "hPa"}), "latitude": lat,
                "longitude": lon})


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STRATOTRACK_CACHE_DIR", str(tmp_path / "cache"))
    return Cache()


def _store(cache, eid, cycle, seed=0, source="gfs"):
    field = from_dataset(_dataset(cycle, seed=seed), source="test", kind="forecast")
    return cache.store(field, entry_id=eid, source=source, cycle=np.datetime64(cycle), levels=[150, 100, 50, 10],
                       region="-110,30,-80,50", resolution=2.5), field


def test_round_trip_is_memory_mapped_and_identical(cache):
    entry, field = _store(cache, "gfs-a", "2023-02-01T00")
    opened = cache.open(entry.id)
    assert isinstance(opened.data.base, np.memmap) or isinstance(opened.data, np.memmap)
    assert not opened.data.flags.writeable
    np.testing.assert_array_equal(opened.data, field.data)
    for name in ("lat", "lon", "knots", "levels"):
        np.testing.assert_array_equal(getattr(opened, name), getattr(field, name))
    pts = dict(time=np.datetime64("2023-02-01T03:00"), lat=41.3, lon=-95.2, alt=18000.0)
    assert float(opened.sample(**pts).eastward_wind) == float(field.sample(**pts).eastward_wind)
    assert cache.verify(entry)
    assert entry.describe()["start"] == "2023-02-01T00:00:00Z" and entry.describe()["end"] == "2023-02-01T12:00:00Z"


def test_find_newest_cycle_covering(cache):
    a, _ = _store(cache, "gfs-00", "2023-02-01T00")
    b, _ = _store(cache, "gfs-06", "2023-02-01T06", seed=1)
    t = lambda s: (np.datetime64(s, "s") - np.datetime64(0, "s")).astype(float)  # noqa: E731
    assert cache.find("gfs", [t("2023-02-01T03:00")]).id == a.id
    assert cache.find("gfs", [t("2023-02-01T07:00"), t("2023-02-01T11:00")]).id == b.id
    assert cache.find("gfs", [t("2023-02-01T12:00")]).id == b.id
    assert cache.find("gfs").id == b.id
    with pytest.raises(WindDataError, match="no cached gfs winds cover 2023-02-01T19:00:00Z"):
        cache.find("gfs", [t("2023-02-01T19:00")])
    with pytest.raises(WindDataError, match="no era5 winds are in the cache"):
        open_cached("era5")
    assert open_cached("gfs-00").attrs["cache_entry"] == "gfs-00"
    assert open_cached("not-an-entry") is None


def test_damaged_entry_is_reported(cache):
    entry, _ = _store(cache, "gfs-a", "2023-02-01T00")
    npy = entry.path / "field.npy"
    with open(npy, "r+b") as fh:
        fh.truncate(npy.stat().st_size - 100)
    with pytest.raises(WindDataError, match="cache entry 'gfs-a' is damaged") as err:
        cache.open(entry.id)
    assert "\n" not in str(err.value)


def test_replace_and_clear(cache):
    first, _ = _store(cache, "gfs-a", "2023-02-01T00")
    second, _ = _store(cache, "gfs-a", "2023-02-01T00", seed=3)  # same id: replaced, old folder gone
    assert [e.id for e in cache.entries()] == ["gfs-a"] and not first.path.exists() and second.path.exists()
    _store(cache, "gfs-b", "2023-02-01T06")
    assert cache.clear(older_than=3600) == []
    removed = cache.clear(source="gfs")
    assert sorted(e.id for e in removed) == ["gfs-a", "gfs-b"] and cache.entries() == []
    assert list((cache.root / "entries").iterdir()) == []


WRITER = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    sys.path.insert(0, {tests!r})
    from test_cache import _dataset
    from stratotrack.wind.cache import Cache
    from stratotrack.wind.prepare import from_dataset
    cache = Cache({root!r})
    me = int(sys.argv[1])
    fields = [from_dataset(_dataset("2023-02-01T00", seed=10 * me + i), source="p", kind="forecast") for i in range(6)]
    while not os.path.exists({go!r}):
        time.sleep(0.005)
    for i, f in enumerate(fields):
        cache.store(f, entry_id=f"gfs-p{{me}}-{{i}}", source="gfs", cycle=np.datetime64("2023-02-01T00"))
        cache.store(f, entry_id="gfs-shared", source="gfs", cycle=np.datetime64("2023-02-01T00"))
    print("done")
""")


def test_two_processes_storing_at_once(tmp_path):
    root = tmp_path / "shared-cache"
    go = tmp_path / "go"
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(tests=os.path.dirname(__file__), root=str(root), go=str(go)))
    procs = [subprocess.Popen([sys.executable, str(script), str(k)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for k in (1, 2)]
    time.sleep(0.5)
    go.write_text("go")
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    cache = Cache(root)
    ids = sorted(e.id for e in cache.entries())
    assert ids == sorted([f"gfs-p{k}-{i}" for k in (1, 2) for i in range(6)] + ["gfs-shared"])
    for e in cache.entries():
        assert cache.verify(e), e.id  # every entry whole and matching its checksum
    # one folder per entry: the replaced "gfs-shared" folders were removed, nothing half-written is left
    assert len(list((root / "entries").iterdir())) == len(ids)
    assert list((root / "tmp").iterdir()) == []


def test_cli_cache_clear_older_than_and_bad_age(cache, capsys):
    from stratotrack.cli.app import run

    _store(cache, "gfs-a", "2023-02-01T00")
    assert run(["cache", "clear", "--older-than", "1d"]) == 0
    assert "removed 0 entries" in capsys.readouterr().out
    assert run(["cache", "list"]) == 0
    assert "gfs-a" in capsys.readouterr().out
    assert run(["cache", "clear", "--older-than", "soon"]) == 2
    assert "age 'soon' is not understood" in capsys.readouterr().err


# -- reanalyses and ECMWF: the parts that run without internet ---------------------------------------------------
def _psl_file(folder, name, year, start, hours):
    """A NetCDF file in NOAA PSL's NCEP/NCAR reanalysis layout (level in millibar, lat 90..-90, lon 0..357.5)."""
    times = np.datetime64(start, "ns") + (np.arange(hours // 6) * 6).astype("timedelta64[h]").astype(
        "timedelta64[ns]")
    levels = np.array([1000, 925, 850, 700, 600, 500, 400, 300, 250, 200, 150, 100, 70, 50, 30, 20, 10], float)
    lat = np.arange(90.0, -90.1, -2.5)
    lon = np.arange(0.0, 357.6, 2.5)
    shape = (times.size, levels.size, lat.size, lon.size)
    if name == "hgt":
        z = 44330.8 * (1 - (levels / 1013.25) ** 0.190263)
        z = np.where(levels < 226.3, 11000 + 6341.6 * np.log(226.3 / levels), z)
        values = np.broadcast_to(z[None, :, None, None], shape).astype("float32")
        units = "m"
    elif name == "air":
        values, units = np.full(shape, 220.0, "float32"), "degK"
    else:
        base = np.cos(np.deg2rad(lat))[None, None, :, None] * (20.0 if name == "uwnd" else 3.0)
        values, units = np.broadcast_to(base, shape).astype("float32"), "m/s"
    ds = xr.Dataset({name: (("time", "level", "lat", "lon"), values, {"units": units})},
                    coords={"time": times, "level": ("level", levels, {"units": "millibar"}), "lat": lat, "lon": lon})
    ds.to_netcdf(folder / f"{name}.{year}.nc")


def test_ncep_from_a_folder_laid_out_like_psl(cache, tmp_path):
    import stratotrack as st

    folder = tmp_path / "psl"
    folder.mkdir()
    for name in ("uwnd", "vwnd", "hgt", "air"):
        _psl_file(folder, name, 2023, "2023-02-01", 72)
    entry = st.fetch("ncep", start="2023-02-01T06:00Z", end="2023-02-02T18:00Z", levels="150-10",
                     region="-130,20,-60,55", mirror=str(folder), progress=False)
    assert entry.source == "ncep" and entry.levels == [150, 100, 70, 50, 30, 20, 10]
    assert entry.describe()["start"] == "2023-02-01T06:00:00Z" and entry.describe()["end"] == "2023-02-02T18:00:00Z"
    field = st.open_wind("ncep", time=np.datetime64("2023-02-02T00:00"))
    w = field.sample(np.datetime64("2023-02-02T00:00"), 40.0, -100.0, 20000.0)
    assert float(w.eastward_wind) == pytest.approx(20 * np.cos(np.deg2rad(40.0)), rel=1e-3)
    assert int(w.outside) == 0 and (entry.path / "air_temperature.nc").exists()
    with pytest.raises(InputError, match="before the NCEP/NCAR reanalysis begins"):
        st.fetch("ncep", start="1947-06-01", end="1947-06-02", progress=False)


def test_era5_requests_one_per_month_with_area_and_levels():
    from stratotrack.wind.download import era5
    from stratotrack.wind.download._parse import parse_levels, parse_region

    reqs = era5.requests_for(dt.datetime(2023, 1, 30), dt.datetime(2023, 2, 2, 18), parse_levels("150-10"),
                             parse_region("-130,20,-60,55"), step_hours=6)
    assert [label for label, _ in reqs] == ["2023-01", "2023-02"]
    first = reqs[0][1]
    assert first["day"] == ["30", "31"] and reqs[1][1]["day"] == ["01", "02"]
    assert first["pressure_level"] == ["10", "20", "30", "50", "70", "100", "125", "150"]
    assert first["area"] == [55, -130, 20, -60] and first["time"] == ["00:00", "06:00", "12:00", "18:00"]
    assert set(first["variable"]) == {"u_component_of_wind", "v_component_of_wind", "geopotential", "temperature"}


def test_ecmwf_request_selects_levels_and_params():
    from stratotrack.wind.download import ecmwf

    req = ecmwf.request(dt.datetime(2024, 5, 1, 12), [0, 3, 6], (150.0, 10.0))
    assert req["levelist"] == [150, 100, 70, 50, 30, 20, 10] and req["param"] == ["u", "v", "gh", "t"]
    assert req["stream"] == "oper" and req["step"] == [0, 3, 6] and req["time"] == 12
    with pytest.raises(InputError, match="hold none of the ECMWF open-data levels"):
        ecmwf.request(dt.datetime(2024, 5, 1, 12), [0], (5.0, 1.0))
