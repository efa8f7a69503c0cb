"""Sensor geometry on the engine's sphere: horizon, reach, elevation, off-nadir angle, ground sample distance.

Everything is on the sphere of radius :data:`stratotrack.geodesy.EARTH_RADIUS` that the engine moves balloons on,
with straight lines of sight (no refraction: at 18 km standard refraction adds about 5-8% to the horizon).
Angles in degrees at the edges, distances in metres.

>>> round(float(horizon_distance(18000.0)) / 1000)        # line of sight to the horizon from 18 km
479
>>> round(float(reach_radius(18000.0, 0.0)) / 1000)       # ground distance to that horizon
478
>>> round(float(max_off_nadir(18000.0)), 1)                 # the horizon seen from 18 km, from the nadir
85.7
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..geodesy import EARTH_RADIUS

__all__ = ["horizon_distance", "reach_radius", "elevation_angle", "off_nadir_angle", "slant_range", "max_off_nadir",
           "ground_range_for_off_nadir", "gsd", "Sensor", "GSD"]

R = EARTH_RADIUS
D2R = np.pi / 180.0


def _alt(h):
    h = np.asarray(h, dtype=float)
    if np.any(~np.isfinite(h)) or np.any(h < 0):
        bad = h[~(np.isfinite(h) & (h >= 0))].ravel()[0]
        raise InputError(f"altitude {float(bad)!r} m is invalid; expected a finite height >= 0 m above sea level")
    return h


def horizon_distance(h):
    """Line-of-sight distance (m) from height ``h`` (m) to the geometric horizon: sqrt((R + h)^2 - R^2)."""
    h = _alt(h)
    return np.sqrt((R + h) ** 2 - R * R)


def reach_radius(h, min_elevation=0.0):
    """Ground distance (m, along the surface) out to which a point on the ground sees height ``h`` at an elevation
    of at least ``min_elevation`` degrees (and so is seen from there): ``R (arccos(R cos e / (R + h)) - e)``."""
    h = _alt(h)
    e = np.asarray(min_elevation, dtype=float) * D2R
    return R * np.maximum(np.arccos(np.clip(R * np.cos(e) / (R + h), -1.0, 1.0)) - e, 0.0)


def elevation_angle(ground_range, h):
    """Elevation (degrees) of a point at height ``h`` seen from the ground ``ground_range`` m away."""
    th = np.asarray(ground_range, dtype=float) / R
    rh = R + np.asarray(h, dtype=float)
    return np.arctan2(rh * np.cos(th) - R, rh * np.sin(th)) / D2R


def off_nadir_angle(ground_range, h):
    """Angle (degrees) at height ``h`` between the nadir and the line to a ground point ``ground_range`` m away."""
    th = np.asarray(ground_range, dtype=float) / R
    rh = R + np.asarray(h, dtype=float)
    return np.arctan2(R * np.sin(th), rh - R * np.cos(th)) / D2R


def slant_range(ground_range, h):
    """Straight-line distance (m) from height ``h`` to a ground point ``ground_range`` m away."""
    th = np.asarray(ground_range, dtype=float) / R
    rh = R + np.asarray(h, dtype=float)
    return np.sqrt(R * R + rh * rh - 2 * R * rh * np.cos(th))


def max_off_nadir(h, min_elevation=0.0):
    """Largest off-nadir angle (degrees) from height ``h`` that still meets the ground at ``min_elevation`` degrees
    or more: ``arcsin(R cos e / (R + h))``."""
    h = _alt(h)
    e = np.asarray(min_elevation, dtype=float) * D2R
    return np.arcsin(np.clip(R * np.cos(e) / (R + h), -1.0, 1.0)) / D2R


def ground_range_for_off_nadir(h, eta):
    """Ground distance (m) at which the line at off-nadir angle ``eta`` (degrees) from height ``h`` meets the
    ground (the nearer intersection); NaN where it misses the Earth."""
    h = _alt(h)
    eta = np.asarray(eta, dtype=float) * D2R
    s = (R + h) * np.sin(eta) / R  # sine rule: sin(angle at the ground point from the zenith) = (R+h) sin(eta) / R
    inc = np.where(s <= 1.0, np.arcsin(np.clip(s, -1, 1)), np.nan)  # incidence angle at the ground
    return R * (inc - eta)


@dataclass(frozen=True)
class GSD:
    """Ground sample distance (m): ``cross`` across the line of sight, ``along`` along it on the ground (stretched
    by 1 / sin(elevation)); the geometric (pixel) and the diffraction (1.22 lambda / D) limits and which one rules."""

    cross: float
    along: float
    geometric_cross: float
    diffraction_cross: float
    limited_by: str
    slant_range: float
    elevation: float


def gsd(h, ground_range=0.0, *, pixel_pitch=None, focal_length=None, aperture=None, wavelength=550e-9) -> GSD:
    """Ground sample distance of a camera at height ``h`` looking at a ground point ``ground_range`` m away.

    ``pixel_pitch`` and ``focal_length`` (m) give the geometric GSD ``slant * pitch / focal``; ``aperture`` (m) adds
    the diffraction limit ``1.22 * wavelength * slant / aperture``; the coarser of the two rules.

    >>> round(gsd(18000.0, pixel_pitch=5e-6, focal_length=1.0).cross, 3)   # 5 um pixels, 1 m focal length, nadir
    0.09
    """
    h = float(_alt(h))
    vals = {"pixel pitch": pixel_pitch, "focal length": focal_length, "aperture": aperture, "wavelength": wavelength}
    for name, v in vals.items():
        if v is not None and not (np.isfinite(v) and v > 0):
            raise InputError(f"{name} {v!r} m is invalid; expected a positive length in metres")
    if (pixel_pitch is None) != (focal_length is None):
        raise InputError("a geometric GSD needs both pixel_pitch and focal_length (m)")
    if pixel_pitch is None and aperture is None:
        raise InputError("gsd needs pixel_pitch and focal_length, or an aperture, or both")
    s = float(slant_range(ground_range, h))
    el = float(elevation_angle(ground_range, h))
    if el <= 0:
        raise InputError(f"a ground point {ground_range / 1000:g} km away is beyond the horizon from {h:g} m")
    geo = s * pixel_pitch / focal_length if pixel_pitch is not None else 0.0
    dif = 1.22 * wavelength * s / aperture if aperture is not None else 0.0
    cross = max(geo, dif)
    return GSD(cross, cross / np.sin(el * D2R), geo, dif, "diffraction" if dif > geo else "pixels", s, el)


@dataclass(frozen=True)
class Sensor:
    """What a sensor on the balloon can see: ground points seen at ``min_elevation`` degrees or more and within
    ``max_off_nadir`` degrees of the nadir (None: up to the horizon), with optional optics for the GSD.

    The default is line of sight to the horizon (min elevation 0): the sensor's *reach*, the widest case.
    """

    min_elevation: float = 0.0
    max_off_nadir: float | None = None
    pixel_pitch: float | None = None
    focal_length: float | None = None
    aperture: float | None = None
    wavelength: float = 550e-9
    name: str = "line of sight"

    def __post_init__(self):
        if not (np.isfinite(self.min_elevation) and 0 <= self.min_elevation < 90):
            raise InputError(f"minimum elevation {self.min_elevation!r} degrees is invalid; expected 0 <= e < 90")
        if self.max_off_nadir is not None and not (np.isfinite(self.max_off_nadir) and 0 < self.max_off_nadir < 90):
            raise InputError(f"maximum off-nadir angle {self.max_off_nadir!r} degrees is invalid; expected 0 < a < 90")

    def reach(self, h):
        """Ground distance (m) the sensor reaches from height ``h``."""
        r = reach_radius(h, self.min_elevation)
        if self.max_off_nadir is not None:
            r = np.minimum(r, np.nan_to_num(ground_range_for_off_nadir(h, self.max_off_nadir), nan=np.inf))
        return r

    @property
    def has_optics(self) -> bool:
        return (self.pixel_pitch is not None and self.focal_length is not None) or self.aperture is not None

    def gsd(self, h, ground_range=0.0) -> GSD:
        return gsd(h, ground_range, pixel_pitch=self.pixel_pitch, focal_length=self.focal_length,
                   aperture=self.aperture, wavelength=self.wavelength)

    def describe(self) -> str:
        parts = [f"{self.name}: elevation >= {self.min_elevation:g} deg"]
        if self.max_off_nadir is not None:
            parts.append(f"off-nadir <= {self.max_off_nadir:g} deg")
        if self.pixel_pitch is not None:
            parts.append(f"pixel pitch {self.pixel_pitch * 1e6:g} um, focal length {self.focal_length:g} m")
        if self.aperture is not None:
            parts.append(f"aperture {self.aperture:g} m at {self.wavelength * 1e9:g} nm")
        return ", ".join(parts)
