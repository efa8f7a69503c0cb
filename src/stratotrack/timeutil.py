"""Times: numpy datetime64 (UTC) inside, ISO 8601 with Z at the edges, float seconds in the kernels."""

from __future__ import annotations

import datetime as _dt

import numpy as np

from .errors import InputError

__all__ = ["parse_time", "parse_duration", "to_epoch_seconds", "from_epoch_seconds", "format_time", "now"]


def now() -> np.datetime64:
    """The current time, UTC, to the second."""
    return np.datetime64(_dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None), "s")


def _one(value) -> np.datetime64:
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise InputError("time is NaT; expected a date and time such as 2023-02-01T21:00:00Z")
        return value.astype("datetime64[ns]")
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        return np.datetime64(value, "ns")
    if isinstance(value, _dt.date):
        return np.datetime64(value, "ns")
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
        return value.astype("datetime64[ns]")
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value, dtype=object)
        return np.array([_one(v) for v in arr.ravel()], dtype="datetime64[ns]").reshape(arr.shape)
    return np.asarray(_one(value))


def to_epoch_seconds(value) -> np.ndarray:
    """Seconds since 1970-01-01T00:00Z (float64) of times given in any accepted form."""
    t = parse_time(value)
    return (t - np.datetime64(0, "ns")).astype("timedelta64[ns]").astype(np.int64) / 1e9


def from_epoch_seconds(seconds) -> np.ndarray:
    """datetime64[ns] from seconds since 1970-01-01T00:00Z; NaN becomes NaT."""
    s = np.asarray(seconds, dtype=float)
    ns = np.where(np.isfinite(s), np.round(s * 1e9), 0).astype(np.int64)
    out = ns.astype("datetime64[ns]")
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
