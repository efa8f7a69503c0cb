"""Termination risk: where the pieces fall if the flight is ended at a time, the expected casualties, and the
engagement windows along a path.

Falling pieces are drag-limited: a piece of mass ``m``, drag coefficient ``Cd`` and area ``A`` falls at its terminal
velocity ``v(z) = sqrt(2 m g / (rho(z) Cd A))``, which is the engine's ``drag`` model with the sea-level rate
``v0 = sqrt(2 m g / (rho0 Cd A))`` (US Standard Atmosphere 1976): the one engine carries every piece through the
wind, no new integrator.  Pieces reach terminal velocity within seconds of release (a simplification: the first
seconds after an envelope is destroyed are not modelled), the ground is sea level, and a parachute is open from
release.  The ensemble draws each piece's ballistic coefficient ``m / (Cd A)`` from a log-normal spread and adds the
forecast wind error of :class:`stratotrack.ensemble.WindError` (growing with the lead time since the start of the
path) to the fall; for an ensemble path the release points are drawn from its members.

Expected casualties follow range-safety practice: ``E_c = sum over pieces and impacts P(impact) x population
density x casualty area``, the casualty area of a piece being ``(sqrt(0.36 m2) + sqrt(A))^2`` (a standing person's
0.36 m2 plan area, as in NASA-STD-8719.14's debris casualty area) times the piece count; the Monte Carlo sum over
impact samples weights each by ``count / samples``.  RCC 321 holds the public to ``E_c < 1e-4`` per event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..atmosphere import G0, RHO0, density
from ..errors import InputError
from . import _track as T
from ..geodesy import wrap_longitude

__all__ = ["Piece", "parachute", "LARGE_PAYLOAD", "fall", "Footprint", "engagement_windows", "RCC321_EC",
           "piece_profile"]

RCC321_EC = 1e-4
PERSON_AREA = 0.36


@dataclass(frozen=True)
class Piece:
    """A falling piece: ``mass`` (kg), drag coefficient ``cd``, reference ``area`` (m2) for the drag, ``count`` of
    such pieces, ``spread`` (relative SD of the ballistic coefficient, log-normal) and the ``impact_area`` (m2) that
    sets its casualty area (default: ``area``)."""

    name: str
    mass: float
    cd: float
    area: float
    count: int = 1
    spread: float = 0.3
    impact_area: float | None = None

    def __post_init__(self):
        for what, v, unit in (("mass", self.mass, "kg"), ("drag coefficient", self.cd, ""),
                              ("area", self.area, "m2")):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise InputError(f"piece {self.name!r}: {what} {v!r} {unit} is invalid; expected a positive number".replace("  ", " "))
        if self.impact_area is not None and not (math.isfinite(self.impact_area) and self.impact_area > 0):
            raise InputError(f"piece {self.name!r}: impact area {self.impact_area!r} m2 is invalid; expected a positive "
                             "number")
        if not (isinstance(self.count, (int, np.integer)) and self.count >= 1):
            raise InputError(f"piece {self.name!r}: count {self.count!r} is invalid; expected a whole number >= 1")
        if not (math.isfinite(self.spread) and 0 <= self.spread < 3):
            raise InputError(f"piece {self.name!r}: spread {self.spread!r} is invalid; expected 0 <= spread < 3")

    @property
    def ballistic_coefficient(self) -> float:
        """m / (Cd A), kg/m2."""
        return self.mass / (self.cd * self.area)

    @property
    def sea_level_speed(self) -> float:
        """Terminal velocity at sea level (m/s): the engine's drag-model rate."""
        return math.sqrt(2 * G0 * self.ballistic_coefficient / RHO0)

    def terminal_velocity(self, z):
        """sqrt(2 m g / (rho(z) Cd A)) at geometric altitude ``z`` (m)."""
        return np.sqrt(2 * self.mass * G0 / (density(z) * self.cd * self.area))

    @property
    def casualty_area(self) -> float:
        a = self.impact_area if self.impact_area is not None else self.area
        return self.count * (math.sqrt(PERSON_AREA) + math.sqrt(a)) ** 2

    def to_dict(self) -> dict:
        return {"name": self.name, "mass_kg": self.mass, "cd": self.cd, "area_m2": self.area, "count": self.count,
                "spread": self.spread, "ballistic_coefficient": round(self.ballistic_coefficient, 3),
                "sea_level_speed_m_s": round(self.sea_level_speed, 2),
                "casualty_area_m2": round(self.casualty_area, 2)}


def parachute(name, mass, diameter, cd=1.5, payload_area=1.0, count=1, spread=0.15) -> Piece:
    """A payload under an open parachute of ``diameter`` (m): drag from the canopy, casualty area from the payload."""
    if not (isinstance(diameter, (int, float)) and math.isfinite(diameter) and diameter > 0):
        raise InputError(f"parachute {name!r}: diameter {diameter!r} m is invalid; expected a positive number")
    return Piece(name, mass, cd, math.pi * diameter ** 2 / 4, count, spread, payload_area)


#: An illustrative debris set for a large stratospheric payload (a gondola of about 900 kg, solar panels and the
#: envelope): assumed values for the 2023 case, not published ones.  Replace with your own.
LARGE_PAYLOAD = (
    Piece("payload truss and electronics", 700.0, 1.0, 6.0, 1, 0.3),
    Piece("solar panel sections", 25.0, 1.2, 4.0, 8, 0.4),
    Piece("envelope fragments", 15.0, 1.3, 40.0, 6, 0.5),
    parachute("payload on its recovery parachute", 900.0, 20.0, payload_area=10.0),
)


def piece_profile(speeds, ground=0.0):
    """A one-stage profile: drag fall at sea-level speeds ``speeds`` (m/s) to ``ground`` (m)."""
    from ..flight import Profile, Stage

    return Profile("fall", [Stage("fall", "drag", (np.asarray(speeds, dtype=float),), "below", ground, "impact")],
                   "release", False, {})


@dataclass
class Footprint:
    """Impacts of one release: positions, times, piece index, weights (expected pieces per sample), land flags."""

    release_time: float
    release_lat: float
    release_lon: float
    release_alt: float
    lat: np.ndarray
    lon: np.ndarray
    time: np.ndarray
    piece: np.ndarray
    weight: np.ndarray
    land: np.ndarray = None
    density: np.ndarray = None
    ec: float = float("nan")
    notes: list = field(default_factory=list)

    @property
    def all_water(self) -> bool:
        return bool(self.land is not None and not self.land.any())

    def centroid(self):
        la, lo = np.radians(self.lat), np.radians(self.lon)
        v = np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])
        m = (v * self.weight).sum(axis=1)
        return float(np.degrees(np.arcsin(m[2] / np.linalg.norm(m)))), float(np.degrees(np.arctan2(m[1], m[0])))

    def to_dict(self, pieces=None, points=True) -> dict:
        from ..geodesy import great_circle_distance

        c = self.centroid()
        d = great_circle_distance(self.lat, self.lon, *c)
        out = {"release_time": T.iso(self.release_time), "release_latitude": round(self.release_lat, 4),
               "release_longitude": round(self.release_lon, 4), "release_altitude_m": round(self.release_alt, 1),
               "centroid_latitude": round(c[0], 4), "centroid_longitude": round(c[1], 4),
               "radius_95_km": round(float(np.quantile(d, 0.95)) / 1000, 2),
               "max_radius_km": round(float(d.max()) / 1000, 2),
               "fraction_on_land": round(float(np.average(self.land, weights=self.weight)), 4),
               "all_water": self.all_water, "expected_casualties": self.ec,
               "fall_minutes": round(float(np.median(self.time - self.release_time)) / 60, 2)}
        if pieces is not None:
            out["pieces"] = []
            for k, p in enumerate(pieces):
                s = self.piece == k
                if s.any():
                    cl = great_circle_distance(self.lat[s], self.lon[s], self.release_lat, self.release_lon)
                    out["pieces"].append({"name": p.name, "median_drift_km": round(float(np.median(cl)) / 1000, 2),
                                          "fraction_on_land": round(float(self.land[s].mean()), 4)})
        if points:
            out["impacts"] = [[round(float(a), 4), round(float(b), 4)] for a, b in zip(self.lon, self.lat)]
        return out


def _check_pieces(pieces):
    pieces = tuple(pieces)
    if not pieces:
        raise InputError("no pieces given; expected at least one Piece")
    for p in pieces:
        if not isinstance(p, Piece):
            raise InputError(f"{p!r} is not a Piece")
    return pieces


def _fall_batch(field_, t0, la, lo, z, pieces, samples, rng, wind_error, reference, step, interval):
    """Every piece x sample from every release (arrays of length R x samples, release-major) in one engine run.

    Returns (release index, piece index, lat, lon, impact time) per falling sample."""
    from ..engine import Integrator
    from ..engine import kernels as K
    from ..engine.wind_error import WindError, WindErrorState

    nrel = t0.size // samples
    npc = len(pieces)
    # particle order: release, piece, sample
    rel = np.repeat(np.arange(nrel), npc * samples)
    pid = np.tile(np.repeat(np.arange(npc), samples), nrel)
    src = (rel * samples + np.tile(np.arange(samples), nrel * npc))
    f = np.ones(rel.size)
    spreads = np.array([p.spread for p in pieces])[pid]
    draw = rng.normal(0.0, 1.0, rel.size)
    f = np.exp(spreads * draw - 0.5 * spreads ** 2)
    beta = np.array([p.ballistic_coefficient for p in pieces])[pid] * f
    v0 = np.sqrt(2 * G0 * beta / RHO0)
    tt, rl, ro, rz = t0[src], la[src], lo[src], z[src]
    codes, vals = piece_profile(v0).encode(rel.size)
    t_end = tt + rz / v0 * 1.05 + 10 * step + interval
    integ = Integrator(field_, tt, rl, ro, rz, codes, vals, t_end, step=step, output_interval=1e7)
    werr = None
    if wind_error:
        model = wind_error if isinstance(wind_error, WindError) else WindError()
        werr = WindErrorState(model, rng, rel.size, np.full(rel.size, float(reference)))
    # one clock for all releases: a particle waits (does not move) until the clock reaches its release time
    until = float(tt.min())
    last = float(t_end.max())
    guard = 0
    while integ.running.any():
        run = integ.running
        nxt = float(integ.t[run].min())
        until = max(until + interval, nxt + interval)  # skip idle stretches between releases
        before = integ.t.copy()
        integ.advance(until)
        integ.take_chunks()
        if werr is not None:
            werr.displace(integ, before, run)
        guard += 1
        if guard > 10 * (last - tt.min()) / interval + 1000:
            raise RuntimeError("internal error: a fall did not end")
    ok = integ.status == K.DONE
    if not ok.all():
        raise RuntimeError(f"internal error: {int((~ok).sum())} falling pieces did not reach the ground")
    return rel, pid, integ.lat.copy(), wrap_longitude(integ.lon), integ.t.copy()


def _footprint(pieces, samples, t0, la, lo, z, pid, ilat, ilon, itime, population):
    from .population import is_land

    w = np.array([pieces[i].count for i in pid], dtype=float) / samples
    fp = Footprint(float(t0), float(np.mean(la)), float(np.degrees(np.arctan2(np.sin(np.radians(lo)).mean(),
                                                                             np.cos(np.radians(lo)).mean()))),
                   float(np.mean(z)), ilat, ilon, itime, pid, w)
    fp.land = is_land(fp.lat, fp.lon)
    pop = population if population is not None else _default_population()
    fp.density = pop.density(fp.lat, fp.lon)
    ca = np.array([pieces[i].casualty_area / pieces[i].count for i in pid])
    fp.ec = float(np.sum(w * fp.density * ca))
    return fp


def _release(lat, lon, alt, samples):
    la = np.broadcast_to(np.asarray(lat, dtype=float), (samples,)).copy()
    lo = np.broadcast_to(np.asarray(lon, dtype=float), (samples,)).copy()
    z = np.broadcast_to(np.asarray(alt, dtype=float), (samples,)).copy()
    if not (np.all(np.isfinite(z)) and np.all(z > 0)):
        raise InputError(f"release altitude {float(np.min(z))!r} m is invalid; expected a height above the ground")
    if not (np.all(np.abs(la) <= 90) and np.all(np.isfinite(lo))):
        raise InputError("release latitude/longitude are invalid; expected degrees")
    return la, lo, z


def fall(lat, lon, alt, time, pieces=LARGE_PAYLOAD, *, wind="climatology", samples=40, seed=0, wind_error=True,
         reference_time=None, step=10.0, interval=120.0, population=None) -> Footprint:
    """Impacts of ``pieces`` released at (lat, lon, alt) at ``time``: ``samples`` draws of each piece (ballistic
    coefficient spread, wind error).  ``lat``/``lon``/``alt`` may be arrays of ``samples`` release points (an
    ensemble path's members).  ``population``: a density model (``TownPopulation()`` by default) for ``E_c``.
    ``wind_error``: True (the default :class:`WindError`), a WindError, or False; its lead counts from
    ``reference_time`` (default: the release)."""
    from ..wind import open_wind

    pieces = _check_pieces(pieces)
    samples = int(samples)
    if samples < 1:
        raise InputError(f"samples {samples} is invalid; expected at least 1 per piece")
    t0 = T.seconds(time)
    field_ = open_wind(wind, time=np.array([t0]))
    la, lo, z = _release(lat, lon, alt, samples)
    rng = np.random.default_rng(seed)
    ref = t0 if reference_time is None else T.seconds(reference_time)
    _rel, pid, ilat, ilon, itime = _fall_batch(field_, np.full(samples, t0), la, lo, z, pieces, samples, rng,
                                               wind_error, ref, step, interval)
    return _footprint(pieces, samples, t0, la, lo, z, pid, ilat, ilon, itime, population)


_POP = None


def _default_population():
    global _POP
    if _POP is None:
        from .population import TownPopulation

        _POP = TownPopulation()
    return _POP


#: release times per batch of falls in :func:`engagement_windows`: one engine run (and one task on a cluster) each
RELEASE_BATCH = 16


def _fall_task(spec, fields):
    """One batch of releases' falls (a task of :func:`stratotrack.engine.cluster.run_batches`): its own random
    stream, so that the result depends on the seed and the batches only, not on where the batch ran."""
    rng = np.random.default_rng(spec["seed"])
    rel, pid, ilat, ilon, itime = _fall_batch(fields[0], spec["t0"], spec["la"], spec["lo"], spec["z"],
                                              spec["pieces"], spec["samples"], rng, spec["wind_error"],
                                              spec["reference"], spec["step"], spec["interval"])
    return rel + spec["first"], pid, ilat, ilon, itime


def engagement_windows(traj, pieces=LARGE_PAYLOAD, *, wind="climatology", every=3600.0, samples=30, seed=0,
                       wind_error=True, threshold=RCC321_EC, criterion="either", population=None, start=None,
                       end=None, step=10.0, client=None, batch_releases=RELEASE_BATCH) -> dict:
    """Termination risk along a path: a footprint every ``every`` s, whether it is acceptable, and the windows.

    ``criterion``: ``"water"`` (every impact sample at sea), ``"ec"`` (``E_c`` below ``threshold``) or
    ``"either"``.  A window is a run of consecutive acceptable release times; reported with its start, end (the
    last acceptable release time), the earliest and the longest, and the footprint at each window's start.

    The falls run in batches of ``batch_releases`` release times, batch *b* drawing from
    ``SeedSequence(seed).spawn(...)[b]``: one after another here, or as tasks on a Dask cluster with ``client``
    (a ``distributed.Client`` or a scheduler address; the wind reaches the workers by memory map).  The result
    depends on ``seed`` and ``batch_releases`` only: the same, bit for bit, wherever the batches ran.
    """
    if criterion not in ("water", "ec", "either"):
        raise InputError(f"criterion {criterion!r} is invalid; expected 'water', 'ec' or 'either'")
    if not (isinstance(threshold, (int, float)) and math.isfinite(threshold) and threshold > 0):
        raise InputError(f"E_c threshold {threshold!r} is invalid; expected a positive number")
    every = float(every)
    if not (math.isfinite(every) and every > 0):
        raise InputError(f"interval {every!r} s is invalid; expected a positive number of seconds")
    pieces = _check_pieces(pieces)
    tr = T.as_track(traj)
    from ..wind import open_wind

    field_ = open_wind(wind, time=np.array([tr.start]))
    t_a = tr.start if start is None else T.seconds(start)
    t_b = tr.end if end is None else T.seconds(end)
    times = np.arange(t_a, t_b + 1e-6, every)
    rng = np.random.default_rng(seed)
    R = times.size
    la = np.empty((R, samples))
    lo = np.empty((R, samples))
    z = np.empty((R, samples))
    members = np.array([np.resize(np.arange(tr.n) if tr.n <= samples else rng.choice(tr.n, samples, replace=False),
                                  samples) for _ in range(R)])
    for m in np.unique(members):
        v = tr.valid[m]
        un = np.degrees(np.unwrap(np.radians(tr.lon[m][v])))
        sel = members == m
        tt = np.broadcast_to(times[:, None], members.shape)[sel]
        la[sel] = np.interp(tt, tr.t[m][v], tr.lat[m][v])
        lo[sel] = wrap_longitude(np.interp(tt, tr.t[m][v], un))
        z[sel] = np.interp(tt, tr.t[m][v], tr.alt[m][v])
    _release(la.ravel(), lo.ravel(), z.ravel(), la.size)
    batch_releases = int(batch_releases)
    if batch_releases < 1:
        raise InputError(f"batch_releases {batch_releases} is invalid; expected at least 1 release time per batch")
    from ..engine import cluster

    client = cluster.check_client(client)
    starts = range(0, R, batch_releases)
    seeds = np.random.SeedSequence(seed).spawn(len(starts))
    specs = [{"first": a, "seed": seeds[b], "t0": np.repeat(times[a:a + batch_releases], samples),
              "la": la[a:a + batch_releases].ravel(), "lo": lo[a:a + batch_releases].ravel(),
              "z": z[a:a + batch_releases].ravel(), "pieces": pieces, "samples": samples, "wind_error": wind_error,
              "reference": float(tr.start), "step": step, "interval": 120.0} for b, a in enumerate(starts)]
    parts = list(cluster.run_batches(_fall_task, specs, [field_], client=client))
    rel, pid, ilat, ilon, itime = (np.concatenate([p[k] for p in parts]) for k in range(5))
    rows = []
    fps = []
    for k, t in enumerate(times):
        s_ = rel == k
        fp = _footprint(pieces, samples, t, la[k], lo[k], z[k], pid[s_], ilat[s_], ilon[s_], itime[s_], population)
        ok_w, ok_e = fp.all_water, fp.ec < threshold
        ok = {"water": ok_w, "ec": ok_e, "either": ok_w or ok_e}[criterion]
        fps.append(fp)
        c = fp.centroid()
        rows.append({"time": T.iso(t), "latitude": round(fp.release_lat, 4), "longitude": round(fp.release_lon, 4),
                     "altitude_m": round(fp.release_alt, 1), "expected_casualties": fp.ec,
                     "fraction_on_land": round(float(np.average(fp.land, weights=fp.weight)), 4),
                     "all_water": ok_w, "acceptable": bool(ok), "centroid": [round(c[0], 4), round(c[1], 4)]})
    windows = []
    k = 0
    while k < len(rows):
        if rows[k]["acceptable"]:
            j = k
            while j + 1 < len(rows) and rows[j + 1]["acceptable"]:
                j += 1
            windows.append({"start": rows[k]["time"], "end": rows[j]["time"], "hours": (times[j] - times[k]) / 3600,
                            "releases": j - k + 1, "all_water": all(r["all_water"] for r in rows[k:j + 1]),
                            "max_expected_casualties": max(r["expected_casualties"] for r in rows[k:j + 1]),
                            "footprint": fps[k].to_dict(pieces), "_i": k})
            k = j + 1
        else:
            k += 1
    earliest = windows[0] if windows else None
    longest = max(windows, key=lambda w: (w["hours"], -w["_i"])) if windows else None
    for w in windows:
        w.pop("_i")
    pop = population if population is not None else _default_population()
    return {"criterion": criterion, "threshold": threshold, "every_seconds": every, "samples_per_piece": samples,
            "pieces": [p.to_dict() for p in pieces], "population": pop.describe(),
            "wind_error": "default WindError" if wind_error is True else (wind_error.describe() if wind_error else None),
            "timeline": rows, "windows": windows, "earliest": earliest, "longest": longest,
            "notes": ["pieces fall at terminal velocity from release; ground at sea level; parachutes open at "
                      "release", "land/sea from the 1-km GLOBE mask (large lakes count as land)",
                      "a window is judged at release times every "
                      f"{every / 3600:g} h; its end is the last acceptable release time"],
            "_footprints": fps}
