"""The Earth model shared by every layer: a sphere, with distances along great circles.

Trajectories move on a sphere of radius ``EARTH_RADIUS + altitude`` (see :mod:`stratotrack.engine`); everything
that measures or moves positions outside the kernels uses the functions here: distance, initial bearing, moving a
point by a distance along a bearing (or by east/north offsets), and azimuthal equidistant offsets about a centre.
Degrees at the edges, metres for lengths; arrays broadcast.

They are closed-form NumPy on the sphere.  ``pyproj.Geod(a=EARTH_RADIUS, b=EARTH_RADIUS)`` gives the same answers
(to a micrometre; ``tests/test_geodesy.py`` checks them against it) but costs 7 times as much for distances (1.36 s
against 0.20 s per million pairs) and 0.9 s per million moves, and these run over whole ensembles.

>>> round(float(great_circle_distance(0, 0, 0, 1)))      # one degree of the equator, m
111195
>>> round(float(bearing(0, 0, 1, 1)), 3)                  # north-east, a little north of 45 degrees
44.996
>>> [round(float(x), 6) for x in destination(0, 0, 90.0, 111195.08)]   # 1 degree east along the equator
[0.0, 1.0]
"""

from __future__ import annotations

import numpy as np

__all__ = ["EARTH_RADIUS", "wrap_longitude", "great_circle_distance", "path_length", "bearing", "destination", "move", "offsets"]

#: mean Earth radius (IUGG), m; trajectories move on a sphere of radius EARTH_RADIUS + altitude
EARTH_RADIUS = 6371008.8

_D2R = np.pi / 180.0


def _f(x):
    return np.asarray(x, dtype=float)


def wrap_longitude(lon):
    """Longitudes (or longitude differences) in degrees brought to -180..180 (180 itself becomes -180).

    >>> wrap_longitude([190.0, -181.0, 360.0])
    array([-170.,  179.,    0.])
    """
    return (np.asarray(lon, dtype=float) + 180.0) % 360.0 - 180.0


def great_circle_distance(lat1, lon1, lat2, lon2, radius=EARTH_RADIUS):
    """Great-circle distance (m) between points in degrees (haversine)."""
    p1, p2 = _f(lat1) * _D2R, _f(lat2) * _D2R
    dl = (_f(lon2) - _f(lon1)) * _D2R
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * radius * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def path_length(lat, lon, radius=EARTH_RADIUS):
    """Length (m) of a path through points (NaNs ignored), along great circles."""
    lat, lon = _f(lat), _f(lon)
    ok = np.isfinite(lat) & np.isfinite(lon)
    lat, lon = lat[ok], lon[ok]
    if lat.size < 2:
        return 0.0
    return float(great_circle_distance(lat[:-1], lon[:-1], lat[1:], lon[1:], radius).sum())


def bearing(lat1, lon1, lat2, lon2):
    """Initial bearing (degrees clockwise from north, 0..360) of the great circle from point 1 to point 2."""
    p1, p2 = _f(lat1) * _D2R, _f(lat2) * _D2R
    dl = (_f(lon2) - _f(lon1)) * _D2R
    az = np.arctan2(np.sin(dl) * np.cos(p2), np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl))
    return (np.rad2deg(az) + 360.0) % 360.0


def move(lat, lon, east, north, radius=EARTH_RADIUS):
    """Points moved along great circles by ``hypot(east, north)`` m towards the bearing ``atan2(east, north)``.

    Exact on the sphere and safe at the poles (vectors, not angles).  The longitudes keep the caller's convention:
    each result is within 180 degrees of its input longitude.  ``move(lat0, lon0, x, y)`` is also the inverse of
    :func:`offsets` about ``(lat0, lon0)``.
    """
    lat, lon = _f(lat), _f(lon)
    phi, lam = lat * _D2R, lon * _D2R
    cp, sp, cl, sl = np.cos(phi), np.sin(phi), np.cos(lam), np.sin(lam)
    e_rad, n_rad = _f(east) / radius, _f(north) / radius
    d = np.hypot(e_rad, n_rad)
    safe = np.where(d > 0, d, 1.0)
    ue, un = e_rad / safe, n_rad / safe  # unit direction in the local east/north frame
    cd, sd = np.cos(d), np.sin(d)
    # p cos d + (east_vector ue + north_vector un) sin d
    qx = cp * cl * cd + (-sl * ue - sp * cl * un) * sd
    qy = cp * sl * cd + (cl * ue - sp * sl * un) * sd
    qz = sp * cd + cp * un * sd
    new_lat = np.arcsin(np.clip(qz, -1.0, 1.0)) / _D2R
    new_lon = np.arctan2(qy, qx) / _D2R
    return new_lat, lon + wrap_longitude(new_lon - lon)


def destination(lat, lon, azimuth, distance, radius=EARTH_RADIUS):
    """The point ``distance`` m from (lat, lon) along the great circle leaving at ``azimuth`` degrees."""
    az = _f(azimuth) * _D2R
    d = _f(distance)
    return move(lat, lon, d * np.sin(az), d * np.cos(az), radius)


def offsets(lat, lon, lat0, lon0, radius=EARTH_RADIUS):
    """Azimuthal equidistant (east, north) in m of points about (lat0, lon0): the distance from the centre along
    the great circle, in the direction of its bearing there.  Inverse: ``move(lat0, lon0, east, north)``."""
    p, dl = _f(lat) * _D2R, (_f(lon) - _f(lon0)) * _D2R
    p0 = _f(lat0) * _D2R
    cosc = np.clip(np.sin(p0) * np.sin(p) + np.cos(p0) * np.cos(p) * np.cos(dl), -1.0, 1.0)
    c = np.arccos(cosc)
    k = np.where(c > 1e-12, c / np.sin(np.where(c > 1e-12, c, 1.0)), 1.0)
    x = radius * k * np.cos(p) * np.sin(dl)
    y = radius * k * (np.cos(p0) * np.sin(p) - np.sin(p0) * np.cos(p) * np.cos(dl))
    return x, y
