"""Times: numpy datetime64 (UTC) inside, ISO 8601 with Z at the edges, float seconds in the kernels."""

from __future__ import annotations

import datetime as _dt

import numpy as np

from .errors import InputError

__all__ = ["parse_time", "parse_duration", "to_epoch_seconds", "from_epoch_seconds", "format_time", "now",
           "check_span", "FIRST", "LAST"]

#: the instants any stratotrack time may take: inside what datetime64[ns] holds (1677-09-21 to 2262-04-11), with
#: room for a flight's length on either side
_NS_MIN = np.datetime64("1678-01-01T00:00:00", "s")
_NS_MAX = np.datetime64("2261-12-31T23:59:59", "s")
#: the span a flight may start in (checked at the edges: command line, service)
FIRST = np.datetime64("1900-01-01T00:00:00", "s")
LAST = np.datetime64("2200-12-31T23:59:59", "s")


def _in_range(value: np.datetime64, shown) -> np.datetime64:
    """``value`` as datetime64[ns], or InputError when datetime64[ns] cannot hold it (rather than wrapping)."""
    s = value.astype("datetime64[s]")
    if s < _NS_MIN or s > _NS_MAX:
        raise InputError(f"time {shown} is outside the years 1678-2261 that stratotrack's times can hold; expected "
                         f"a time between {FIRST}Z and {LAST}Z")
    return value.astype("datetime64[ns]")


def check_span(times, what="time"):
    """InputError unless every time lies in 1900..2200 (the span stratotrack promises to handle exactly)."""
    t = np.asarray(parse_time(times)).astype("datetime64[s]").ravel()
    bad = (t < FIRST) | (t > LAST)
    if bad.any():
        raise InputError(f"{what} {t[bad][0]}Z is outside {FIRST.astype(object).year}-{LAST.astype(object).year}; "
                         "expected a time in the years 1900 to 2200 (no wind data or orbit is valid further out)")
    return t


def now() -> np.datetime64:
    """The current time, UTC, to the second."""
    return np.datetime64(_dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None), "s")


def _one(value) -> np.datetime64:
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise InputError("time is NaT; expected a date and time such as 2023-02-01T21:00:00Z")
        if value.dtype == np.dtype("datetime64[ns]"):
            return value
        return _in_range(value, f"{value}")
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        return _in_range(np.datetime64(value, "us"), value.isoformat() + "Z")
    if isinstance(value, _dt.date):
        return _in_range(np.datetime64(value, "D"), value.isoformat())
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = _dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise InputError(
                f"time {value!r} is not an ISO 8601 date and time; expected e.g. 2023-02-01T21:00:00Z"
            ) from None
        return _one(parsed)
    if hasattr(value, "to_datetime64"):  # pandas.Timestamp
        return _one(value.to_datetime64())
    raise InputError(f"time {value!r} is not a date and time; expected ISO 8601 text or datetime64")


def parse_time(value) -> np.ndarray:
    """Times (scalar or array-like of ISO strings, datetimes, datetime64) as a datetime64[ns] array."""
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.datetime64):
        if np.isnat(value).any():
            raise InputError("time contains NaT; expected dates and times such as 2023-02-01T21:00:00Z")
        if value.dtype != np.dtype("datetime64[ns]") and value.size:
            s = value.astype("datetime64[s]")
            if (s < _NS_MIN).any() or (s > _NS_MAX).any():
                bad = value.ravel()[(s.ravel() < _NS_MIN) | (s.ravel() > _NS_MAX)][0]
                _in_range(bad, f"{bad}")
        return value.astype("datetime64[ns]")
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value, dtype=object)
        return np.array([_one(v) for v in arr.ravel()], dtype="datetime64[ns]").reshape(arr.shape)
    return np.asarray(_one(value))


def to_epoch_seconds(value) -> np.ndarray:
    """Seconds since 1970-01-01T00:00Z (float64) of times given in any accepted form."""
    t = parse_time(value)
    ns = (t - np.datetime64(0, "ns")).astype("timedelta64[ns]").astype(np.int64)
    # whole seconds and the fraction apart: an int64 of nanoseconds does not fit a float64 exactly
    return (ns // 1_000_000_000).astype(float) + (ns % 1_000_000_000) / 1e9


def from_epoch_seconds(seconds) -> np.ndarray:
    """datetime64[ns] from seconds since 1970-01-01T00:00Z; NaN becomes NaT."""
    s = np.asarray(seconds, dtype=float)
    # whole microseconds: a float64 of seconds holds 1900-2255 to better than half a microsecond, so an instant
    # given to the microsecond comes back exactly (nanoseconds would add the float's rounding noise)
    us = np.where(np.isfinite(s), np.round(s * 1e6), 0).astype(np.int64)
    out = (us * 1000).astype("datetime64[ns]")
    return np.where(np.isfinite(s), out, np.datetime64("NaT"))


def format_time(value) -> str:
    """ISO 8601 with Z, to the second."""
    t = np.datetime64(value, "s")
    return f"{t}Z"


_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hr": 3600.0, "d": 86400.0, "day": 86400.0,
          "days": 86400.0, "w": 604800.0}


def parse_duration(value) -> float:
    """Seconds from a number of seconds, a timedelta, or text such as '90m', '72h', '3d', '1d12h'."""
    if isinstance(value, _dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, np.timedelta64):
        seconds = value / np.timedelta64(1, "s")
    elif isinstance(value, str):
        import re

        text = value.strip().lower().replace(" ", "")
        parts = re.findall(r"(\d+(?:\.\d+)?)([a-z]*)", text)
        if not text or "".join(a + b for a, b in parts) != text or any(u not in _UNITS and u != "" for _, u in parts):
            raise InputError(f"duration {value!r} is not understood; expected seconds or text such as '72h' or '3d'")
        seconds = sum(float(a) * _UNITS.get(u, 1.0) for a, u in parts)
    else:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            raise InputError(f"duration {value!r} is not understood; expected seconds or text such as '72h'") from None
    if not (np.isfinite(seconds) and seconds > 0):
        raise InputError(f"duration {value!r} is invalid; expected a positive length of time")
    return float(seconds)
