"""Airspace: altitude against controlled-airspace ceilings, entry into countries' territory and territorial sea, and
user zones (ADIZ, restricted areas) as polygons with optional altitude limits.

Flight levels are pressure altitudes: FL600 is 60,000 ft in the standard atmosphere, turned into a geometric height
with the US Standard Atmosphere 1976 (18,288 m geopotential = 18,341 m geometric).  On a real day the pressure
surface is a few hundred metres higher or lower; trajectories here carry geometric altitude.

Default ceilings: the United States' Class A airspace, FL180 to FL600 inclusive (14 CFR 71.33); above it is Class E.
Elsewhere no default is assumed; pass your own :class:`Band` list (``region``: a country name as Natural Earth spells
it, or ``None`` for everywhere).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..atmosphere import geopotential_to_geometric
from ..errors import InputError
from . import _borders as B
from . import _track as T
from .sites import Site
from ..geodesy import wrap_longitude

__all__ = ["Band", "DEFAULT_BANDS", "flight_level_m", "airspace", "Zone"]

FT = 0.3048


def flight_level_m(fl) -> float:
    """Geometric height (m) of a flight level in the standard atmosphere (FL600 -> 18,341 m)."""
    return float(geopotential_to_geometric(float(fl) * 100 * FT))


@dataclass(frozen=True)
class Band:
    """A controlled-airspace layer: ``name`` from flight level ``floor_fl`` to ``ceiling_fl`` over ``region``."""

    name: str
    floor_fl: float
    ceiling_fl: float
    region: str | None = None

    def __post_init__(self):
        if not (np.isfinite(self.floor_fl) and np.isfinite(self.ceiling_fl) and 0 <= self.floor_fl < self.ceiling_fl):
            raise InputError(f"airspace band {self.name!r}: FL{self.floor_fl:g}-FL{self.ceiling_fl:g} is invalid; "
                             "expected 0 <= floor < ceiling")


DEFAULT_BANDS = (Band("US Class A", 180, 600, "United States of America"),)


@dataclass
class Zone:
    """A user zone: a :class:`Site` polygon (or circle) with optional altitude limits (m)."""

    site: Site
    floor_m: float = -np.inf
    ceiling_m: float = np.inf


def _first_entries(tr: T.Track, codes, names, what):
    """First entry of trajectory 0 into each code (-1 none): time, place, and whether it started inside."""
    out = []
    row = 0
    v = tr.valid[row]
    c = codes[row][v]
    t, la, lo = tr.t[row][v], tr.lat[row][v], tr.lon[row][v]
    seen = set()
    for k in range(c.size):
        if c[k] < 0 or c[k] in seen:
            continue
        seen.add(int(c[k]))
        started = k == 0
        out.append({"name": names[int(c[k])], "kind": what, "time": T.iso(t[k]), "latitude": round(float(la[k]), 4),
                    "longitude": round(float(lo[k]), 4), "started_inside": started, "_t": float(t[k]),
                    "_k": k})
    return out


def _refine(tr, entry, code, sea):
    """Bisect between the last point outside and the first inside (linear in lat/lon between output points)."""
    k = entry["_k"]
    if k == 0:
        return entry
    v = tr.valid[0]
    t, la, lo = tr.t[0][v], tr.lat[0][v], tr.lon[0][v]
    a, b = 0.0, 1.0
    dlo = wrap_longitude(lo[k] - lo[k - 1])
    for _ in range(12):
        m = 0.5 * (a + b)
        inside = B.which([la[k - 1] + m * (la[k] - la[k - 1])], [lo[k - 1] + m * dlo], sea=sea)[0] == code
        a, b = (a, m) if inside else (m, b)
    f = b
    entry.update(time=T.iso(t[k - 1] + f * (t[k] - t[k - 1])), latitude=round(float(la[k - 1] + f * (la[k] - la[k - 1])), 4),
                 longitude=round(float(wrap_longitude(lo[k - 1] + f * dlo)), 4))
    entry["_t"] = float(t[k - 1] + f * (t[k] - t[k - 1]))
    return entry


def airspace(traj, bands=DEFAULT_BANDS, zones=(), max_interval=3600.0) -> dict:
    """Airspace report of a trajectory (one flight: entries, times; an ensemble: probabilities).

    For an ensemble, positions are tested every ``max_interval`` s at most (the country test costs about 2 us per
    point); a single flight uses every output point and refines entry times by bisection.
    """
    tr = T.as_track(traj)
    names, _ids, _land, _sea = B.countries()
    if tr.n > 1 and max_interval:
        dt = np.nanmedian(np.diff(tr.t, axis=1))
        every = max(1, int(round(max_interval / dt))) if np.isfinite(dt) and dt > 0 else 1
        keep = np.zeros(tr.t.shape[1], dtype=bool)
        keep[::every] = True
        keep[-1] = True
        tr = T.Track(tr.t[:, keep], tr.lat[:, keep], tr.lon[:, keep], tr.alt[:, keep], tr.valid[:, keep])
    shape = tr.lat.shape
    sea_code = B.which(tr.lat, tr.lon, sea=True).reshape(shape)
    land_code = B.which(tr.lat, tr.lon, sea=False).reshape(shape)
    sea_code[~tr.valid] = -1
    land_code[~tr.valid] = -1
    res = {"countries": [], "bands": [], "zones": [], "members": tr.n,
           "notes": ["territory: Natural Earth 1:50m land; territorial sea: that land buffered by 12 nmi (no "
                     "baselines); overlapping seas go to one country"]}
    if tr.n == 1:
        for e in _first_entries(tr, sea_code, names, "territory incl. 12-nmi sea"):
            _refine(tr, e, names.index(e["name"]), True)
            land = _first_entries(tr, land_code, names, "land")
            match = [x for x in land if x["name"] == e["name"]]
            if match:
                _refine(tr, match[0], names.index(e["name"]), False)
                e["land_entry"] = {k: match[0][k] for k in ("time", "latitude", "longitude", "started_inside")}
            else:
                e["land_entry"] = None
            v = tr.valid[0]
            inside = sea_code[0][v] == names.index(e["name"])
            dt = np.diff(tr.t[0][v])
            e["hours_inside"] = round(float(np.sum(dt[inside[:-1] & inside[1:]])) / 3600, 3)
            res["countries"].append(e)
    else:
        present = np.unique(sea_code[sea_code >= 0])
        for c in present:
            hit = (sea_code == c).any(axis=1)
            first = np.where(sea_code == c, tr.t, np.inf).min(axis=1)
            ft = first[np.isfinite(first)]
            res["countries"].append({"name": names[int(c)], "probability": float(hit.mean()),
                                     "first_entry": {k: T.iso(v) for k, v in zip(
                                         ("earliest", "p10", "median", "p90"), np.quantile(ft, [0, .1, .5, .9]))}})
        res["countries"].sort(key=lambda d: -d["probability"])
    for band in bands:
        lo_m, hi_m = flight_level_m(band.floor_fl), flight_level_m(band.ceiling_fl)
        region = True if band.region is None else None
        if band.region is not None:
            if band.region not in names:
                raise InputError(f"airspace band region {band.region!r} is not a country name; expected one of the "
                                 "Natural Earth names such as 'United States of America'")
            region = sea_code == names.index(band.region)
        over = tr.valid & region
        in_band = over & (tr.alt >= lo_m) & (tr.alt <= hi_m)
        above = over & (tr.alt > hi_m)
        dt = np.diff(tr.t, axis=1)
        dt = np.where(np.isfinite(dt), dt, 0.0)
        t_in = np.sum(np.where(in_band[:, :-1] & in_band[:, 1:], dt, 0.0), axis=1)
        t_above = np.sum(np.where(above[:, :-1] & above[:, 1:], dt, 0.0), axis=1)
        t_over = np.sum(np.where(over[:, :-1] & over[:, 1:], dt, 0.0), axis=1)
        row = {"band": band.name, "region": band.region, "floor_m": round(lo_m, 1), "ceiling_m": round(hi_m, 1),
               "floor_fl": band.floor_fl, "ceiling_fl": band.ceiling_fl}
        if tr.n == 1:
            first_in = np.where(in_band[0])[0]
            row.update(hours_over_region=round(float(t_over[0]) / 3600, 3), hours_in_band=round(float(t_in[0]) / 3600, 3),
                       hours_above_ceiling=round(float(t_above[0]) / 3600, 3),
                       first_in_band=T.iso(tr.t[0, first_in[0]]) if first_in.size else None,
                       max_altitude_m=round(float(np.nanmax(tr.alt[0])), 1),
                       verdict=("above the ceiling while over the region" if t_above[0] > 0 and t_in[0] == 0 else
                                "inside the band" if t_in[0] > 0 else "not over the region in this band"))
        else:
            row.update(p_in_band=float((t_in > 0).mean()), p_above_ceiling=float((t_above > 0).mean()))
        res["bands"].append(row)
    for z in zones:
        if not isinstance(z, Zone):
            z = Zone(z)
        d = z.site.distance(tr.lat, tr.lon)
        inside = tr.valid & (d <= 0) & (tr.alt >= z.floor_m) & (tr.alt <= z.ceiling_m)
        g = np.where(tr.valid, np.where(inside, d, np.maximum(d, 1.0)), np.nan)
        rows, ts, te, _ = T.intervals(tr.t, g, tr.valid)
        total, longest, first = T.per_row(tr.n, rows, ts, te)
        row = {"zone": z.site.name, "floor_m": None if not np.isfinite(z.floor_m) else z.floor_m,
               "ceiling_m": None if not np.isfinite(z.ceiling_m) else z.ceiling_m}
        if tr.n == 1:
            row.update(entered=bool(np.isfinite(first[0])), first_entry=T.iso(first[0]),
                       hours_inside=round(float(total[0]) / 3600, 3))
            if np.isfinite(first[0]):
                row.update(latitude=round(T.interp_row(tr.t, tr.lat, 0, first[0]), 4),
                           longitude=round(T.interp_lon(tr.t, tr.lon, 0, first[0]), 4))
        else:
            row.update(probability=float(np.isfinite(first).mean()))
        res["zones"].append(row)
    for e in res["countries"]:
        e.pop("_t", None)
        e.pop("_k", None)
    return res
