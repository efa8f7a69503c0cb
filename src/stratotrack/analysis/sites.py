"""Sensitive sites and areas: points with radii and polygons, their overflights and time within sensor reach.

A site is a point with a radius (``Site.point``) or a polygon (``Site.area``; GeoJSON/CSV through
:func:`load_sites`).  For every trajectory (one flight or each member of an ensemble) :func:`overflights` finds when
the point under the balloon enters and leaves the site, the closest approach, and how long the site lies within the
sensor's reach (:class:`stratotrack.analysis.geometry.Sensor`: ground points seen above an elevation mask and within
an off-nadir limit); over an ensemble, the probability of each.

Polygon edges are straight in longitude/latitude (as in GeoJSON) and take the shorter way round, so a ring may cross
the antimeridian (170 -> -170 is 20 degrees east); GeoJSON's split MultiPolygons are joined again.  Distances to a
polygon are measured in an azimuthal equidistant projection centred on it (exact from its centre; a fraction of a
per cent off at 1,000 km for other directions).

>>> s = Site.point("Malmstrom AFB", 47.505, -111.187, radius_km=25)
>>> round(float(s.distance(47.505, -110.0)) / 1000, 1)     # km from the edge of the 25 km circle
64.2
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..geodesy import great_circle_distance, move, offsets, wrap_longitude
from . import _track as T
from .geometry import Sensor, elevation_angle, off_nadir_angle

__all__ = ["Site", "load_sites", "parse_site", "overflights", "summarize_overflights"]

D2R = np.pi / 180.0
_NEAR_MARGIN = 3.0e6  # beyond this distance (m) past a polygon's extent no sensor reaches it


def _unwrap_ring(coords):
    c = np.asarray(coords, dtype=float)
    lon = c[:, 0].copy()
    lon[1:] = lon[0] + np.cumsum(wrap_longitude(np.diff(lon)))
    return np.stack([lon, c[:, 1]], axis=1)


@dataclass
class Site:
    """A named point with a radius (m) or a polygon.  Build with :meth:`point` or :meth:`area`."""

    name: str
    kind: str
    lat: float
    lon: float
    radius_m: float = 0.0
    geometry: object = None  # polygon: shapely geometry in lon/lat (unwrapped rings)
    properties: dict = field(default_factory=dict)

    @classmethod
    def point(cls, name, lat, lon, radius_km=0.0, **properties) -> "Site":
        for what, v, lim in (("latitude", lat, 90), ("longitude", lon, 360)):
            try:
                v = float(v)
            except (TypeError, ValueError):
                raise InputError(f"site {name!r}: {what} {v!r} is not a number; expected degrees") from None
            if not math.isfinite(v) or abs(v) > lim:
                raise InputError(f"site {name!r}: {what} {v!r} is invalid; expected degrees within +-{lim}")
        try:
            r = float(radius_km)
        except (TypeError, ValueError):
            r = float("nan")
        if not (math.isfinite(r) and r >= 0):
            raise InputError(f"site {name!r}: radius {radius_km!r} km is invalid; expected a distance >= 0 km")
        return cls(str(name), "point", float(lat), float(wrap_longitude(lon)), r * 1000.0,
                   properties=dict(properties))

    @classmethod
    def area(cls, name, geometry, **properties) -> "Site":
        """A polygon: a ring of (lon, lat) pairs, a list of rings (exterior then holes), a GeoJSON geometry dict,
        or a shapely Polygon/MultiPolygon."""
        import shapely
        from shapely.geometry import MultiPolygon, Polygon, shape

        try:
            if isinstance(geometry, dict):
                geom = shape(geometry)
            elif hasattr(geometry, "geom_type"):
                geom = geometry
            else:
                arr = geometry
                if np.ndim(np.asarray(arr[0], dtype=object)) == 1 and np.ndim(arr[0][0]) == 0:
                    geom = Polygon(np.asarray(arr, dtype=float))
                else:
                    geom = Polygon(np.asarray(arr[0], dtype=float), [np.asarray(h, dtype=float) for h in arr[1:]])
        except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
            raise InputError(f"site {name!r}: the polygon cannot be read ({exc}); expected (lon, lat) rings with at "
                             "least 3 distinct vertices") from None
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise InputError(f"site {name!r}: a {geom.geom_type} is not an area; expected a Polygon or MultiPolygon")
        parts = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
        fixed = []
        for part in parts:
            if part.is_empty or len(part.exterior.coords) < 4:
                raise InputError(f"site {name!r}: a polygon needs at least 3 distinct (lon, lat) vertices")
            ext = np.asarray(part.exterior.coords)
            if not np.all(np.isfinite(ext)) or np.any(np.abs(ext[:, 1]) > 90):
                raise InputError(f"site {name!r}: polygon coordinates must be finite (lon, lat) with |lat| <= 90")
            shell = _unwrap_ring(ext)
            holes = [_unwrap_ring(np.asarray(h.coords)) for h in part.interiors]
            p = Polygon(shell, holes)
            if not p.is_valid:
                why = shapely.is_valid_reason(p)
                raise InputError(f"site {name!r}: the polygon is invalid ({why}); expected a simple ring that does "
                                 "not cross itself")
            if p.area == 0:
                raise InputError(f"site {name!r}: the polygon has no area; expected at least 3 non-collinear vertices")
            fixed.append(p)
        mp = MultiPolygon(fixed) if len(fixed) > 1 else fixed[0]
        # centre: normalised mean of the unit vectors of the outer vertices
        pts = np.concatenate([np.asarray(p.exterior.coords)[:-1] for p in fixed])
        la, lo = pts[:, 1] * D2R, pts[:, 0] * D2R
        v = np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)]).mean(axis=1)
        lat0 = float(np.arcsin(v[2] / np.linalg.norm(v)) / D2R)
        lon0 = float(np.arctan2(v[1], v[0]) / D2R)
        site = cls(str(name), "polygon", lat0, lon0, 0.0, mp, dict(properties))
        site._project()
        return site

    def _project(self):
        import shapely
        from shapely.ops import unary_union

        parts = list(self.geometry.geoms) if self.geometry.geom_type == "MultiPolygon" else [self.geometry]
        proj = []
        for p in parts:
            dense = shapely.segmentize(p, 0.1)
            proj.append(shapely.transform(dense, lambda xy: np.stack(offsets(xy[:, 1], xy[:, 0], self.lat, self.lon),
                                                                       axis=1)))
        # the pieces of a polygon split at the antimeridian touch along it: close the hairline gaps of the split
        merged = unary_union(proj)
        if len(proj) > 1:
            merged = merged.buffer(1.0).buffer(-1.0)
        if not merged.is_valid:
            merged = shapely.make_valid(merged)
        self._proj = merged
        self._boundary = merged.boundary
        shapely.prepare(self._proj)
        xy = shapely.get_coordinates(merged)
        self._extent = float(np.hypot(xy[:, 0], xy[:, 1]).max())

    @property
    def extent_m(self) -> float:
        """Largest distance (m) from the site's centre to its edge."""
        return self.radius_m if self.kind == "point" else self._extent

    def distance(self, lat, lon):
        """Signed distance (m) from the site's edge to points: negative inside, 0 on the edge."""
        lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
        gc = great_circle_distance(lat, lon, self.lat, self.lon)
        if self.kind == "point":
            return gc - self.radius_m
        import shapely

        out = gc - self._extent  # a lower bound, used far away
        near = np.isfinite(gc) & (gc < self._extent + _NEAR_MARGIN)
        if near.any():
            x, y = offsets(lat[near], lon[near], self.lat, self.lon)
            inside = shapely.contains_xy(self._proj, x, y)
            dist = shapely.distance(self._boundary, shapely.points(x, y))
            out[near] = np.where(inside, -dist, dist)
        return out

    def closest_approach(self, t, lat, lon, valid, distance=None):
        """Per row of points ``[n, m]``: (index of the nearest point, time (s), signed distance (m) from the edge) of
        the closest approach.

        The closest point of every segment between consecutive valid points counts, not only the points: a
        segment is straight at constant speed in the site's azimuthal equidistant projection (exact for a uniform
        drift through the centre).  Segments that cannot beat the nearest point (its distance less half their
        length) are skipped.  A polygon crossed between two points outside it is at distance 0.  ``distance``: the
        points' :meth:`distance`, when already computed.
        """
        import shapely

        t, lat, lon = (np.asarray(a, dtype=float) for a in (t, lat, lon))
        d = np.where(valid, self.distance(lat, lon) if distance is None else distance, np.inf)
        rows = np.arange(d.shape[0])
        k = np.argmin(d, axis=1)
        dmin, tmin = d[rows, k].copy(), t[rows, k].copy()
        if d.shape[1] < 2:
            return k, tmin, dmin
        seg = valid[:, :-1] & valid[:, 1:]
        half = 0.5 * great_circle_distance(lat[:, :-1], lon[:, :-1], lat[:, 1:], lon[:, 1:])
        cand = seg & (np.minimum(d[:, :-1], d[:, 1:]) - half < dmin[:, None])
        r, c = np.nonzero(cand)
        if r.size == 0:
            return k, tmin, dmin
        x0, y0 = offsets(lat[r, c], lon[r, c], self.lat, self.lon)
        x1, y1 = offsets(lat[r, c + 1], lon[r, c + 1], self.lat, self.lon)
        dx, dy = x1 - x0, y1 - y0
        if self.kind == "point":
            ll = dx * dx + dy * dy
            s = np.clip(-(x0 * dx + y0 * dy) / np.where(ll > 0, ll, 1.0), 0.0, 1.0)
            ds = np.hypot(x0 + s * dx, y0 + s * dy) - self.radius_m
        else:
            lines = shapely.linestrings(np.stack([np.stack([x0, y0], -1), np.stack([x1, y1], -1)], axis=1))
            ds = shapely.distance(lines, self._proj)
            near = shapely.get_point(shapely.shortest_line(lines, self._proj), 0)
            s = shapely.line_locate_point(lines, near, normalized=True)
        ts = t[r, c] + s * (t[r, c + 1] - t[r, c])
        # the best segment per row, where it beats the nearest point
        order = np.lexsort((ds, r))
        first = np.ones(order.size, bool)
        first[1:] = r[order][1:] != r[order][:-1]
        best = order[first]
        better = ds[best] < dmin[r[best]]
        rb = r[best][better]
        dmin[rb], tmin[rb] = ds[best][better], ts[best][better]
        return k, tmin, dmin

    def contains(self, lat, lon):
        return self.distance(lat, lon) <= 0

    def to_dict(self) -> dict:
        d = {"name": self.name, "kind": self.kind, "latitude": round(self.lat, 5), "longitude": round(self.lon, 5)}
        if self.kind == "point":
            d["radius_km"] = self.radius_m / 1000.0
        else:
            import shapely

            d["polygon"] = shapely.geometry.mapping(self.geometry)
            d["extent_km"] = round(self._extent / 1000.0, 3)
        return d

    def outline(self, n=90):
        """(lon, lat) arrays of the site's outline for maps (lists of rings for polygons)."""
        if self.kind == "point":
            if self.radius_m <= 0:
                return [np.array([[self.lon, self.lat]])]
            a = np.linspace(0, 2 * np.pi, n)
            la, lo = move(self.lat, self.lon, self.radius_m * np.sin(a), self.radius_m * np.cos(a))
            return [np.stack([lo, la], axis=1)]
        parts = list(self.geometry.geoms) if self.geometry.geom_type == "MultiPolygon" else [self.geometry]
        return [np.asarray(p.exterior.coords) for p in parts]


def parse_site(text: str) -> Site:
    """``NAME,LAT,LON[,RADIUS_KM]`` (the command line's ``--site``)."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) not in (3, 4) or not parts[0]:
        raise InputError(f"site {text!r} is not understood; expected NAME,LAT,LON[,RADIUS_KM]")
    return Site.point(parts[0], parts[1], parts[2], parts[3] if len(parts) == 4 else 0.0)


def load_sites(path, default_radius_km=0.0) -> list[Site]:
    """Sites from a GeoJSON file (Points with an optional ``radius_km``/``radius_m`` property, Polygons,
    MultiPolygons; names from the ``name`` property) or a CSV file (columns ``name``, ``latitude``/``lat``,
    ``longitude``/``lon``, optional ``radius_km``, or a ``wkt`` column holding a POLYGON)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"sites file {str(path)!r} does not exist; expected a GeoJSON or CSV file")
    suffix = p.suffix.lower()
    if suffix in (".geojson", ".json"):
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"sites file {str(path)!r} is not valid JSON ({exc})") from None
        feats = doc.get("features") if doc.get("type") == "FeatureCollection" else [doc]
        sites = []
        for k, f in enumerate(feats or []):
            geom = f.get("geometry") if f.get("type") == "Feature" else f
            props = dict(f.get("properties") or {}) if f.get("type") == "Feature" else {}
            name = str(props.pop("name", f"site{k + 1}"))
            if not geom or "type" not in geom:
                raise InputError(f"site {name!r} in {p.name} has no geometry")
            if geom["type"] == "Point":
                lon, lat = geom["coordinates"][:2]
                r = props.pop("radius_km", None)
                if r is None and "radius_m" in props:
                    r = float(props.pop("radius_m")) / 1000.0
                sites.append(Site.point(name, lat, lon, default_radius_km if r is None else r, **props))
            else:
                sites.append(Site.area(name, geom, **props))
        if not sites:
            raise InputError(f"sites file {str(path)!r} holds no features")
        return sites
    if suffix == ".csv":
        with open(p, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        sites = []
        for k, row in enumerate(rows):
            row = {(key or "").strip().lower(): (v or "").strip() for key, v in row.items()}
            name = row.get("name") or f"site{k + 1}"
            if row.get("wkt"):
                import shapely

                try:
                    geom = shapely.from_wkt(row["wkt"])
                except Exception as exc:  # shapely raises its own GEOSException
                    raise InputError(f"site {name!r}: WKT {row['wkt'][:40]!r} cannot be read ({exc})") from None
                sites.append(Site.area(name, geom))
                continue
            lat = row.get("latitude", row.get("lat"))
            lon = row.get("longitude", row.get("lon"))
            if lat in (None, "") or lon in (None, ""):
                raise InputError(f"row {k + 2} of {p.name} has no latitude/longitude; expected columns name, "
                                 "latitude, longitude[, radius_km] or name, wkt")
            sites.append(Site.point(name, lat, lon, row.get("radius_km") or default_radius_km))
        if not sites:
            raise InputError(f"sites file {str(path)!r} has no rows")
        return sites
    raise InputError(f"sites file {str(path)!r} has an unknown extension; expected .geojson, .json or .csv")


def overflights(traj, sites, sensor: Sensor | None = None) -> list[dict]:
    """For each site: per trajectory arrays and, for a single trajectory, the list of passes.

    Returns one dict per site with ``overhead`` (bool per trajectory: the point under the balloon entered the
    site), ``first_entry`` (s), ``time_overhead`` (s), ``closest_m`` / ``closest_time`` (s), ``time_in_reach``
    (s: the site within the sensor's reach), ``longest_reach`` (s) and ``first_reach`` (s); and ``passes``: the
    (enter, exit) intervals of trajectory 0 overhead and in reach.
    """
    tr = T.as_track(traj)
    sensor = sensor or Sensor()
    if isinstance(sites, Site):
        sites = [sites]
    reach = sensor.reach(np.where(tr.valid, np.maximum(tr.alt, 0.0), 0.0))
    out = []
    for site in sites:
        d = site.distance(tr.lat, tr.lon)
        d = np.where(tr.valid, d, np.nan)
        rows, ts, te, _ = T.intervals(tr.t, d, tr.valid)
        t_over, _long_over, first_in = T.per_row(tr.n, rows, ts, te)
        rrows, rts, rte, _ = T.intervals(tr.t, d - reach, tr.valid)
        t_reach, long_reach, first_reach = T.per_row(tr.n, rrows, rts, rte)
        k, tmin, dmin = site.closest_approach(tr.t, tr.lat, tr.lon, tr.valid, d)
        res = {
            "site": site, "overhead": np.bincount(rows, minlength=tr.n) > 0, "first_entry": first_in,
            "time_overhead": t_over,
            # points: from the centre; polygons: from the area (0 inside)
            "closest_m": np.maximum(dmin, 0.0) if site.kind == "polygon" else dmin + site.radius_m,
            "closest_time": tmin, "closest_index": k, "time_in_reach": t_reach, "longest_reach": long_reach,
            "first_reach": first_reach, "in_reach": np.bincount(rrows, minlength=tr.n) > 0,
            "passes": [(a, b) for r, a, b in zip(rows, ts, te) if r == 0],
            "reach_passes": [(a, b) for r, a, b in zip(rrows, rts, rte) if r == 0],
        }
        out.append(res)
    return out


def summarize_overflights(results, traj, sensor: Sensor | None = None) -> list[dict]:
    """JSON-ready rows: for one trajectory the passes, closest approach (place, altitude, elevation and off-nadir
    angle, GSD when the sensor has optics); for an ensemble the probabilities and time quantiles."""
    tr = T.as_track(traj)
    sensor = sensor or Sensor()
    rows = []
    for r in results:
        site = r["site"]
        row = {"site": site.to_dict()}
        if tr.n == 1:
            when = float(r["closest_time"][0])
            alt = T.interp_row(tr.t, tr.alt, 0, when)
            cm = float(r["closest_m"][0])
            ground = cm
            row.update({
                "overhead": bool(r["overhead"][0]),
                "passes": [{"enter": T.iso(a), "exit": T.iso(b), "minutes": round(float(b - a) / 60, 2)}
                           for a, b in r["passes"]],
                "closest_approach_km": round(cm / 1000.0, 3),
                "closest_time": T.iso(when),
                "closest_latitude": round(T.interp_row(tr.t, tr.lat, 0, when), 4),
                "closest_longitude": round(T.interp_lon(tr.t, tr.lon, 0, when), 4),
                "closest_altitude_m": round(alt, 1),
                "elevation_at_closest_deg": round(float(elevation_angle(ground, alt)), 2),
                "off_nadir_at_closest_deg": round(float(off_nadir_angle(ground, alt)), 2),
                "in_reach": bool(r["in_reach"][0]),
                "hours_in_reach": round(float(r["time_in_reach"][0]) / 3600, 3),
                "longest_reach_hours": round(float(r["longest_reach"][0]) / 3600, 3),
                "first_in_reach": T.iso(r["first_reach"][0]),
                "reach_passes": [{"start": T.iso(a), "end": T.iso(b), "hours": round(float(b - a) / 3600, 3)}
                                 for a, b in r["reach_passes"]],
            })
            if sensor.has_optics and row["elevation_at_closest_deg"] > 0:
                g = sensor.gsd(alt, ground)
                row["gsd_at_closest_m"] = {"cross": round(g.cross, 4), "along": round(g.along, 4),
                                           "limited_by": g.limited_by}
        else:
            n = tr.n
            fe = r["first_entry"][np.isfinite(r["first_entry"])]
            tin = r["time_in_reach"]
            p_over = float(r["overhead"].mean())
            p_reach = float(r["in_reach"].mean())
            row.update({
                "members": n,
                "p_overhead": p_over, "p_overhead_se": math.sqrt(p_over * (1 - p_over) / n),
                "p_in_reach": p_reach, "p_in_reach_se": math.sqrt(p_reach * (1 - p_reach) / n),
                "first_entry": None if fe.size == 0 else {
                    k: T.iso(v) for k, v in zip(("earliest", "p10", "median", "p90"),
                                                np.quantile(fe, [0, 0.1, 0.5, 0.9]))},
                "hours_in_reach": {"mean": round(float(tin.mean()) / 3600, 3),
                                   "median": round(float(np.median(tin)) / 3600, 3),
                                   "p90": round(float(np.quantile(tin, 0.9)) / 3600, 3)},
                "closest_approach_km": {"min": round(float(r["closest_m"].min()) / 1000, 3),
                                        "median": round(float(np.median(r["closest_m"])) / 1000, 3)},
            })
        rows.append(row)
    return rows
