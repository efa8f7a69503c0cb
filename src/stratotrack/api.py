"""``stratotrack.predict``: start states + flight profile + winds -> CF trajectory Dataset."""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from . import __version__
from .engine import Integrator
from .engine import kernels as K
from .errors import InputError
from .flight import Profile
from .flight import models
from .flight import profiles as P
from .timeutil import format_time, from_epoch_seconds, now, parse_duration, to_epoch_seconds
from .wind import WindField, check_altitude, open_wind
from .wind._sample import FLAG_NAMES

PROFILES = ("standard", "float", "drift")
_OBS_NAMES = ("time", "latitude", "longitude", "altitude", "stage")
_END_WORDS = {"landing": "landed", "end": "stop time reached", "launch": "reached the launch altitude",
              "burst": "burst", "float_start": "reached float altitude"}


def _array(name, value, unit):
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        bad = float(arr[~np.isfinite(arr)].ravel()[0])
        raise InputError(f"{name} {bad!r} {unit} is invalid; expected a finite number")
    return arr


def _stop_seconds(stop, duration, t0, backward):
    """Absolute stop times (s) from ``stop`` (times) or ``duration`` (from the start), checked for direction."""
    if stop is not None and duration is not None:
        raise InputError("give either a stop time or a duration, not both")
    if stop is None and duration is None:
        return None
    if stop is not None:
        s = to_epoch_seconds(stop)
        s = np.broadcast_to(s, t0.shape)
        bad = (s <= t0) if not backward else (s >= t0)
        if bad.any():
            k = np.nonzero(bad.ravel())[0][0]
            word = "after" if not backward else "before"
            raise InputError(
                f"stop time {format_time(from_epoch_seconds(s.ravel()[k]))} is not {word} the start "
                f"{format_time(from_epoch_seconds(t0.ravel()[k]))}"
            )
        return s
    d = parse_duration(duration)
    return t0 + (-d if backward else d)


def predict(lat, lon, alt=0.0, time=None, profile="standard", *, ascent_rate=5.0, burst_altitude=30000.0,
            descent_rate=5.0, float_altitude=None, duration=None, stop=None, landing_altitude=0.0,
            launch_altitude=0.0, backward=False, wind="climatology", step=60.0, output_interval=None,
            outside="clamp", max_duration=None) -> xr.Dataset:
    """Predict balloon trajectories.

    Each element of the broadcast inputs (``lat``, ``lon``, ``alt``, ``time`` and the profile parameters) is one
    trajectory.  Longitudes in either convention; times as ISO 8601 text or datetime64 (default: now, UTC).

    Profiles: ``"standard"`` (ascent at ``ascent_rate`` to ``burst_altitude``, drag descent at the sea-level
    ``descent_rate`` to ``landing_altitude``), ``"float"`` (ascent to ``float_altitude``, float until ``stop`` or
    for ``duration`` from the start), ``"drift"`` (follow the wind at ``alt`` until ``stop``/for ``duration``), or
    a :class:`stratotrack.flight.Profile`.  ``backward=True`` runs the profile back in time (standard: from the
    landing back to ``launch_altitude``).

    ``wind``: ``"climatology"`` (embedded default), a path, an xarray Dataset or a prepared
    :class:`stratotrack.WindField` (reuse one across calls).  ``step`` and ``output_interval`` are seconds (the
    output interval defaults to the step).  ``outside="clamp"`` uses the nearest data outside the field and counts
    it; ``"stop"`` ends such trajectories.  ``max_duration`` (seconds or text such as ``"10d"``) caps every run.

    Returns a CF-1.11 ``featureType=trajectory`` Dataset with dims (trajectory, obs) and (trajectory, event).

    >>> ds = predict(37.74, -122.22, 10.0, "2023-01-17T11:00:00Z", ascent_rate=5, burst_altitude=30000)
    >>> [str(e) for e in ds.event.values]
    ['launch', 'burst', 'landing']
    >>> str(ds.end_reason.values[0])
    'landed'
    """
    lat = _array("latitude", lat, "degrees")
    lon = _array("longitude", lon, "degrees")
    alt = _array("altitude", alt, "m")
    if np.any(np.abs(lat) > 90):
        raise InputError(f"latitude {float(lat[np.abs(lat) > 90].ravel()[0])!r} is beyond ±90 degrees")
    if np.any((lon < -180.0) | (lon > 360.0)):
        bad = float(lon[(lon < -180.0) | (lon > 360.0)].ravel()[0])
        raise InputError(f"longitude {bad!r} is outside -180..360 degrees; expected degrees east in either "
                         "convention (-180..180 or 0..360)")
    t0 = to_epoch_seconds(now() if time is None else time)
    field = open_wind(wind, time=t0)  # a fetched source ("gfs"...) picks the cache entry covering the start times
    step = float(step)
    if not (np.isfinite(step) and step > 0):
        raise InputError(f"step {step!r} s is invalid; expected a positive number of seconds")
    lat, lon, alt, t0 = np.broadcast_arrays(lat, lon, alt, t0)
    prof = _build_profile(profile, lat.shape, alt, t0, backward, ascent_rate=ascent_rate,
                          burst_altitude=burst_altitude, descent_rate=descent_rate, float_altitude=float_altitude,
                          duration=duration, stop=stop, landing_altitude=landing_altitude,
                          launch_altitude=launch_altitude)
    shape = np.broadcast_shapes(lat.shape, *[np.shape(np.asarray(v)) for v in prof.parameters.values()])
    lat, lon, alt, t0 = (np.broadcast_to(a, shape).ravel() for a in (lat, lon, alt, t0))
    n = lat.size
    if n == 0:
        raise InputError("no start positions given; expected at least one latitude/longitude")
    field.check_times(t0)
    if outside == "stop" and not isinstance(profile, Profile):
        # a run asked to stop at the edge of the data would end at once: say so before integrating
        check_altitude(field, alt, what="the start altitude")
        top = {"standard": ("burst altitude", burst_altitude), "float": ("float altitude", float_altitude)}
        if profile in top and top[profile][1] is not None:
            check_altitude(field, top[profile][1], what=f"the {top[profile][0]}")
    codes, vals = prof.encode(n)
    sgn = -1.0 if prof.backward else 1.0
    if max_duration is not None:
        t_end = t0 + sgn * parse_duration(max_duration)
    else:
        t_end = t0 + sgn * _natural_duration(prof, codes, vals, t0, alt, step)
    integ = Integrator(field, t0, lat, lon, alt, codes, vals, t_end, step=step, output_interval=output_interval,
                       backward=prof.backward, outside=outside)
    integ.run()
    ds = _to_dataset(integ, prof, field, shape, step, outside)
    ds.attrs["engine_seconds"] = integ.engine_seconds
    return ds


def _build_profile(profile, shape, alt, t0, backward, *, ascent_rate, burst_altitude, descent_rate, float_altitude,
                   duration, stop, landing_altitude, launch_altitude) -> Profile:
    if isinstance(profile, Profile):
        if backward and not profile.backward:
            raise InputError("a custom Profile sets its own direction; build it with backward=True instead")
        return profile
    if profile not in PROFILES:
        raise InputError(f"profile {profile!r} is unknown; expected one of {', '.join(PROFILES)}")
    if profile == "standard":
        if duration is not None or stop is not None:
            raise InputError("the standard profile ends at landing; duration and stop apply to float and drift")
        return P.standard(ascent_rate, burst_altitude, descent_rate, start_altitude=alt,
                          landing_altitude=landing_altitude, launch_altitude=launch_altitude, backward=backward)
    stop_s = _stop_seconds(stop, duration, t0, backward)
    if profile == "float":
        if float_altitude is None and backward:
            float_altitude = alt
        return P.float_profile(ascent_rate, float_altitude, stop_s, start_altitude=alt,
                               launch_altitude=launch_altitude, backward=backward)
    return P.drift(stop_s, start_altitude=alt, backward=backward)


def _natural_duration(prof, codes, vals, t0, alt, step):
    """An end time safely after the profile's own end: time terminators, or a bound from the vertical laws."""
    total = np.zeros(t0.shape)
    z = alt.astype(float).copy()
    for k in range(codes.shape[1]):
        model, term, rate, tv = codes[:, k, 0], codes[:, k, 1], vals[:, k, 0], vals[:, k, 4]
        if np.all(term == K.T_TIME):
            total = np.abs(tv - t0) + 2 * step
            z = vals[:, k, 0] if np.all(model == models.code("target")) else z
            continue
        # altitude terminators: the time to cover the height at the slowest speed of the law (declared by the model)
        speed = np.abs(rate)
        for code in np.unique(model):
            m = models.BY_CODE[int(code)]
            rows = model == code
            if m.speed is not None:
                speed[rows] = m.speed([vals[rows, k, j] for j in range(models.MAX_PARAMS)])
        total = total + np.abs(tv - z) / speed + 3 * step
        z = tv
    return total + 600.0


def _to_dataset(integ, prof, field: WindField, shape, step, outside) -> xr.Dataset:
    raw = integ.result()
    n, width = raw.time.shape
    names = prof.event_names
    n_ev = len(names)
    ev_t = np.full((n, n_ev), np.nan)
    ev_la, ev_lo, ev_z = (np.full((n, n_ev), np.nan) for _ in range(3))
    ev_t[:, 0], ev_la[:, 0], ev_lo[:, 0], ev_z[:, 0] = raw.time[:, 0], raw.lat[:, 0], raw.lon[:, 0], raw.alt[:, 0]
    end_t, end_la, end_lo, end_z = (np.full(n, np.nan) for _ in range(4))
    rows = np.arange(n)
    for j in range(raw.ev_kind.shape[1]):
        kind = raw.ev_kind[:, j]
        ok = kind >= 0
        ev_t[rows[ok], kind[ok] + 1] = raw.ev_time[ok, j]
        ev_la[rows[ok], kind[ok] + 1] = raw.ev_lat[ok, j]
        ev_lo[rows[ok], kind[ok] + 1] = raw.ev_lon[ok, j]
        ev_z[rows[ok], kind[ok] + 1] = raw.ev_alt[ok, j]
    last = raw.n_obs - 1
    end_t, end_la, end_lo, end_z = (a[rows, last] for a in (raw.time, raw.lat, raw.lon, raw.alt))
    reasons = np.array([
        _END_WORDS.get(names[-1], "completed") if st == K.DONE else K.STATUS_NAMES[int(st)] for st in raw.status
    ], dtype=object)

    traj = np.arange(n)
    obs_dims = ("trajectory", "obs")
    stage_names = prof.stage_names
    params = {k: np.broadcast_to(np.asarray(v, dtype=float), shape).ravel() for k, v in prof.parameters.items()}
    clamp_total = raw.clamped.sum(axis=0)
    warnings = []
    for b, count in enumerate(clamp_total):
        if count:
            trajs = int((raw.clamped[:, b] > 0).sum())
            warnings.append(
                f"{int(count)} steps in {trajs} of {n} trajectories used winds clamped {FLAG_NAMES[1 << b].replace('_', ' ')}"
                f" (altitude range {field.altitude_range[0]:.0f}-{field.altitude_range[1]:.0f} m)"
            )
    left = [str(r) for r in reasons if str(r).startswith("left")]
    if left:
        warnings.append(f"{len(left)} of {n} trajectories ended on leaving the wind data")
    if field.time_mode == "steady":
        warnings.append("the wind field has a single time and was used as steady")
    if field.kind == "climatology":
        warnings.append("winds are a monthly climatology, not a forecast: expect errors of hundreds of km")
    ds = xr.Dataset(
        {
            "time": (obs_dims, from_epoch_seconds(raw.time), {"standard_name": "time", "long_name": "time (UTC)"}),
            "latitude": (obs_dims, raw.lat, {"standard_name": "latitude", "units": "degrees_north"}),
            "longitude": (obs_dims, raw.lon, {"standard_name": "longitude", "units": "degrees_east"}),
            "altitude": (obs_dims, raw.alt, {"standard_name": "altitude", "units": "m", "positive": "up",
                                              "long_name": "geometric height above mean sea level", "axis": "Z"}),
            "stage": (obs_dims, raw.stage, {"long_name": "flight stage of each point", "_FillValue": np.int8(-1),
                                            "flag_values": np.arange(len(stage_names), dtype=np.int8),
                                            "flag_meanings": " ".join(stage_names)}),
            "n_obs": ("trajectory", raw.n_obs, {"long_name": "number of valid points of each trajectory"}),
            "event_time": (("trajectory", "event"), from_epoch_seconds(ev_t), {"long_name": "time of each event (UTC)"}),
            "event_latitude": (("trajectory", "event"), ev_la, {"units": "degrees_north"}),
            "event_longitude": (("trajectory", "event"), ev_lo, {"units": "degrees_east"}),
            "event_altitude": (("trajectory", "event"), ev_z, {"units": "m"}),
            "end_reason": ("trajectory", reasons.astype(str), {"long_name": "why each trajectory ended"}),
            "end_time": ("trajectory", from_epoch_seconds(end_t)),
            "end_latitude": ("trajectory", end_la, {"units": "degrees_north"}),
            "end_longitude": ("trajectory", end_lo, {"units": "degrees_east"}),
            "end_altitude": ("trajectory", end_z, {"units": "m"}),
            "clamped_steps": (("trajectory", "outside"), raw.clamped,
                              {"long_name": "integration steps that used winds clamped at the edge of the data"}),
            # a parameter named like an output coordinate (drift: "altitude") must not replace it
            **{(f"{prof.name}_{k}" if k in _OBS_NAMES else k): ("trajectory", v) for k, v in params.items()},
        },
        coords={
            "trajectory": ("trajectory", traj, {"cf_role": "trajectory_id", "long_name": "trajectory number"}),
            "event": ("event", np.array(names, dtype=str)),
            "outside": ("outside", np.array([FLAG_NAMES[1 << b] for b in range(4)], dtype=str)),
        },
        attrs={
            "Conventions": "CF-1.11",
            "featureType": "trajectory",
            "title": f"stratotrack {prof.name} prediction" + (" (backward)" if prof.backward else ""),
            "source": f"stratotrack {__version__}",
            "profile": prof.name,
            "direction": "backward" if prof.backward else "forward",
            "parameters": json.dumps({k: (float(v[0]) if np.all(v == v[0]) else "per trajectory")
                                      for k, v in params.items()}),
            "wind": field.label(),
            "wind_kind": field.kind,
            "wind_notes": "; ".join(field.notes),
            "step_seconds": float(step),
            "output_interval_seconds": float(integ.out_dt),
            "outside_data": outside,
            "integrator": "RK4, fixed step; events located inside the step (cubic Hermite in altitude)",
            "earth_model": f"sphere of radius {K.EARTH_RADIUS} m + altitude; altitudes geometric above mean sea level",
            "warnings": "\n".join(warnings),
        },
    )
    ds = ds.set_coords(["time", "latitude", "longitude", "altitude"])
    ds["time"].encoding["units"] = "seconds since 1970-01-01T00:00:00Z"
    return ds
