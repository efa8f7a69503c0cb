"""The planner's roll-out: many candidate altitude plans flown at once over a forecast grid in the local x/y plane.

A plan is a sequence of target pressures, each held over a segment of the look-ahead (segment k ends
``seg_end[plan, k]`` seconds after the decision). Each plan is flown from the balloon's state with the same pressure
tracker the controller executes (:func:`tracker_action`): below the target by more than ``deadband`` it pumps (DOWN,
the pressure rises at the learned ``rate_down``), above it it vents (UP, the pressure falls at ``rate_up``), otherwise
it stays. The wind is the forecast interpolated multilinearly (each coordinate clipped to the grid, as
``Forecast.uv``) plus the measured-minus-forecast correction at that pressure, fading with lead time (``exp(-lead /
tau_corr)``); pumping between ``night_from`` and ``night_until`` (s from the decision) stops after
``night_pump_budget_wh`` (the battery must last the night) and nothing moves vertically before ``frozen_until`` (a
power safety layer that paused control). The wind is held over each roll-out step, as the arena holds it over each
3-minute decision.

Each plan's score: the discounted sum over steps of the station-keeping reward (1 within the radius plus a small
bonus for being nearer the centre; outside, BLE's shaped reward ``c 2^(-(d - R) / tau)``), in reward-hours; minus
``pump_cost_per_kwh`` per kWh pumped (the pump's power ``pump_w`` at that pressure); plus ``w_terminal`` hours of
the reward at the end of the look-ahead, or, where more, ``w_terminal`` hours of ``return_credit`` discounted over
the time it would take to come back inside the radius at the best wind home among the band's levels at the end point
(the forecast at the horizon; at least ``return_min_speed``): a cost-to-go that values end positions from which the
wind leads home.  Steps may lengthen with lead time (``leads``).

``rollout`` is compiled (numba, parallel over plans); ``rollout_reference`` is the plain NumPy reference it is
tested against.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..flight import superpressure as sp

__all__ = ["rollout", "rollout_reference", "tracker_action", "vertical_prior", "PARAMS"]

#: order of the floats in the ``params`` array of :func:`rollout`
PARAMS = ("radius", "inside_bonus", "outside_c", "outside_tau", "gamma_per_hour", "pump_cost_per_kwh",
          "w_terminal", "tau_corr", "deadband", "p_lo", "p_hi", "night_from", "night_until", "night_pump_budget_wh", "frozen_until",
          "sigma0", "sigma_rate", "return_credit", "return_min_speed", "return_geometry",
          "return_pairs")

#: target pressures over the band at which the terminal value looks for a wind home
N_RETURN_LEVELS = 16


def tracker_action(p: float, target: float, deadband: float) -> int:
    """UP (1) above the target by more than ``deadband``, DOWN (-1) below it, STAY (0) within it."""
    if p < target - deadband:
        return -1
    if p > target + deadband:
        return 1
    return 0


@njit(cache=True)
def vertical_prior(p, superpressure, temperature, p_ref=0.0):
    """(rate_up, rate_down Pa/s, pump power W) at pressures ``p`` from BLE's physics at a superpressure: the
    balloon floats where the displaced air weighs as much as the system, so one kg of ballast moves it by
    ``R T / (M_air V)`` Pa; the pump moves ``compressor_mass_flow(1 + S / p)`` kg/s, the valve
    ``valve_mass_flow(S, p, T)``.

    With ``p_ref > 0`` the superpressure ``superpressure`` is the one at ``p_ref`` and scales with pressure,
    ``S(p) = S p / p_ref`` (the pressure ratio ``1 + S/p`` held): a balloon that pumps down carries its ballast
    into denser air and its superpressure grows in step (BLE's physics: the ratio stays within a few per cent
    over thousands of Pa at a given gas-to-air temperature ratio). Otherwise S is the same at every pressure."""
    n = p.shape[0]
    rate_up = np.empty(n)
    rate_down = np.empty(n)
    power = np.empty(n)
    for k in range(n):
        s = max(superpressure * p[k] / p_ref if p_ref > 0.0 else superpressure, 1.0)
        vol = sp.ENVELOPE_VOLUME_BASE + sp.ENVELOPE_DV_DP * s
        dp_dm = sp.R_GAS * temperature / (sp.M_AIR * vol)
        pw, flow = sp.compressor_mass_flow(1.0 + s / p[k])
        power[k] = pw
        rate_down[k] = dp_dm * max(flow, 0.0)
        rate_up[k] = dp_dm * -sp.valve_mass_flow(s, p[k], temperature + 10.0)
    return rate_up, rate_down, power


@njit(cache=True, inline="always")
def _locate(axis, q):
    """Lower index and weight of q on an ascending axis, q clipped to the axis ends."""
    n = axis.shape[0]
    if n == 1:
        return 0, 0.0
    if q <= axis[0]:
        return 0, 0.0
    if q >= axis[n - 1]:
        return n - 2, 1.0
    lo = 0
    hi = n - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if axis[mid] <= q:
            lo = mid
        else:
            hi = mid
    return lo, (q - axis[lo]) / (axis[lo + 1] - axis[lo])


@njit(cache=True, inline="always")
def _table(tab, p0, dp, p):
    """Linear interpolation of a table on the regular pressure axis p0 + k dp, clipped to its ends."""
    n = tab.shape[0]
    f = (p - p0) / dp
    if f <= 0.0:
        return tab[0]
    if f >= n - 1:
        return tab[n - 1]
    k = int(f)
    w = f - k
    return (1.0 - w) * tab[k] + w * tab[k + 1]


@njit(cache=True, inline="always")
def _reward(d, radius, bonus, c, tau, sigma):
    """Expected reward at distance d when the position is uncertain by ``sigma`` (m): the chance of being within
    the radius (a 1-D Gaussian approximation) worth 1 plus a bonus nearer the centre, the rest worth BLE's shaped
    reward outside."""
    p_in = 0.5 * math.erfc((d - radius) / (1.4142135623730951 * sigma))
    out = c * 2.0 ** (-max(d - radius, 0.0) / tau)
    return p_in * (1.0 + bonus * max(1.0 - d / radius, 0.0)) + (1.0 - p_in) * out


@njit(cache=True, inline="always")
def _home_speed(x, y, u, v, radius, geometry):
    """The speed home that wind (u, v) gives from (x, y): its component towards the station or, with
    ``geometry``, the distance to the radius over the time a straight drift takes to cross it (0 when the drift
    never comes within the radius; the component home when there is no crosswind)."""
    d = math.sqrt(x * x + y * y)
    radial = -(u * x + v * y) / max(d, 1e-9)
    if geometry <= 0.0 or d <= radius:
        return radial
    w = math.sqrt(u * u + v * v)
    if w <= 1e-9:
        return 0.0
    along = -(u * x + v * y) / w  # distance along the drift to its closest approach
    b2 = max(d * d - along * along, 0.0)
    if along <= 0.0 or b2 >= radius * radius:
        return 0.0
    t = (along - math.sqrt(radius * radius - b2)) / w
    return (d - radius) / max(t, 1e-9)


@njit(cache=True, inline="always")
def _terminal(d, homeward, radius, bonus, c, tau, sigma, w_term, credit, min_speed, gamma_h):
    """The value at the end of the look-ahead, in reward-hours: ``w_term`` hours of the reward there, or, if more,
    of ``credit`` times the discount over the time back inside the radius at the best wind home (``homeward``,
    m/s, over the levels of the band at the end point; at least ``min_speed``)."""
    r = _reward(d, radius, bonus, c, tau, sigma)
    if credit > 0.0 and d > radius:
        t_back = (d - radius) / max(homeward, min_speed)
        r = max(r, credit * gamma_h ** (t_back / 3600.0))
    return w_term * r


@njit(cache=True)
def _slices(tg, U, V, t0, leads):
    """The forecast at each time ``leads[:-1]`` after t0 (linear in time, clipped to the grid): [n, nx, ny, np]."""
    n_steps = leads.shape[0] - 1
    nx, ny, npr = U.shape[0], U.shape[1], U.shape[2]
    SU = np.empty((n_steps, nx, ny, npr))
    SV = np.empty((n_steps, nx, ny, npr))
    for s in range(n_steps):
        it, wt = _locate(tg, t0 + leads[s])
        jt = min(it + 1, tg.shape[0] - 1)
        for a in range(nx):
            for b in range(ny):
                for c in range(npr):
                    SU[s, a, b, c] = (1.0 - wt) * U[a, b, c, it] + wt * U[a, b, c, jt]
                    SV[s, a, b, c] = (1.0 - wt) * V[a, b, c, it] + wt * V[a, b, c, jt]
    return SU, SV


@njit(cache=True, inline="always")
def _uv3(xg, yg, pg, SU, SV, s, x, y, p):
    ix, wx = _locate(xg, x)
    iy, wy = _locate(yg, y)
    ip, wp = _locate(pg, p)
    jx = min(ix + 1, xg.shape[0] - 1)
    jy = min(iy + 1, yg.shape[0] - 1)
    jp = min(ip + 1, pg.shape[0] - 1)
    u = 0.0
    v = 0.0
    for a in range(2):
        ax = ix if a == 0 else jx
        bx = 1.0 - wx if a == 0 else wx
        for b in range(2):
            ay = iy if b == 0 else jy
            by = 1.0 - wy if b == 0 else wy
            w0 = bx * by * (1.0 - wp)
            w1 = bx * by * wp
            u += w0 * SU[s, ax, ay, ip] + w1 * SU[s, ax, ay, jp]
            v += w0 * SV[s, ax, ay, ip] + w1 * SV[s, ax, ay, jp]
    return u, v


@njit(cache=True, parallel=True)
def rollout(xg, yg, pg, tg, U, V, x0, y0, p0, t0, targets, seg_end, leads, tab_p0, tab_dp,
            rate_up, rate_down, pump_w, corr_u, corr_v, params, scores, inside, pumped):
    """Fly every plan (rows of ``targets`` [n_plans, n_seg], each segment ending ``seg_end`` [n_plans, n_seg] s
    after the decision) over the steps ``leads[k] -> leads[k + 1]`` (s after
    the decision at ``t0``); write each plan's score, seconds within the radius and pump energy (Wh) into
    ``scores``, ``inside``, ``pumped`` [n_plans].

    ``rate_up``, ``rate_down`` (Pa/s), ``pump_w`` (W), ``corr_u``, ``corr_v`` (m/s) are tables on the pressure
    axis ``tab_p0 + k tab_dp``; ``params`` holds the floats named in :data:`PARAMS`.  The reward counts in hours
    (reward x step length), the pump cost per kWh, the terminal reward ``w_terminal`` hours' worth."""
    radius = params[0]
    bonus = params[1]
    c_out = params[2]
    tau_out = params[3]
    gamma_h = params[4]
    pump_cost = params[5] / 1000.0  # per Wh
    w_term = params[6]
    tau_corr = params[7]
    deadband = params[8]
    p_lo = params[9]
    p_hi = params[10]
    night_from = params[11]
    night_until = params[12]
    night_budget = params[13]
    frozen_until = params[14]
    sigma0 = params[15]
    sigma_rate = params[16]
    n_plans = targets.shape[0]
    n_seg = targets.shape[1]
    n_steps = leads.shape[0] - 1
    credit = params[17]
    min_speed = params[18]
    geometry = params[19]
    pairs = params[20]
    # the forecast at each step's start and (last slice) at the horizon
    ext = np.empty(n_steps + 2)
    ext[: n_steps + 1] = leads
    ext[n_steps + 1] = leads[n_steps] + 1.0
    SU, SV = _slices(tg, U, V, t0, ext)
    n_ret = N_RETURN_LEVELS
    ret_p = np.empty(n_ret)
    ret_cu = np.empty(n_ret)
    ret_cv = np.empty(n_ret)
    fade_end = math.exp(-leads[n_steps] / tau_corr)
    for j in range(n_ret):
        ret_p[j] = p_lo + (p_hi - p_lo) * j / (n_ret - 1)
        ret_cu[j] = fade_end * _table(corr_u, tab_p0, tab_dp, ret_p[j])
        ret_cv[j] = fade_end * _table(corr_v, tab_p0, tab_dp, ret_p[j])
    fades = np.empty(n_steps)
    discs = np.empty(n_steps + 1)
    sigmas = np.empty(n_steps)
    for s in range(n_steps):
        fades[s] = math.exp(-leads[s] / tau_corr)
        discs[s] = gamma_h ** (leads[s + 1] / 3600.0)
        sigmas[s] = math.hypot(sigma0, sigma_rate * leads[s + 1])
    discs[n_steps] = discs[n_steps - 1]
    # each plan's homeward and cross-wind speeds at the return levels, kept only where pairs of levels are scored
    hs = np.empty((n_plans if pairs > 0.0 else 0, n_ret))
    cs = np.empty_like(hs)
    for i in prange(n_plans):
        x = x0
        y = y0
        p = p0
        score = 0.0
        ins = 0.0
        pump = 0.0
        night_pump = 0.0
        seg = 0
        for s in range(n_steps):
            lead = leads[s]
            dt = leads[s + 1] - lead
            while seg < n_seg - 1 and lead >= seg_end[i, seg]:
                seg += 1
            target = min(max(targets[i, seg], p_lo), p_hi)
            # wind over this step at the start point, held (as the arena holds it over a decision)
            u, v = _uv3(xg, yg, pg, SU, SV, s, x, y, p)
            u += fades[s] * _table(corr_u, tab_p0, tab_dp, p)
            v += fades[s] * _table(corr_v, tab_p0, tab_dp, p)
            x += u * dt
            y += v * dt
            # the tracker
            if lead < frozen_until:
                pass
            elif p < target - deadband:
                night = lead >= night_from and lead < night_until
                e = _table(pump_w, tab_p0, tab_dp, p) * dt / 3600.0
                if not night or night_pump + e <= night_budget:
                    p = min(p + _table(rate_down, tab_p0, tab_dp, p) * dt, target)
                    pump += e
                    if night:
                        night_pump += e
                    score -= pump_cost * e  # energy costs the same whenever spent: no discount
            elif p > target + deadband:
                p = max(p - _table(rate_up, tab_p0, tab_dp, p) * dt, target)
            d = math.sqrt(x * x + y * y)
            if d <= radius:
                ins += dt
            score += discs[s] * _reward(d, radius, bonus, c_out, tau_out, sigmas[s]) * dt / 3600.0
        d = math.sqrt(x * x + y * y)
        home = -1e9
        if credit > 0.0 and d > radius:
            for j in range(n_ret):
                u, v = _uv3(xg, yg, pg, SU, SV, n_steps, x, y, ret_p[j])
                u += ret_cu[j]
                v += ret_cv[j]
                home = max(home, _home_speed(x, y, u, v, radius, geometry))
                if pairs > 0.0:
                    hs[i, j] = -(u * x + v * y) / d
                    cs[i, j] = (u * y - v * x) / d
            if pairs > 0.0:  # two levels whose crosswinds cancel: alternating between them heads straight home
                for j in range(n_ret):
                    for k in range(n_ret):
                        if cs[i, j] > 0.0 and cs[i, k] < 0.0:
                            a = -cs[i, k] / (cs[i, j] - cs[i, k])
                            home = max(home, a * hs[i, j] + (1.0 - a) * hs[i, k])
        scores[i] = score + discs[n_steps] * _terminal(d, home, radius, bonus, c_out, tau_out, sigmas[n_steps - 1],
                                                       w_term, credit, min_speed, gamma_h)
        inside[i] = ins
        pumped[i] = pump


def _home_speed_np(x, y, u, v, radius, geometry):
    """NumPy twin of :func:`_home_speed`."""
    d = np.hypot(x, y)
    radial = -(u * x + v * y) / np.maximum(d, 1e-9)
    if geometry <= 0.0:
        return radial
    w = np.maximum(np.hypot(u, v), 1e-12)
    along = -(u * x + v * y) / w
    b2 = np.maximum(d * d - along * along, 0.0)
    ok = (along > 0.0) & (b2 < radius * radius) & (np.hypot(u, v) > 1e-9)
    t = np.maximum((along - np.sqrt(np.maximum(radius * radius - b2, 0.0))) / w, 1e-9)
    return np.where(d <= radius, radial, np.where(ok, (d - radius) / t, 0.0))


def rollout_reference(forecast, x0, y0, p0, t0, targets, seg_end, leads, tab_p0, tab_dp, rate_up, rate_down,
                      pump_w, corr_u, corr_v, params):
    """Plain NumPy reference of :func:`rollout` (vectorised over plans; the wind from ``forecast.uv``).
    Returns ``(scores, inside, pumped)``."""
    pr = dict(zip(PARAMS, params))
    targets = np.asarray(targets, dtype=float)
    seg_end = np.broadcast_to(np.asarray(seg_end, dtype=float), targets.shape)
    leads = np.asarray(leads, dtype=float)
    n = targets.shape[0]
    tab = tab_p0 + tab_dp * np.arange(len(rate_up))
    x = np.full(n, float(x0))
    y = np.full(n, float(y0))
    p = np.full(n, float(p0))
    score = np.zeros(n)
    ins = np.zeros(n)
    pump = np.zeros(n)
    night_pump = np.zeros(n)

    def reward(d, lead):
        from scipy.special import erfc

        sigma = math.hypot(pr["sigma0"], pr["sigma_rate"] * lead)
        p_in = 0.5 * erfc((d - pr["radius"]) / (math.sqrt(2.0) * sigma))
        out = pr["outside_c"] * 2.0 ** (-np.maximum(d - pr["radius"], 0.0) / pr["outside_tau"])
        return p_in * (1.0 + pr["inside_bonus"] * np.maximum(1.0 - d / pr["radius"], 0.0)) + (1.0 - p_in) * out

    disc = 1.0
    for s in range(leads.size - 1):
        lead = leads[s]
        dt = leads[s + 1] - lead
        disc = pr["gamma_per_hour"] ** (leads[s + 1] / 3600.0)
        seg = (lead >= seg_end[:, :-1]).sum(axis=1)  # segments ascend: those ended so far
        target = np.clip(targets[np.arange(n), seg], pr["p_lo"], pr["p_hi"])
        u, v = forecast.uv(x, y, p, np.full(n, t0 + lead))
        fade = math.exp(-lead / pr["tau_corr"])
        u = u + fade * np.interp(p, tab, corr_u)
        v = v + fade * np.interp(p, tab, corr_v)
        x = x + u * dt
        y = y + v * dt
        moving = lead >= pr["frozen_until"]
        down = moving & (p < target - pr["deadband"])
        up = moving & (p > target + pr["deadband"])
        e = np.interp(p, tab, pump_w) * dt / 3600.0
        if pr["night_from"] <= lead < pr["night_until"]:
            down &= night_pump + e <= pr["night_pump_budget_wh"]
            night_pump += np.where(down, e, 0.0)
        p = np.where(down, np.minimum(p + np.interp(p, tab, rate_down) * dt, target), p)
        p = np.where(up, np.maximum(p - np.interp(p, tab, rate_up) * dt, target), p)
        pump += np.where(down, e, 0.0)
        score -= np.where(down, pr["pump_cost_per_kwh"] / 1000.0 * e, 0.0)
        d = np.hypot(x, y)
        ins += np.where(d <= pr["radius"], dt, 0.0)
        score += disc * reward(d, leads[s + 1]) * dt / 3600.0
    d = np.hypot(x, y)
    term = reward(d, leads[-1])
    if pr["return_credit"] > 0.0:
        fade = math.exp(-leads[-1] / pr["tau_corr"])
        home = np.full(n, -1e9)
        hs, cs = [], []
        for q in np.linspace(pr["p_lo"], pr["p_hi"], N_RETURN_LEVELS):
            u, v = forecast.uv(x, y, np.full(n, q), np.full(n, t0 + leads[-1]))
            u = u + fade * np.interp(q, tab, corr_u)
            v = v + fade * np.interp(q, tab, corr_v)
            home = np.maximum(home, _home_speed_np(x, y, u, v, pr["radius"], pr["return_geometry"]))
            hs.append(-(u * x + v * y) / np.maximum(d, 1e-9))
            cs.append((u * y - v * x) / np.maximum(d, 1e-9))
        if pr["return_pairs"] > 0.0:
            for hj, cj in zip(hs, cs):
                for hk, ck in zip(hs, cs):
                    ok = (cj > 0.0) & (ck < 0.0)
                    a = np.where(ok, -ck / np.where(ok, cj - ck, 1.0), 0.0)
                    home = np.where(ok, np.maximum(home, a * hj + (1.0 - a) * hk), home)
        t_back = np.maximum(d - pr["radius"], 0.0) / np.maximum(home, pr["return_min_speed"])
        back = pr["return_credit"] * pr["gamma_per_hour"] ** (t_back / 3600.0)
        term = np.where(d > pr["radius"], np.maximum(term, back), term)
    score += disc * pr["w_terminal"] * term
    return score, ins, pump
