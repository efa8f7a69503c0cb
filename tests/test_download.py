"""Downloads against a real HTTP server on 127.0.0.1 laid out like the public GFS archive (GRIB2 + wgrib2 .idx built
from the real GFS file in ../shared), with herbie-data pointed at it through ``mirror=``.

Shows: only the requested messages are transferred (bytes counted by the server), an interrupted transfer resumes
without fetching a byte twice, a truncated or corrupt remote file is rejected with a clear error and nothing is
cached, the cache picks the right cycle for a time; bad input gives one-line errors and exit status 2.
"""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pytest

from _archive import ArchiveServer, build_gfs_archive, gfs_path, wanted_bytes

import stratotrack as st
from stratotrack.wind.cache import Cache
from stratotrack.cli.app import run
from stratotrack.errors import InputError, WindDataError

pytestmark = pytest.mark.shared

C00 = dt.datetime(2023, 2, 1, 0)
C06 = dt.datetime(2023, 2, 1, 6)
HOURS = [0, 3, 6]
REGION = "-130,20,-60,55"


@pytest.fixture(scope="module")
def archive(shared_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("archive")
    grib = shared_data / "gfs" / "gfs.t12z.pgrbf120.2p5deg.grib2"
    tables = build_gfs_archive(root, grib, C00, HOURS)
    tables06 = build_gfs_archive(root, grib, C06, HOURS)
    return root, tables, tables06


@pytest.fixture(scope="module")
def server(archive):
    with ArchiveServer(archive[0]) as srv:
        yield srv


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STRATOTRACK_CACHE_DIR", str(tmp_path / "cache"))
    return Cache()


def _fetch(server, **kw):
    args = dict(cycle="2023-02-01T00", hours="0-6", levels="150-10", region=REGION, mirror=server.url,
                progress=False)
    args.update(kw)
    return st.fetch("gfs", **args)


def test_only_the_requested_messages_are_transferred(archive, server, cache):
    _, tables, _ = archive
    server.reset()
    entry = _fetch(server)
    want = sum(wanted_bytes(tables[h]) for h in HOURS)
    whole = sum(t[-1][2] + t[-1][3] for t in tables.values())
    assert server.bytes_sent("grib") == want  # exactly the u/v/gh/t messages on 150..10 hPa, nothing else
    assert want < 0.15 * whole
    gets = [(p, r) for m, p, r in server.log if m == "GET" and not p.endswith(".idx")]
    assert gets and all(r.startswith("bytes=") for _, r in gets)  # never a whole file
    assert entry.downloaded == want and entry.levels == [150, 100, 70, 50, 30, 20, 10]

    # the stored field holds the archive's values: u at 50 hPa, 40N 100W, f003, decoded independently with cfgrib
    import xarray as xr

    field = st.open_wind(entry.id)
    assert field.data.shape == (3, 17, 31, 7, 3) and field.kind == "forecast"
    src = xr.open_dataset(archive[0] / gfs_path(C00, 3), engine="cfgrib", indexpath="", decode_timedelta=True,
                          backend_kwargs={"filter_by_keys": {"typeOfLevel": "isobaricInhPa", "shortName": "u"}})
    expect = float(src["u"].sel(isobaricInhPa=50, latitude=40.0, longitude=260.0))
    i, j, k = (int(np.flatnonzero(np.isclose(a, x))[0]) for a, x in
               ((field.lat, 40.0), (field.lon, -100.0), (field.levels, 5000.0)))
    assert field.data[1, i, j, k, 1] == pytest.approx(expect, abs=1e-4)


def test_an_interrupted_transfer_resumes(archive, server, cache):
    _, tables, _ = archive
    server.reset()
    path = gfs_path(C00, 3)
    server.drop_after[path] = 5000  # the first GET of f003 stops after 5000 bytes and closes the connection
    entry = _fetch(server)
    want = sum(wanted_bytes(tables[h]) for h in HOURS)
    assert server.bytes_sent("grib") == want  # the 5000 bytes were kept, not fetched again
    ranges = [r for m, p, r in server.log if m == "GET" and p == path]
    first = int(ranges[0].split("=")[1].split("-")[0])
    assert f"bytes={first + 5000}-" in ranges[1]  # the retry asked for the rest only
    assert Cache().get(entry.id) is not None


def _damaged_archive(archive, tmp_path, how):
    root = tmp_path / "damaged"
    shutil.copytree(archive[0] / f"gfs.{C00:%Y%m%d}", root / f"gfs.{C00:%Y%m%d}")
    target = root / gfs_path(C00, 3)
    table = archive[1][3]
    rows = [r for r in table if r[0] == "VGRD" and r[1] == "50 mb"]
    var, level, off, length = rows[0]
    data = bytearray(target.read_bytes())
    if how == "truncated":
        data = data[: off + length // 2]  # the file ends inside a requested message
    else:
        data[off + length - 4: off + length] = b"XXXX"  # the message's end marker is gone
    target.write_bytes(bytes(data))
    return root


@pytest.mark.parametrize("how, words", [("truncated", "truncated"), ("corrupt", "corrupt")])
def test_a_truncated_or_corrupt_file_is_rejected_and_not_cached(archive, cache, tmp_path, how, words):
    root = _damaged_archive(archive, tmp_path, how)
    with ArchiveServer(root) as srv:
        with pytest.raises(WindDataError) as err:
            _fetch(srv)
    message = str(err.value)
    assert words in message and "\n" not in message and gfs_path(C00, 3) in message
    assert cache.entries() == []
    assert not list(cache.downloads.rglob("*.part"))  # the bad bytes are not kept for a later resume


def test_the_cache_picks_the_newest_cycle_covering_the_time(server, cache):
    e00 = _fetch(server)
    e06 = _fetch(server, cycle="2023-02-01T06")
    at = lambda text: st.open_wind("gfs", time=np.datetime64(text)).attrs["cache_entry"]  # noqa: E731
    assert at("2023-02-01T04:00") == e00.id  # only the 00Z run covers 04Z
    assert at("2023-02-01T06:00") == e06.id  # both do: the newer run wins
    assert at("2023-02-01T11:00") == e06.id
    assert st.open_wind("gfs").attrs["cache_entry"] == e06.id  # no time: the newest
    with pytest.raises(WindDataError, match="no cached gfs winds cover 2023-02-01T13:00:00Z"):
        st.open_wind("gfs", time=np.datetime64("2023-02-01T13:00"))
    # predict passes its start time: a drift at 20 km starting 04Z runs on the 00Z cycle
    ds = st.predict(40.0, -100.0, 20000.0, "2023-02-01T04:00Z", "drift", duration="1h", wind="gfs", step=120)
    assert e00.id in ds.attrs["wind"]


def test_cli_fetch_list_inspect_clear(server, cache, capsys):
    assert run(["fetch", "gfs", "--cycle", "2023-02-01T00", "--hours", "0-6", "--levels", "150-10",
                "--region", REGION, "--mirror", server.url]) == 0
    out = capsys.readouterr().out
    entry_id = out.split()[1]
    assert out.startswith("stored gfs-2023020100-") and "--wind gfs" in out
    assert run(["cache", "list", "--json"]) == 0
    import json

    listed = json.loads(capsys.readouterr().out)
    assert [e["id"] for e in listed["entries"]] == [entry_id]
    assert run(["inspect", entry_id, "--json"]) == 0
    desc = json.loads(capsys.readouterr().out)
    assert desc["shape"] == [3, 17, 31, 7, 3] and desc["time_range"][0].startswith("2023-02-01T00:00")
    assert run(["cache", "clear"]) == 0
    assert "removed 1 entry" in capsys.readouterr().out and cache.entries() == []


@pytest.mark.parametrize("args, words", [
    (["fetch", "gfz"], "wind source 'gfz' cannot be fetched"),
    (["fetch", "gfs", "--cycle", "2023-02-01T05"], "cycle 2023-02-01T05:00:00 is not a model run time"),
    (["fetch", "gfs", "--cycle", "yesterday"], "cycle 'yesterday' is not a model run time"),
    (["fetch", "gfs", "--levels", "150-abc"], "levels '150-abc' are not a pressure band"),
    (["fetch", "gfs", "--levels", "2000-10"], "outside 0..1100 hPa"),
    (["fetch", "gfs", "--region", "-130,20,-60"], "region '-130,20,-60' is not W,S,E,N"),
    (["fetch", "gfs", "--region", "-130,60,-60,20"], "expected -90 <= S < N <= 90"),
    (["fetch", "gfs", "--hours", "6-0"], "forecast hours '6-0' are an empty range"),
    (["fetch", "gfs", "--resolution", "0.3"], "resolution 0.3 is not offered"),
    (["fetch", "era5", "--start", "2023-02-01", "--end", "2023-02-02"], "ERA5 needs a Climate Data Store API key"),
    (["predict", "--lat", "40", "--lon", "-100", "--wind", "gfs"], "no gfs winds are in the cache"),
    (["cache", "clear", "gfs-nothing-here"], "cache entry 'gfs-nothing-here' does not exist"),
])
def test_bad_input_is_one_line_and_exit_2(args, words, cache, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CDSAPI_RC", str(tmp_path / "no-cdsapirc"))
    monkeypatch.delenv("CDSAPI_URL", raising=False)
    monkeypatch.delenv("CDSAPI_KEY", raising=False)
    monkeypatch.delenv("STRATOTRACK_MIRROR", raising=False)
    assert run(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("stratotrack: error: ") and words in err


def test_unknown_wind_name_and_api_errors(cache, tmp_path, monkeypatch):
    with pytest.raises(WindDataError, match="unknown wind source 'gfz'.*'gfs'"):
        st.open_wind("gfz")
    monkeypatch.setenv("CDSAPI_RC", str(tmp_path / "none"))
    monkeypatch.delenv("CDSAPI_URL", raising=False)
    monkeypatch.delenv("CDSAPI_KEY", raising=False)
    with pytest.raises(InputError, match="no-such|Climate Data Store API key"):
        st.fetch("era5", start="2023-02-01", end="2023-02-02")
    with pytest.raises(InputError, match="GEFS member 'x7'"):
        st.fetch("gefs", cycle="2023-02-01T00", member="x7")


def test_gefs_member_through_herbies_gefs_template(shared_data, cache, tmp_path):
    from _archive import describe, read_messages, write_grib_with_idx

    import eccodes

    root = tmp_path / "gefs"
    handles = read_messages(shared_data / "gfs" / "gfs.t12z.pgrbf120.2p5deg.grib2")
    names = describe(handles)
    for fxx in (0, 6):  # herbie's layout for GEFS since 2020-09-23, product atmos.5, member p05
        write_grib_with_idx(root / f"gefs.{C00:%Y%m%d}/00/atmos/pgrb2ap5/gep05.t00z.pgrb2a.0p50.f{fxx:03d}",
                            handles, C00, fxx, names)
    for h in handles:
        eccodes.codes_release(h)
    with ArchiveServer(root) as srv:
        entry = st.fetch("gefs", cycle="2023-02-01T00", hours="0,6", member=5, resolution=0.5, levels="100-10",
                         region=REGION, mirror=srv.url, progress=False)
    assert entry.source == "gefs" and entry.member == "p05" and entry.product == "atmos.5"
    assert entry.levels == [100, 70, 50, 30, 20, 10] and entry.id.startswith("gefs-2023020100-a5-p05-")
    assert st.open_wind("gefs", time=np.datetime64("2023-02-01T03:00")).attrs["cache_entry"] == entry.id
