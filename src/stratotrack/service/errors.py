"""API errors in Tawhiri's shape: ``{"error": {"type", "description"}, "metadata": {...}}`` with its status codes."""

from __future__ import annotations

import datetime as _dt


class APIError(Exception):
    status = 500
    type = "InternalException"

    def __init__(self, description: str, *, headers: dict | None = None):
        super().__init__(description)
        self.description = " ".join(str(description).split())
        self.headers = headers or {}


class RequestException(APIError):
    status = 400
    type = "RequestException"


class InvalidDatasetException(APIError):
    status = 404
    type = "InvalidDatasetException"


class NotFoundException(APIError):
    status = 404
    type = "NotFoundException"


class AuthenticationException(APIError):
    status = 401
    type = "AuthenticationException"


class ForbiddenException(APIError):
    status = 403
    type = "ForbiddenException"


class RateLimitException(APIError):
    status = 429
    type = "RateLimitException"


class PayloadTooLargeException(APIError):
    status = 413
    type = "PayloadTooLargeException"


class TimeoutException(APIError):
    status = 503
    type = "TimeoutException"


class InternalException(APIError):
    status = 500
    type = "InternalException"


def rfc3339(seconds: float) -> str:
    """RFC 3339 in UTC with Z, microseconds only when there are any (as Tawhiri writes times)."""
    d = _dt.datetime.fromtimestamp(float(seconds), _dt.timezone.utc)
    text = d.strftime("%Y-%m-%dT%H:%M:%S")
    if d.microsecond:
        text += f".{d.microsecond:06d}".rstrip("0")
    return text + "Z"


def error_body(exc: APIError, start: float, end: float) -> dict:
    return {"error": {"type": exc.type, "description": exc.description},
            "metadata": {"start_datetime": rfc3339(start), "complete_datetime": rfc3339(end)}}


def rfc3339_many(seconds) -> list:
    """:func:`rfc3339` of an array of epoch seconds, vectorised."""
    import numpy as np

    us = np.round(np.asarray(seconds, dtype=float) * 1e6).astype(np.int64).astype("datetime64[us]")
    out = []
    for text in np.datetime_as_string(us, unit="us").tolist():
        head, _, frac = text.partition(".")
        frac = frac.rstrip("0")
        out.append(f"{head}.{frac}Z" if frac else f"{head}Z")
    return out
