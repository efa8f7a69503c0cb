"""The one place where the service calls the engine for a single path (API v1 and the v2 single prediction).

``run_path`` returns a light result (arrays and a few numbers), not the CF Dataset, so that a faster light
``stratotrack.predict`` result can be switched in here alone.  Engine calls in one process are serialised by
``ENGINE_LOCK``: a prediction takes milliseconds, and numba's default threading layer must not be entered from two
threads at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from ..geodesy import wrap_longitude

ENGINE_LOCK = threading.Lock()


@dataclass
class PathResult:
    t: np.ndarray  # epoch seconds
    lat: np.ndarray
    lon: np.ndarray  # -180..180
    alt: np.ndarray
    stage: np.ndarray  # index into stage_names
    stage_names: list
    events: dict  # name -> (t, lat, lon, alt)
    end_reason: str
    clamped: dict = field(default_factory=dict)  # above_data/below_data/outside_time/outside_region -> steps
    warnings: list = field(default_factory=list)  # the engine's own sentences


def _light_supported() -> bool:
    """Whether ``stratotrack.predict`` offers ``result="light"`` (NumPy arrays instead of the CF Dataset)."""
    import inspect

    import stratotrack as st

    return "result" in inspect.signature(st.predict).parameters


_LIGHT = None


def run_path(wind, lat, lon, alt, t0, profile, *, ascent_rate=5.0, burst_altitude=30000.0, descent_rate=5.0,
             float_altitude=None, stop=None, duration=None, landing_altitude=0.0, launch_altitude=0.0,
             backward=False, step=60.0, max_duration=None) -> PathResult:
    """One trajectory through :func:`stratotrack.predict` (``profile``: a name or a :class:`stratotrack.Profile`)."""
    global _LIGHT
    import numba

    import stratotrack as st

    if _LIGHT is None:
        _LIGHT = _light_supported()
    kw = dict(ascent_rate=ascent_rate, burst_altitude=burst_altitude, descent_rate=descent_rate,
              float_altitude=float_altitude, stop=stop, duration=duration, landing_altitude=landing_altitude,
              launch_altitude=launch_altitude, backward=backward, wind=wind, step=step, max_duration=max_duration)
    if _LIGHT:
        kw["result"] = "light"
    if isinstance(t0, (int, float)):
        t0 = np.datetime64(int(round(t0 * 1e6)), "us")
    with ENGINE_LOCK:
        threads = numba.get_num_threads()
        numba.set_num_threads(1)  # one path fills one block: more threads only add wake-ups (2x slower on 2 cores)
        try:
            out = st.predict(lat, lon, alt, t0, profile, **kw)
        finally:
            numba.set_num_threads(threads)
    return _from_light(out) if _LIGHT else _from_dataset(out)


#: the columns of ``clamped_steps`` (the ``outside`` coordinate of the Dataset)
OUTSIDE = ("above_data", "below_data", "outside_time", "outside_region")


def _from_light(p) -> PathResult:
    n = int(p.n_obs[0])
    events = {}
    for k, name in enumerate(p.event_names):
        et = float(p.event_time[0, k])
        if np.isfinite(et):
            events[str(name)] = (et, float(p.event_latitude[0, k]), float(p.event_longitude[0, k]),
                                 float(p.event_altitude[0, k]))
    clamped = {name: int(c) for name, c in zip(OUTSIDE, np.asarray(p.clamped_steps)[0])}
    return PathResult(np.asarray(p.time[0, :n], dtype=float), np.asarray(p.latitude[0, :n], dtype=float),
                      wrap_longitude(np.asarray(p.longitude[0, :n], dtype=float)),
                      np.asarray(p.altitude[0, :n], dtype=float), np.asarray(p.stage[0, :n]).astype(int),
                      list(p.stage_names), events, str(p.end_reason[0]), clamped, [w for w in p.warnings if w])


def _from_dataset(ds) -> PathResult:
    v = ds.variables
    n = int(v["n_obs"].values[0])
    t = v["time"].values[0, :n].astype("datetime64[ns]").astype(np.int64) / 1e9
    names = str(v["stage"].attrs.get("flag_meanings", "")).split()
    events = {}
    ev_t = v["event_time"].values[0]
    ev_la, ev_lo, ev_z = (v[k].values[0] for k in ("event_latitude", "event_longitude", "event_altitude"))
    for k, name in enumerate(v["event"].values):
        if np.isnat(ev_t[k]):
            continue
        events[str(name)] = (float(ev_t[k].astype("datetime64[ns]").astype(np.int64) / 1e9), float(ev_la[k]),
                             float(ev_lo[k]), float(ev_z[k]))
    clamped = {str(o): int(c) for o, c in zip(v["outside"].values, v["clamped_steps"].values[0])}
    lon = wrap_longitude(v["longitude"].values[0, :n])
    warnings = [w for w in str(ds.attrs.get("warnings", "")).split("\n") if w]
    return PathResult(t, v["latitude"].values[0, :n].astype(float), lon, v["altitude"].values[0, :n].astype(float),
                      v["stage"].values[0, :n].astype(int), names, events, str(v["end_reason"].values[0]), clamped,
                      warnings)


def warm_up(wind) -> None:
    """Load the compiled engine before the first request (a process's first small run is uncompiled; the second
    loads the compiled kernels from numba's cache)."""
    for _ in range(2):
        run_path(wind, 50.0, 0.0, 0.0, 1.6e9, "standard", ascent_rate=5.0, burst_altitude=30000.0, descent_rate=5.0)
