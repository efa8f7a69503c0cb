"""``stratotrack.track.track`` and ``origin``: observations in; fused track, altitude, forecast or origin out."""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from ..errors import InputError
from ..timeutil import format_time, from_epoch_seconds, parse_duration
from . import geometry as G
from .altitude import FT, AltitudeAnswer, altitude_from_drift
from .filter import ParticleFilter
from .motion import displace, engine_move, ou_step
from .observations import Observations, collect, screen, without_altitudes
from .sounding import LandingForecast, predict_landing


@dataclass
class TrackResult:
    mode: str  # "float" or "sounding"
    fused: xr.Dataset  # CF trajectory: the filter's estimate after each observation
    altitude: AltitudeAnswer | None
    forecast: xr.Dataset | None  # float: member paths; sounding: the predicted rest of the flight
    landing: LandingForecast | None
    forecast_spread: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    filter: ParticleFilter | None = None
    rejected: list[str] = field(default_factory=list)  # observations left out by the screening, with why

    def to_dict(self) -> dict:
        f = self.fused
        k = int(f.n_obs.values[0]) - 1
        last = {"time": str(np.datetime_as_string(f.time.values[0, k], unit="s")) + "Z",
                "latitude": float(f.latitude.values[0, k]), "longitude": float(f.longitude.values[0, k]),
                "altitude_m": float(f.altitude.values[0, k]), "altitude_sd_m": float(f.altitude_sd.values[0, k]),
                "r50_km": float(f.r50_km.values[0, k]), "r95_km": float(f.r95_km.values[0, k])}
        out = {"mode": self.mode, "observations": k + 1, "last": last,
               "outliers": [str(d) for d, p in zip(f.observation.values[0, :k + 1], f.outlier_probability.values[0, :k + 1])
                            if np.isfinite(p) and p > 0.5],
               "rejected": list(self.rejected), "notes": self.notes, "timings_s": self.timings,
               "wind": f.attrs.get("wind", "")}
        if self.altitude is not None:
            out["altitude_from_drift"] = self.altitude.to_dict()
        if self.landing is not None:
            out["landing"] = self.landing.to_dict()
        if self.forecast_spread:
            out["forecast"] = self.forecast_spread
        return out


def _fused_dataset(pf: ParticleFilter, field_) -> xr.Dataset:
    from ..io._common import Track, to_dataset

    h = pf.history
    if pf.backward:
        h = h[::-1]
    t = from_epoch_seconds(np.array([e.time for e in h]))
    tr = Track(0, t, np.array([e.lat for e in h]), np.array([e.lon for e in h]), np.array([e.alt for e in h]))
    ds = to_dataset([tr], "stratotrack particle filter", {
        "title": "stratotrack fused track (particle filter)",
        "wind": field_.label(), "wind_kind": field_.kind,
        "particles": pf.n, "warnings": "\n".join(pf.notes)})
    obs = ("trajectory", "obs")
    for name, unit, long in (("altitude_sd", "m", "posterior sd of the altitude"),
                             ("alt_q05", "m", "5% quantile of the altitude"), ("alt_q95", "m", "95% quantile"),
                             ("sd_major_km", "km", "posterior sd along the major axis"),
                             ("sd_minor_km", "km", "posterior sd along the minor axis"),
                             ("r50_km", "km", "radius holding 50% of the posterior"),
                             ("r95_km", "km", "radius holding 95% of the posterior"),
                             ("ess", "1", "effective sample size after the update"),
                             ("outlier_probability", "1", "posterior probability that the observation was wrong")):
        key = "alt_sd" if name == "altitude_sd" else name
        ds[name] = (obs, np.array([[getattr(e, key) for e in h]]), {"units": unit, "long_name": long})
    ds["observation"] = (obs, np.array([[e.observation for e in h]], dtype=object).astype(str))
    return ds


def forecast_cloud(pf: ParticleFilter, duration, *, interval=3600.0, members=1000, step=600.0):
    """Float forecast from the filter's cloud: member paths (Dataset) and the spread per output time."""
    from ..io._common import Track, to_dataset

    span = parse_duration(duration)
    s = pf.posterior_samples(members)
    m = s["lat"].size
    lat, lon, alt, du, dv = s["lat"], s["lon"], s["alt"], s["du"], s["dv"]
    t0 = pf.t
    nsteps = int(math.ceil(span / interval))
    path = np.zeros((m, nsteps + 1, 3))
    path[:, 0] = np.stack([lat, lon, alt], 1)
    times = t0 + np.arange(nsteps + 1) * interval
    times[-1] = min(times[-1], t0 + span)
    spread = []
    for k in range(1, nsteps + 1):
        dt = times[k] - times[k - 1]
        lat, lon, alt = engine_move(pf.field, times[k - 1], lat, lon, alt, np.zeros(m), times[k], step=step)
        du, dv, e, n = ou_step(du, dv, dt, pf.settings.wind_error_sd, pf.settings.wind_error_tau, pf.rng)
        lat, lon = displace(lat, lon, e, n)
        path[:, k] = np.stack([lat, lon, alt], 1)
    for k in range(nsteps + 1):
        la, lo = path[:, k, 0], path[:, k, 1]
        c = G.ecef(la, lo, 0.0).mean(0)
        clat, clon, _ = G.to_geodetic(c / np.linalg.norm(c) * 6371008.8)
        x, y = G.local_offsets(la, lo, float(clat), float(clon))
        r = np.hypot(x, y) / 1000.0
        spread.append({"time": format_time(from_epoch_seconds(times[k])), "latitude": float(clat),
                       "longitude": float(clon), "r50_km": float(np.percentile(r, 50)),
                       "r90_km": float(np.percentile(r, 90))})
    tt = from_epoch_seconds(times)
    items = [Track(i, tt, path[i, :, 0], path[i, :, 1], path[i, :, 2]) for i in range(m)]
    ds = to_dataset(items, "stratotrack forecast from the fused cloud", {
        "title": "stratotrack float forecast (members drawn from the particle filter)", "wind": pf.field.label()})
    return ds, spread


def _is_sounding(obs: Observations) -> tuple[bool, str]:
    """Sounding or float, and why, in words."""
    fx = [o for o in obs if o.kind == "fix" and o.has_altitude and o.sigma_h <= 200.0]
    if len(fx) < 5:
        return False, (f"float mode: {len(fx)} telemetry fixes with altitudes (a sounding needs 5 or more, accurate to "
                       "200 m)")
    z = np.array([o.alt for o in fx])
    span = float(z.max() - z.min())
    if span > 2000.0:
        return True, (f"sounding mode: {len(fx)} telemetry fixes spanning {span / 1000:.1f} km of altitude (a "
                      "climbing or falling balloon; --mode float to override)")
    return False, (f"float mode: the {len(fx)} telemetry fixes span only {span:,.0f} m of altitude (a floating or "
                   "drifting balloon; --mode sounding to override)")


def _thin(obs: Observations, most: int) -> tuple[Observations, str | None]:
    """At most about ``most`` observations, evenly spread in time (the filter's cost grows with each update)."""
    if len(obs) <= most:
        return obs, None
    t = obs.times
    grid = np.linspace(t[0], t[-1], most)
    keep = np.unique(np.concatenate([np.searchsorted(t, grid).clip(0, len(obs) - 1), [len(obs) - 1]]))
    return (Observations([obs[k] for k in keep], list(obs.notes), list(obs.rejected)),
            f"the filter used {keep.size} of the {len(obs)} observations, evenly spread in time (all of them give the "
            "winds and the landing)")


def track(observations, wind="climatology", *, particles=10000, seed=0, mode="auto", forecast="48h",
          forecast_members=1000, compare=((27000 * FT, 60000 * FT),), use_reported_altitudes=True, burst_altitude=None,
          descent_rate=None, landing_altitude=None, dem=None, landing_members=200, payload="auto",
          **settings) -> TrackResult:
    """Fuse observations into a track with uncertainty, infer the altitude from drift and forecast ahead.

    ``mode``: ``"float"`` (a drifting or floating balloon: altitude from drift, a forecast of ``forecast`` length),
    ``"sounding"`` (an ascending/descending radiosonde: the landing re-predicted from the telemetry) or ``"auto"``
    (sounding when there are at least five telemetry fixes, accurate to 200 m, spanning more than 2 km of altitude;
    the summary says which was chosen and why).  ``payload`` (sounding): 'payload', 'radiosonde' or 'auto', the fall
    rate's prior (:func:`stratotrack.track.sounding.predict_landing`).
    Observations are screened first (:func:`screen`: duplicates,
    clashes and impossible speeds are left out and listed).  ``settings`` go to
    :class:`stratotrack.track.FilterSettings`.
    """
    from ..wind import open_wind

    obs = screen(collect(observations))
    field_ = open_wind(wind, time=obs.times)
    if mode not in ("auto", "float", "sounding"):
        raise InputError(f"tracking mode {mode!r} is unknown; expected auto, float or sounding")
    auto, why = _is_sounding(obs)
    if mode == "auto":
        mode = "sounding" if auto else "float"
    else:
        why = f"{mode} mode: chosen with --mode (on its own the data suggest {why.split(':')[0]})"
    notes = [why] + list(obs.notes)
    timings = {}
    if mode == "sounding":
        settings.setdefault("vertical_rate_sd", 3.0)
        settings.setdefault("vertical_rate_walk", 0.3)
        settings.setdefault("altitude_walk", 5.0)
        settings.setdefault("step", 60.0)
        # a sonde crosses layers whose wind errors differ: the error decorrelates in minutes, not hours
        settings.setdefault("wind_error_tau", 300.0)
        # the motion model is the balloon's own measured winds (the model only where it measured none)
        settings.setdefault("wind_error_sd", 3.0)
    filt_field = field_
    if mode == "sounding":
        from .sounding import measured_field

        filt_field = measured_field(obs, field_)
        notes.append("the filter moves particles with the winds the balloon measured (the model only where it "
                     "measured none), with a 3 m/s wind error")
    filt_obs = obs if use_reported_altitudes else without_altitudes(obs)
    filt_obs, thinned = _thin(filt_obs, 150 if mode == "sounding" else 400)
    if thinned:
        notes.append(thinned)
    pf = ParticleFilter(filt_field, n=particles, seed=seed, **settings)
    t0 = _time.perf_counter()
    pf.run(filt_obs)
    timings["filter"] = _time.perf_counter() - t0
    notes.extend(n for n in pf.notes if n not in notes)
    if len(obs) == 1:
        notes.append("a single observation: the fused state is that observation with its uncertainty; the "
                     "altitude cannot be inferred from drift")
    fused = _fused_dataset(pf, field_)
    alt_ans = None
    fc = None
    spread = []
    landing = None
    if mode == "float":
        t0 = _time.perf_counter()
        alt_ans = altitude_from_drift(obs, field_, compare=compare)
        timings["altitude"] = _time.perf_counter() - t0
        if forecast:
            t0 = _time.perf_counter()
            fc, spread = forecast_cloud(pf, forecast, members=min(forecast_members, particles))
            timings["forecast"] = _time.perf_counter() - t0
    else:
        t0 = _time.perf_counter()
        landing = predict_landing(obs, field_, burst_altitude=burst_altitude, descent_rate=descent_rate,
                                  landing_altitude=landing_altitude, dem=dem, seed=seed, members=landing_members,
                                  payload=payload)
        timings["landing"] = _time.perf_counter() - t0
        fc = landing.trajectory if landing.trajectory.sizes else None
        notes.extend(landing.notes)
    if field_.kind == "climatology":
        notes.append("winds are a monthly climatology, not a forecast or reanalysis: uncertainties are wide on purpose")
    return TrackResult(mode, fused, alt_ans, fc, landing, spread, notes, timings, pf, list(obs.rejected))


def origin(observations, wind="climatology", **kw):
    """Back-track observations to a launch place and time; see :func:`stratotrack.track.backtrack`."""
    from .origin import backtrack

    return backtrack(observations, wind, **kw)
