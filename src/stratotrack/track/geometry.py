"""Sight lines on the engine's sphere: local frames, azimuth/elevation, rays meeting an altitude, triangulation.

The Earth is the engine's sphere (radius ``EARTH_RADIUS``); altitudes are heights above it.  Refraction is ignored
(it bends a sight line by well under 0.1 degree above 5 degrees of elevation).
"""

from __future__ import annotations

import numpy as np

from ..geodesy import EARTH_RADIUS
from ..geodesy import move as offset_points  # noqa: F401  points at east/north offsets (m) from a reference
from ..geodesy import offsets as local_offsets  # noqa: F401  east/north offsets (m) about a reference (aeqd)

D2R = np.pi / 180.0


def ecef(lat, lon, alt):
    """Cartesian position (m, ``[..., 3]``) of points on the sphere of radius ``EARTH_RADIUS + alt``."""
    lat, lon, alt = (np.asarray(a, dtype=float) for a in (lat, lon, alt))
    r = EARTH_RADIUS + alt
    cl = np.cos(lat * D2R)
    return np.stack(np.broadcast_arrays(r * cl * np.cos(lon * D2R), r * cl * np.sin(lon * D2R),
                                        r * np.sin(lat * D2R)), axis=-1)


def to_geodetic(p):
    """(lat, lon, alt) of Cartesian points ``[..., 3]``."""
    p = np.asarray(p, dtype=float)
    r = np.linalg.norm(p, axis=-1)
    lat = np.arcsin(np.clip(p[..., 2] / r, -1, 1)) / D2R
    lon = np.arctan2(p[..., 1], p[..., 0]) / D2R
    return lat, lon, r - EARTH_RADIUS


def enu_basis(lat, lon):
    """Unit east, north, up vectors (each ``[..., 3]``) at points in degrees."""
    la, lo = np.asarray(lat, dtype=float) * D2R, np.asarray(lon, dtype=float) * D2R
    east = np.stack(np.broadcast_arrays(-np.sin(lo), np.cos(lo), 0.0 * lo), axis=-1)
    north = np.stack(np.broadcast_arrays(-np.sin(la) * np.cos(lo), -np.sin(la) * np.sin(lo), np.cos(la)), axis=-1)
    up = np.stack(np.broadcast_arrays(np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)), axis=-1)
    return east, north, up


def direction(lat, lon, azimuth, elevation):
    """Unit sight-line vectors (ECEF) for azimuth (degrees clockwise from north) and elevation at an observer."""
    e, n, u = enu_basis(lat, lon)
    az, el = np.asarray(azimuth, dtype=float)[..., None] * D2R, np.asarray(elevation, dtype=float)[..., None] * D2R
    return np.cos(el) * (np.sin(az) * e + np.cos(az) * n) + np.sin(el) * u


def look_angles(obs_lat, obs_lon, obs_alt, lat, lon, alt):
    """(azimuth deg 0..360, elevation deg, slant range m, unit vector) from an observer to points."""
    o = ecef(obs_lat, obs_lon, obs_alt)
    d = ecef(lat, lon, alt) - o
    rng = np.linalg.norm(d, axis=-1)
    unit = d / np.maximum(rng, 1e-9)[..., None]
    e, n, u = enu_basis(obs_lat, obs_lon)
    x, y, z = (unit * e).sum(-1), (unit * n).sum(-1), (unit * u).sum(-1)
    az = (np.arctan2(x, y) / D2R) % 360.0
    el = np.arcsin(np.clip(z, -1, 1)) / D2R
    return az, el, rng, unit


def ray_at_altitude(obs_lat, obs_lon, obs_alt, dirs, alt):
    """Where sight lines from an observer reach the altitude ``alt`` (the first crossing beyond the observer).

    ``dirs`` are unit vectors ``[..., 3]``; ``alt`` broadcasts with them.  Returns (lat, lon, range m) with NaN where
    the line never reaches that altitude ahead of the observer.
    """
    o = ecef(obs_lat, obs_lon, obs_alt)
    dirs = np.asarray(dirs, dtype=float)
    r = EARTH_RADIUS + np.asarray(alt, dtype=float)
    b = (dirs * o).sum(-1)
    c = (o * o).sum(-1) - r * r
    disc = b * b - c
    with np.errstate(invalid="ignore"):
        sq = np.sqrt(disc)
    s = np.where(c < 0, -b + sq, -b - sq)  # inside the shell: the outward root; outside: the nearer one
    s = np.where((disc >= 0) & (s > 0), s, np.nan)
    p = o + s[..., None] * dirs
    lat, lon, _ = to_geodetic(p)
    return lat, lon, s


def triangulate(observers, directions, sigma_rad=None):
    """Least-squares meeting point of two or more sight lines (ECEF), with its covariance.

    ``observers``: ``[k, 3]`` positions; ``directions``: ``[k, 3]`` unit vectors; ``sigma_rad``: per-line angular
    standard deviations.  Each line's perpendicular error is weighted by ``1 / (sigma * range)^2``, iterated twice
    so that the ranges are those to the solution.  Returns (point ``[3]``, covariance ``[3, 3]``, ranges ``[k]``).
    """
    o = np.asarray(observers, dtype=float)
    d = np.asarray(directions, dtype=float)
    k = o.shape[0]
    sig = np.full(k, 1.0 * D2R) if sigma_rad is None else np.broadcast_to(np.asarray(sigma_rad, float), (k,))
    w = np.ones(k)
    x = None
    for _ in range(3):
        a = np.zeros((3, 3))
        rhs = np.zeros(3)
        for i in range(k):
            proj = np.eye(3) - np.outer(d[i], d[i])
            a += w[i] * proj
            rhs += w[i] * proj @ o[i]
        x = np.linalg.solve(a, rhs)
        ranges = np.maximum(((x - o) * d).sum(-1), 1.0)
        w = 1.0 / (sig * ranges) ** 2
    cov = np.linalg.inv(a) if x is not None else None
    # with the final weights, the covariance of x is the inverse of the normal matrix
    a = sum(w[i] * (np.eye(3) - np.outer(d[i], d[i])) for i in range(k))
    cov = np.linalg.inv(a)
    return x, cov, ((x - o) * d).sum(-1)
