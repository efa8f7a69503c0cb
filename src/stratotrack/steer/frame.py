"""The controller's local frame around a target on real winds, and the :class:`~.control.Forecast` grid sampled
from any stratotrack :class:`~stratotrack.wind.field.WindField`.

The frame is the azimuthal equidistant projection about the target on stratotrack's sphere
(:func:`stratotrack.geodesy.offsets` and its exact inverse :func:`stratotrack.geodesy.move`): ``x`` metres east,
``y`` metres north, and ``hypot(x, y)`` is the great-circle distance to the target exactly, so "within the radius"
means the same in the frame and on the globe.

Pressure levels map to altitudes by the US Standard Atmosphere 1976 (:mod:`stratotrack.atmosphere`), the same
conversion the flight uses for the balloon's own pressure, so a controller's forecast and its observation agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import atmosphere
from ..errors import InputError
from ..geodesy import move, offsets, wrap_longitude
from .control import Forecast

__all__ = ["LocalFrame", "sample_forecast", "check_in_domain", "DEFAULT_PRESSURES"]

#: pressure levels (Pa) of a forecast grid by default: 3,000 to 20,000 Pa every 500 Pa (about 12 to 24 km)
DEFAULT_PRESSURES = np.arange(3000.0, 20000.0 + 1.0, 500.0)


@dataclass(frozen=True)
class LocalFrame:
    """Azimuthal equidistant x/y (m) about ``(lat0, lon0)``."""

    lat0: float
    lon0: float

    def to_xy(self, lat, lon):
        """(x east, y north) in m of points in degrees."""
        return offsets(lat, lon, self.lat0, self.lon0)

    def to_latlon(self, x, y):
        """(lat, lon) in degrees of points x/y m from the centre (longitudes in -180..180)."""
        lat, lon = move(self.lat0, self.lon0, x, y)
        return lat, wrap_longitude(lon)

    def distance(self, lat, lon):
        """Great-circle distance (m) from the centre."""
        x, y = self.to_xy(lat, lon)
        return np.hypot(x, y)


def check_in_domain(field, lat, lon, what="the target") -> None:
    """Raise :class:`InputError` if (lat, lon) lies outside a regional field (global fields cover everything)."""
    lat, lon = float(lat), float(lon)
    if not (-90.0 <= lat <= 90.0) or not np.isfinite(lon):
        raise InputError(f"{what} latitude {lat!r} is invalid; expected -90 to 90 degrees")
    if abs(lat) > 90:
        return
    la0, la1 = float(field.lat[0]), float(field.lat[-1])
    if not (min(la0, la1) - 1e-9 <= lat <= max(la0, la1) + 1e-9):
        raise InputError(f"{what} at {lat:g}, {lon:g} is beyond the domain of the winds ('{field.source}'), which "
                         f"covers latitudes {min(la0, la1):g} to {max(la0, la1):g}; expected a point inside it")
    if field.periodic:
        return
    lo0, lo1 = float(field.lon[0]), float(field.lon[-1])
    # the point's longitude in the field's own convention
    k = (lon - lo0) % 360.0
    if k > (lo1 - lo0) + 1e-9:
        raise InputError(f"{what} at {lat:g}, {lon:g} is beyond the domain of the winds ('{field.source}'), which "
                         f"covers longitudes {lo0:g} to {lo1:g}; expected a point inside it")


def sample_forecast(field, frame: LocalFrame, t0: float, *, duration: float, half_width: float = 1_500_000.0,
                    spacing: float = 100_000.0, pressures=None, time_step: float = 3 * 3600.0) -> Forecast:
    """A :class:`Forecast` grid sampled from ``field`` about ``frame``'s centre.

    ``t0`` the flight's start (s since 1970); the grid's times run from 0 to ``duration`` s every ``time_step``;
    x and y from ``-half_width`` to ``half_width`` every ``spacing`` m; ``pressures`` Pa (ascending; default
    :data:`DEFAULT_PRESSURES`).  Points outside a regional field's area take the nearest data (the field's own
    clamping), counted in ``forecast.clamped`` (a fraction).
    """
    from ..timeutil import from_epoch_seconds

    if not (half_width > 0 and spacing > 0 and duration >= 0 and time_step > 0):
        raise InputError(f"forecast grid half width {half_width!r} m, spacing {spacing!r} m, duration {duration!r} s "
                         f"and time step {time_step!r} s; expected positive numbers")
    n = int(np.ceil(half_width / spacing))
    xs = np.arange(-n, n + 1) * float(spacing)
    p = np.sort(np.asarray(DEFAULT_PRESSURES if pressures is None else pressures, dtype=float))
    nt = int(np.ceil(duration / time_step)) + 1
    ts = np.arange(nt) * float(time_step)
    z = atmosphere.altitude_from_pressure(p)
    X, Y = np.meshgrid(xs, xs, indexing="ij")
    lat, lon = frame.to_latlon(X, Y)
    shape = (xs.size, xs.size, p.size, ts.size)
    LA = np.broadcast_to(lat[:, :, None, None], shape)
    LO = np.broadcast_to(lon[:, :, None, None], shape)
    Z = np.broadcast_to(z[None, None, :, None], shape)
    T = from_epoch_seconds(np.broadcast_to(t0 + ts[None, None, None, :], shape))
    ds = field.sample(T, LA, LO, Z)
    fc = Forecast(xs, xs.copy(), p, ts, ds["eastward_wind"].values, ds["northward_wind"].values)
    fc.clamped = float(np.mean((ds["outside"].values & 8) != 0))
    return fc
