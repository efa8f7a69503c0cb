"""``stratotrack.predict``: start states + flight profile + winds -> CF trajectory Dataset."""

from __future__ import annotations

import datetime as _dt
import functools
import math

from typing import TYPE_CHECKING

import numpy as np

from .engine import Integrator
from .engine import kernels as K
from .errors import InputError
from .flight import Profile
from .flight import models
from .prediction import Prediction
from .flight import profiles as P
from .timeutil import format_time, from_epoch_seconds, now, parse_duration, to_epoch_seconds
from .wind import WindField, check_altitude, open_wind
from .wind._sample import FLAG_NAMES

if TYPE_CHECKING:  # (the light result needs no xarray; to_dataset imports it)
    import xarray as xr

PROFILES = ("standard", "float", "drift")
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
            outside="clamp", max_duration=None, backend="auto", result="dataset") -> xr.Dataset | Prediction:
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
    ``backend``: ``"auto"`` (default), ``"cpu"``, ``"serial"``, ``"gpu"`` or ``"python"`` (see
    :mod:`stratotrack.engine.backends`).

    Returns a CF-1.11 ``featureType=trajectory`` Dataset with dims (trajectory, obs) and (trajectory, event), or
    with ``result="light"`` a :class:`stratotrack.Prediction` of NumPy arrays (no xarray: about ten times faster
    for one balloon) whose ``to_dataset()`` is that Dataset.

    >>> ds = predict(37.74, -122.22, 10.0, "2023-01-17T11:00:00Z", ascent_rate=5, burst_altitude=30000)
    >>> " ".join(str(e) for e in ds.event.values)
    'launch burst landing'
    >>> str(ds.end_reason.values[0])
    'landed'
    """
    if result not in ("dataset", "light"):
        raise InputError(f"result {result!r} is unknown; expected 'dataset' or 'light'")
    scalar = type(lat) in _SCALARS and type(lon) in _SCALARS and type(alt) in _SCALARS
    if scalar:  # one start (the common single call): the same checks on Python numbers
        for name, v, unit in (("latitude", lat, "degrees"), ("longitude", lon, "degrees"), ("altitude", alt, "m")):
            if not math.isfinite(v):
                raise InputError(f"{name} {float(v)!r} {unit} is invalid; expected a finite number")
        lat, lon, alt = float(lat), float(lon), float(alt)
        if not -90.0 <= lat <= 90.0:
            raise InputError(f"latitude {lat!r} is beyond ±90 degrees")
        if not -180.0 <= lon <= 360.0:
            raise InputError(f"longitude {lon!r} is outside -180..360 degrees; expected degrees east in either "
                             "convention (-180..180 or 0..360)")
    else:
        lat = _array("latitude", lat, "degrees")
        lon = _array("longitude", lon, "degrees")
        alt = _array("altitude", alt, "m")
        if np.any(np.abs(lat) > 90):
            raise InputError(f"latitude {float(lat[np.abs(lat) > 90].ravel()[0])!r} is beyond ±90 degrees")
        if np.any((lon < -180.0) | (lon > 360.0)):
            bad = float(lon[(lon < -180.0) | (lon > 360.0)].ravel()[0])
            raise InputError(f"longitude {bad!r} is outside -180..360 degrees; expected degrees east in either "
                             "convention (-180..180 or 0..360)")
    t0 = _epoch(time)
    field = open_wind(wind, time=t0)  # a fetched source ("gfs"...) picks the cache entry covering the start times
    step = float(step)
    if not (math.isfinite(step) and step > 0):
        raise InputError(f"step {step!r} s is invalid; expected a positive number of seconds")
    key = None
    if scalar and type(profile) is str and (type(t0) is float or np.ndim(t0) == 0):
        t0 = float(t0)
        # a standard flight's plan does not depend on its start time (its stages end at altitudes): made at t = 0
        key = (profile, bool(backward), alt, 0.0 if profile == "standard" else t0, step, max_duration,
               ascent_rate, burst_altitude, descent_rate, float_altitude, duration, stop, landing_altitude,
               launch_altitude)
        for v in key:
            if v is not None and type(v) not in _KEY_TYPES:
                key = None
                break
    if key is not None:
        return _single(key, field, lat, lon, alt, t0, output_interval, outside, backend, result,
                       burst_altitude, float_altitude)
    kw = dict(ascent_rate=ascent_rate, burst_altitude=burst_altitude, descent_rate=descent_rate,
              float_altitude=float_altitude, duration=duration, stop=stop, landing_altitude=landing_altitude,
              launch_altitude=launch_altitude)
    lat, lon, alt, t0 = np.broadcast_arrays(lat, lon, alt, t0)
    prof, shape, codes, vals, t_end, params = _plan(profile, bool(backward), lat.shape, alt, t0, step,
                                                    max_duration, kw)
    lat, lon, alt, t0 = (np.broadcast_to(a, shape).ravel() for a in (lat, lon, alt, t0))
    field.check_times(t0)
    _check_outside(field, profile, outside, alt, burst_altitude, float_altitude)
    integ = Integrator(field, t0, lat, lon, alt, codes, vals, t_end, step=step, output_interval=output_interval,
                       backward=prof.backward, outside=outside, backend=backend)
    integ.run()
    pred = _collect(integ, prof, field, params, step, outside)
    return pred if result == "light" else pred.to_dataset()


def _check_outside(field, profile, outside, alt, burst_altitude, float_altitude):
    if outside == "stop" and not isinstance(profile, Profile):
        # a run asked to stop at the edge of the data would end at once: say so before integrating
        check_altitude(field, alt, what="the start altitude")
        top = {"standard": ("burst altitude", burst_altitude), "float": ("float altitude", float_altitude)}
        if profile in top and top[profile][1] is not None:
            check_altitude(field, top[profile][1], what=f"the {top[profile][0]}")


#: idle integrators of single calls, per (plan key, output interval, outside, backend): a single call restarts
#: one (Integrator.restart) instead of allocating its buffers again.  A call takes one out of the list while it
#: runs (so nested or concurrent calls get their own) and puts it back after copying its outputs.  All are
#: dropped when they would hold more than _IDLE_BYTES (a long flight's buffers are not worth keeping).
_IDLE: dict = {}
_IDLE_PER_KEY = 4
_IDLE_BYTES = 32 * 2**20
_idle_bytes = [0]


def _single(key, field, lat, lon, alt, t0, output_interval, outside, backend, result, burst_altitude,
            float_altitude):
    """predict() for one start whose plan is cached (``key``, see :func:`_cached_plan`)."""
    prof, shape, codes, vals, t_end, params = _cached_plan(key)
    t_end = float(t_end[0]) + (t0 - key[3])
    step = key[4]
    if field.time_mode == "series":
        field.check_times(t0)
    if outside == "stop":
        _check_outside(field, key[0], outside, alt, burst_altitude, float_altitude)
    pool_key = (key, output_interval, outside, backend)
    idle = _IDLE.get(pool_key)
    integ = size = None
    if idle:
        try:
            integ, size = idle.pop()
            _idle_bytes[0] -= size
        except IndexError:  # (another thread took the last one)
            integ = size = None
    if integ is None:
        integ = Integrator(field, np.array([t0]), np.array([lat]), np.array([lon]), np.array([alt]), codes.copy(),
                           vals.copy(), t_end, step=step, output_interval=output_interval, backward=prof.backward,
                           outside=outside, backend=backend)
    else:
        integ.restart(t0, lat, lon, alt, t_end, field=field)
    integ.run()
    pred = _collect(integ, prof, field, params, step, outside, copy=True)
    if integ.backend in ("serial", "cpu"):  # (not a first uncompiled run, nor the gpu's device buffers)
        integ.release()  # (the pool keeps no wind field alive)
        if size is None:  # (a restarted integrator's buffers keep their size: the same plan, the same span)
            size = integ.nbytes
        if _idle_bytes[0] + size > _IDLE_BYTES:
            _IDLE.clear()
            _idle_bytes[0] = 0
            idle = None
        if idle is None:
            idle = _IDLE.setdefault(pool_key, [])
        if len(idle) < _IDLE_PER_KEY and size <= _IDLE_BYTES // 8:
            idle.append((integ, size))
            _idle_bytes[0] += size
    return pred if result == "light" else pred.to_dataset()

_SCALARS = (float, int)
_KEY_TYPES = (float, int, str, bool)


def _epoch(time):
    """Start time(s) in seconds since 1970 (now when None); ISO text is parsed once."""
    if time is None:
        return to_epoch_seconds(now())
    if isinstance(time, str):
        return _epoch_text(time)
    return to_epoch_seconds(time)


@functools.lru_cache(maxsize=1024)
def _epoch_text(text):
    if text.endswith("Z") and "." not in text:  # whole seconds in UTC, the common form: the standard library's parser
        try:
            return _dt.datetime.fromisoformat(text).timestamp()
        except ValueError:
            pass
    return float(to_epoch_seconds(text))


def _plan(profile, backward, lat_shape, alt, t0, step, max_duration, kw):
    """The profile for broadcast start altitudes and times, the result's shape, the kernel arrays and end times."""
    prof = _build_profile(profile, lat_shape, alt, t0, backward, **kw)
    shape = np.broadcast_shapes(lat_shape, *[np.shape(np.asarray(v)) for v in prof.parameters.values()])
    alt, t0 = (np.broadcast_to(a, shape).ravel() for a in (alt, t0))
    n = alt.size
    if n == 0:
        raise InputError("no start positions given; expected at least one latitude/longitude")
    codes, vals = prof.encode(n)
    sgn = -1.0 if prof.backward else 1.0
    if max_duration is not None:
        t_end = t0 + sgn * parse_duration(max_duration)
    else:
        t_end = t0 + sgn * _natural_duration(prof, codes, vals, t0, alt, step)
    params = {k: np.broadcast_to(np.asarray(v, dtype=float), shape).ravel() for k, v in prof.parameters.items()}
    for v in params.values():
        v.flags.writeable = False  # shared by the results of a cached plan
    return prof, shape, codes, vals, t_end, params


@functools.lru_cache(maxsize=512)
def _cached_plan(key):
    profile, backward, alt, t0, step, max_duration, *values = key
    kw = dict(zip(("ascent_rate", "burst_altitude", "descent_rate", "float_altitude", "duration", "stop",
                   "landing_altitude", "launch_altitude"), values))
    return _plan(profile, backward, (), np.array(alt), np.array(t0), step, max_duration, kw)


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
        # (a set for a few rows: np.unique imports numpy.ma on its first call, 20-30 ms of a one-shot prediction)
        for code in sorted(set(model.tolist())) if model.size <= 64 else np.unique(model):
            m = models.BY_CODE[int(code)]
            rows = model == code
            if m.speed is not None:
                speed[rows] = m.speed([vals[rows, k, j] for j in range(models.MAX_PARAMS)])
        total = total + np.abs(tv - z) / speed + 3 * step
        z = tv
    return total + 600.0


def _collect(integ, prof, field: WindField, params, step, outside, copy=False) -> Prediction:
    """The light result of a finished Integrator run (``params``: the profile's parameters per trajectory;
    ``copy``: outputs copied out of the integrator's buffers rather than views of them)."""
    raw = integ.result(copy=copy)
    n = raw.time.shape[0]
    names = prof.event_names
    n_ev = len(names)
    ev = np.full((4, n, n_ev), np.nan)
    ev_t, ev_la, ev_lo, ev_z = ev
    ev_t[:, 0], ev_la[:, 0], ev_lo[:, 0], ev_z[:, 0] = raw.time[:, 0], raw.lat[:, 0], raw.lon[:, 0], raw.alt[:, 0]
    kind = raw.ev_kind
    if n <= 16:  # a few trajectories (a single call): element by element costs less than fancy indexing
        src = (raw.ev_time, raw.ev_lat, raw.ev_lon, raw.ev_alt)
        for i, row in enumerate(kind.tolist()):
            for c, k in enumerate(row):
                if k >= 0:
                    for a, b in zip(ev, src):
                        a[i, k + 1] = b[i, c]
        rows = ()
    else:
        rows, cols = np.nonzero(kind >= 0)
    if len(rows):
        dest = kind[rows, cols] + 1
        ev_t[rows, dest] = raw.ev_time[rows, cols]
        ev_la[rows, dest] = raw.ev_lat[rows, cols]
        ev_lo[rows, dest] = raw.ev_lon[rows, cols]
        ev_z[rows, dest] = raw.ev_alt[rows, cols]
    done = _END_WORDS.get(names[-1], "completed")
    reasons = [done if st == K.DONE else K.STATUS_NAMES[st] for st in raw.status.tolist()]
    warnings = []
    if raw.clamped.any():
        clamp_total = raw.clamped.sum(axis=0)
        for b, count in enumerate(clamp_total):
            if count:
                trajs = int((raw.clamped[:, b] > 0).sum())
                warnings.append(
                    f"{int(count)} steps in {trajs} of {n} trajectories used winds clamped "
                    f"{FLAG_NAMES[1 << b].replace('_', ' ')}"
                    f" (altitude range {field.altitude_range[0]:.0f}-{field.altitude_range[1]:.0f} m)"
                )
    left = [r for r in reasons if r.startswith("left")]
    if left:
        warnings.append(f"{len(left)} of {n} trajectories ended on leaving the wind data")
    if field.time_mode == "steady":
        warnings.append("the wind field has a single time and was used as steady")
    # a climatology, a single-time field far from the flight, implausible speeds
    warnings += [w for w in field.warnings_for(raw.time[:, 0]) if w not in warnings]
    return Prediction(raw.time, raw.lat, raw.lon, raw.alt, raw.stage, raw.n_obs, tuple(names), ev_t, ev_la, ev_lo,
                      ev_z, reasons, raw.clamped, warnings, prof, params, field, float(step), float(integ.out_dt),
                      outside, integ.engine_seconds, integ.backend)


def _to_dataset(integ, prof, field: WindField, shape, step, outside) -> xr.Dataset:
    """The CF Dataset of a finished Integrator run (without the run's engine attributes)."""
    params = {k: np.broadcast_to(np.asarray(v, dtype=float), shape).ravel() for k, v in prof.parameters.items()}
    ds = _collect(integ, prof, field, params, step, outside).to_dataset()
    del ds.attrs["engine_seconds"], ds.attrs["engine_backend"]
    return ds


# Public names for the layers built on predict (ensemble runs, launch windows): the profile from predict's
# keywords, the natural end of a flight, and the CF Dataset of an integrator's output.
build_profile = _build_profile
natural_duration = _natural_duration
trajectory_dataset = _to_dataset
