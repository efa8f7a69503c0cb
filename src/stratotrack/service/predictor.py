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


def run_path(wind, lat, lon, alt, t0, profile, *, ascent_rate=5.0, burst_altitude=30000.0, descent_rate=5.0,
             float_altitude=None, stop=None, duration=None, landing_altitude=0.0, launch_altitude=0.0,
             backward=False, step=60.0, max_duration=None) -> PathResult:
    """One trajectory through :func:`stratotrack.predict` (``profile``: a name or a :class:`stratotrack.Profile`)."""
    import stratotrack as st

    kw = dict(ascent_rate=ascent_rate, burst_altitude=burst_altitude, descent_rate=descent_rate,
              float_altitude=float_altitude, stop=stop, duration=duration, landing_altitude=landing_altitude,
              launch_altitude=launch_altitude, backward=backward, wind=wind, step=step, max_duration=max_duration)
    if isinstance(t0, (int, float)):
        t0 = np.datetime64(int(round(t0 * 1e6)), "us")
    import numba

    with ENGINE_LOCK:
        threads = numba.get_num_threads()
        numba.set_num_threads(1)  # one path fills one block: more threads only add wake-ups (2x slower on 2 cores)
        try:
            ds = st.predict(lat, lon, alt, t0, profile, **kw)
        finally:
            numba.set_num_threads(threads)
    n = int(ds.n_obs.values[0])
    t = (ds.time.values[0, :n].astype("datetime64[ns]").astype(np.int64) / 1e9)
    names = [str(x) for x in ds.attrs.get("stage_names", "").split()] or \
        str(ds.stage.attrs.get("flag_meanings", "")).split()
    events = {}
    for k, name in enumerate(ds.event.values):
        et = ds.event_time.values[0, k]
        if np.isnat(et):
            continue
        events[str(name)] = (float(et.astype("datetime64[ns]").astype(np.int64) / 1e9),
                             float(ds.event_latitude.values[0, k]), float(ds.event_longitude.values[0, k]),
                             float(ds.event_altitude.values[0, k]))
    clamped = {str(o): int(c) for o, c in zip(ds.outside.values, ds.clamped_steps.values[0])}
    lon_arr = (ds.longitude.values[0, :n] + 180.0) % 360.0 - 180.0
    warnings = [w for w in str(ds.attrs.get("warnings", "")).split("\n") if w]
    return PathResult(t, ds.latitude.values[0, :n].astype(float), lon_arr, ds.altitude.values[0, :n].astype(float),
                      ds.stage.values[0, :n].astype(int), names, events, str(ds.end_reason.values[0]), clamped,
                      warnings)


def warm_up(wind) -> None:
    """Load the compiled engine (and compile it once if no cache exists) before the first request."""
    run_path(wind, 50.0, 0.0, 0.0, 1.6e9, "standard", ascent_rate=5.0, burst_altitude=30000.0, descent_rate=5.0)
