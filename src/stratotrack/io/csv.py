"""CSV: Tawhiri's columns ``datetime,latitude,longitude,altitude``, plus ``trajectory`` for ensembles.

One row per point, times ISO 8601 with Z, altitude in metres above mean sea level.  The reader also takes the usual
variants of the header (``time``, ``lat``, ``lon``/``lng``, ``alt``/``height``) and rows without times.
"""

from __future__ import annotations

import csv as _csv

import numpy as np

from ..errors import InputError
from ._common import ALT_DECIMALS, LATLON_DECIMALS, Track, atomic_open, iso, parse_times, to_dataset, tracks

COLUMNS = ["datetime", "latitude", "longitude", "altitude"]
_ALIASES = {
    "datetime": ("datetime", "time", "timestamp", "time_utc", "date"),
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "lon", "lng", "long"),
    "altitude": ("altitude", "alt", "height", "elevation", "ele"),
    "trajectory": ("trajectory", "trajectory_id", "id"),
}


def write(ds, path) -> None:
    items = tracks(ds)
    ensemble = len(items) > 1
    times = iter(iso(np.concatenate([t.time for t in items])))  # one time format for the whole column
    with atomic_open(path) as fh:
        w = _csv.writer(fh, lineterminator="\n")
        w.writerow(COLUMNS + (["trajectory"] if ensemble else []))
        for t in items:
            for k in range(len(t.lat)):
                row = [next(times), f"{t.lat[k]:.{LATLON_DECIMALS}f}", f"{t.lon[k]:.{LATLON_DECIMALS}f}",
                       f"{t.alt[k]:.{ALT_DECIMALS}f}"]
                w.writerow(row + ([t.index] if ensemble else []))


def read_table(path, aliases: dict, expected: str):
    """The rows of a CSV file and ``{role: column index}`` for the first header name of each role found in
    ``aliases`` (``{role: [names]}``, compared lower-case); an empty file is an error naming ``expected``."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(_csv.reader(fh))
    if not rows:
        raise InputError(f"CSV file '{path}' is empty; expected a header with {expected} columns")
    header = [h.strip().lower() for h in rows[0]]
    cols = {}
    for role, names in aliases.items():
        for name in names:
            if name in header:
                cols[role] = header.index(name)
                break
    return rows, cols


def read(path):
    rows, cols = read_table(path, _ALIASES, "latitude and longitude")
    if "latitude" not in cols or "longitude" not in cols:
        raise InputError(f"CSV file '{path}' has columns {rows[0]}; expected at least latitude and longitude")
    body = [r for r in rows[1:] if any(c.strip() for c in r)]
    try:
        lat = np.array([float(r[cols["latitude"]]) for r in body])
        lon = np.array([float(r[cols["longitude"]]) for r in body])
        alt = np.array([float(r[cols["altitude"]]) if "altitude" in cols and r[cols["altitude"]].strip() else np.nan
                        for r in body])
    except (ValueError, IndexError) as exc:
        raise InputError(f"CSV file '{path}' has a row that is not numbers: {exc}") from None
    times = parse_times([r[cols["datetime"]] for r in body]) if "datetime" in cols else \
        np.full(len(body), np.datetime64("NaT"), dtype="datetime64[ns]")
    ids = np.array([int(r[cols["trajectory"]]) for r in body]) if "trajectory" in cols else np.zeros(len(body), int)
    items = []
    for i in dict.fromkeys(ids.tolist()):  # first-appearance order
        m = ids == i
        items.append(Track(int(i), times[m], lat[m], lon[m], alt[m]))
    return to_dataset(items, f"CSV file {path}")
