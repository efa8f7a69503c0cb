"""The forecast wind error: an Ornstein-Uhlenbeck velocity error per particle, applied between engine chunks.

One implementation for every user of the engine (ensembles, the tracker's motion model, debris footprints):

:func:`ou_step`
    one step of a pair (east, north) of OU processes of standard deviation ``sigma`` and correlation time ``tau``,
    in m/s, and the displacement it causes over the step (the mean of the two end values times the step).  The
    tracker carries ``(du, dv)`` with its particles and calls this between engine moves.
:class:`WindError`
    the model of an error that grows with forecast lead time: ``e(t) = sigma(lead) z(t)`` with ``z`` a pair of
    unit OU processes and ``sigma(lead) = rms_vector_error(lead) / sqrt(2)``.
:class:`WindErrorState`
    the state ``z`` of a set of particles under a :class:`WindError`, and the displacement it causes over each
    chunk of an :class:`~stratotrack.engine.Integrator` (applied to the integrator's positions, exact on the sphere).

The process: ``x(t + dt) = rho x(t) + sigma sqrt(1 - rho^2) xi`` with ``rho = exp(-|dt| / tau)`` and ``xi`` standard
normal (exact for any ``dt``), started in equilibrium, so ``x`` has variance ``sigma^2`` at every time and
``corr(x(t), x(t + L)) = exp(-L / tau)``.  The displacement over a step is the trapezoid of the step's two ends
(second order in ``dt / tau``): its variance over ``T`` tends to the OU integral's ``2 sigma^2 tau^2 (T / tau - 1 +
exp(-T / tau))`` as the steps shrink (see :func:`displacement_variance`).

The random numbers are drawn east component first, then north, for all particles of a step, so that a run is
reproducible from its generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

__all__ = ["WindError", "WindErrorState", "ou_step", "displacement_variance", "displace_on_sphere"]


# -- the process ---------------------------------------------------------------------------------------------------
def _decay(dt, tau):
    """``exp(-|dt| / tau)``: math.exp for a single step, np.exp for per-particle steps."""
    if np.ndim(dt) == 0:
        return math.exp(-abs(float(dt)) / tau)
    return np.exp(-np.abs(dt) / tau)


def _advance(x, rho, sigma, xi):
    """``rho x + sigma sqrt(1 - rho^2) xi`` (rho a scalar or per particle)."""
    if np.ndim(rho) == 0:
        s = sigma * math.sqrt(max(1.0 - rho * rho, 0.0))
    else:
        s = sigma * np.sqrt(np.maximum(1.0 - rho * rho, 0.0))
    return x * rho + s * xi


def ou_step(du, dv, dt, sigma, tau, rng):
    """Advance OU wind errors ``(du, dv)`` (m/s, arrays) by ``|dt|`` s and return ``(du, dv, east, north)``, the
    new errors and the displacement (m) they cause over the interval (signed like ``dt``).

    ``sigma`` (m/s) is the standard deviation of each component, ``tau`` (s) the correlation time.  The
    displacement is the mean of the two end values times the interval (second order in dt/tau, adequate for dt up
    to a few tau).
    """
    if sigma <= 0 or np.all(np.asarray(dt) == 0):
        return du, dv, du * dt, dv * dt
    rho = _decay(dt, tau)
    ndu = _advance(du, rho, sigma, rng.standard_normal(np.shape(du)))
    ndv = _advance(dv, rho, sigma, rng.standard_normal(np.shape(dv)))
    return ndu, ndv, 0.5 * (du + ndu) * dt, 0.5 * (dv + ndv) * dt


def displacement_variance(duration, sigma, tau):
    """Variance (m^2) of the integral over ``duration`` s of a stationary OU velocity (sd ``sigma``, correlation
    time ``tau``): ``2 sigma^2 tau^2 (T / tau - 1 + exp(-T / tau))``."""
    T = np.abs(np.asarray(duration, dtype=float))
    return 2.0 * sigma ** 2 * tau ** 2 * (T / tau - 1.0 + np.exp(-T / tau))


# -- the forecast-error model ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WindError:
    """Forecast wind error seen by a balloon: an Ornstein-Uhlenbeck process per member.

    Each member carries ``e(t) = sigma(lead) * z(t)``, with ``z`` a pair (east, north) of independent unit OU
    processes of correlation time ``correlation_time`` (s): ``z(t + dt) = rho z(t) + sqrt(1 - rho^2) xi``,
    ``rho = exp(-dt / tau)``, started in equilibrium.  So ``e`` has the RMS ``sigma(lead)`` per component at every
    lead time, and ``sigma(lead) = rms_vector_error(lead) / sqrt(2)`` with the RMS *vector* error

        ``rms_vector_error(lead) = min(initial + growth * lead_days, maximum)``  (m/s).

    The member's position is displaced by the time integral of ``e`` after every chunk of ``interval`` s.

    Defaults: ``initial`` 2.5 m/s, ``growth`` 0.8 m/s per day, ``maximum`` 9 m/s: about 2.5, 3.3, 4.9 and 6.5 m/s at
    analysis time and days 1, 3 and 5.  These follow the size of the RMS vector wind errors of global forecasts
    (ECMWF, GFS) in the lower stratosphere (100-50 hPa, extratropics) verified against radiosondes and analyses, as
    shown in the centres' routine verification (WMO lead-centre scores) and in comparisons with superpressure
    balloons (Loon: Friedrich et al. 2017, ACP 17, 855-866; Coy et al. 2019, JGR 124; Concordiasi: Podglajen et
    al. 2014, QJRMS): errors of 2-3 m/s per component at analysis, roughly doubling by day 5.  They are rounded
    figures for a default, not a fit: set them for your model, season and region.  ``correlation_time`` 12 h is an
    assumption: the along-track decorrelation of synoptic-scale errors (about 1,000 km) for a balloon moving
    relative to the error pattern at 10-20 m/s, and the errors' own evolution over about a day.

    ``lead`` is counted from ``reference_time`` (s since 1970; default: the first time of a forecast field, else each
    member's launch).
    """

    initial: float = 2.5
    growth: float = 0.8
    maximum: float = 9.0
    correlation_time: float = 12 * 3600.0
    interval: float = 600.0
    reference_time: float | None = None
    scale: float = 1.0

    def __post_init__(self):
        for name in ("initial", "growth", "maximum", "scale"):
            v = float(getattr(self, name))
            if not (math.isfinite(v) and v >= 0):
                raise InputError(f"wind error {name} {v!r} is invalid; expected a finite number >= 0")
        for name in ("correlation_time", "interval"):
            v = float(getattr(self, name))
            if not (math.isfinite(v) and v > 0):
                raise InputError(f"wind error {name.replace('_', ' ')} {v!r} s is invalid; expected a positive "
                                 "number of seconds")

    def rms_vector(self, lead_seconds):
        """RMS vector error (m/s) at lead times (s); each component's standard deviation is this / sqrt(2)."""
        lead = np.maximum(np.asarray(lead_seconds, dtype=float), 0.0) / 86400.0
        return self.scale * np.minimum(self.initial + self.growth * lead, self.maximum)

    def sigma(self, lead_seconds):
        """Standard deviation (m/s) of each component at lead times (s)."""
        return self.rms_vector(lead_seconds) / math.sqrt(2.0)

    def describe(self):
        return (f"Ornstein-Uhlenbeck wind error, RMS vector error min({self.initial:g} + {self.growth:g}/day x "
                f"lead, {self.maximum:g}) m/s x {self.scale:g}, correlation time {self.correlation_time / 3600:g} h, "
                f"applied every {self.interval:g} s")


class WindErrorState:
    """The OU state of a set of particles under a :class:`WindError`, and the displacement it causes over a chunk.

    ``reference``: per particle, the time (s since 1970) the lead is counted from.  The state ``z`` (unit, shape
    ``(2, n)``) is drawn in equilibrium from ``rng`` on creation.
    """

    def __init__(self, model: WindError, rng, n, reference):
        self.m = model
        self.rng = rng
        self.z = rng.standard_normal((2, n))  # equilibrium start
        self.reference = np.broadcast_to(np.asarray(reference, dtype=float), (n,))

    def advance(self, idx, t0, t1):
        """Advance the particles ``idx`` from times ``t0`` to ``t1`` (arrays, s); returns their (east, north)
        displacements in m (the trapezoid of the error at both ends times ``t1 - t0``)."""
        dt = t1 - t0
        z0 = self.z[:, idx]
        rho = _decay(np.abs(dt), self.m.correlation_time)
        z1 = _advance(z0, rho, 1.0, self.rng.standard_normal((2, np.size(idx))))
        self.z[:, idx] = z1
        sig0 = self.m.rms_vector(t0 - self.reference[idx]) / math.sqrt(2.0)
        sig1 = self.m.rms_vector(t1 - self.reference[idx]) / math.sqrt(2.0)
        de = 0.5 * (sig0 * z0[0] + sig1 * z1[0]) * dt
        dn = 0.5 * (sig0 * z0[1] + sig1 * z1[1]) * dt
        return de, dn

    def error(self, idx, t):
        """The current wind error (east, north; m/s) of particles ``idx`` at their times ``t``."""
        sig = self.m.sigma(t - self.reference[idx])
        return sig * self.z[0, idx], sig * self.z[1, idx]

    def displace(self, integ, t_before, running_before):
        """Move the integrator's particles that were running and moved since ``t_before`` by their displacement."""
        from ..geodesy import EARTH_RADIUS

        dt = integ.t - t_before
        moved = running_before & (dt != 0)
        if not moved.any():
            return
        idx = np.nonzero(moved)[0]
        de, dn = self.advance(idx, t_before[idx], integ.t[idx])
        r = EARTH_RADIUS + integ.alt[idx]
        lat, lon = displace_on_sphere(integ.lat[idx], integ.lon[idx], de / r, dn / r)
        integ.lat[idx] = lat
        integ.lon[idx] = lon


# -- geometry ------------------------------------------------------------------------------------------------------------
def displace_on_sphere(lat, lon, east_rad, north_rad):
    """Move points by small angles east/north along great circles (:func:`stratotrack.geodesy.move`: exact on the
    sphere, safe at the poles, the caller's longitude convention kept)."""
    from ..geodesy import move

    return move(lat, lon, east_rad, north_rad, radius=1.0)
