"""Altitude from drift: which level's wind carries a balloon along the observed positions?

For every pair of consecutive fixes and every candidate altitude the engine drifts a particle at that altitude
from the first fix to the time of the second; the miss distance is compared with its expected error (both fixes'
uncertainties plus the displacement error of an OU wind error of standard deviation ``wind_error_sd`` and
correlation time ``tau`` over the interval).  The robust log-likelihoods of the segments add up per altitude; with
a uniform prior over the altitudes the posterior gives probabilities per level, and the likelihood ratio of any two
altitudes gives the odds between them ("27,000 ft or 60,000 ft?").

Assumptions, said with every answer: the balloon drifts with the wind at a constant altitude (a balloon that
steers or changes level breaks this), and the wind field's error is as stated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..geodesy import great_circle_distance
from .motion import engine_move
from .observations import collect

FT = 0.3048


def ou_displacement_var(dt, sigma, tau):
    """Variance (m^2, per component) of the integral over |dt| of a stationary OU process (sd sigma, time tau)."""
    a = np.abs(dt)
    return 2.0 * sigma * sigma * tau * (a - tau * (1.0 - np.exp(-a / tau)))


@dataclass
class AltitudeAnswer:
    levels: np.ndarray  # m
    probability: np.ndarray  # posterior per level (uniform prior)
    loglik: np.ndarray
    segments: int
    wind: str
    assumptions: list[str] = field(default_factory=list)
    compare: dict = field(default_factory=dict)  # "A vs B" -> odds A:B

    @property
    def informative(self) -> bool:
        """Whether the drift said anything (no segments: the answer is the prior)."""
        return self.segments > 0 and float(np.ptp(self.probability)) > 1e-9

    @property
    def best(self) -> float:
        """The most probable altitude (m); NaN when the drift says nothing (a flat posterior has no mode)."""
        if not self.informative:
            return math.nan
        return float(self.levels[np.argmax(self.probability)])

    @property
    def mean(self) -> float:
        return float((self.levels * self.probability).sum())

    @property
    def sd(self) -> float:
        return float(np.sqrt((self.probability * (self.levels - self.mean) ** 2).sum()))

    def interval(self, level=0.9):
        """Credible range (m) of the altitude: from the lowest to the highest level of the smallest set of levels
        holding ``level`` of the probability (it always holds the most probable altitude); the whole range of
        levels when the drift says nothing."""
        if not self.informative:
            return float(self.levels[0]), float(self.levels[-1])
        order = np.argsort(-self.probability, kind="stable")
        k = int(np.searchsorted(np.cumsum(self.probability[order]), level)) + 1
        chosen = self.levels[order[:k]]
        return float(chosen.min()), float(chosen.max())

    def odds(self, a, b) -> float:
        """Posterior odds altitude ``a`` : altitude ``b`` (m), equal prior odds (the likelihood ratio)."""
        la = np.interp(a, self.levels, self.loglik)
        lb = np.interp(b, self.levels, self.loglik)
        return float(np.exp(np.clip(la - lb, -700, 700)))

    def to_dict(self) -> dict:
        lo, hi = self.interval(0.9)
        return {"informative": self.informative, "best_m": self.best if self.informative else None,
                "mean_m": self.mean, "sd_m": self.sd, "interval90_m": [lo, hi],
                "levels_m": self.levels.tolist(), "probability": [round(float(p), 6) for p in self.probability],
                "segments": self.segments, "wind": self.wind, "odds": self.compare, "assumptions": self.assumptions}


#: fixes closer in time than this are one instant (the clock's resolution), s
CLOCK_RESOLUTION = 0.5


def _segments(fixes, most):
    """Pairs of fixes (a, b) chained in time, each at least the clock's resolution apart and together at most
    ``most`` segments (the shortest segment is the span over ``most``)."""
    if len(fixes) < 2:
        return []
    span = fixes[-1].time - fixes[0].time
    need = max(CLOCK_RESOLUTION, span / max(most, 1) * 0.999)
    pairs, a = [], fixes[0]
    for b in fixes[1:]:
        if b.time - a.time >= need:
            pairs.append((a, b))
            a = b
    return pairs


def altitude_from_drift(observations, wind="climatology", *, levels=None, wind_error_sd=None, tau=None,
                        compare=((27000 * FT, 60000 * FT),), outlier=0.05, step=300.0,
                        max_segments=200) -> AltitudeAnswer:
    """Posterior over float altitudes from the drift between fixes (reported altitudes are ignored).

    ``levels``: candidate altitudes in m (default every 500 m from 1 km to the top of the wind data or 35 km).
    ``compare``: pairs of altitudes (m) whose odds are reported.  One usable fix gives no drift: the answer is then
    the prior, said so in the assumptions.  Fixes at any spacing above the clock's resolution are used: consecutive
    segments are chained so that there are at most ``max_segments`` of them (a 1 s GPS log over hours becomes
    segments of a minute or more; the drift over one second says little next to the fixes' own errors).
    """
    from ..wind import open_wind

    obs = collect(observations)
    fixes = [o for o in obs if o.kind == "fix"]
    field_ = open_wind(wind, time=np.array([o.time for o in fixes]) if fixes else None)
    top = min(float(field_.altitude_range[1]), 35000.0)
    if levels is None:
        levels = np.arange(1000.0, top + 1.0, 500.0)
    levels = np.unique(np.concatenate([np.asarray(levels, float).ravel(),
                                       [x for pair in compare for x in pair if x <= top]]))
    if levels.size == 0 or np.any(~np.isfinite(levels)) or np.any(levels < 0):
        raise InputError("candidate altitudes must be finite and non-negative, in metres")
    clim = field_.kind == "climatology"
    sigma = float(wind_error_sd if wind_error_sd is not None else (10.0 if clim else 3.0))
    tau_ = float(tau if tau is not None else (12 * 3600.0 if clim else 6 * 3600.0))
    pairs = _segments(fixes, max_segments)
    notes = [f"drift at a constant altitude with the wind '{field_.source}' ({field_.kind}); wind error "
             f"{sigma:g} m/s per component, correlation {tau_ / 3600:g} h; robust to {outlier:.0%} bad segments"]
    loglik = np.zeros(levels.size)
    if pairs:
        k = len(pairs)
        L = levels.size
        t0 = np.repeat([a.time for a, _ in pairs], L)
        t1 = np.repeat([b.time for _, b in pairs], L)
        lat = np.repeat([a.lat for a, _ in pairs], L)
        lon = np.repeat([a.lon for a, _ in pairs], L)
        alt = np.tile(levels, k)
        la, lo, _ = engine_move(field_, t0, lat, lon, alt, np.zeros(k * L), t1, step=step)
        blat = np.repeat([b.lat for _, b in pairs], L)
        blon = np.repeat([b.lon for _, b in pairs], L)
        d = great_circle_distance(la, lo, blat, blon).reshape(k, L)
        var = np.array([a.sigma_h ** 2 + b.sigma_h ** 2 + (15.0 * a.sigma_t) ** 2 + (15.0 * b.sigma_t) ** 2
                        + ou_displacement_var(b.time - a.time, sigma, tau_) for a, b in pairs])[:, None]
        good = -0.5 * d * d / var - np.log(2 * np.pi * var)
        broad = np.maximum(10 * np.sqrt(var), 300e3)
        bad = -np.log(2 * np.pi * broad * broad)
        seg = np.logaddexp(math.log1p(-outlier) + good, math.log(outlier) + bad)
        loglik = seg.sum(axis=0)
    else:
        notes.append("fewer than two fixes at different times: the drift says nothing about the altitude; the "
                     "answer is the uniform prior")
    p = np.exp(loglik - loglik.max())
    p /= p.sum()
    ans = AltitudeAnswer(levels, p, loglik, len(pairs), field_.label(), notes)
    for a, b in compare:
        if a <= top and b <= top:
            ans.compare[f"{a / FT:,.0f} ft : {b / FT:,.0f} ft"] = ans.odds(a, b)
    return ans
