"""The readable summary of a prediction, as a JSON-ready dict: used by the command line and the HTTP service.

What a user asks first: the assumptions (profile, rates, winds, step), where and when the balloon starts, bursts or
starts floating, and lands or stops (with the nearest named place), how far it went, how high, and what to be wary
of (the warnings: clamped winds, extrapolation, trajectories that left the data).
"""

from __future__ import annotations

import json

from typing import TYPE_CHECKING

import numpy as np

from ..geodesy import great_circle_distance, path_length
from ._common import iso, tracks

if TYPE_CHECKING:  # the summary reads a Dataset or Prediction.view(): xarray is not needed to make one
    import xarray as xr

__all__ = ["summarize"]

#: the parameters that the profiles take, with their units, in the order a person reads them
_UNITS = {"ascent_rate": "m/s", "burst_altitude": "m", "descent_rate": "m/s", "float_altitude": "m",
          "altitude": "m", "landing_altitude": "m", "launch_altitude": "m"}


def _r(x, nd):
    x = float(x)
    return round(x, nd) if np.isfinite(x) else None


def _point(name, time, lat, lon, alt, place):
    d = {"event": name, "time": iso(time) or None, "latitude": _r(lat, 6), "longitude": _r(lon, 6),
         "altitude_m": _r(alt, 1)}
    if place is not None:
        d["near"] = place.to_dict()
    return d


def _places(points):
    """Nearest named places of (lat, lon) pairs, or Nones when the place names are unavailable."""
    if not points:
        return []
    try:
        from ..geo.places import nearest_places

        return nearest_places([p[0] for p in points], [p[1] for p in points])
    except (ImportError, RuntimeError, OSError):
        return [None] * len(points)


def assumptions(ds: xr.Dataset) -> dict:
    a = ds.attrs
    try:
        params = json.loads(a.get("parameters", "{}"))
    except ValueError:
        params = {}
    out = {
        "profile": a.get("profile"),
        "direction": a.get("direction", "forward"),
        "parameters": params,
        "units": {k: _UNITS[k] for k in params if k in _UNITS},
        "wind": a.get("wind"),
        "wind_kind": a.get("wind_kind"),
        "step_seconds": a.get("step_seconds"),
        "output_interval_seconds": a.get("output_interval_seconds"),
        "outside_data": a.get("outside_data"),
    }
    if a.get("wind_notes"):
        out["wind_notes"] = a["wind_notes"]
    return {k: (float(v) if isinstance(v, np.floating) else v) for k, v in out.items() if v is not None}


def summarize(ds: xr.Dataset, *, places: bool = True, max_trajectories: int | None = None) -> dict:
    """A JSON-ready summary of a prediction Dataset.

    ``places`` looks up the nearest named place of every event and end point (offline).  ``max_trajectories``
    limits the per-trajectory entries of a large ensemble (the count is always given).
    """
    items = tracks(ds)
    shown = items if max_trajectories is None else items[:max_trajectories]
    wanted = []
    for t in shown:
        wanted += [(e.lat, e.lon) for e in t.events]
        if len(t.lat):
            wanted.append((t.lat[-1], t.lon[-1]))
    looked_up = _places(wanted) if places else [None] * len(wanted)
    found = iter(looked_up)
    out_tracks = []
    for t in shown:
        events = [_point(e.name, e.time, e.lat, e.lon, e.alt, next(found)) for e in t.events]
        entry = {"trajectory": t.index, "events": events}
        if len(t.lat):
            end_reason = str(ds["end_reason"].values[t.index]) if "end_reason" in ds else None
            entry["end"] = {**_point("end", t.time[-1], t.lat[-1], t.lon[-1], t.alt[-1], next(found)),
                            "reason": end_reason}
            entry["end"].pop("event")
            seconds = abs((t.time[-1] - t.time[0]) / np.timedelta64(1, "s")) if not np.isnat(t.time[[0, -1]]).any() \
                else None
            entry["duration_s"] = _r(seconds, 1) if seconds is not None else None
            entry["distance_travelled_km"] = _r(path_length(t.lat, t.lon) / 1000.0, 2)
            entry["distance_start_to_end_km"] = _r(great_circle_distance(t.lat[0], t.lon[0], t.lat[-1],
                                                                         t.lon[-1]) / 1000.0, 2)
            entry["max_altitude_m"] = _r(np.nanmax(t.alt), 1)
        if "clamped_steps" in ds and "outside" in ds.coords:
            counts = ds["clamped_steps"].values[t.index]
            entry["clamped_steps"] = {str(k): int(c) for k, c in zip(ds["outside"].values, counts) if c}
        out_tracks.append(entry)
    warnings = [w for w in str(ds.attrs.get("warnings", "")).splitlines() if w.strip()]
    summary = {
        "title": ds.attrs.get("title"),
        "assumptions": assumptions(ds),
        "n_trajectories": len(items),
        "trajectories": out_tracks,
        "warnings": warnings,
    }
    if any(p is not None for p in looked_up):
        from ..geo.places import ATTRIBUTION

        summary["attribution"] = ATTRIBUTION
    if "engine_seconds" in ds.attrs:
        summary["engine_seconds"] = _r(ds.attrs["engine_seconds"], 4)
    return summary
