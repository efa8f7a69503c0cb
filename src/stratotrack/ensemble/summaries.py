"""Streaming summaries of an ensemble: point densities, spread ellipses and passage probabilities.

Every accumulator is updated batch by batch (and, for passages, chunk by chunk) and holds only what it needs:

* :class:`PointDensity`: counts of members per cell of a fixed lat/lon grid, kept sparse (only the cells hit) so
  that its size depends on the area covered, not on the number of members; plus the running mean and covariance
  (Chan's parallel update) of the points in a local azimuthal-equidistant plane (km) for spread ellipses.
* :class:`Passage`: per member of the current batch, whether and when it first came within ``radius`` of a point
  (closest approach on the great-circle arc between consecutive output points, exact on the sphere: in the
  gnomonic projection about the point great circles are straight lines) or entered a polygon (tested at every
  output point); per ensemble, the count and a histogram of first-passage times.

Products: gridded probability and density (smoothed with a Gaussian kernel of Scott's bandwidth), highest-density
regions at chosen probability levels as contour polygons, spread ellipses.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from ..geodesy import EARTH_RADIUS, move, offsets, wrap_longitude

D2R = math.pi / 180.0
R_KM = EARTH_RADIUS / 1000.0
_KEY = np.int64(1) << np.int64(20)  # cells per axis either side of the reference (ample at >= 0.2 km)


def check_levels(levels):
    levels = [float(x) for x in np.atleast_1d(np.asarray(levels, dtype=float))]
    if not levels:
        raise InputError("no contour levels given; expected probabilities between 0 and 1, e.g. 0.5 0.9 0.99")
    for x in levels:
        if not (0.0 < x < 1.0):
            raise InputError(f"contour level {x!r} is outside (0, 1); expected a probability such as 0.9")
    return sorted(set(levels))


def local_xy(lat, lon, lat0, lon0):
    """Azimuthal equidistant coordinates (km east, km north) about (lat0, lon0) (:func:`stratotrack.geodesy.offsets`)."""
    x, y = offsets(lat, lon, lat0, lon0)
    return x / 1000.0, y / 1000.0


def local_inverse(x, y, lat0, lon0):
    """Inverse of :func:`local_xy` (:func:`stratotrack.geodesy.move` from the centre)."""
    return move(lat0, lon0, np.asarray(x) * 1000.0, np.asarray(y) * 1000.0)


class PointDensity:
    """Members per cell of a lat/lon grid (sparse) and the running mean/covariance of the points (km)."""

    def __init__(self, name, resolution_km=None):
        self.name = name
        self.resolution_km = resolution_km
        self.keys = np.zeros(0, dtype=np.int64)
        self.counts = np.zeros(0, dtype=np.int64)
        self.n = 0
        self.mean = np.zeros(2)
        self.m2 = np.zeros((2, 2))
        self.ref = None  # (lat0, lon0) of the local plane and of the grid's longitude origin
        self.dlat = self.dlon = None

    def _setup(self, lat, lon):
        # the reference: the first batch's mean position (on the sphere)
        v = np.stack([np.cos(lat * D2R) * np.cos(lon * D2R), np.cos(lat * D2R) * np.sin(lon * D2R), np.sin(lat * D2R)])
        m = v.mean(axis=1)
        lat0 = math.degrees(math.atan2(m[2], math.hypot(m[0], m[1])))
        lon0 = math.degrees(math.atan2(m[1], m[0]))
        self.ref = (lat0, lon0)
        res = self.resolution_km
        if res is None:
            x, y = local_xy(lat, lon, lat0, lon0)
            sd = min(np.std(x), np.std(y)) if lat.size > 1 else 0.0
            # about 8 cells per standard deviation (the smoothing kernel is ~2 cells wide at 10^5 members)
            res = float(np.clip(sd / 8.0, 0.2, 50.0)) if sd > 0 else 1.0
            self.resolution_km = res
        self.dlat = res / (R_KM * D2R)
        self.dlon = self.dlat / max(math.cos(lat0 * D2R), 0.05)

    def add(self, lat, lon):
        lat = np.asarray(lat, dtype=float).ravel()
        lon = np.asarray(lon, dtype=float).ravel()
        ok = np.isfinite(lat) & np.isfinite(lon)
        lat, lon = lat[ok], lon[ok]
        if lat.size == 0:
            return
        if self.ref is None:
            self._setup(lat, lon)
        lat0, lon0 = self.ref
        rel = wrap_longitude(lon - lon0)
        i = np.floor((lat - lat0) / self.dlat).astype(np.int64)
        j = np.floor(rel / self.dlon).astype(np.int64)
        keys = (i + _KEY) * (2 * _KEY) + (j + _KEY)
        allk = np.concatenate([self.keys, keys])
        allc = np.concatenate([self.counts, np.ones(keys.size, dtype=np.int64)])
        uk, inv = np.unique(allk, return_inverse=True)
        self.keys = uk
        self.counts = np.bincount(inv, weights=allc, minlength=uk.size).astype(np.int64)
        # moments (Chan et al. parallel update)
        x, y = local_xy(lat, lon, lat0, lon0)
        pts = np.stack([x, y], axis=1)
        nb = pts.shape[0]
        mb = pts.mean(axis=0)
        d = pts - mb
        m2b = d.T @ d
        delta = mb - self.mean
        tot = self.n + nb
        self.m2 = self.m2 + m2b + np.outer(delta, delta) * self.n * nb / tot
        self.mean = self.mean + delta * nb / tot
        self.n = tot

    # -- products ------------------------------------------------------------------------------------------------------
    def covariance(self):
        return self.m2 / max(self.n - 1, 1)

    def ellipse(self, level):
        """The spread ellipse holding ``level`` of a normal with the ensemble's mean and covariance."""
        lat0, lon0 = self.ref
        cov = self.covariance()
        w, v = np.linalg.eigh(cov)
        w = np.maximum(w, 0.0)
        k = math.sqrt(-2.0 * math.log(1.0 - level))
        major, minor = k * math.sqrt(w[1]), k * math.sqrt(w[0])
        vx, vy = v[:, 1]
        azimuth = (math.degrees(math.atan2(vx, vy)) + 360.0) % 180.0
        clat, clon = local_inverse(self.mean[0], self.mean[1], lat0, lon0)
        th = np.linspace(0, 2 * np.pi, 73)
        ex = self.mean[0] + major * np.cos(th) * v[0, 1] + minor * np.sin(th) * v[0, 0]
        ey = self.mean[1] + major * np.cos(th) * v[1, 1] + minor * np.sin(th) * v[1, 0]
        plat, plon = local_inverse(ex, ey, lat0, lon0)
        return {"level": level, "center_latitude": float(clat), "center_longitude": float(_wrap(clon)),
                "semi_major_km": major, "semi_minor_km": minor, "azimuth_deg": azimuth,
                "polygon": np.stack([_wrap(plon), plat], axis=1)}

    def grid(self, max_cells=4_000_000, smooth=True):
        """Dense (lat, lon, counts, smoothed probability per cell, cell area km2) over the cells hit."""
        lat0, lon0 = self.ref
        i = self.keys // (2 * _KEY) - _KEY
        j = self.keys % (2 * _KEY) - _KEY
        factor = 1
        while True:
            ii, jj = i // factor, j // factor
            ny, nx = int(ii.max() - ii.min() + 1), int(jj.max() - jj.min() + 1)
            if ny * nx <= max_cells:
                break
            factor *= 2
        dlat, dlon = self.dlat * factor, self.dlon * factor
        sigma = None
        if smooth and self.n > 1:
            cov = self.covariance()
            sd = math.sqrt(max(min(cov[0, 0], cov[1, 1]), 0.0))
            h = sd * self.n ** (-1.0 / 6.0)  # Scott's rule in two dimensions
            sigma = h / (self.resolution_km * factor) if h > 0 else None
        pad = int(math.ceil(3 * sigma)) + 1 if sigma else 1
        i0, j0 = int(ii.min()) - pad, int(jj.min()) - pad
        ny, nx = ny + 2 * pad, nx + 2 * pad
        counts = np.zeros((ny, nx))
        np.add.at(counts, (ii - i0, jj - j0), self.counts)
        lat = lat0 + (np.arange(ny) + i0 + 0.5) * dlat
        lon = lon0 + (np.arange(nx) + j0 + 0.5) * dlon
        prob = counts / max(self.n, 1)
        if sigma:
            from scipy.ndimage import gaussian_filter

            # zero outside the padded grid, kernel cut at 3 sigma; renormalised below
            prob = gaussian_filter(prob, sigma, mode="constant", cval=0.0, truncate=3.0)
            prob /= prob.sum()
        area = (R_KM ** 2) * (dlon * D2R) * np.abs(np.sin((lat + dlat / 2) * D2R) - np.sin((lat - dlat / 2) * D2R))
        return lat, lon, counts, prob, np.broadcast_to(area[:, None], prob.shape), sigma

    def hdr_thresholds(self, prob, area, levels):
        """Density thresholds (per km2) whose superlevel sets hold each probability level."""
        dens = (prob / area).ravel()
        order = np.argsort(dens)[::-1]
        cum = np.cumsum(prob.ravel()[order])
        out = []
        for lev in levels:
            k = int(np.searchsorted(cum, lev))
            k = min(k, dens.size - 1)
            out.append(float(dens[order[k]]))
        return out


def _wrap(lon):
    return wrap_longitude(lon)


def contour_polygons(lat, lon, density, threshold):
    """Polygons (lists of rings, lon/lat) of ``density >= threshold`` (matplotlib's contour generator)."""
    import contourpy

    gen = contourpy.contour_generator(lon, lat, density, fill_type=contourpy.FillType.OuterOffset)
    fills, offsets = gen.filled(threshold, np.inf)
    polys = []
    for pts, offs in zip(fills, offsets):
        rings = [pts[offs[k]:offs[k + 1]] for k in range(len(offs) - 1)]
        polys.append([np.stack([_wrap(r[:, 0]), r[:, 1]], axis=1) for r in rings])
    return polys


# -- passage ---------------------------------------------------------------------------------------------------------
class Passage:
    """Probability that a member comes within ``radius_km`` of (lat, lon), or enters ``polygon``, and when."""

    def __init__(self, name, *, lat=None, lon=None, radius_km=None, polygon=None):
        self.name = name
        if polygon is None:
            for what, v, lim in (("latitude", lat, 90), ("longitude", lon, 360)):
                if v is None or not math.isfinite(float(v)) or abs(float(v)) > lim:
                    raise InputError(f"passage {what} {v!r} is invalid; expected degrees within +-{lim}")
            if radius_km is None or not (math.isfinite(float(radius_km)) and float(radius_km) > 0):
                raise InputError(f"passage radius {radius_km!r} km is invalid; expected a positive distance in km")
            self.kind = "point"
            self.lat, self.lon, self.radius_km = float(lat), float(_wrap(float(lon))), float(radius_km)
        else:
            poly = np.asarray(polygon, dtype=float)
            if poly.ndim != 2 or poly.shape[1] != 2 or poly.shape[0] < 3 or not np.all(np.isfinite(poly)):
                raise InputError("a passage polygon needs at least 3 finite (longitude, latitude) vertices")
            if np.any(np.abs(poly[:, 1]) > 90):
                raise InputError(f"polygon latitude {float(poly[np.abs(poly[:, 1]) > 90, 1][0])!r} is beyond +-90")
            self.kind = "polygon"
            self.polygon = poly
            import shapely

            self._lon0 = float(poly[0, 0])
            rel = wrap_longitude(poly[:, 0] - self._lon0)
            self._shape = shapely.Polygon(np.stack([rel, poly[:, 1]], axis=1))
            if not self._shape.is_valid:
                raise InputError(f"the passage polygon is invalid ({shapely.is_valid_reason(self._shape)}); expected a "
                                 "simple ring that does not cross itself")
            shapely.prepare(self._shape)
        self.n = 0
        self.hits = 0
        self.first_times = []  # per batch, the first-passage times of the members that passed (s), then reduced
        self.by_member = []  # per batch, bool array (kept only when the caller keeps members)

    def fresh(self) -> "Passage":
        """A copy of this passage with nothing counted (each ensemble run counts its own members)."""
        import copy

        out = copy.copy(self)
        out.n, out.hits, out.first_times, out.by_member = 0, 0, [], []
        return out

    def start_batch(self, n):
        self._passed = np.zeros(n, dtype=bool)
        self._when = np.full(n, np.nan)

    def _gnomonic(self, lat, lon):
        p1, l1 = self.lat * D2R, self.lon * D2R
        p, dl = lat * D2R, lon * D2R - l1
        cosc = np.sin(p1) * np.sin(p) + np.cos(p1) * np.cos(p) * np.cos(dl)
        x = np.cos(p) * np.sin(dl)
        y = np.cos(p1) * np.sin(p) - np.sin(p1) * np.cos(p) * np.cos(dl)
        return x, y, cosc

    def update(self, t, lat, lon, valid, rows=None):
        """Points ``[k, m]`` (times, positions) in time order of the batch's members ``rows`` (default: all),
        ``valid`` marks real points.  Segments join consecutive valid points of a row (the caller prepends each
        row's previous point)."""
        if rows is None:
            rows = np.arange(lat.shape[0])
        if self.kind == "polygon":
            rel = wrap_longitude(lon - self._lon0)
            import shapely

            inside = np.zeros(lat.shape, dtype=bool)
            inside[valid] = shapely.contains_xy(self._shape, rel[valid], lat[valid])
            hit = inside
            when = np.where(hit, t, np.nan)
        else:
            x, y, cosc = self._gnomonic(lat, lon)
            tan_r = math.tan(min(self.radius_km / R_KM, math.pi / 2 - 1e-6))
            front = cosc > 0
            # point within the radius: angular distance <= r  <=>  cos c >= cos r
            inside = valid & (cosc >= math.cos(self.radius_km / R_KM))
            hit = inside.copy()
            when = np.where(inside, t, np.nan)
            # closest approach on each segment (both ends in the front hemisphere: the gnomonic plane is exact)
            gx, gy = x / np.where(front, cosc, 1.0), y / np.where(front, cosc, 1.0)
            seg = valid[:, :-1] & valid[:, 1:] & front[:, :-1] & front[:, 1:]
            ax, ay, bx, by = gx[:, :-1], gy[:, :-1], gx[:, 1:], gy[:, 1:]
            dx, dy = bx - ax, by - ay
            ll = dx * dx + dy * dy
            s = np.clip(-(ax * dx + ay * dy) / np.where(ll > 0, ll, 1.0), 0.0, 1.0)
            cx, cy = ax + s * dx, ay + s * dy
            seg_hit = seg & (cx * cx + cy * cy <= tan_r * tan_r)
            if seg_hit.any():
                # entry time: where the segment first crosses the circle (linear in the gnomonic parameter)
                b2 = ax * dx + ay * dy
                disc = b2 * b2 - ll * (ax * ax + ay * ay - tan_r * tan_r)
                s_in = np.clip((-b2 - np.sqrt(np.maximum(disc, 0.0))) / np.where(ll > 0, ll, 1.0), 0.0, 1.0)
                t_seg = t[:, :-1] + s_in * (t[:, 1:] - t[:, :-1])
                seg_when = np.where(seg_hit, t_seg, np.nan)
                hit = hit.copy()
                hit[:, :-1] |= seg_hit
                when = np.fmin(when, np.pad(seg_when, ((0, 0), (0, 1)), constant_values=np.nan))
        row_hit = hit.any(axis=1)
        if row_hit.any():
            local = np.nonzero(row_hit)[0]
            w = when[local]
            sgn = getattr(self, "sgn", 1.0)
            first = np.nanmin(w, axis=1) if sgn > 0 else np.nanmax(w, axis=1)
            members = rows[local]
            new = ~self._passed[members]
            self._when[members[new]] = first[new]
            self._passed[members] = True

    def end_batch(self, keep=False):
        self.n += self._passed.size
        self.hits += int(self._passed.sum())
        self.first_times.append(self._when[self._passed])
        if keep:
            self.by_member.append((self._passed.copy(), self._when.copy()))

    def merge(self, other: "Passage") -> None:
        """Add the counts of ``other`` (the same target, e.g. one batch run elsewhere): exact (integer counts,
        first-passage times and per-member flags appended in order)."""
        self.n += other.n
        self.hits += other.hits
        self.first_times.extend(other.first_times)
        self.by_member.extend(other.by_member)

    def result(self, levels_time=None):
        p = self.hits / max(self.n, 1)
        first = np.concatenate(self.first_times) if self.first_times else np.zeros(0)
        out = {"name": self.name, "kind": self.kind, "members": self.n, "passed": self.hits, "probability": p,
               "standard_error": math.sqrt(max(p * (1 - p), 0.0) / max(self.n, 1))}
        if self.kind == "point":
            out.update(latitude=self.lat, longitude=self.lon, radius_km=self.radius_km)
        else:
            out["polygon"] = self.polygon.tolist()
        from ..timeutil import format_time, from_epoch_seconds

        if first.size:
            q = np.quantile(first, [0.0, 0.1, 0.5, 0.9])
            out["first_passage"] = {k: format_time(from_epoch_seconds(v))
                                    for k, v in zip(("earliest", "p10", "median", "p90"), q)}
        else:
            out["first_passage"] = None
        out["_first_times"] = np.sort(first)
        return out
