"""Live re-prediction of a sounding (ascending or descending) balloon from its telemetry so far.

What the amateur radiosonde tracking network does, on the engine:

* the **ascent rate** is the median observed climb rate of the last minutes of ascent;
* the **winds** are those the sonde measured on the way up (its horizontal velocity from consecutive fixes, binned in
  altitude layers), blended with the model's winds by their error variances: a measured wind ages (its error grows
  with the time since it was measured), a model wind has a fixed error (larger for a climatology); above the
  highest measured layer the model alone;
* the **descent rate**, once the balloon falls, is the observed fall rate converted to its sea-level equivalent
  ``v0 = v(z) * sqrt(rho(z) / rho0)`` (the drag law of the engine's ``drag`` model), so that the rest of the
  descent slows as the air thickens; before burst it is the given sea-level rate.

The blended winds become a steady, horizontally uniform wind field around the flight (a sounding stays within a
few hundred km), and :func:`stratotrack.predict` flies the rest of the profile on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from .. import atmosphere as atm
from ..errors import InputError
from ..geodesy import great_circle_distance
from ..timeutil import from_epoch_seconds
from . import geometry as G
from .observations import collect

#: thickness of the altitude layers in which measured winds are averaged (m)
LAYER = 250.0


@dataclass
class SoundingState:
    t: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    alt: np.ndarray
    phase: str  # "ascent", "descent" or "landed"
    burst_index: int | None
    ascent_rate: float
    descent_rate_sea_level: float | None


def telemetry_arrays(observations):
    """Timed fixes with altitudes as arrays (t, lat, lon, alt), sorted; duplicate times keep the first."""
    obs = collect(observations)
    fx = [o for o in obs if o.kind == "fix" and o.has_altitude]
    if len(fx) < 2:
        raise InputError(f"a sounding needs at least two timed fixes with altitudes; got {len(fx)}")
    t = np.array([o.time for o in fx])
    keep = np.concatenate([[True], np.diff(t) > 0])
    a = [np.array([getattr(o, k) for o in fx])[keep] for k in ("time", "lat", "lon", "alt")]
    return a


def analyse(t, lat, lon, alt, *, window=600.0) -> SoundingState:
    """Phase, burst, ascent rate and (if falling) sea-level descent rate of a sounding so far."""
    k_max = int(np.argmax(alt))
    falling = alt[k_max] - alt[-1] > 300.0
    rate = np.diff(alt) / np.diff(t)
    up = (t[1:] <= t[k_max]) & (t[1:] >= t[k_max] - window) & (rate > 0)
    if not up.any():
        up = rate > 0
    ascent = float(np.median(rate[up])) if up.any() else 5.0
    phase = "ascent"
    d0 = None
    if falling:
        phase = "descent" if alt[-1] > 50.0 + alt.min() else "landed"
        tail = t[1:] >= t[-1] - min(window, (t[-1] - t[k_max]))
        tail &= t[1:] > t[k_max]
        r = -rate[tail]
        zm = 0.5 * (alt[1:] + alt[:-1])[tail]
        if r.size:
            d0 = float(np.median(r * np.sqrt(atm.density(zm) / atm.RHO0)))
    return SoundingState(t, lat, lon, alt, phase, k_max if falling else None, ascent, d0)


def measured_winds(t, lat, lon, alt, *, layer=LAYER, smooth=60.0):
    """Winds (u, v m/s), their mean time and mean position per altitude layer, from the track's displacements.

    Velocities are taken over ``smooth`` seconds (pendulum motion under the balloon averages out).  Returns
    (layer centres m, u, v, time s, count) for the layers holding data.
    """
    i = np.arange(t.size)
    j = np.searchsorted(t, t + smooth)
    ok = j < t.size
    i, j = i[ok], j[ok]
    dt = t[j] - t[i]
    good = dt > 0
    i, j, dt = i[good], j[good], dt[good]
    x, y = G.local_offsets(lat[j], lon[j], lat[i], lon[i])
    u, v = x / dt, y / dt
    z = 0.5 * (alt[i] + alt[j])
    tm = 0.5 * (t[i] + t[j])
    b = np.floor(z / layer).astype(int)
    centres, us, vs, ts, ns = [], [], [], [], []
    for k in np.unique(b):
        m = b == k
        centres.append((k + 0.5) * layer)
        us.append(float(np.median(u[m])))
        vs.append(float(np.median(v[m])))
        ts.append(float(np.mean(tm[m])))
        ns.append(int(m.sum()))
    return np.array(centres), np.array(us), np.array(vs), np.array(ts), np.array(ns)


def blended_profile(field_, t, lat, lon, alt, at_time, *, top, model_error=None, age_error=2.0 / 3600.0,
                    measured_error=1.0, layer=LAYER):
    """The blended wind profile (levels m, u, v, weight of the measurement) around the flight at ``at_time``."""
    levels = np.arange(0.0, top + layer, layer)
    clim = field_.kind == "climatology"
    sm = float(model_error if model_error is not None else (8.0 if clim else 3.0))
    la0, lo0 = float(lat[-1]), float(lon[-1])
    from .motion import wind_at

    um, vm = wind_at(field_, np.full(levels.size, at_time), np.full(levels.size, la0), np.full(levels.size, lo0),
                     levels)
    zc, uo, vo, to, _ = measured_winds(t, lat, lon, alt, layer=layer)
    wgt = np.zeros(levels.size)
    u, v = um.copy(), vm.copy()
    if zc.size:
        # measured layers interpolated onto the levels, only inside the measured range
        inside = (levels >= zc.min()) & (levels <= zc.max())
        ui = np.interp(levels, zc, uo)
        vi = np.interp(levels, zc, vo)
        ti = np.interp(levels, zc, to)
        so2 = measured_error ** 2 + (age_error * np.abs(at_time - ti)) ** 2
        w = sm * sm / (sm * sm + so2)
        wgt = np.where(inside, w, 0.0)
        # below the lowest measured layer (the launch site's surface layer) keep the lowest measurement
        below = levels < zc.min()
        wgt = np.where(below, w, wgt)
        u = wgt * ui + (1 - wgt) * um
        v = wgt * vi + (1 - wgt) * vm
    return levels, u, v, wgt


def profile_field(levels, u, v, lat0, lon0, *, half_width=8.0, resolution=0.5, title="blended profile"):
    """A steady CF wind Dataset, horizontally uniform within ``half_width`` degrees of (lat0, lon0)."""
    lat = np.arange(max(-89.5, lat0 - half_width), min(89.5, lat0 + half_width) + 1e-9, resolution)
    lon = np.arange(lon0 - half_width / max(math.cos(math.radians(lat0)), 0.2),
                    lon0 + half_width / max(math.cos(math.radians(lat0)), 0.2) + 1e-9, resolution)
    shape = (levels.size, lat.size, lon.size)
    return xr.Dataset(
        {"eastward_wind": (("altitude", "latitude", "longitude"),
                           np.broadcast_to(u[:, None, None], shape).astype(np.float32),
                           {"standard_name": "eastward_wind", "units": "m s-1"}),
         "northward_wind": (("altitude", "latitude", "longitude"),
                            np.broadcast_to(v[:, None, None], shape).astype(np.float32),
                            {"standard_name": "northward_wind", "units": "m s-1"})},
        coords={"altitude": ("altitude", levels, {"standard_name": "altitude", "units": "m", "positive": "up"}),
                "latitude": ("latitude", lat, {"standard_name": "latitude", "units": "degrees_north"}),
                "longitude": ("longitude", lon, {"standard_name": "longitude", "units": "degrees_east"})},
        attrs={"title": title, "Conventions": "CF-1.11"},
    )


@dataclass
class LandingForecast:
    time: float
    lat: float
    lon: float
    alt: float
    state: SoundingState
    ascent_rate: float
    burst_altitude: float
    descent_rate: float
    trajectory: xr.Dataset
    members: dict = field(default_factory=dict)  # landing spread: lat, lon arrays
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = {"phase": self.state.phase, "landing_time": str(from_epoch_seconds(self.time))[:19] + "Z",
             "landing_latitude": self.lat, "landing_longitude": self.lon, "landing_altitude_m": self.alt,
             "ascent_rate_m_s": self.ascent_rate, "burst_altitude_m": self.burst_altitude,
             "descent_rate_sea_level_m_s": self.descent_rate, "notes": self.notes}
        if self.members:
            la, lo = self.members["lat"], self.members["lon"]
            x, y = G.local_offsets(la, lo, self.lat, self.lon)
            r = np.hypot(x, y) / 1000.0
            d["landing_r50_km"] = float(np.percentile(r, 50))
            d["landing_r90_km"] = float(np.percentile(r, 90))
        return d


def predict_landing(observations, wind="climatology", *, burst_altitude=None, descent_rate=5.0,
                    landing_altitude=0.0, members=100, seed=0, step=10.0) -> LandingForecast:
    """Re-predict the landing of a sounding from its telemetry so far (see the module docstring).

    ``burst_altitude``: used while the balloon still climbs (default 30 km, or 500 m above the current altitude if
    that is higher); ``descent_rate``: the sea-level descent rate used until a fall has been observed.
    ``members``: a small ensemble over descent rate (+-15%), burst altitude (+-1.5 km before burst) and ascent rate
    (+-10%) gives the landing spread.
    """
    from ..api import predict
    from ..flight import Profile, Stage
    from ..wind import open_wind

    t, lat, lon, alt = telemetry_arrays(observations)
    st = analyse(t, lat, lon, alt)
    field_ = open_wind(wind, time=t[-1])
    notes = []
    if st.phase == "landed":
        notes.append("the telemetry ends on the ground: the landing is the last fix")
        traj = xr.Dataset()
        return LandingForecast(float(t[-1]), float(lat[-1]), float(lon[-1]), float(alt[-1]), st, st.ascent_rate,
                               float(alt.max()), st.descent_rate_sea_level or descent_rate, traj, {}, notes)
    if st.phase == "ascent":
        burst = float(burst_altitude) if burst_altitude is not None else max(30000.0, float(alt[-1]) + 500.0)
        if burst <= alt[-1]:
            burst = float(alt[-1]) + 100.0
            notes.append(f"the given burst altitude is below the balloon; burst assumed at {burst:.0f} m")
        d0 = float(descent_rate)
        notes.append(f"ascending at {st.ascent_rate:.2f} m/s (median of the last 10 min); burst assumed at "
                     f"{burst:.0f} m; sea-level descent rate {d0:g} m/s assumed (none observed yet)")
    else:
        burst = float(alt.max())
        d0 = st.descent_rate_sea_level if st.descent_rate_sea_level else float(descent_rate)
        notes.append(f"falling: observed descent converted to {d0:.2f} m/s at sea level")
    top = max(burst, float(alt.max())) + 1000.0
    levels, u, v, wgt = blended_profile(field_, t, lat, lon, alt, t[-1] + 1800.0, top=top)
    measured = wgt > 0
    if measured.any():
        notes.append(f"winds measured on the way up blended with '{field_.source}' ({field_.kind}); measured weight "
                     f"{wgt[measured].min():.2f}-{wgt[measured].max():.2f}; model alone above "
                     f"{levels[measured].max():.0f} m")
    ds_w = profile_field(levels, u, v, float(lat[-1]), float(lon[-1]))
    wf = open_wind(ds_w)
    rng = np.random.default_rng(seed)
    m = max(int(members), 1)
    dr = d0 * np.exp(0.15 * rng.standard_normal(m))
    dr[0] = d0
    ar = st.ascent_rate * np.exp(0.1 * rng.standard_normal(m))
    ar[0] = st.ascent_rate
    bu = burst + (1500.0 * rng.standard_normal(m) if st.phase == "ascent" else np.zeros(m))
    bu = np.maximum(bu, float(alt[-1]) + 50.0)
    bu[0] = burst
    land = float(landing_altitude)
    when = from_epoch_seconds(t[-1])
    if st.phase == "ascent":
        prof = Profile("standard", [Stage("ascent", "rate", (ar,), "above", bu, "burst"),
                                    Stage("descent", "drag", (dr,), "below", land, "landing")], "start", False,
                       {"ascent_rate": ar, "burst_altitude": bu, "descent_rate": dr})
    else:
        prof = Profile("descent", [Stage("descent", "drag", (dr,), "below", land, "landing")], "start", False,
                       {"descent_rate": dr})
    ds = predict(np.full(m, lat[-1]), lon[-1], alt[-1], when, prof, wind=wf, step=step, output_interval=60.0)
    el = ds.end_latitude.values
    eo = ds.end_longitude.values
    return LandingForecast(float((ds.end_time.values[0] - np.datetime64(0, "ns")) / np.timedelta64(1, "s")),
                           float(el[0]), float(eo[0]), float(ds.end_altitude.values[0]), st, float(st.ascent_rate),
                           burst, float(d0), ds.isel(trajectory=[0]), {"lat": el, "lon": eo}, notes)


def straight_line_baseline(observations, until, *, window=300.0):
    """Naive baseline: carry on at the last ascent's mean horizontal velocity (last ``window`` s) until ``until``."""
    t, lat, lon, alt = telemetry_arrays(observations)
    k = int(np.argmax(alt))
    m = (t <= t[k]) & (t >= t[k] - window)
    i0 = int(np.argmax(m))
    x, y = G.local_offsets(lat[k], lon[k], lat[i0], lon[i0])
    dt = max(t[k] - t[i0], 1.0)
    u, v = x / dt, y / dt
    span = float(until) - t[k]
    la, lo = G.offset_points(lat[k], lon[k], u * span, v * span)
    return float(la), float(lo)


def distance_km(lat1, lon1, lat2, lon2) -> float:
    return float(great_circle_distance(lat1, lon1, lat2, lon2)) / 1000.0
