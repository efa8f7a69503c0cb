"""A StationSeeker-like heuristic: fly to the pressure level whose wind best carries the balloon home.

Written from the description of StationSeeker in Bellemare et al. (Nature 588, 2020) and in Google's Balloon
Learning Environment (BLE, Apache-2.0, ``agents/station_seeker_agent.py``, ``env/features.py``,
``env/wind_gp.py``); the parameters are those BLE reports. At each decision:

1. the wind column at the balloon (181 levels, 5,000-14,000 Pa) is the forecast corrected by the errors measured on
   the balloon's own path, blended by a Gaussian process (:class:`WindBlend`: an exponential (Matern 1/2) kernel
   over x, y, pressure and time, measurements of the last 6 h); its posterior variance is the level's uncertainty;
2. each level the balloon can reach with a safe superpressure gets a score: far from the station, a wind that
   blows towards it (``exp(-w * bearing error)``, the bearing weight easing from 0.6 to 0.45 between 250 and 500
   km); near it, a weak wind (``exp(-0.07 |wind|)``), blended by ``exp(-distance / 35 km)``; uncertain winds move
   the score towards 0.5; a small bonus for levels near the current one stops dithering;
3. the balloon goes up, down or stays according to where the best level is.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .control import DOWN, STAY, UP, Observation

__all__ = ["WindBlend", "StationSeeker"]


@njit(cache=True)
def _gp_predict(x, y, q, sigma2, noise):
    """GP posterior mean (m, 2) and variance (m,) at q (m, 4) from data x (n, 4), y (n, 2); inputs pre-scaled.

    Exponential kernel ``sigma2 * exp(-|a - b|)``; plain loops (Cholesky and forward substitution), so that no
    multithreaded BLAS competes for the cores with small matrices.
    """
    n = x.shape[0]
    m = q.shape[0]
    chol = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1):
            d = 0.0
            for c in range(4):
                e = x[i, c] - x[j, c]
                d += e * e
            k = sigma2 * np.exp(-np.sqrt(d))
            if i == j:
                k += noise
            for r in range(j):
                k -= chol[i, r] * chol[j, r]
            if i == j:
                chol[i, i] = np.sqrt(k)
            else:
                chol[i, j] = k / chol[j, j]
    # beta = L^-1 y
    beta = np.zeros((n, 2))
    for i in range(n):
        b0 = y[i, 0]
        b1 = y[i, 1]
        for r in range(i):
            b0 -= chol[i, r] * beta[r, 0]
            b1 -= chol[i, r] * beta[r, 1]
        beta[i, 0] = b0 / chol[i, i]
        beta[i, 1] = b1 / chol[i, i]
    mean = np.zeros((m, 2))
    var = np.zeros(m)
    w = np.zeros(n)
    for j in range(m):
        # w = L^-1 k(x, q_j); mean = w . beta; var = sigma2 - |w|^2
        s = 0.0
        for i in range(n):
            d = 0.0
            for c in range(4):
                e = x[i, c] - q[j, c]
                d += e * e
            k = sigma2 * np.exp(-np.sqrt(d))
            for r in range(i):
                k -= chol[i, r] * w[r]
            w[i] = k / chol[i, i]
            s += w[i] * w[i]
            mean[j, 0] += w[i] * beta[i, 0]
            mean[j, 1] += w[i] * beta[i, 1]
        var[j] = max(sigma2 - s, 0.0)
    return mean, var


class WindBlend:
    """Forecast + Gaussian-process correction from the winds measured so far (BLE's WindGP, written anew).

    The GP models the error "measured - forecast" with zero prior mean, kernel
    ``sigma^2 exp(-|(dx, dy, dp, dt) / scales|)``, observation noise ``noise`` and only the measurements within
    ``horizon_s`` of the query time. :meth:`column` returns the mean wind and the normalised variance (0 =
    certain, 1 = as uncertain as the prior).
    """

    def __init__(self, scales=(357_000.0, 357_000.0, 326.0, 34_560.0), sigma=3.6, noise=0.05,
                 horizon_s=6 * 3600.0):
        self.scales = np.asarray(scales, dtype=float)
        self.sigma2 = sigma * sigma
        self.noise = noise
        self.horizon_s = horizon_s

    def column(self, obs: Observation, pressures: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(u, v, uncertainty) at the balloon's x, y and time for each pressure."""
        f = obs.forecast
        n = pressures.size
        fu, fv = f.uv(np.full(n, obs.x), np.full(n, obs.y), pressures, np.full(n, obs.t))
        h = obs.history
        if h is None or len(h["t"]) == 0:
            return fu, fv, np.zeros(n)
        keep = np.abs(h["t"] - obs.t) < self.horizon_s
        pts = np.stack([h["x"][keep], h["y"][keep], h["pressure"][keep], h["t"][keep]], axis=1)
        if pts.shape[0] == 0:
            return fu, fv, np.ones(n)
        hu, hv = f.uv(pts[:, 0], pts[:, 1], pts[:, 2], pts[:, 3])
        err = np.stack([h["u"][keep] - hu, h["v"][keep] - hv], axis=1)
        q = np.stack([np.full(n, obs.x), np.full(n, obs.y), pressures, np.full(n, obs.t)], axis=1)
        mean, var = _gp_predict(pts / self.scales, err, q / self.scales, self.sigma2, self.noise)
        return fu + mean[:, 0], fv + mean[:, 1], var / self.sigma2


class StationSeeker:
    """A StationSeeker-like controller (see the module's description); BLE's published constants by default.

    Args:
        levels: the pressure levels scored (default 181 from 5,000 to 14,000 Pa).
        blend: the wind blend (default :class:`WindBlend` with BLE's GP settings).
        quantize: round the features to float32 as BLE's feature vector does (for closer comparison with BLE).
    """

    name = "seeker"

    def __init__(self, levels: np.ndarray | None = None, blend: WindBlend | None = None, quantize: bool = True,
                 half_radius_km=35.0, magnitude_weight=0.07, close_bearing_weight=0.6, far_bearing_weight=0.45,
                 close_bearing_km=250.0, far_bearing_km=500.0, default_score=0.5, hysteresis_k2=0.05,
                 hysteresis_k3=0.001, confidence_epsilon=0.01):
        self.levels = np.linspace(5000.0, 14000.0, 181) if levels is None else np.asarray(levels, dtype=float)
        self.blend = blend or WindBlend()
        self.quantize = quantize
        self.half_radius_km = half_radius_km
        self.magnitude_weight = magnitude_weight
        self.close_w, self.far_w = close_bearing_weight, far_bearing_weight
        self.close_km, self.far_km = close_bearing_km, far_bearing_km
        self.default_score = default_score
        self.k2, self.k3 = hysteresis_k2, hysteresis_k3
        self.eps = confidence_epsilon
        self.last_scores = None

    def reset(self, obs: Observation) -> None:
        """Nothing to prepare: the heuristic keeps no state between decisions."""
        self.last_scores = None

    def scores(self, obs: Observation) -> np.ndarray:
        """The score of every level (0 for levels out of reach)."""
        all_levels = self.levels
        lo, hi = obs.reachable if obs.reachable is not None else (obs.pressure_min, obs.pressure_max)
        if not (np.isfinite(lo) and np.isfinite(hi)):
            lo, hi = obs.pressure_min, obs.pressure_max
        valid = (all_levels >= lo) & (all_levels <= hi)
        score = np.zeros(all_levels.size)
        if not valid.any():
            return score
        lv = all_levels[valid]  # only reachable levels are scored (the others score 0)
        u, v, unc = self.blend.column(obs, lv)
        dist_m = math.hypot(obs.x, obs.y)
        dist_km = dist_m / 1000.0
        if self.quantize:  # BLE squashes the distance to d / (d + 250) in float32 and back
            s = np.float32(dist_km / (dist_km + 250.0))
            dist_km = float(250.0 * s / (1.0 - s))
        to_station = -np.array([obs.x, obs.y]) / (dist_m + 1e-5)
        mag = np.hypot(u, v)
        cos_err = np.clip((u * to_station[0] + v * to_station[1]) / (mag + 1e-5), -1.0, 1.0)
        bearing = np.where(dist_m < 1e-5, 0.0, np.where(mag < 1e-5, math.pi, np.arccos(cos_err)))
        if self.quantize:
            sm = (mag / (mag + 30.0)).astype(np.float32).astype(float)
            mag = 30.0 * sm / (1.0 - sm)
            bearing = (bearing / math.pi).astype(np.float32).astype(float) * math.pi
            unc = unc.astype(np.float32).astype(float)
        coeff = min(max((dist_km - self.close_km) / (self.far_km - self.close_km), 0.0), 1.0)
        bearing_w = self.close_w + coeff * (self.far_w - self.close_w)
        a = math.exp(-dist_km / self.half_radius_km)
        wind_score = (1 - a) * np.exp(-bearing_w * bearing) + a * np.exp(-self.magnitude_weight * mag)
        here = self._level_index(obs.pressure)
        hyst = self.k2 * np.exp(-self.k3 * np.abs(np.flatnonzero(valid) - here))
        score[valid] = (1.0 - unc + self.eps) * wind_score + unc * self.default_score + hyst
        return score

    def _level_index(self, pressure: float) -> int:
        lv = self.levels
        p = min(max(pressure, lv[0]), lv[-1])
        return int(round((p - lv[0]) / (lv[1] - lv[0])))

    def act(self, obs: Observation) -> int:
        """Up, down or stay towards the best-scoring level (levels are ordered by pressure: lower = higher up)."""
        score = self.scores(obs)
        self.last_scores = score
        here = self._level_index(obs.pressure)
        if not np.any(score > 0):
            return STAY
        best = int(np.argmax(score))
        if best < here:
            return UP
        if best > here:
            return DOWN
        return STAY
