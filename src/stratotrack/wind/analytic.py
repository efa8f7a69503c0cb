"""Analytic wind fields written as CF Datasets, with their exact trajectories.

For tests, validation and teaching: every field here has a closed-form path, so the engine's error can be
measured exactly.  Fields are on altitude levels; wind speeds include the factor (R + z) / R where needed so that
the angular motion is the same at every altitude on the engine's sphere.

>>> ds = uniform_wind(u=20.0, v=0.0, resolution=1.0)
>>> ds.eastward_wind.attrs["standard_name"]
'eastward_wind'
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..geodesy import EARTH_RADIUS, wrap_longitude

D2R = np.pi / 180.0


def _grid(resolution, altitudes):
    lat = np.linspace(-90.0, 90.0, int(round(180.0 / resolution)) + 1)
    lon = np.arange(0.0, 360.0, resolution)
    alt = np.asarray(altitudes, dtype=float)
    return lat, lon, alt


def _dataset(u, v, lat, lon, alt, times=None, title="analytic field"):
    dims = ("altitude", "latitude", "longitude")
    coords = {
        "altitude": ("altitude", alt, {"standard_name": "altitude", "units": "m", "positive": "up"}),
        "latitude": ("latitude", lat, {"standard_name": "latitude", "units": "degrees_north"}),
        "longitude": ("longitude", lon, {"standard_name": "longitude", "units": "degrees_east"}),
    }
    if times is not None:
        dims = ("time",) + dims
        coords["time"] = ("time", np.asarray(times, dtype="datetime64[ns]"), {"standard_name": "time"})
    return xr.Dataset(
        {
            "eastward_wind": (dims, u.astype(np.float32), {"standard_name": "eastward_wind", "units": "m s-1"}),
            "northward_wind": (dims, v.astype(np.float32), {"standard_name": "northward_wind", "units": "m s-1"}),
        },
        coords=coords,
        attrs={"title": title, "Conventions": "CF-1.11"},
    )


def uniform_wind(u=20.0, v=0.0, *, resolution=1.0, altitudes=(0.0, 40000.0)) -> xr.Dataset:
    """The same (u, v) everywhere (a steady field)."""
    lat, lon, alt = _grid(resolution, altitudes)
    shape = (alt.size, lat.size, lon.size)
    return _dataset(np.full(shape, u), np.full(shape, v), lat, lon, alt, title=f"uniform wind u={u} v={v}")


def uniform_wind_path(lat0, lon0, alt, u, v, t):
    """Exact (lat, lon) after t seconds in a uniform (u, v) at altitude alt (loxodrome on the sphere)."""
    r = EARTH_RADIUS + alt
    phi0 = lat0 * D2R
    phi = phi0 + v * np.asarray(t, dtype=float) / r
    if v == 0:
        lam = u * np.asarray(t, dtype=float) / (r * np.cos(phi0))
    else:
        merc = np.log(np.tan(np.pi / 4 + phi / 2)) - np.log(np.tan(np.pi / 4 + phi0 / 2))
        lam = u / v * merc
    lon = wrap_longitude(lon0 + lam / D2R)
    return phi / D2R, lon


def _unit(lat, lon):
    lat, lon = np.asarray(lat) * D2R, np.asarray(lon) * D2R
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def solid_body_rotation(axis_lat=30.0, axis_lon=-60.0, period_days=10.0, *, resolution=0.5,
                        altitudes=(0.0, 40000.0), acceleration=0.0, times=None) -> xr.Dataset:
    """Rotation of the atmosphere about an arbitrary axis (through the Earth's centre).

    The angular rate is ``omega0 + acceleration * (t - times[0])`` (rad/s, acceleration in rad/s2); with
    ``times`` the field is a time series (linear in time, so linear interpolation between times is exact).
    """
    lat, lon, alt = _grid(resolution, altitudes)
    axis = _unit(axis_lat, axis_lon)
    omega0 = 2 * np.pi / (period_days * 86400.0)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    p = _unit(la, lo)
    vel = np.cross(axis, p)  # tangent velocity per unit angular rate and unit radius
    east = np.stack([-np.sin(lo * D2R), np.cos(lo * D2R), np.zeros_like(lo)], axis=-1)
    north = np.stack([-np.sin(la * D2R) * np.cos(lo * D2R), -np.sin(la * D2R) * np.sin(lo * D2R), np.cos(la * D2R)], axis=-1)
    ue = (vel * east).sum(-1)
    vn = (vel * north).sum(-1)
    scale = (EARTH_RADIUS + alt)[:, None, None]
    if times is None:
        return _dataset(omega0 * scale * ue, omega0 * scale * vn, lat, lon, alt,
                        title=f"solid-body rotation about ({axis_lat}, {axis_lon})")
    times = np.asarray(times, dtype="datetime64[ns]")
    dt = (times - times[0]) / np.timedelta64(1, "s")
    rate = (omega0 + acceleration * dt)[:, None, None, None]
    return _dataset(rate * scale * ue, rate * scale * vn, lat, lon, alt, times=times,
                    title=f"accelerating solid-body rotation about ({axis_lat}, {axis_lon})")


def solid_body_path(lat0, lon0, t, axis_lat=30.0, axis_lon=-60.0, period_days=10.0, acceleration=0.0):
    """Exact (lat, lon) after t seconds (from the field's first time) for :func:`solid_body_rotation`."""
    t = np.asarray(t, dtype=float)
    omega0 = 2 * np.pi / (period_days * 86400.0)
    angle = omega0 * t + 0.5 * acceleration * t * t
    k = _unit(axis_lat, axis_lon)
    p = _unit(lat0, lon0)
    angle = np.asarray(angle)[..., None]
    rot = p * np.cos(angle) + np.cross(k, p) * np.sin(angle) + k * (p @ k)[..., None] * (1 - np.cos(angle))
    return np.arcsin(np.clip(rot[..., 2], -1, 1)) / D2R, np.arctan2(rot[..., 1], rot[..., 0]) / D2R
