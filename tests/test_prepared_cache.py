"""The prepared climatology kept in the user cache: same field as preparing the file, and a damaged cache is ignored."""

import numpy as np
import xarray as xr

from stratotrack.wind import _prepared, sources
from stratotrack.wind.prepare import from_dataset

ARRAYS = ("data", "lat", "lon", "knots", "knot_index", "levels")


def fresh():
    with xr.open_dataset(sources.climatology_path()) as ds:
        return from_dataset(ds.load(), source="climatology (HWM14 monthly means, 0-40 km)", kind="climatology")


def load_climatology():
    sources._climatology.cache_clear()
    try:
        return sources._climatology()
    finally:
        sources._climatology.cache_clear()


def test_the_cached_climatology_is_the_prepared_file(tmp_path, monkeypatch):
    monkeypatch.setenv("STRATOTRACK_CACHE_DIR", str(tmp_path))
    first = load_climatology()
    stored = _prepared.cached_path(sources.climatology_path())
    assert stored.is_file() and stored.parent.parent == tmp_path
    second = load_climatology()
    expect = fresh()
    for field in (first, second):
        for name in ARRAYS:
            assert np.array_equal(getattr(field, name), getattr(expect, name)), name
        assert field.describe() == expect.describe()
        assert field.kind == "climatology" and field.attrs["title"] == expect.attrs["title"]
    t = np.array(["2023-01-29T12:00", "2023-07-15T00:00"], dtype="datetime64[s]")
    got = second.sample(t, [40.0, -30.0], [250.0, 10.0], [18000.0, 5000.0])
    want = expect.sample(t, [40.0, -30.0], [250.0, 10.0], [18000.0, 5000.0])
    for name in ("eastward_wind", "northward_wind"):
        assert np.array_equal(got[name].values, want[name].values) and np.all(got[name].values != 0)


def test_a_damaged_cache_file_is_ignored_and_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("STRATOTRACK_CACHE_DIR", str(tmp_path))
    stored = _prepared.cached_path(sources.climatology_path())
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"PK\x03\x04 not a zip at all")
    field = load_climatology()
    assert np.array_equal(field.data, fresh().data)
    assert _prepared.load(sources.climatology_path()) is not None, "the damaged file was replaced"


def test_an_unwritable_cache_is_not_an_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("STRATOTRACK_CACHE_DIR", str(blocker))
    field = load_climatology()
    assert field.kind == "climatology" and field.data.shape == fresh().data.shape
