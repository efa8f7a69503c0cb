"""Parsing the fetch options (cycle, hours, levels, region, source names) into checked values.

Every error is an :class:`~stratotrack.errors.InputError` with one sentence naming the bad value and what was
expected.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

from ...errors import InputError
from ...geodesy import wrap_longitude

SOURCES = ("gfs", "gefs", "ecmwf", "era5", "ncep")
FORECASTS = ("gfs", "gefs", "ecmwf")
REANALYSES = ("era5", "ncep")


def check_source(name) -> str:
    text = str(name).strip().lower()
    if text not in SOURCES:
        raise InputError(f"wind source {str(name)!r} cannot be fetched; expected one of {', '.join(SOURCES)}")
    return text


def parse_cycle(value, hours=(0, 6, 12, 18)) -> _dt.datetime:
    """A model run time such as ``2023-02-01T00``, ``2023-02-01T00Z``, ``2023020100`` or a datetime (UTC)."""
    if isinstance(value, _dt.datetime):
        dt = value.astimezone(_dt.timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    else:
        text = str(value).strip()
        dt = None
        m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})(\d{2})", text)
        if m:
            try:
                dt = _dt.datetime(*map(int, m.groups()))
            except ValueError:
                dt = None
        else:
            t = re.sub(r"[zZ]$", "", text)
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}", t):
                t += ":00"
            try:
                dt = _dt.datetime.fromisoformat(t)
            except ValueError:
                dt = None
            if dt is not None and dt.tzinfo is not None:
                dt = dt.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        if dt is None:
            raise InputError(f"cycle {text!r} is not a model run time; expected e.g. 2023-02-01T00 (UTC)")
    if dt.minute or dt.second or dt.microsecond or dt.hour not in hours:
        raise InputError(f"cycle {dt.isoformat()} is not a model run time; expected a date at "
                         f"{', '.join(f'{h:02d}' for h in hours)} UTC such as 2023-02-01T00")
    return dt


def parse_hours(value, step=3, maximum=384) -> list[int]:
    """Forecast hours: ``0-120`` (every ``step`` h), ``0-120/6``, ``0,3,6`` or a list of ints."""
    if isinstance(value, (list, tuple)):
        hours = [int(h) for h in value]
    else:
        text = str(value).replace(" ", "")
        hours = []
        for part in text.split(","):
            m = re.fullmatch(r"(\d+)(?:-(\d+)(?:/(\d+))?)?", part)
            if not m:
                raise InputError(f"forecast hours {str(value)!r} are not understood; expected e.g. 0-120, "
                                 "0-120/6 or 0,3,6")
            a = int(m.group(1))
            b = int(m.group(2)) if m.group(2) is not None else a
            s = int(m.group(3)) if m.group(3) is not None else step
            if b < a or s <= 0:
                raise InputError(f"forecast hours {part!r} are an empty range; expected e.g. 0-120 or 0-120/6")
            hours.extend(range(a, b + 1, s))
    hours = sorted(set(hours))
    if not hours or hours[0] < 0 or hours[-1] > maximum:
        raise InputError(f"forecast hours {str(value)!r} are outside 0..{maximum}")
    return hours


def parse_levels(value) -> tuple[float, float]:
    """A pressure band in hPa as (highest pressure, lowest pressure): ``150-10``, ``10-150``, ``all``, ``500``."""
    if value is None or str(value).strip().lower() in ("", "all"):
        return (1100.0, 1.0)
    if isinstance(value, (list, tuple)) and len(value) == 2:
        a, b = (float(v) for v in value)
    else:
        text = str(value).replace(" ", "").lower().removesuffix("hpa")
        m = re.fullmatch(r"(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?", text)
        if not m:
            raise InputError(f"levels {str(value)!r} are not a pressure band; expected hPa such as 150-10 or 'all'")
        a = float(m.group(1))
        b = float(m.group(2)) if m.group(2) is not None else a
    hi, lo = max(a, b), min(a, b)
    if lo <= 0 or hi > 1100:
        raise InputError(f"levels {str(value)!r} are outside 0..1100 hPa; expected a band such as 150-10")
    return (hi, lo)


@dataclass(frozen=True)
class Region:
    """A longitude/latitude box; ``east`` may exceed 180 (or ``west``) for boxes across the antimeridian."""

    west: float
    south: float
    east: float
    north: float

    @property
    def is_global(self) -> bool:
        return self.east - self.west >= 360.0 and self.south <= -90 and self.north >= 90

    def text(self) -> str:
        return f"{self.west:g},{self.south:g},{self.east:g},{self.north:g}"


GLOBAL = Region(-180.0, -90.0, 180.0, 90.0)


def parse_region(value) -> Region:
    """``W,S,E,N`` in degrees (longitudes in either convention; W > E crosses the antimeridian) or ``global``."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "global", "world")):
        return Region(-180.0, -90.0, 180.0, 90.0)
    if isinstance(value, Region):
        return value
    parts = list(value) if isinstance(value, (list, tuple)) else str(value).replace(" ", "").split(",")
    try:
        w, s, e, n = (float(p) for p in parts)
    except (TypeError, ValueError):
        raise InputError(f"region {str(value)!r} is not W,S,E,N; expected four numbers in degrees such as "
                         "-130,20,-60,55") from None
    if not (-90 <= s < n <= 90):
        raise InputError(f"region {str(value)!r} has latitudes {s:g}..{n:g}; expected -90 <= S < N <= 90")
    if not (-180 <= w <= 360 and -180 <= e <= 360):
        raise InputError(f"region {str(value)!r} has longitudes outside -180..360 degrees")
    w = wrap_longitude(w)
    width = (e - w) % 360.0
    if width == 0.0:
        width = 360.0
    return Region(w, s, w + width, n)
