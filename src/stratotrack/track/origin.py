"""Origin back-tracking: where and when was a balloon launched, given where it was seen?

1. The observations are fused by the particle filter run **backward** in time (latest first: the engine with a
   negative step), which leaves a cloud of states at the time of the earliest observation.
2. Each particle draws how long it had been afloat before then (uniform between ``min_days`` and ``max_days``: the
   prior on the launch time), drifts back that long at its altitude with the wind error growing, then descends its
   ascent in reverse (at ``ascent_rate``) to the ground: a sample of (launch place, launch time).
3. The samples give a probability map of the launch place (a smoothed density with highest-density contours), the
   distribution of launch times, and, for candidate sites (a CSV of name, latitude, longitude), the probability
   that the launch was nearer to each site than to any other and within ``max_km`` of it; sites are ranked by that
   probability.  The share of backward paths passing within ``radius_km`` of each site (each path as long as its
   own drawn time afloat) is reported beside it.

A small table of real radiosonde stations ships as an example (:data:`STATIONS`).
"""

from __future__ import annotations

import csv as _csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..geodesy import great_circle_distance
from ..timeutil import format_time, from_epoch_seconds, parse_duration
from .filter import ParticleFilter
from ..geodesy import wrap_longitude
from .motion import displace, engine_move, ou_step
from .observations import collect

STATIONS = Path(__file__).with_name("data") / "radiosonde_stations.csv"


@dataclass
class Site:
    name: str
    lat: float
    lon: float
    extra: dict = field(default_factory=dict)


def read_sites(path=None) -> list[Site]:
    """Candidate launch sites from a CSV with columns name, latitude, longitude (others kept as extra)."""
    path = Path(path) if path is not None else STATIONS
    if not path.is_file():
        raise InputError(f"candidate sites file '{path}' does not exist")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in _csv.reader(fh) if r and not r[0].lstrip().startswith("#")]
    if not rows:
        raise InputError(f"candidate sites file '{path}' is empty; expected columns name, latitude, longitude")
    head = [h.strip().lower() for h in rows[0]]
    try:
        i_n = next(head.index(k) for k in ("name", "site", "station") if k in head)
        i_la = next(head.index(k) for k in ("latitude", "lat") if k in head)
        i_lo = next(head.index(k) for k in ("longitude", "lon", "lng") if k in head)
    except StopIteration:
        raise InputError(f"candidate sites file '{path}' has columns {rows[0]}; expected name, latitude, "
                         "longitude") from None
    sites = []
    for line, r in enumerate(rows[1:], start=2):
        try:
            la, lo = float(r[i_la]), float(r[i_lo])
        except (ValueError, IndexError):
            raise InputError(f"candidate sites file '{path}' line {line}: latitude/longitude are not numbers") from None
        if not (-90 <= la <= 90 and -180 <= lo <= 360):
            raise InputError(f"candidate sites file '{path}' line {line}: position {la}, {lo} is outside the globe")
        sites.append(Site(r[i_n].strip(), la, float(wrap_longitude(lo)),
                          {h: r[k] for k, h in enumerate(head) if k not in (i_n, i_la, i_lo) and k < len(r)}))
    if not sites:
        raise InputError(f"candidate sites file '{path}' lists no site")
    return sites


@dataclass
class OriginResult:
    launch_lat: np.ndarray
    launch_lon: np.ndarray
    launch_time: np.ndarray  # s
    ranking: list[dict]
    start: dict  # the fused state at the earliest observation
    notes: list[str]
    wind: str
    settings: dict

    def map(self, levels=(0.5, 0.9)):
        """(lat, lon, probability per cell, HDR polygons per level) of the launch place."""
        from ..ensemble.summaries import PointDensity, contour_polygons

        pd = PointDensity("launch")
        pd.add(self.launch_lat, self.launch_lon)
        lat, lon, _, prob, area, _ = pd.grid(max_cells=250_000)
        polys = {}
        for lev, thr in zip(levels, pd.hdr_thresholds(prob, area, levels)):
            polys[lev] = contour_polygons(lat, lon, prob / area, thr)
        return lat, lon, prob, polys

    def launch_time_interval(self, level=0.9):
        q = np.percentile(self.launch_time, [50 * (1 - level), 50, 100 - 50 * (1 - level)])
        return [format_time(from_epoch_seconds(x)) for x in q]

    def to_dict(self) -> dict:
        lo, med, hi = self.launch_time_interval(0.9)
        return {"samples": int(self.launch_lat.size), "launch_time_median": med, "launch_time_90": [lo, hi],
                "ranking": self.ranking, "start": self.start, "wind": self.wind, "settings": self.settings,
                "notes": self.notes}


def backtrack(observations, wind="climatology", *, candidates=None, min_days=0.0, max_days=10.0, altitude=None,
              altitude_sd=1000.0, ascent_rate=5.0, n=5000, seed=0, chunk=3600.0, max_km=500.0, radius_km=100.0,
              step=600.0) -> OriginResult:
    """Back-track observations to a launch place and time (see the module docstring).

    ``altitude`` (m; with ``altitude_sd``) sets the float altitude prior when the observations do not report one
    (see :func:`stratotrack.track.altitude_from_drift` to infer it).  ``candidates``: a sites CSV path, a list of
    :class:`Site` or None for the shipped radiosonde stations.
    """
    from ..wind import open_wind

    obs = collect(observations)
    min_s = float(min_days) * 86400.0
    max_s = parse_duration(max_days * 86400.0 if isinstance(max_days, (int, float)) else max_days)
    if not (0 <= min_s < max_s):
        raise InputError(f"the launch window {min_days}..{max_days} days before the first observation is empty; "
                         "expected 0 <= min_days < max_days")
    if not (np.isfinite(ascent_rate) and ascent_rate > 0):
        raise InputError(f"ascent rate {ascent_rate!r} m/s is invalid; expected a positive number")
    sites = candidates if isinstance(candidates, list) else read_sites(candidates)
    field_ = open_wind(wind, time=obs.times)
    kw = {}
    if altitude is not None:
        if not (np.isfinite(altitude) and altitude > 0):
            raise InputError(f"float altitude {altitude!r} m is invalid; expected a positive number of metres")
        kw["altitude_prior"] = (max(altitude - 1.732 * altitude_sd, 100.0), altitude + 1.732 * altitude_sd)
    pf = ParticleFilter(field_, n=n, seed=seed, backward=True, **kw)
    pf.run(obs)
    start = pf.estimate()
    rng = pf.rng
    s = pf.posterior_samples()
    lat, lon, alt, du, dv = s["lat"], s["lon"], s["alt"], s["du"], s["dv"]
    t_first = pf.t
    stop = t_first - rng.uniform(min_s, max_s, n)
    t = np.full(n, t_first)
    sigma, tau = pf.settings.wind_error_sd, pf.settings.wind_error_tau
    near = np.zeros((n, len(sites)), dtype=bool)
    slat = np.array([x.lat for x in sites])
    slon = np.array([x.lon for x in sites])
    while True:
        active = t > stop + 1e-6
        if not active.any():
            break
        t1 = np.maximum(t[active] - chunk, stop[active])
        la, lo, _ = engine_move(field_, t[active], lat[active], lon[active], alt[active], np.zeros(active.sum()), t1,
                                step=step)
        dt = t1 - t[active]  # negative
        # OU wind error over the (per-particle) interval: exact for equal intervals, used for all in the chunk
        ndu, ndv, e, nn = ou_step(du[active], dv[active], float(np.mean(dt)), sigma, tau, rng)
        scale = dt / float(np.mean(dt))
        la, lo = displace(la, lo, e * scale, nn * scale)
        lat[active], lon[active], du[active], dv[active], t[active] = la, lo, ndu, ndv, t1
        d = great_circle_distance(lat[active, None], lon[active, None], slat[None, :], slon[None, :]) / 1000.0
        near[active] |= d < radius_km
    # the ascent, in reverse, to the ground
    t_launch = t - alt / ascent_rate
    la, lo, _ = engine_move(field_, t, lat, lon, alt, np.full(n, float(ascent_rate)), t_launch, step=60.0)
    d = great_circle_distance(la[:, None], lo[:, None], slat[None, :], slon[None, :]) / 1000.0
    nearest = np.argmin(d, axis=1)
    within = d[np.arange(n), nearest] < max_km
    ranking = []
    for k, site in enumerate(sites):
        mine = within & (nearest == k)
        p = float(mine.mean())
        row = {"name": site.name, "latitude": site.lat, "longitude": site.lon, "probability": p,
               "passage_probability": float(near[:, k].mean()),
               "closest_launch_km": float(d[:, k].min())}
        if mine.sum() >= 5:
            q = np.percentile(t_launch[mine], [5, 50, 95])
            row["launch_time_median"] = format_time(from_epoch_seconds(q[1]))
            row["launch_time_90"] = [format_time(from_epoch_seconds(q[0])), format_time(from_epoch_seconds(q[2]))]
        ranking.append(row)
    ranking.sort(key=lambda r: (-r["probability"], -r["passage_probability"]))
    notes = list(pf.notes)
    notes.append(f"launch time prior: uniform {min_s / 86400:g}-{max_s / 86400:g} days before the first "
                 f"observation ({format_time(from_epoch_seconds(t_first))}); ascent {ascent_rate:g} m/s")
    notes.append(f"{float(1 - within.mean()):.0%} of the launch samples are farther than {max_km:g} km from every "
                 "candidate site")
    if field_.kind == "climatology":
        notes.append("winds are a monthly climatology: after days of back-tracking the map is very wide; use "
                     "reanalysis winds (e.g. --wind era5) for a sharper answer")
    start_d = {"time": format_time(from_epoch_seconds(start["time"])), "latitude": start["lat"],
               "longitude": start["lon"], "altitude_m": start["alt"], "altitude_sd_m": start["alt_sd"],
               "r95_km": start["r95_km"]}
    return OriginResult(la, lo, t_launch, ranking, start_d, notes, field_.label(),
                        {"particles": n, "min_days": min_s / 86400, "max_days": max_s / 86400,
                         "ascent_rate": float(ascent_rate), "max_km": max_km, "radius_km": radius_km,
                         "seed": seed})


