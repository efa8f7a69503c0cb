"""A particle filter whose prediction step is the engine on the wind field.

State of each particle: latitude, longitude, altitude, vertical rate ``w`` and a wind error ``(du, dv)`` (an OU
process added to the field's wind).  Observations weight the particles through robust likelihoods: a mixture of
the observation's Gaussian error with a broad "this report is wrong" component (probability ``outlier``), so one
bad or conflicting report cannot collapse the cloud; the posterior probability that each report was an outlier is
recorded.  Fixes weigh by great-circle distance (and altitude when reported); sightings by the angle between the
reported sight line and the line to each particle (and the range from an angular size).  Resampling is systematic
when the effective sample size falls under half, followed by a small kernel jitter (regularised particle filter).

Gaps need nothing special: the cloud spreads with the wind error until the next observation.  Time uncertainty of a
report (``sigma_t``) widens its position error by the wind speed times ``sigma_t``.

>>> import stratotrack as st
>>> from stratotrack.track import Observation, ParticleFilter
>>> pf = ParticleFilter(st.open_wind("climatology"), n=500, seed=1)
>>> _ = pf.run([Observation.fix("2023-02-01T21:00Z", 45.7, -109.5, 18000, sigma_h=5e3, sigma_z=500)])
>>> round(pf.estimate()["alt"] / 1000)
18
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..geodesy import EARTH_RADIUS, great_circle_distance, wrap_longitude
from . import geometry as G
from .motion import displace, engine_move, ou_step, wind_at
from .observations import Observation, Observations, collect

D2R = math.pi / 180.0


@dataclass
class FilterSettings:
    """Noise and prior settings of :class:`ParticleFilter` (SI units)."""

    altitude_prior: tuple = (500.0, 30000.0)  # uniform prior of altitude (m) where no observation gives one
    vertical_rate_sd: float = 0.0  # prior sd of w (m/s); 0: the balloon floats
    vertical_rate_walk: float = 0.0  # random walk of w (m/s per sqrt(s)); 0 for floats (altitude_walk moves them)
    altitude_walk: float = 1.0  # random walk of altitude (m per sqrt(s)): floats go up and down a little
    wind_error_sd: float = 3.0  # m/s, stationary sd of the wind error per component
    wind_error_tau: float = 6 * 3600.0  # s, its correlation time
    outlier: float = 0.05  # prior probability that a report is wrong
    step: float = 300.0  # engine step (s)
    jitter: float = 0.15  # kernel jitter after resampling, as a fraction of the cloud's spread
    measured_altitude: float = 200.0  # altitudes reported this precisely (m, telemetry) set the particles' altitude

    @classmethod
    def for_wind(cls, field, **kw):
        """Defaults that suit the wind source: a climatology's errors are several times a forecast's."""
        if getattr(field, "kind", "") == "climatology":
            kw.setdefault("wind_error_sd", 10.0)
            kw.setdefault("wind_error_tau", 12 * 3600.0)
        top = min(float(field.altitude_range[1]), 35000.0)
        kw.setdefault("altitude_prior", (500.0, top))
        return cls(**kw)


@dataclass
class Estimate:
    time: float
    lat: float
    lon: float
    alt: float
    alt_sd: float
    alt_q05: float
    alt_q95: float
    sd_major_km: float
    sd_minor_km: float
    r50_km: float
    r95_km: float
    ess: float
    outlier_probability: float = math.nan
    observation: str = ""
    extra: dict = field(default_factory=dict)


class ParticleFilter:
    """Sequential Monte Carlo over (lat, lon, alt, w, du, dv); see the module docstring.

    ``backward=True`` runs the filter back in time (observations latest first): the motion model is the engine
    with a negative step, which is how several fixes are fused before back-tracking to an origin.
    """

    def __init__(self, wind, n=10000, seed=0, *, settings: FilterSettings | None = None, backward=False, **kw):
        from ..wind import open_wind

        self.field = open_wind(wind)
        if not (isinstance(n, (int, np.integer)) and n >= 10):
            raise InputError(f"number of particles {n!r} is invalid; expected an integer of at least 10")
        self.n = int(n)
        self.rng = np.random.default_rng(seed)
        self.settings = settings or FilterSettings.for_wind(self.field, **kw)
        self.backward = bool(backward)
        self.t = None
        self.history: list[Estimate] = []
        self.notes: list[str] = []
        self.resamples = 0

    # -- state -------------------------------------------------------------------------------------------------------
    @property
    def initialized(self) -> bool:
        return self.t is not None

    def _set(self, lat, lon, alt, w=None, du=None, dv=None):
        n = self.n
        s = self.settings
        self.lat, self.lon, self.alt = (np.asarray(a, float).copy() for a in (lat, lon, alt))
        self.w = np.asarray(w, float).copy() if w is not None else s.vertical_rate_sd * self.rng.standard_normal(n)
        self.du = du if du is not None else s.wind_error_sd * self.rng.standard_normal(n)
        self.dv = dv if dv is not None else s.wind_error_sd * self.rng.standard_normal(n)
        self.logw = np.zeros(n)

    def _altitude_samples(self, n):
        lo, hi = self.settings.altitude_prior
        return self.rng.uniform(lo, hi, n)

    def initialize(self, obs: Observation):
        """Sample the cloud from one observation and a flat prior (altitude: ``settings.altitude_prior``)."""
        n = self.n
        sig = self._sigma_h(obs, None)
        if obs.kind == "fix":
            e, nn = sig * self.rng.standard_normal(n), sig * self.rng.standard_normal(n)
            lat, lon = G.offset_points(obs.lat, obs.lon, e, nn)
            alt = (obs.alt + obs.sigma_z * self.rng.standard_normal(n)) if obs.has_altitude else self._altitude_samples(n)
            self._set(lat, wrap_longitude(lon), np.maximum(alt, 0.0))
            if obs.has_altitude and obs.sigma_z <= self.settings.measured_altitude:
                self._last_z = (obs.time, obs.alt)
        else:
            lat, lon, alt = self._sample_ray(obs, n)
            self._set(lat, lon, alt)
            if math.isfinite(obs.angular_size):
                self.logw += self._range_loglik(obs)
        self.t = obs.time
        self._record(obs, math.nan)

    def _sample_ray(self, obs, n, tries=8):
        """Points along a sighting's line (angle noise, prior altitudes) that reach their altitude."""
        lat, lon, alt = np.empty(0), np.empty(0), np.empty(0)
        for _ in range(tries):
            m = 2 * n
            s = obs.sigma_angle
            az = obs.azimuth + s * self.rng.standard_normal(m) / max(math.cos(obs.elevation * D2R), 0.05)
            el = np.clip(obs.elevation + s * self.rng.standard_normal(m), -5.0, 90.0)
            z = self._altitude_samples(m)
            d = G.direction(obs.lat, obs.lon, az, el)
            la, lo, rng_ = G.ray_at_altitude(obs.lat, obs.lon, obs.alt, d, z)
            _, _, ground = G.ray_at_altitude(obs.lat, obs.lon, max(obs.alt, 0.0) + 1.0, d, 0.0)
            blocked = np.isfinite(ground) & (ground < rng_)  # the line enters the Earth first: not visible
            ok = np.isfinite(la) & (rng_ < 1500e3) & ~blocked
            lat, lon, alt = np.concatenate([lat, la[ok]]), np.concatenate([lon, lo[ok]]), np.concatenate([alt, z[ok]])
            if lat.size >= n:
                break
        if lat.size < n:
            raise InputError(f"{obs.describe()}: the sight line reaches none of the prior altitudes "
                             f"{self.settings.altitude_prior[0]:.0f}-{self.settings.altitude_prior[1]:.0f} m within "
                             "1500 km; expected an elevation above the horizon")
        return lat[:n], lon[:n], alt[:n]

    # -- prediction ----------------------------------------------------------------------------------------------------
    def predict(self, t):
        """Move the cloud to time ``t`` (s) with the engine, the wind error and the altitude walk."""
        dt = t - self.t
        if dt == 0:
            return
        if (dt < 0) != self.backward:
            raise InputError("internal order error: the filter was asked to move against its direction")
        s = self.settings
        a = abs(dt)
        lat, lon, alt = engine_move(self.field, self.t, self.lat, self.lon, self.alt, self.w, t, step=s.step)
        self.du, self.dv, east, north = ou_step(self.du, self.dv, dt, s.wind_error_sd, s.wind_error_tau, self.rng)
        self.lat, self.lon = displace(lat, lon, east, north)
        alt = alt + s.altitude_walk * math.sqrt(a) * self.rng.standard_normal(self.n)
        self.w = self.w + s.vertical_rate_walk * math.sqrt(a) * self.rng.standard_normal(self.n)
        landed = alt < 0.0
        self.alt = np.where(landed, 0.0, alt)
        self.w = np.where(landed, 0.0, self.w)
        self.t = t

    # -- likelihoods -------------------------------------------------------------------------------------------------
    def _sigma_h(self, obs, speed):
        sig = obs.sigma_h if obs.kind == "fix" else 0.0
        if obs.sigma_t > 0:
            v = speed if speed is not None else 15.0
            sig = np.sqrt(sig * sig + (v * obs.sigma_t) ** 2)
        return sig

    def _range_loglik(self, obs):
        rng_obs = obs.size / (obs.angular_size * D2R)
        _, _, rng_, _ = G.look_angles(obs.lat, obs.lon, obs.alt, self.lat, self.lon, self.alt)
        sl = 0.3  # angular sizes judged by eye or from video: ~30% in range
        return -0.5 * (np.log(np.maximum(rng_, 1.0) / rng_obs) / sl) ** 2

    def loglik(self, obs: Observation):
        """(robust log-likelihood per particle, log of the Gaussian part per particle, log of the outlier density)."""
        eps = self.settings.outlier
        speed = None
        if obs.sigma_t > 0:
            u, v = wind_at(self.field, np.full(self.n, self.t), self.lat, self.lon, self.alt)
            speed = np.hypot(u + self.du, v + self.dv)
        hx, hz = self._bandwidth()
        if obs.kind == "fix":
            sig = np.sqrt(self._sigma_h(obs, speed) ** 2 + hx * hx)
            d = great_circle_distance(self.lat, self.lon, obs.lat, obs.lon)
            good = -0.5 * (d / sig) ** 2 - np.log(2 * np.pi * sig * sig)
            broad = max(10.0 * float(np.max(sig)), 300e3)
            bad = -np.log(2 * np.pi * broad * broad)
            if obs.has_altitude and obs.sigma_z > self.settings.measured_altitude:
                sz = math.sqrt(obs.sigma_z ** 2 + hz * hz)
                good = good - 0.5 * ((self.alt - obs.alt) / sz) ** 2 - np.log(math.sqrt(2 * np.pi) * sz)
                bad = bad - np.log(40000.0)
        else:
            _, _, rng_, unit = G.look_angles(obs.lat, obs.lon, obs.alt, self.lat, self.lon, self.alt)
            d = G.direction(obs.lat, obs.lon, obs.azimuth, obs.elevation)
            theta = np.arccos(np.clip((unit * d).sum(-1), -1.0, 1.0))
            sa = obs.sigma_angle * D2R
            if speed is not None:
                sa = np.sqrt(sa * sa + (speed * obs.sigma_t / np.maximum(rng_, 1.0)) ** 2)
            good = -0.5 * (theta / sa) ** 2 - np.log(2 * np.pi * sa * sa)
            el = np.arcsin(np.clip((unit * G.enu_basis(obs.lat, obs.lon)[2]).sum(-1), -1, 1))
            good = np.where(el < -2 * D2R, -np.inf, good)  # below the horizon: not seen
            bad = -np.log(2 * np.pi)
            if math.isfinite(obs.angular_size):
                good = good + self._range_loglik(obs)
        robust = np.logaddexp(math.log1p(-eps) + good, math.log(eps) + bad)
        return robust, good, bad

    def _bandwidth(self):
        """Kernel widths (m) of the cloud (Silverman's rule, halved): the likelihood of a report sharper than the
        particle spacing is taken against the smoothed cloud, so a precise report is not mistaken for an outlier
        merely because few particles fall inside its error circle."""
        w = self._weights()
        lat0, lon0 = self._mean_position(w, self.lat, self.lon)
        x, y = G.local_offsets(self.lat, self.lon, lat0, lon0)
        sx = math.sqrt(max(0.5 * ((w * (x - (w * x).sum()) ** 2).sum() + (w * (y - (w * y).sum()) ** 2).sum()), 0.0))
        sz = math.sqrt(max((w * (self.alt - (w * self.alt).sum()) ** 2).sum(), 0.0))
        f = 0.5 * self.ess() ** (-1.0 / 6.0)
        return f * sx, f * sz

    def update(self, obs: Observation):
        """Weight the cloud by one observation at the cloud's time; resample when needed; record the estimate."""
        robust, good, bad = self.loglik(obs)
        eps = self.settings.outlier
        w = self._weights()
        # posterior probability that this report was an outlier (under the predicted cloud)
        lg = np.log(np.maximum(w, 1e-300)) + good
        m = float(np.max(lg))
        pg = math.exp(m) * float(np.sum(np.exp(lg - m))) * (1 - eps) if np.isfinite(m) else 0.0
        pb = eps * math.exp(bad)
        p_out = pb / (pb + pg) if (pb + pg) > 0 else 1.0
        self.logw = self.logw + robust
        self.logw -= np.max(self.logw)
        if obs.kind == "fix" and obs.has_altitude and obs.sigma_z <= self.settings.measured_altitude:
            # telemetry altitude: measured, not estimated; the vertical rate follows the last two measurements
            prev = getattr(self, "_last_z", None)
            self.alt = np.maximum(obs.alt + obs.sigma_z * self.rng.standard_normal(self.n), 0.0)
            if prev is not None and obs.time != prev[0]:
                self.w = np.full(self.n, (obs.alt - prev[1]) / (obs.time - prev[0]))
            self._last_z = (obs.time, obs.alt)
        ess = self.ess()
        if ess < 0.5 * self.n:
            self._resample()
        self._record(obs, p_out)
        return p_out

    def _weights(self):
        w = np.exp(self.logw - np.max(self.logw))
        return w / w.sum()

    def ess(self) -> float:
        w = self._weights()
        return float(1.0 / np.sum(w * w))

    def _resample(self):
        w = self._weights()
        n = self.n
        pos = (self.rng.random() + np.arange(n)) / n
        idx = np.minimum(np.searchsorted(np.cumsum(w), pos), n - 1)
        lat, lon, alt, ww, du, dv = (a[idx] for a in (self.lat, self.lon, self.alt, self.w, self.du, self.dv))
        # kernel jitter scaled by the cloud's spread (regularised particle filter)
        lat0, lon0 = self._mean_position(np.full(n, 1.0 / n), lat, lon)
        x, y = G.local_offsets(lat, lon, lat0, lon0)
        h = self.settings.jitter
        x = x + h * np.std(x) * self.rng.standard_normal(n)
        y = y + h * np.std(y) * self.rng.standard_normal(n)
        lat, lon = G.offset_points(lat0, lon0, x, y)
        alt = np.maximum(alt + h * np.std(alt) * self.rng.standard_normal(n), 0.0)
        ww = ww + h * np.std(ww) * self.rng.standard_normal(n)
        self.lat, self.lon, self.alt, self.w, self.du, self.dv = lat, wrap_longitude(lon), alt, ww, du, dv
        self.logw = np.zeros(n)
        self.resamples += 1

    # -- estimates -----------------------------------------------------------------------------------------------------
    @staticmethod
    def _mean_position(w, lat, lon):
        p = G.ecef(lat, lon, 0.0)
        m = (w[:, None] * p).sum(0)
        la, lo, _ = G.to_geodetic(m / np.linalg.norm(m) * EARTH_RADIUS)
        return float(la), float(lo)

    def estimate(self) -> dict:
        """Weighted mean position and altitude with their spread (km, m) and the effective sample size."""
        w = self._weights()
        lat0, lon0 = self._mean_position(w, self.lat, self.lon)
        x, y = G.local_offsets(self.lat, self.lon, lat0, lon0)
        x, y = x / 1000.0, y / 1000.0
        mx, my = (w * x).sum(), (w * y).sum()
        cov = np.cov(np.stack([x, y]), aweights=w) if self.n > 1 else np.zeros((2, 2))
        ev = np.sqrt(np.maximum(np.linalg.eigvalsh(cov), 0.0))
        r = np.hypot(x - mx, y - my)
        order = np.argsort(r)
        cw = np.cumsum(w[order])
        r50 = float(r[order][min(np.searchsorted(cw, 0.5), self.n - 1)])
        r95 = float(r[order][min(np.searchsorted(cw, 0.95), self.n - 1)])
        za = np.argsort(self.alt)
        cz = np.cumsum(w[za])
        q = lambda p: float(self.alt[za][min(np.searchsorted(cz, p), self.n - 1)])  # noqa: E731
        zm = float((w * self.alt).sum())
        return {"time": self.t, "lat": lat0, "lon": lon0, "alt": zm,
                "alt_sd": float(np.sqrt((w * (self.alt - zm) ** 2).sum())), "alt_q05": q(0.05), "alt_q95": q(0.95),
                "sd_major_km": float(ev[-1]), "sd_minor_km": float(ev[0]), "r50_km": r50, "r95_km": r95,
                "ess": self.ess()}

    def _record(self, obs, p_out):
        e = self.estimate()
        self.history.append(Estimate(**e, outlier_probability=p_out, observation=obs.describe()))

    # -- driving -------------------------------------------------------------------------------------------------------
    def step(self, obs: Observation):
        """Assimilate one observation (initialising from it if the cloud is empty)."""
        if not self.initialized:
            self.initialize(obs)
            return
        if (obs.time < self.t) != self.backward and obs.time != self.t:
            word = "before" if not self.backward else "after"
            raise InputError(f"observation at {obs.when} is {word} the filter's time; expected observations in "
                             "time order (collect() sorts them)")
        self.predict(obs.time)
        p_out = self.update(obs)
        prev = getattr(self, "_last_outlier", None)
        self._last_outlier = (obs, p_out) if obs.kind == "fix" else None
        if prev is not None and p_out > 0.99 and prev[1] > 0.99 and obs.kind == "fix":
            # two fixes in a row outside the cloud that agree with each other: the cloud lost the balloon (a burst
            # or a turn in a reception gap), not two bad reports.  Start again from the later fix.
            a = prev[0]
            d = float(great_circle_distance(a.lat, a.lon, obs.lat, obs.lon))
            if d <= 250.0 * abs(obs.time - a.time) + 5.0 * math.hypot(a.sigma_h, obs.sigma_h):
                self.history[-2].outlier_probability = math.nan
                self.history.pop()
                self.initialize(obs)
                self._last_outlier = None
                self.notes.append(f"the cloud lost the balloon before {obs.when} (two fixes in a row outside it that "
                                  "agree with each other): started again from the later one")

    def run(self, observations):
        """Assimilate observations (sorted by time; latest first when running backward)."""
        obs = collect(observations) if not isinstance(observations, Observations) else observations
        self.notes.extend(n for n in obs.notes if n not in self.notes)
        items = list(obs.items)[::-1] if self.backward else list(obs.items)
        for o in items:
            self.step(o)
        return self

    def posterior_samples(self, m=None):
        """``m`` equally weighted draws (indices resampled systematically) of the current cloud as a dict."""
        m = self.n if m is None else int(m)
        w = self._weights()
        pos = (self.rng.random() + np.arange(m)) / m
        idx = np.minimum(np.searchsorted(np.cumsum(w), pos), self.n - 1)
        return {k: getattr(self, k)[idx].copy() for k in ("lat", "lon", "alt", "w", "du", "dv")}

    def altitude_histogram(self, edges):
        """Posterior probability of the altitude in each bin of ``edges`` (m)."""
        w = self._weights()
        h, _ = np.histogram(self.alt, bins=edges, weights=w)
        return h / max(h.sum(), 1e-300)
