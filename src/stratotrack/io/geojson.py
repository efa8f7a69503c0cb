"""GeoJSON (RFC 7946): each path a LineString with its per-point times in a property, each event a Point.

Positions are [longitude, latitude, altitude] in WGS 84 with longitudes in -180..180.  A path that crosses the
antimeridian is cut there into a MultiLineString (RFC 7946 section 3.1.9), its ``times`` split the same way.
"""

from __future__ import annotations

import json

import numpy as np

from ..errors import InputError
from ._common import ALT_DECIMALS, LATLON_DECIMALS, Event, Track, atomic_open, describe, iso, parse_times, \
    to_dataset, tracks


def _position(lon, lat, alt):
    return [round(float(lon), LATLON_DECIMALS), round(float(lat), LATLON_DECIMALS), round(float(alt), ALT_DECIMALS)]


def _parts(lon: np.ndarray) -> list[slice]:
    """Slices of a path that do not cross the antimeridian (a jump of more than 180 degrees between points)."""
    cuts = (np.nonzero(np.abs(np.diff(lon)) > 180.0)[0] + 1).tolist()
    edges = [0, *cuts, lon.size]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


def features(ds) -> dict:
    """The FeatureCollection of a trajectory Dataset, as a dict."""
    feats = []
    about = describe(ds)
    for t in tracks(ds):
        times = iso(t.time).tolist()
        coords = [_position(*p) for p in zip(t.lon, t.lat, t.alt)]
        parts = _parts(t.lon)
        if len(parts) == 1:
            geometry = {"type": "LineString", "coordinates": coords}
        else:
            geometry = {"type": "MultiLineString", "coordinates": [coords[s] for s in parts]}
            times = [times[s] for s in parts]
        props = {"trajectory": t.index, "feature": "path", "times": times, "description": about}
        for name in ("profile", "direction", "wind"):
            if name in ds.attrs:
                props[name] = ds.attrs[name]
        if "end_reason" in ds:
            props["end_reason"] = str(ds["end_reason"].values[t.index])
        feats.append({"type": "Feature", "id": f"trajectory-{t.index}", "geometry": geometry, "properties": props})
        for e in t.events:
            feats.append({
                "type": "Feature",
                "id": f"trajectory-{t.index}-{e.name}",
                "geometry": {"type": "Point", "coordinates": _position(e.lon, e.lat, e.alt)},
                "properties": {"trajectory": t.index, "feature": "event", "event": e.name, "time": str(iso(e.time))},
            })
    return {"type": "FeatureCollection", "features": feats}


def write(ds, path) -> None:
    doc = features(ds)
    with atomic_open(path) as fh:
        json.dump(doc, fh, separators=(",", ":"), allow_nan=False)
        fh.write("\n")


def _lines(geometry):
    if geometry["type"] == "LineString":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiLineString":
        return geometry["coordinates"]
    return []


def read(path):
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"GeoJSON file '{path}' is not valid JSON: {exc}") from None
    feats = doc.get("features", [doc] if doc.get("type") == "Feature" else []) if isinstance(doc, dict) else []
    items: dict[int, Track] = {}
    pending = []
    for n, f in enumerate(feats):
        geom, props = f.get("geometry") or {}, f.get("properties") or {}
        lines = _lines(geom)
        if lines:
            pts = [p for line in lines for p in line]
            times = props.get("times")
            if times and isinstance(times[0], list):
                times = [x for part in times for x in part]
            times = parse_times(times) if times and len(times) == len(pts) else \
                np.full(len(pts), np.datetime64("NaT"), dtype="datetime64[ns]")
            arr = np.array([[p[0], p[1], p[2] if len(p) > 2 else np.nan] for p in pts], dtype=float).reshape(-1, 3)
            idx = int(props.get("trajectory", n))
            items[idx] = Track(idx, times, arr[:, 1], arr[:, 0], arr[:, 2])
        elif geom.get("type") == "Point":
            p = geom["coordinates"]
            t = parse_times([props.get("time")])[0]
            name = str(props.get("event") or props.get("name") or f"point {n}")
            pending.append((props.get("trajectory"), Event(name, t, float(p[1]), float(p[0]),
                                                           float(p[2]) if len(p) > 2 else np.nan)))
    if not items:
        raise InputError(f"GeoJSON file '{path}' holds no LineString; expected a path as a LineString")
    first = next(iter(items))
    for idx, ev in pending:
        items.get(int(idx) if idx is not None else first, items[first]).events.append(ev)
    return to_dataset(list(items.values()), f"GeoJSON file {path}")
