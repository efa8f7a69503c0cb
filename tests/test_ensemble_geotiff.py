"""The end-point probability grid as a GeoTIFF, read back by rasterio (GDAL) with its georeferencing."""

from __future__ import annotations

import numpy as np
import pytest

import stratotrack as st
from stratotrack.ensemble import Normal
from stratotrack.wind.analytic import uniform_wind

rasterio = pytest.importorskip("rasterio")


def test_geotiff_holds_the_landing_grid_north_up_in_wgs84(tmp_path):
    wind = st.open_wind(uniform_wind(20.0, 5.0, resolution=1.0))
    res = st.ensemble(50.0, 5.0, 0.0, "2023-01-17T11:00:00Z", members=400, seed=3, wind=wind,
                      spread={"ascent_rate": Normal(0.5)}, keep="summary")
    path = res.write(tmp_path / "landing.tif")
    lat, lon, counts, prob, area, _ = res.grid("landing")
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 4326 and src.count == 2
        dens, cnt = src.read(1), src.read(2)
        assert src.tags()["product"] == "landing" and src.tags()["members"] == "400"
        assert cnt.sum() == 400
        assert np.array_equal(cnt, counts[::-1].astype(np.float32))  # north-up rows
        # every pixel centre, through the file's own transform, is the grid's cell centre
        rows, cols = np.meshgrid(np.arange(lat.size), np.arange(lon.size), indexing="ij")
        xs, ys = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
        assert np.allclose(np.reshape(ys, rows.shape), lat[::-1][:, None], atol=1e-9)
        assert np.allclose(np.reshape(xs, rows.shape), lon[None, :], atol=1e-9)
        r, c = np.unravel_index(np.argmax(cnt), cnt.shape)
        x, y = src.xy(r, c)
        # density x cell area sums to 1, as in the NetCDF product
        assert float(np.sum(dens[::-1] * area)) == pytest.approx(1.0, rel=1e-5)
    # east-north-east of the launch, where a 20/5 m/s wind takes it
    assert x > 5.0 and y > 50.0
    assert not list(tmp_path.glob(".*.part")), "no temporary file left"
