"""Country land polygons and their 12-nautical-mile territorial seas, offline, from the shipped Natural Earth file.

The land polygons are Natural Earth's 1:50 million countries (``geo/data``, public domain).  The territorial sea is
the land buffered by 12 nmi (22,224 m) - a simplification of the law of the sea, which measures it from baselines
that close bays and follow low-water lines, and which Natural Earth's generalised coast does not carry (expect
errors of a few km).  The buffer is built in bands of 2 degrees of latitude in the Mercator projection, each with
the scale of its poleward edge (buffers are 0-3.5% too wide, never too narrow; poleward of 84 degrees none).  The
result is kept in the user cache (``$STRATOTRACK_CACHE_DIR``) so that later processes load it in milliseconds.
"""

from __future__ import annotations

import functools
import json
import os
from importlib import resources
from pathlib import Path

import numpy as np

from ..geodesy import EARTH_RADIUS, wrap_longitude

TERRITORIAL_SEA_M = 12 * 1852.0
_VERSION = 2
_BAND = 2.0


def _topo():
    text = resources.files("stratotrack.geo").joinpath("data", "ne_50m_countries.topojson.json").read_text("utf-8")
    return json.loads(text)


def _rings(topo):
    scale = np.array(topo["transform"]["scale"])
    shift = np.array(topo["transform"]["translate"])
    arcs = [np.cumsum(np.array(a, dtype=float).reshape(-1, 2), axis=0) * scale + shift for a in topo["arcs"]]

    def ring(idx):
        pts = []
        for k in idx:
            a = arcs[k] if k >= 0 else arcs[~k][::-1]
            pts.append(a if not pts else a[1:])
        return np.concatenate(pts)

    return ring


def _country_polygons():
    """[(name, iso numeric id, shapely MultiPolygon in lon/lat)]."""
    import shapely
    from shapely.geometry import MultiPolygon, Polygon

    topo = _topo()
    ring = _rings(topo)
    out = []
    for g in topo["objects"]["countries"]["geometries"]:
        if g.get("type") not in ("Polygon", "MultiPolygon"):
            continue
        polys = g["arcs"] if g["type"] == "MultiPolygon" else [g["arcs"]]
        parts = []
        for p in polys:
            rings = [ring(r) for r in p]
            if len(rings[0]) < 4:
                continue
            poly = Polygon(rings[0], [r for r in rings[1:] if len(r) >= 4])
            if not poly.is_valid:
                poly = shapely.make_valid(poly)
            parts.append(poly)
        geom = shapely.union_all(parts)
        if geom.geom_type == "Polygon":
            geom = MultiPolygon([geom])
        out.append((g["properties"].get("name", str(g.get("id"))), str(g.get("id", "")), geom))
    return out


def _merc(xy):
    lat = np.clip(xy[:, 1], -85.0, 85.0)
    return np.stack([xy[:, 0] * np.pi / 180 * EARTH_RADIUS,
                     EARTH_RADIUS * np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))], axis=1)


def _unmerc(xy):
    return np.stack([xy[:, 0] / EARTH_RADIUS * 180 / np.pi,
                     np.degrees(2 * np.arctan(np.exp(xy[:, 1] / EARTH_RADIUS)) - np.pi / 2)], axis=1)


def _buffer(geom, dist):
    import shapely
    from shapely.geometry import box

    pieces = []
    for a in np.arange(-90.0, 90.0, _BAND):
        b = a + _BAND
        band = shapely.intersection(geom, box(-181.0, a, 181.0, b))
        if band.is_empty:
            continue
        edge = min(max(abs(a), abs(b)), 84.0)
        m = shapely.transform(band, _merc)
        buf = m.buffer(dist / np.cos(np.radians(edge)), quad_segs=4)
        pieces.append(shapely.transform(buf, _unmerc))
    return shapely.union_all(pieces)


def _pack(geoms):
    """WKB of geometries as one byte buffer + offsets (fixed-width NumPy bytes would drop trailing zero bytes)."""
    import shapely

    blobs = list(shapely.to_wkb(geoms))
    return (np.frombuffer(b"".join(blobs), dtype=np.uint8),
            np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64))


def _unpack(buf, off):
    import shapely

    raw = buf.tobytes()
    return list(shapely.from_wkb([raw[off[k]:off[k + 1]] for k in range(off.size - 1)]))


def _cache_file() -> Path:
    from ..cachedir import cache_dir

    return cache_dir() / "borders" / f"ne50m-territorial-v{_VERSION}.npz"


@functools.lru_cache(maxsize=1)
def countries():
    """(names, ids, land geometries, land + territorial sea geometries), shapely, in lon/lat -180..180 (pieces that
    the buffer pushes past the antimeridian are wrapped)."""
    import shapely

    cache = _cache_file()
    if cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as z:
                return (list(z["names"]), list(z["ids"]), _unpack(z["land"], z["land_off"]),
                        _unpack(z["sea"], z["sea_off"]))
        except (OSError, ValueError, KeyError, shapely.errors.GEOSException):
            pass
    polys = _country_polygons()
    names = [p[0] for p in polys]
    ids = [p[1] for p in polys]
    land = [p[2] for p in polys]
    sea = [_wrap(_buffer(g, TERRITORIAL_SEA_M)) for g in land]
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp.npz")
        (lb, lo), (sb, so) = _pack(land), _pack(sea)
        np.savez(tmp, names=np.array(names), ids=np.array(ids), land=lb, land_off=lo, sea=sb, sea_off=so)
        os.replace(tmp, cache)
    except OSError:
        pass
    return names, ids, land, sea


def _wrap(geom):
    """Fold the parts of a geometry beyond +-180 degrees of longitude back into range."""
    import shapely
    from shapely.geometry import box

    xmin, _, xmax, _ = geom.bounds
    if xmin >= -180 and xmax <= 180:
        return geom
    parts = [shapely.intersection(geom, box(-180, -90, 180, 90))]
    east = shapely.intersection(geom, box(180, -90, 540, 90))
    if not east.is_empty:
        parts.append(shapely.transform(east, lambda xy: xy - np.array([360.0, 0.0])))
    west = shapely.intersection(geom, box(-540, -90, -180, 90))
    if not west.is_empty:
        parts.append(shapely.transform(west, lambda xy: xy + np.array([360.0, 0.0])))
    return shapely.union_all(parts)


def _tiles(geoms, size=5.0):
    """The geometries cut into ``size``-degree tiles: (tiles, index of the geometry of each tile).  Small pieces
    make point-in-polygon tests fast (a point meets a few dozen vertices instead of a whole continent's)."""
    import shapely
    from shapely.geometry import box

    tiles, owner = [], []
    for k, g in enumerate(geoms):
        x0, y0, x1, y1 = g.bounds
        for a in np.arange(np.floor(x0 / size) * size, x1, size):
            for b in np.arange(np.floor(y0 / size) * size, y1, size):
                cell = box(a, b, a + size, b + size)
                if not g.intersects(cell):
                    continue
                piece = g if g.within(cell) else shapely.intersection(g, cell)
                if not piece.is_empty and piece.area > 0:
                    tiles.append(piece)
                    owner.append(k)
    return tiles, np.array(owner, dtype=np.int64)


@functools.lru_cache(maxsize=1)
def trees():
    import shapely

    cache = _cache_file().with_name(f"ne50m-tiles-v{_VERSION}.npz")
    built = None
    if cache.exists():
        try:
            with np.load(cache, allow_pickle=False) as z:
                built = [(_unpack(z[f"{k}_tiles"], z[f"{k}_off"]), z[f"{k}_owner"]) for k in ("land", "sea")]
        except (OSError, ValueError, KeyError, shapely.errors.GEOSException):
            built = None
    if built is None:
        names, ids, land, sea = countries()
        built = [_tiles(land), _tiles(sea)]
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp.npz")
            arrays = {}
            for k, (tiles, owner) in zip(("land", "sea"), built):
                arrays[f"{k}_tiles"], arrays[f"{k}_off"] = _pack(tiles)
                arrays[f"{k}_owner"] = owner
            np.savez(tmp, **arrays)
            os.replace(tmp, cache)
        except OSError:
            pass
    out = []
    for tiles, owner in built:
        shapely.prepare(tiles)
        out.append((shapely.STRtree(tiles), owner))
    return out


def which(lat, lon, sea=True):
    """Index of the country whose land (``sea=False``) or land + territorial sea contains each point; -1 none.
    Where territorial seas overlap, the lower index wins (a simplification: real boundaries split the overlap)."""
    import shapely

    lat = np.asarray(lat, dtype=float).ravel()
    lon = wrap_longitude(np.asarray(lon, dtype=float).ravel())
    out = np.full(lat.size, -1, dtype=np.int64)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return out
    tree, owner = trees()[1 if sea else 0]
    pts = shapely.points(lon[ok], lat[ok])
    pi, ti = tree.query(pts, predicate="intersects")
    gi = owner[ti]
    if pi.size:
        order = np.lexsort((gi, pi))
        pi, gi = pi[order], gi[order]
        first = np.ones(pi.size, dtype=bool)
        first[1:] = pi[1:] != pi[:-1]
        idx = np.nonzero(ok)[0]
        out[idx[pi[first]]] = gi[first]
    return out
