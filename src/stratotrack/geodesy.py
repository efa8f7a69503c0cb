"""The Earth model shared by every layer: a sphere, with distances along great circles."""

from __future__ import annotations

import numpy as np

#: mean Earth radius (IUGG), m; trajectories move on a sphere of radius EARTH_RADIUS + altitude
EARTH_RADIUS = 6371008.8

_D2R = np.pi / 180.0


def great_circle_distance(lat1, lon1, lat2, lon2, radius=EARTH_RADIUS):
    """Great-circle distance (m) between points in degrees (haversine).

    >>> round(float(great_circle_distance(0, 0, 0, 1)))      # one degree of the equator, m
    111195
    """
    p1, p2 = np.asarray(lat1, dtype=float) * _D2R, np.asarray(lat2, dtype=float) * _D2R
    dl = (np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float)) * _D2R
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * radius * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def path_length(lat, lon, radius=EARTH_RADIUS):
    """Length (m) of a path through points (NaNs ignored), along great circles."""
    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    lat, lon = lat[ok], lon[ok]
    if lat.size < 2:
        return 0.0
    return float(great_circle_distance(lat[:-1], lon[:-1], lat[1:], lon[1:], radius).sum())
