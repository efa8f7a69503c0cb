"""Every export read back by an independent parser (pandas, geojson-pydantic, lxml + the KML 2.2 schema, fastkml,
czml3, gpxpy, netCDF4 + cf_xarray) with the same points it wrote, and every importer round-tripping its format."""

import json
import pathlib
import zipfile

import numpy as np
import pytest

import stratotrack as st
import stratotrack.io as sio
from stratotrack.errors import InputError

T0 = "2023-01-17T11:00:00Z"
MS = np.timedelta64(1, "ms")


@pytest.fixture(scope="module")
def single(climatology):
    return st.predict(37.74, -122.22, 10.0, T0, wind=climatology)


@pytest.fixture(scope="module")
def ensemble(climatology):
    return st.predict([37.6, 37.74, 37.9], [-122.3, -122.22, 237.9], 10.0, T0, ascent_rate=[4.5, 5.0, 5.5],
                      wind=climatology)


@pytest.fixture(scope="module")
def backward(climatology):
    return st.predict(37.71, -120.70, 0.0, "2023-01-17T13:30:00Z", backward=True, wind=climatology)


@pytest.fixture(scope="module")
def dateline(climatology):
    """A long float that crosses the antimeridian eastwards from Japan (winter jet at 12 km)."""
    ds = st.predict(36.0, 160.0, 0.0, T0, "float", float_altitude=12000, duration="3d", wind=climatology)
    lon = ds.longitude.values[0, : int(ds.n_obs[0])]
    assert (np.abs(np.diff(lon)) > 180).any(), "the fixture must cross the antimeridian"
    return ds


def points(ds, i):
    """The valid points of trajectory i, read straight from the Dataset (not through stratotrack.io)."""
    n = int(ds.n_obs.values[i])
    lon = ds.longitude.values[i, :n]
    return (ds.time.values[i, :n], ds.latitude.values[i, :n], (lon + 180) % 360 - 180, ds.altitude.values[i, :n])


def events(ds, i):
    return [(str(name), ds.event_time.values[i, j], ds.event_latitude.values[i, j],
             (ds.event_longitude.values[i, j] + 180) % 360 - 180, ds.event_altitude.values[i, j])
            for j, name in enumerate(ds.event.values) if np.isfinite(ds.event_latitude.values[i, j])]


def assert_points(ds, i, time, lat, lon, alt, check_time=True):
    t0, la0, lo0, al0 = points(ds, i)
    assert len(lat) == len(la0) > 10
    np.testing.assert_allclose(lat, la0, atol=6e-7)
    np.testing.assert_allclose(lon, lo0, atol=6e-7)
    np.testing.assert_allclose(alt, al0, atol=0.051)
    if check_time:
        dt = np.abs((np.asarray(time, dtype="datetime64[ns]") - t0) / MS)
        assert dt.max() <= 0.5


def assert_round_trip(ds, back, check_events=True):
    assert back.sizes["trajectory"] == ds.sizes["trajectory"]
    for i in range(ds.sizes["trajectory"]):
        n = int(back.n_obs.values[i])
        assert_points(ds, i, back.time.values[i, :n], back.latitude.values[i, :n], back.longitude.values[i, :n],
                      back.altitude.values[i, :n])
        if check_events:
            got = {str(name): j for j, name in enumerate(back.event.values)}
            for name, t, la, lo, z in events(ds, i):
                j = got[name]
                assert abs((back.event_time.values[i, j] - t) / MS) <= 0.5
                np.testing.assert_allclose([back.event_latitude.values[i, j], back.event_longitude.values[i, j]],
                                           [la, lo], atol=6e-7)
                assert abs(back.event_altitude.values[i, j] - z) <= 0.051


# -- CSV -------------------------------------------------------------------------------------------------------------
def test_csv_has_tawhiri_columns_and_pandas_reads_the_points(single, tmp_path):
    import pandas as pd

    path = tmp_path / "flight.csv"
    sio.write(single, path)
    df = pd.read_csv(path)
    assert list(df.columns) == ["datetime", "latitude", "longitude", "altitude"]
    times = pd.to_datetime(df["datetime"], utc=True).dt.tz_localize(None).values
    assert_points(single, 0, times, df.latitude.values, df.longitude.values, df.altitude.values)
    assert_round_trip(single, sio.read(path), check_events=False)


def test_csv_ensemble_adds_a_trajectory_column(ensemble, tmp_path):
    import pandas as pd

    path = tmp_path / "ens.csv"
    sio.write(ensemble, path)
    df = pd.read_csv(path)
    assert list(df.columns) == ["datetime", "latitude", "longitude", "altitude", "trajectory"]
    assert sorted(df.trajectory.unique()) == [0, 1, 2]
    for i in range(3):
        part = df[df.trajectory == i]
        times = pd.to_datetime(part["datetime"], utc=True).dt.tz_localize(None).values
        assert_points(ensemble, i, times, part.latitude.values, part.longitude.values, part.altitude.values)
    assert -180 <= df.longitude.min() and df.longitude.max() <= 180  # 237.9 E was written as -122.1
    assert_round_trip(ensemble, sio.read(path), check_events=False)


def test_csv_reader_takes_common_header_variants(tmp_path):
    path = tmp_path / "track.csv"
    path.write_text("time,lat,lng,height\n2023-01-17T11:00:00Z,37.7,-122.2,10\n2023-01-17T11:01:00+00:00,37.8,"
                    "-122.1,310.5\n")
    ds = sio.read(path)
    assert ds.n_obs.values.tolist() == [2]
    assert ds.altitude.values[0].tolist() == [10.0, 310.5]
    assert str(ds.time.values[0, 1]) == "2023-01-17T11:01:00.000000000"


# -- GeoJSON ---------------------------------------------------------------------------------------------------------
def test_geojson_validates_and_carries_points_times_and_events(ensemble, tmp_path):
    from geojson_pydantic import FeatureCollection

    path = tmp_path / "ens.geojson"
    sio.write(ensemble, path)
    doc = json.loads(path.read_text())
    fc = FeatureCollection.model_validate(doc)  # RFC 7946 structure
    lines = [f for f in fc.features if f.geometry.type == "LineString"]
    pts = [f for f in fc.features if f.geometry.type == "Point"]
    assert len(lines) == 3 and len(pts) == 9
    for f in lines:
        i = f.properties["trajectory"]
        xyz = np.array([tuple(c) for c in f.geometry.coordinates])
        times = np.array([t.rstrip("Z") for t in f.properties["times"]], dtype="datetime64[ms]")
        assert_points(ensemble, i, times, xyz[:, 1], xyz[:, 0], xyz[:, 2])
    burst = [f for f in pts if f.properties["event"] == "burst" and f.properties["trajectory"] == 2][0]
    name, t, la, lo, z = [e for e in events(ensemble, 2) if e[0] == "burst"][0]
    assert tuple(burst.geometry.coordinates) == pytest.approx((lo, la, z), abs=1e-6)
    assert abs((np.datetime64(burst.properties["time"].rstrip("Z")) - t) / MS) <= 0.5
    assert_round_trip(ensemble, sio.read(path))


def test_geojson_cuts_a_path_at_the_antimeridian(dateline, tmp_path):
    from geojson_pydantic import FeatureCollection

    path = tmp_path / "dateline.geojson"
    sio.write(dateline, path)
    fc = FeatureCollection.model_validate(json.loads(path.read_text()))
    line = [f for f in fc.features if f.properties["feature"] == "path"][0]
    assert line.geometry.type == "MultiLineString"
    for part, times in zip(line.geometry.coordinates, line.properties["times"]):
        lon = np.array([p[0] for p in part])
        assert len(times) == len(part)
        assert np.all(np.abs(np.diff(lon)) < 180)  # no part crosses the antimeridian
    assert_round_trip(dateline, sio.read(path))


# -- KML / KMZ -------------------------------------------------------------------------------------------------------
def _kml_schema():
    import fastkml
    from lxml import etree

    xsd = pathlib.Path(fastkml.__file__).parent / "schema" / "kml22gx.xsd"  # OGC KML 2.2 + Google's gx extension
    return etree.XMLSchema(etree.parse(str(xsd)))


@pytest.mark.parametrize("ext", ["kml", "kmz"])
def test_kml_is_schema_valid_and_fastkml_reads_the_points(ensemble, tmp_path, ext):
    from fastkml import kml
    from lxml import etree

    path = tmp_path / f"ens.{ext}"
    sio.write(ensemble, path)
    if ext == "kmz":
        with zipfile.ZipFile(path) as z:
            assert z.namelist() == ["doc.kml"]
            data = z.read("doc.kml")
    else:
        data = path.read_bytes()
    schema = _kml_schema()
    assert schema.validate(etree.fromstring(data)), schema.error_log
    doc = kml.KML.from_string(data).features[0]
    folders = list(doc.features)
    assert len(folders) == 3
    for i, folder in enumerate(folders):
        marks = {p.name: p for p in folder.features}
        line = np.array(marks["flight path"].geometry.coords)
        assert marks["flight path"].kml_geometry.altitude_mode.value == "absolute"
        items = marks["timed track"].kml_geometry.track_items
        times = np.array([it.when.dt.replace(tzinfo=None) for it in items], dtype="datetime64[ns]")
        track = np.array([it.coord.coords[0] for it in items])
        assert_points(ensemble, i, times, line[:, 1], line[:, 0], line[:, 2])
        assert_points(ensemble, i, times, track[:, 1], track[:, 0], track[:, 2])
        for name, t, la, lo, z in events(ensemble, i):
            pm = marks[name]
            assert pm.geometry.coords[0] == pytest.approx((lo, la, z), abs=1e-6)
            assert abs((np.datetime64(pm.times.timestamp.dt.replace(tzinfo=None)) - t) / MS) <= 0.5
    assert_round_trip(ensemble, sio.read(path))


def test_kml_backward_prediction_round_trips(backward, tmp_path):
    path = tmp_path / "back.kml"
    sio.write(backward, path)
    back = sio.read(path)
    assert_round_trip(backward, back)
    assert back.time.values[0, 0] > back.time.values[0, int(back.n_obs[0]) - 1]  # runs back in time


@pytest.mark.shared
def test_kml_reader_reads_a_real_radiosonde_kmz(shared_data):
    """Reads ../shared/data/flights (real RS41 flights written by another program)."""
    path = shared_data / "flights" / "oakland-rs41-2023-01" / "20230117-112338_U2450614_RS41_404001_sonde.kmz"
    ds = sio.read(path)
    n = int(ds.n_obs[0])
    assert n > 1000
    lat, lon, alt = (ds[k].values[0, :n] for k in ("latitude", "longitude", "altitude"))
    assert abs(lat[0] - 37.74) < 0.1 and abs(lon[0] + 122.22) < 0.1  # Oakland
    assert 29000 < alt.max() < 35000  # climbs to about 29-34 km, then bursts
    assert ds.sizes["event"] > 20  # the timed placemarks along the flight


# -- CZML ------------------------------------------------------------------------------------------------------------
def test_czml_validates_with_czml3_and_positions_are_time_tagged(ensemble, backward, tmp_path):
    from czml3 import Document

    for ds, name in ((ensemble, "ens"), (backward, "back")):
        path = tmp_path / f"{name}.czml"
        sio.write(ds, path)
        doc = Document.model_validate(json.loads(path.read_text()))
        assert doc.packets[0].id == "document" and doc.packets[0].version == "1.0"
        paths = [p for p in doc.packets if p.path is not None]
        assert len(paths) == ds.sizes["trajectory"]
        for i, p in enumerate(paths):
            flat = np.array(p.position.cartographicDegrees.values, dtype=float).reshape(-1, 4)
            epoch = np.datetime64(str(p.position.epoch).replace("Z", "").replace("+00:00", ""), "ns")
            times = epoch + (flat[:, 0] * 1e9).round().astype("timedelta64[ns]")
            assert np.all(np.diff(flat[:, 0]) >= 0)  # CZML samples run forward in time
            t0, la0, lo0, al0 = points(ds, i)
            order = np.argsort(t0, kind="stable")
            back = np.argsort(order)
            assert_points(ds, i, times[back], flat[back, 2], flat[back, 1], flat[back, 3])
        ev = [p for p in doc.packets if p.parent is not None]
        assert sorted(p.name for p in ev) == sorted(e[0] for i in range(ds.sizes["trajectory"]) for e in events(ds, i))


def test_czml_cannot_be_read_back(tmp_path):
    with pytest.raises(InputError, match="CZML files cannot be read back"):
        sio.read(tmp_path / "x.czml")


# -- GPX -------------------------------------------------------------------------------------------------------------
def test_gpx_gpxpy_reads_tracks_and_waypoints(ensemble, tmp_path):
    import gpxpy

    path = tmp_path / "ens.gpx"
    sio.write(ensemble, path)
    with open(path) as fh:
        gpx = gpxpy.parse(fh)
    assert gpx.version == "1.1" and len(gpx.tracks) == 3
    for i, trk in enumerate(gpx.tracks):
        pts = trk.segments[0].points
        times = np.array([p.time.replace(tzinfo=None) for p in pts], dtype="datetime64[ns]")
        assert_points(ensemble, i, times, [p.latitude for p in pts], [p.longitude for p in pts],
                      [p.elevation for p in pts])
    wpts = {(w.description, w.name): w for w in gpx.waypoints}
    for i in range(3):
        for name, t, la, lo, z in events(ensemble, i):
            w = wpts[(f"trajectory {i}", name)]
            assert (w.latitude, w.longitude, w.elevation) == pytest.approx((la, lo, z), abs=1e-6)
    assert_round_trip(ensemble, sio.read(path))


# -- NetCDF ----------------------------------------------------------------------------------------------------------
def test_netcdf_is_a_cf_trajectory_file(ensemble, tmp_path):
    import cf_xarray  # noqa: F401  (registers the .cf accessor)
    import netCDF4
    import xarray as xr

    path = tmp_path / "ens.nc"
    sio.write(ensemble, path)
    with netCDF4.Dataset(path) as nc:  # the raw file, without xarray's decoding
        assert nc.Conventions == "CF-1.11" and nc.featureType == "trajectory"
        assert nc["trajectory"].cf_role == "trajectory_id"
        assert nc["latitude"].standard_name == "latitude" and nc["altitude"].positive == "up"
        assert nc["time"].units.startswith("seconds since 1970-01-01")
        lat = nc["latitude"][:]
        for i in range(3):
            n = int(nc["n_obs"][i])
            t = netCDF4.num2date(nc["time"][i, :n], nc["time"].units, only_use_cftime_datetimes=False)
            times = np.array([x.replace(tzinfo=None) for x in t], dtype="datetime64[ns]")
            assert_points(ensemble, i, times, lat[i, :n], nc["longitude"][i, :n], nc["altitude"][i, :n])
            assert np.ma.is_masked(lat[i, n:]) or n == lat.shape[1]  # padding is fill, not numbers
    with xr.open_dataset(path) as ds:
        assert ds.cf.cf_roles == {"trajectory_id": ["trajectory"]}
        assert ds.cf["latitude"].name == "latitude" and ds.cf["time"].name == "time"
    back = sio.read(path)
    assert_round_trip(ensemble, back)
    assert back.attrs["parameters"] == ensemble.attrs["parameters"]
    np.testing.assert_array_equal(back.stage.values, ensemble.stage.values)


def test_netcdf_reader_rejects_a_file_that_is_not_a_trajectory(tmp_path, climatology):
    import xarray as xr

    path = tmp_path / "grid.nc"
    xr.Dataset({"u": (("lat",), np.zeros(3))}).to_netcdf(path)
    with pytest.raises(InputError, match="not a CF trajectory file"):
        sio.read(path)


# -- writing safely --------------------------------------------------------------------------------------------------
def test_unknown_extension_and_missing_folder_are_one_line_errors(single, tmp_path):
    with pytest.raises(InputError, match=r"extension '\.docx' is not a known format; expected one of \.csv"):
        sio.write(single, tmp_path / "x.docx")
    with pytest.raises(InputError, match="folder .* does not exist"):
        sio.write(single, tmp_path / "missing" / "x.csv")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_neither_a_half_file_nor_a_temporary(single, tmp_path, monkeypatch):
    import stratotrack.io._common as common
    import stratotrack.io.csv as csv_mod

    path = tmp_path / "x.csv"
    path.write_text("previous contents")
    monkeypatch.setattr(csv_mod, "LATLON_DECIMALS", "?")  # the first row fails after the header was written
    with pytest.raises(ValueError):
        sio.write(single, path)
    assert path.read_text() == "previous contents"
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]
    monkeypatch.undo()

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(common.os, "replace", full_disk)
    from stratotrack.errors import ResourceError  # a fault of the environment (exit 1), not bad input

    with pytest.raises(ResourceError, match="cannot write .*x.kml.*No space left on device"):
        sio.write(single, tmp_path / "x.kml")
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]
