"""``planner``: a look-ahead controller that flies thousands of candidate altitude plans over the forecast and
executes the best one's first step.

At a decision (every ``replan_every`` decisions, or sooner when the balloon stalls) the planner

1. corrects the forecast near the balloon by the winds measured so far (:class:`WindCorrector`: the
   measured-minus-forecast error, weighted by closeness in pressure, age and distance, shrunk towards zero, and
   fading with lead time in the roll-out);
2. learns the balloon's vertical response (:class:`VerticalModel`): the pressure rate when pumping (DOWN) and when
   venting (UP) at each pressure from BLE's compressor and valve physics at the current superpressure, scaled by
   the ratio of the rates it has observed to those predicted; the pump power; the pressures where a command was
   blocked (a safety layer or an empty ballonet); the lowest altitude the altitude safety layer allows;
3. estimates the sun's cycle from the elevations it has seen (:class:`SunClock`) and so the night's pump budget:
   the energy left above the night's hotel load and BLE's 5 % reserve (plus a margin) before sunrise;
4. builds every plan of one target pressure per segment (e.g. 0-2 h, 2-6 h, 6-18 h), every combination of
   ``n_levels`` targets over the reachable band (a count for all segments, or one per segment), and flies them
   all in one compiled roll-out (:func:`stratotrack.steer.planner_rollout.rollout`), scoring expected
   station-keeping reward, pump energy and a cost-to-go at the end of the look-ahead (the reward there, or the
   discounted time back inside the radius at the best wind home over the band there);
5. hands the best plan's current target to a pressure tracker that turns it into UP / STAY / DOWN.

Why a roll-out of its own rather than the engine's :class:`~stratotrack.engine.Integrator`: see docs/steer.md
(the planner section) for the measured per-call cost; in short, a decision needs 1,001 plans x 72 steps in a
few milliseconds, in the local x/y plane of the forecast grid, with the pressure tracker, energy and night budget
inside the loop.
"""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass, replace

import numpy as np

from ..errors import InputError
from ..flight import superpressure as sp
from .control import DOWN, STAY, UP, Observation
from .planner_rollout import PARAMS, rollout, vertical_prior

__all__ = ["PlannerConfig", "PlannerController", "WindCorrector", "VerticalModel", "SunClock"]

#: BLE's altitude safety layer: no descent below 50,000 ft + 500 ft buffer (m)
MIN_ALTITUDE_M = 50_000 * 0.3048 + 500 * 0.3048
#: BLE's hotel loads (W) and battery (Wh); the power layer pauses control at night below 5 % at sunrise
NIGHT_LOAD_W = 183.7
DAY_LOAD_W = 120.4
BATTERY_WH = 3058.56
POWER_RESERVE = 0.05


@dataclass
class PlannerConfig:
    """The planner's settings (defaults: those measured best on BLE's seeds, see benchmarks/steer_planner.py)."""

    #: end of each plan segment, hours after the decision; the last one is the look-ahead horizon
    segments_h: tuple = (2.0, 6.0, 18.0)
    #: target pressures per segment, spread evenly over the reachable band: one count, or one per segment
    n_levels: int | tuple = (20, 10, 5)
    #: roll-out step (s) up to ``fine_h`` hours ahead, and after it
    dt: float = 600.0
    fine_h: float = 6.0
    dt_far: float = 1200.0
    #: plan again every this many decisions (the tracker acts on the last plan in between); with ``warm_start``
    #: the last plan, its segments ending at the same times as before, competes with the new ones
    replan_every: int = 4
    warm_start: bool = False
    #: reward: bonus for the centre within the radius; outside, BLE's c * 2^(-(d - R)/tau)
    inside_bonus: float = 0.1
    outside_c: float = 0.4
    outside_tau_m: float = 100_000.0
    gamma_per_hour: float = 0.97
    #: position uncertainty of a roll-out: sigma0 (m) growing by sigma_rate (m/s) with lead time
    sigma0_m: float = 3000.0
    sigma_rate: float = 0.7
    #: score per kWh pumped (in hours of reward), and the end-of-horizon reward's weight (hours)
    pump_cost_per_kwh: float = 0.3
    w_terminal: float = 6.0
    #: cost-to-go at the horizon: the terminal reward is at least ``return_credit`` discounted over the time back
    #: inside the radius at the best wind home over the band at the end point (at least ``return_min_speed`` m/s);
    #: 0 turns it off (the reward at the end point only)
    return_credit: float = 0.6
    return_min_speed: float = 0.5
    #: the wind home counts the crosswind: a level's speed is the distance to the radius over the time its straight
    #: drift takes to cross it (0 when it passes outside); False: the wind's component towards the station
    return_geometry: bool = False
    #: also two levels whose crosswinds cancel (alternating between them heads home at their mixed speed home)
    return_pairs: bool = False
    #: wind correction: "gp" (BLE's Gaussian process), "kernel" or "none"; the lead-time fade (s); the kernel
    #: estimate's pressure scale (Pa), age scale (s), distance scale (m) and prior weight
    correction: str = "gp"
    corr_sigma_p: float = 600.0
    corr_tau_age: float = 4 * 3600.0
    corr_sigma_xy: float = 150_000.0
    corr_prior: float = 2.0
    corr_tau_lead: float = 34_560.0
    #: battery margin above BLE's 5 % reserve for the night's pump budget (fraction of capacity)
    night_margin: float = 0.04
    #: the pressures the planner keeps away from (Pa inside the allowed band and the learned limits)
    band_margin: float = 150.0
    #: the vertical model's superpressure at other pressures: scaled with pressure from the one now (the pressure
    #: ratio held, as BLE's physics keeps it), or the same as now (False: the pump's dead zones move with pressure)
    superpressure_scales: bool = True


class WindCorrector:
    """The forecast's error near the balloon, from the winds measured along its path, as a table over pressure at
    the balloon's position and time (the roll-out fades it with lead time).

    ``method="gp"`` (default): the Gaussian-process blend the StationSeeker uses (BLE's WindGP:
    :class:`stratotrack.steer.seeker.WindBlend`, exponential kernel over x, y, pressure and time, the last 6 h of
    measurements). ``method="kernel"``: a kernel estimate shrunk towards zero, ``sum(w_i e_i) / (prior +
    sum(w_i))`` with ``w_i = exp(-(p - p_i)^2 / 2 sigma_p^2 - (t - t_i) / tau_age - d_i^2 / 2 sigma_xy^2)``.
    """

    def __init__(self, cfg: PlannerConfig):
        self.cfg = cfg
        self._n = 0
        self._err = np.zeros((0, 2))
        self._blend = None
        if cfg.correction == "gp":
            from .seeker import WindBlend

            self._blend = WindBlend()

    def table(self, obs: Observation, p_axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = obs.history
        t = np.asarray(h.get("t", ()), dtype=float)
        if t.size == 0 or obs.forecast is None or self.cfg.correction == "none":
            return np.zeros(p_axis.size), np.zeros(p_axis.size)
        if self._blend is not None:
            n = p_axis.size
            fu, fv = obs.forecast.uv(np.full(n, obs.x), np.full(n, obs.y), p_axis, np.full(n, obs.t))
            gu, gv, _ = self._blend.column(obs, p_axis)
            return gu - fu, gv - fv
        x, y, p = (np.asarray(h[k], dtype=float) for k in ("x", "y", "pressure"))
        if t.size != self._n:  # forecast at the new measurements only
            fu, fv = obs.forecast.uv(x[self._n:], y[self._n:], p[self._n:], t[self._n:])
            new = np.column_stack([np.asarray(h["u"], float)[self._n:] - fu, np.asarray(h["v"], float)[self._n:] - fv])
            self._err = np.vstack([self._err[: self._n], new])
            self._n = t.size
        c = self.cfg
        w_tx = np.exp(-(obs.t - t) / c.corr_tau_age - ((x - obs.x) ** 2 + (y - obs.y) ** 2) / (2 * c.corr_sigma_xy ** 2))
        w = np.exp(-0.5 * ((p_axis[:, None] - p[None, :]) / c.corr_sigma_p) ** 2) * w_tx[None, :]
        den = c.corr_prior + w.sum(axis=1)
        return (w @ self._err[:, 0]) / den, (w @ self._err[:, 1]) / den


class VerticalModel:
    """How fast the balloon's pressure changes when it pumps or vents, what pumping costs, and where it cannot go.

    The prior is BLE's physics at the current superpressure ``S``: the balloon floats where the displaced air
    weighs as much as the system, so ``dp/dM = R T / (M_air V)`` per kg of ballast; pumping moves
    ``compressor_mass_flow(1 + S/p)`` kg/s (its power ``compressor_power``), venting ``valve_mass_flow(S, p, T)``.
    Observed rates (pressure change over a decision with the command in force) scale it: one factor for each
    direction, a running mean of observed/predicted. A command that did not move the balloon is a block: its
    pressure becomes a limit in that direction for ``block_hold`` seconds.
    """

    block_hold = 3 * 3600.0

    def __init__(self):
        self.f_up = 1.0
        self.f_down = 1.0
        self.n_up = 0
        self.n_down = 0
        self.block_lo = None  # (pressure, until) venting did not raise the balloon
        self.block_hi = None  # (pressure, until) pumping did not lower it
        self.alt = []  # (pressure, altitude) samples

    @staticmethod
    def prior(p: np.ndarray, superpressure: float, temperature: float = 215.0, p_ref: float = 0.0):
        """(rate_up, rate_down Pa/s, pump power W) at pressures p, BLE's physics at a superpressure (the one at
        ``p_ref``, scaled with pressure, when ``p_ref > 0``: see :func:`vertical_prior`)."""
        return vertical_prior(np.ascontiguousarray(p, dtype=float), float(superpressure), float(temperature),
                              float(p_ref))

    def observe(self, p0: float, p1: float, dt: float, action: int, superpressure: float, t: float) -> None:
        """Learn from one decision: pressure p0 -> p1 over dt seconds with ``action`` commanded."""
        if action == STAY or dt <= 0:
            return
        up, down, _ = self.prior(np.array([0.5 * (p0 + p1)]), superpressure)
        rate = (p1 - p0) / dt
        if action == DOWN:
            expect = down[0]
            if expect > 0.05 and rate > 0.3 * expect:
                self.n_down += 1
                a = 1.0 / min(self.n_down + 1, 10)
                self.f_down += a * (min(rate / expect, 3.0) - self.f_down)
            elif expect > 0.05 and rate < 0.1 * expect:
                self.block_hi = (p0, t + self.block_hold)
        elif action == UP:
            expect = up[0]
            if expect > 0.05 and -rate > 0.3 * expect:
                self.n_up += 1
                a = 1.0 / min(self.n_up + 1, 10)
                self.f_up += a * (min(-rate / expect, 3.0) - self.f_up)
            elif -rate < 0.1 * max(expect, 0.05):
                self.block_lo = (p0, t + self.block_hold)

    def tables(self, p_axis: np.ndarray, superpressure: float, p_ref: float = 0.0):
        up, down, power = self.prior(p_axis, superpressure, p_ref=p_ref)
        return up * self.f_up, down * self.f_down, power

    def record_altitude(self, pressure: float, altitude: float) -> None:
        if np.isfinite(altitude) and altitude > 0:
            self.alt.append((pressure, altitude))
            if len(self.alt) > 200:
                self.alt = self.alt[-200:]

    def pressure_at_altitude(self, z: float) -> float | None:
        """The pressure at altitude z from the samples seen: a local log-linear fit (scale height 6.3 km with one)."""
        if not self.alt:
            return None
        a = np.array(self.alt)
        lp, zz = np.log(a[:, 0]), a[:, 1]
        if np.ptp(zz) > 300.0:
            slope, icpt = np.polyfit(zz, lp, 1)
            return float(np.exp(icpt + slope * z))
        return float(a[-1, 0] * math.exp(-(z - a[-1, 1]) / 6300.0))

    def limits(self, t: float) -> tuple[float, float]:
        lo, hi = -np.inf, np.inf
        if self.block_lo is not None and t < self.block_lo[1]:
            lo = self.block_lo[0]
        if self.block_hi is not None and t < self.block_hi[1]:
            hi = self.block_hi[0]
        return lo, hi


class SunClock:
    """The sun's daily cycle from the elevations seen: ``sin(elevation) = a + b cos(w t) + c sin(w t)`` (exact
    for a fixed declination), fitted by least squares once the samples span two hours; before that a = 0 and the
    amplitude 0.95 (the tropics), the phase from the last elevation and its trend."""

    day = 86400.0
    threshold = math.sin(math.radians(sp.MIN_SOLAR_ELEVATION_DEG))

    def __init__(self):
        self.t = []
        self.s = []

    def record(self, t: float, elevation_deg: float) -> None:
        self.t.append(float(t))
        self.s.append(math.sin(math.radians(float(elevation_deg))))

    def _coef(self):
        w = 2 * math.pi / self.day
        t = np.array(self.t)
        s = np.array(self.s)
        if t[-1] - t[0] >= 2 * 3600.0 and len(t) >= 5:
            A = np.column_stack([np.ones_like(t), np.cos(w * t), np.sin(w * t)])
            return np.linalg.lstsq(A, s, rcond=None)[0]
        amp = 0.95
        c = np.clip(s[-1] / amp, -1.0, 1.0)
        ph = math.acos(c)  # w (t - t_noon) = +-ph
        rising = len(s) < 2 or s[-1] >= s[-2]
        if rising:
            ph = -ph
        t_noon = t[-1] - ph / w
        return np.array([0.0, amp * math.cos(w * t_noon), amp * math.sin(w * t_noon)])

    def night_window(self, t0: float) -> tuple[float, float]:
        """(start, end) of the next (or current) night, seconds after t0 (start 0 when it is night now)."""
        if not self.t:
            return 0.0, 0.0
        a, b, c = self._coef()
        w = 2 * math.pi / self.day
        tt = t0 + np.arange(0.0, 1.5 * self.day, 120.0)
        night = a + b * np.cos(w * tt) + c * np.sin(w * tt) < self.threshold
        if not night.any():
            return 0.0, 0.0
        start = int(np.argmax(night))
        rest = ~night[start:]
        end = start + (int(np.argmax(rest)) if rest.any() else rest.size)
        return float(tt[start] - t0), float(tt[min(end, tt.size - 1)] - t0)


@dataclass
class _Plan:
    t: float
    targets: np.ndarray
    seg_end: np.ndarray
    score: float = 0.0


class PlannerController:
    """The look-ahead planner (see the module's docstring). ``PlannerController(**settings)`` takes the fields of
    :class:`PlannerConfig`. ``timings`` holds the seconds spent planning and the number of plans flown."""

    name = "planner"

    def __init__(self, config: PlannerConfig | None = None, **settings):
        self.config = replace(config or PlannerConfig(), **settings)
        self.reset(None)

    # -- the Controller interface ---------------------------------------------------------------------------------
    def reset(self, obs: Observation | None) -> None:
        self.corrector = WindCorrector(self.config)
        self.vertical = VerticalModel()
        self.sun = SunClock()
        self.plan = None
        self._k = 0
        self._last = None  # (t, pressure, action, superpressure)
        self.plan_seconds = 0.0
        self.n_plans = 0
        self.paused_until = -np.inf
        self._blocked_all = 0

    def act(self, obs: Observation) -> int:
        cfg = self.config
        self.sun.record(obs.t, obs.sun_elevation_deg)
        self.vertical.record_altitude(obs.pressure, obs.altitude)
        replan = self.plan is None or self._k % cfg.replan_every == 0
        if self._last is not None:
            t0, p0, a0, s0 = self._last
            self.vertical.observe(p0, obs.pressure, obs.t - t0, a0, s0, obs.t)
            moved = abs(obs.pressure - p0)
            if a0 != STAY and moved < 2.0 and not obs.is_day:
                self._blocked_all += 1
            else:
                self._blocked_all = 0
            if self._blocked_all >= 2:  # BLE's power layer pauses all control until sunrise
                start, end = self.sun.night_window(obs.t)
                self.paused_until = obs.t + (end if start == 0.0 else 0.0)
                replan = True
            if a0 != STAY and moved < 2.0:
                replan = True
        if obs.is_day:
            self.paused_until = -np.inf
        if replan:
            self._replan(obs)
        self._k += 1
        target = self._target(obs.t)
        action = self._track(obs, target)
        self._last = (obs.t, obs.pressure, action, obs.superpressure)
        return action

    # -- internals ------------------------------------------------------------------------------------------------
    def band(self, obs: Observation) -> tuple[float, float]:
        """The pressures the plans may target: the allowed band, the altitude layer's floor and learned limits."""
        cfg = self.config
        lo = obs.pressure_min + cfg.band_margin
        hi = obs.pressure_max - cfg.band_margin
        reach = getattr(obs, "reachable", None)
        if reach is not None and np.all(np.isfinite(reach)):  # BLE's accessible range, when the arena gives it
            lo = max(lo, float(reach[0]) + cfg.band_margin)
            hi = min(hi, float(reach[1]) - cfg.band_margin)
        else:
            p_floor = self.vertical.pressure_at_altitude(MIN_ALTITUDE_M + 150.0)
            if p_floor is not None:
                hi = min(hi, p_floor)
        blo, bhi = self.vertical.limits(obs.t)
        lo = max(lo, blo + 50.0) if np.isfinite(blo) else lo
        hi = min(hi, bhi) if np.isfinite(bhi) else hi
        if hi < lo + 200.0:
            mid = 0.5 * (lo + hi)
            lo, hi = mid - 100.0, mid + 100.0
        return lo, hi

    def level_counts(self) -> tuple:
        """The number of target pressures in each segment (``n_levels``: one count for all, or one per segment)."""
        n_seg = len(self.config.segments_h)
        k = self.config.n_levels
        counts = tuple(int(c) for c in k) if isinstance(k, (tuple, list)) else (int(k),) * n_seg
        if len(counts) != n_seg or min(counts) < 1:
            raise InputError(f"n_levels={k!r}; expected a count >= 1 or one per segment ({n_seg})")
        return counts

    def _night_budget(self, obs: Observation, power_w: float) -> tuple[float, float, float]:
        cfg = self.config
        start, end = self.sun.night_window(obs.t)
        energy = obs.battery_soc * BATTERY_WH
        if start > 0.0:  # day now: the battery at sunset, charging at ~300 W net while the sun is up (capped)
            energy = min(BATTERY_WH, energy + 300.0 * start / 3600.0)
        night_h = (end - start) / 3600.0
        budget = energy - NIGHT_LOAD_W * night_h - (POWER_RESERVE + cfg.night_margin) * BATTERY_WH
        return start, end, max(budget, 0.0)

    def _replan(self, obs: Observation) -> None:
        cfg = self.config
        start_clock = _time.perf_counter()
        fc = obs.forecast
        if fc is None:
            raise InputError("the planner's observation has no forecast; expected a Forecast to plan on")
        lo, hi = self.band(obs)
        p_now = float(obs.pressure)
        tab_p0, tab_dp = 4000.0, 100.0
        p_axis = tab_p0 + tab_dp * np.arange(int((16000.0 - tab_p0) / tab_dp) + 1)
        p_ref = p_now if cfg.superpressure_scales else 0.0
        rate_up, rate_down, pump_w = self.vertical.tables(p_axis, obs.superpressure, p_ref)
        corr_u, corr_v = self.corrector.table(obs, p_axis)
        seg_end = np.asarray(cfg.segments_h, dtype=float) * 3600.0
        n_seg = seg_end.size
        counts = self.level_counts()
        grids = np.meshgrid(*(np.linspace(lo, hi, k) for k in counts), indexing="ij")
        targets = np.column_stack([g.ravel() for g in grids])
        # also: hold the current pressure (clipped to the band) throughout
        targets = np.vstack([targets, np.full((1, n_seg), min(max(p_now, lo), hi))])
        ends = np.tile(seg_end, (targets.shape[0], 1))
        if cfg.warm_start and self.plan is not None:  # the last plan, its segments ending where they did
            shifted = np.maximum(self.plan.seg_end - (float(obs.t) - self.plan.t), 0.0)
            shifted[-1] = seg_end[-1]
            targets = np.vstack([targets, self.plan.targets])
            ends = np.vstack([ends, np.maximum.accumulate(shifted)])
        fine = min(cfg.fine_h * 3600.0, seg_end[-1])
        leads = np.concatenate([np.arange(0.0, fine, cfg.dt), np.arange(fine, seg_end[-1], cfg.dt_far), seg_end[-1:]])
        night_from, night_until, budget = self._night_budget(obs, float(np.interp(p_now, p_axis, pump_w)))
        frozen = max(0.0, self.paused_until - obs.t)
        deadband = 60.0
        params = np.array([obs.radius, cfg.inside_bonus, cfg.outside_c, cfg.outside_tau_m, cfg.gamma_per_hour,
                           cfg.pump_cost_per_kwh, cfg.w_terminal, cfg.corr_tau_lead, deadband, lo, hi,
                           night_from, night_until, budget, frozen, cfg.sigma0_m, cfg.sigma_rate,
                           cfg.return_credit, cfg.return_min_speed,
                           float(cfg.return_geometry), float(cfg.return_pairs)], dtype=float)
        assert params.size == len(PARAMS)
        n = targets.shape[0]
        scores, inside, pumped = np.empty(n), np.empty(n), np.empty(n)
        rollout(fc.x, fc.y, fc.pressure, fc.time, fc.u, fc.v, float(obs.x), float(obs.y), p_now, float(obs.t),
                targets, ends, leads, tab_p0, tab_dp, rate_up, rate_down, pump_w, corr_u, corr_v,
                params, scores, inside, pumped)
        best = int(np.argmax(scores))
        self.plan = _Plan(float(obs.t), targets[best].copy(), ends[best].copy(), float(scores[best]))
        self._tables = (p_axis, rate_up, rate_down)
        self._band = (lo, hi)
        self._night = (night_from, night_until, budget)
        self.plan_seconds += _time.perf_counter() - start_clock
        self.n_plans += n

    def _target(self, t: float) -> float:
        plan = self.plan
        lead = t - plan.t
        k = min(int(np.searchsorted(plan.seg_end, lead, side="right")), plan.targets.size - 1)
        return float(np.clip(plan.targets[k], *self._band))

    def _track(self, obs: Observation, target: float) -> int:
        """UP / STAY / DOWN toward the target: move when one decision's move (180 s at the learned rate) brings the
        pressure closer to the target than staying; pump only within the night budget."""
        p_axis, rate_up, rate_down = self._tables
        step = 180.0
        p = float(obs.pressure)
        if target > p:
            r = float(np.interp(p, p_axis, rate_down)) * step
            if r > 1.0 and target - p > 0.5 * r and not self._night_exhausted(obs):
                return DOWN
        elif target < p:
            r = float(np.interp(p, p_axis, rate_up)) * step
            if r > 1.0 and p - target > 0.5 * r:
                return UP
        return STAY

    def _night_exhausted(self, obs: Observation) -> bool:
        if obs.is_day:
            return False
        start, end = self.sun.night_window(obs.t)
        energy = obs.battery_soc * BATTERY_WH
        need = NIGHT_LOAD_W * (end - start) / 3600.0 + (POWER_RESERVE + self.config.night_margin) * BATTERY_WH
        return energy - need < 15.0  # Wh: less than one decision's pumping left


def planner(**settings) -> PlannerController:
    """A :class:`PlannerController` with :class:`PlannerConfig` settings."""
    return PlannerController(**settings)


def _register() -> None:
    from .registry import register

    register("planner", lambda seed=0, **settings: PlannerController(**settings))


_register()
