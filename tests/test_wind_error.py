"""The engine's wind-error process (stratotrack.engine.wind_error) against the analytic Ornstein-Uhlenbeck answers.

Pure NumPy on many independent particles (no engine run), fixed seeds.  Tolerances are 4-5 standard errors of the
estimated quantity (stated at each assertion), so a failure is a real disagreement (p < 1e-4).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import stratotrack as st
from stratotrack.engine.wind_error import (WindError, WindErrorState, displace_on_sphere, displacement_variance,
                                           ou_step)
from stratotrack.geodesy import EARTH_RADIUS
from stratotrack.wind.analytic import uniform_wind

N = 20_000


def _corr(a, b):
    return float(np.corrcoef(a, b)[0, 1])


def test_ou_step_is_stationary_with_the_analytic_correlation_and_displacement():
    """Constant sigma: variance sigma^2 at every time, corr(x(0), x(L)) = exp(-L/tau), displacement variance
    2 sigma^2 tau^2 (T/tau - 1 + exp(-T/tau))."""
    rng = np.random.default_rng(1)
    sigma, tau, dt = 3.0, 6 * 3600.0, 600.0
    du0, dv0 = sigma * rng.standard_normal(N), sigma * rng.standard_normal(N)
    du, dv = du0.copy(), dv0.copy()
    east, north = np.zeros(N), np.zeros(N)
    lags = {}
    for k in range(1, 145):  # 24 h
        du, dv, e, n = ou_step(du, dv, dt, sigma, tau, rng)
        east += e
        north += n
        if k * dt in (tau / 2, tau, 2 * tau):
            lags[k * dt] = (_corr(du0, du), _corr(dv0, dv))
    T = 144 * dt
    for x in (du, dv):  # SE of a sample variance: var sqrt(2 / n)
        assert abs(x.var() - sigma ** 2) < 5 * sigma ** 2 * math.sqrt(2 / N)
    for lag, rs in lags.items():  # SE of a correlation: (1 - r^2) / sqrt(n)
        r = math.exp(-lag / tau)
        for est in rs:
            assert abs(est - r) < 5 * (1 - r * r) / math.sqrt(N), (lag, est, r)
    var = displacement_variance(T, sigma, tau)
    for d in (east, north):  # the trapezoid's bias is O((dt/tau)^2) ~ 1e-3, far inside the sampling error
        assert abs(d.var() - var) < 5 * var * math.sqrt(2 / N), (d.var(), var)
        assert abs(d.mean()) < 5 * math.sqrt(var / N)
    # the decorrelation time recovered from the lag-tau correlation
    tau_hat = -tau / math.log(np.mean(lags[tau]))
    assert abs(tau_hat - tau) < 0.05 * tau


def test_ou_step_backward_and_zero_sigma():
    rng = np.random.default_rng(2)
    du, dv = np.ones(5), np.zeros(5)
    a, b, e, n = ou_step(du, dv, -600.0, 0.0, 3600.0, rng)  # no error process: the displacement of the state
    assert np.array_equal(a, du) and np.array_equal(e, -600.0 * du) and np.array_equal(n, 0 * dv)
    _, _, e, _ = ou_step(np.full(N, 2.0), np.zeros(N), -60.0, 1.0, 1e9, rng)  # dt << tau: x stays put
    assert np.allclose(e, -120.0, atol=0.1)  # sd of the change: sqrt(2 dt/tau) 30 m = 0.01 m


def test_state_variance_grows_with_lead_time_as_the_model_says():
    """WindErrorState: each component's sd is rms_vector(lead)/sqrt(2) at every lead, the unit state keeps
    corr exp(-L/tau), and the displacement variance is the double integral of sigma(s) sigma(u) exp(-|s-u|/tau)."""
    m = WindError(initial=2.0, growth=3.0, maximum=8.0, correlation_time=12 * 3600.0)
    rng = np.random.default_rng(3)
    ref = 1.0e9
    s = WindErrorState(m, rng, N, np.full(N, ref))
    idx = np.arange(N)
    dt = 900.0
    z0 = s.z[0].copy()
    east = np.zeros(N)
    t = ref
    checked = 0
    for k in range(1, 4 * 96 + 1):  # 4 days
        de, _dn = s.advance(idx, np.full(N, t), np.full(N, t + dt))
        east += de
        t += dt
        if k % 96 == 0:
            lead = t - ref
            ue, un = s.error(idx, np.full(N, t))
            sd = float(m.sigma(lead))
            assert sd == pytest.approx(min(2.0 + 3.0 * lead / 86400, 8.0) / math.sqrt(2))
            for x in (ue, un):
                assert abs(x.var() - sd ** 2) < 5 * sd ** 2 * math.sqrt(2 / N), (lead, x.var(), sd ** 2)
            r = math.exp(-lead / m.correlation_time)
            assert abs(_corr(z0, s.z[0]) - r) < 5 * (1 - r * r) / math.sqrt(N) + 1e-3
            checked += 1
    assert checked == 4
    # Var(int_0^T sigma(s) z(s) ds) by quadrature of the covariance
    T = t - ref
    g = np.linspace(0.0, T, 1537)
    sg = m.sigma(g)
    w = np.full(g.size, g[1] - g[0])
    w[[0, -1]] /= 2
    cov = np.exp(-np.abs(g[:, None] - g[None, :]) / m.correlation_time)
    var = float((w * sg) @ cov @ (w * sg))
    assert abs(east.var() - var) < 5 * var * math.sqrt(2 / N), (east.var(), var)


def test_engine_run_displaces_members_by_the_process():
    """An ensemble in a uniform wind with the wind error: the spread of the end points is the displacement
    variance of the process (constant sigma), via the integrator and displace_on_sphere."""
    w = st.open_wind(uniform_wind(10.0, 0.0, resolution=2.0))
    rms, tau, T, n = 4.0, 3 * 3600.0, 12 * 3600.0, 2000
    res = st.ensemble(0.0, 0.0, 20000.0, "2023-01-17T11:00Z", "drift", members=n, seed=4, wind=w, duration=T,
                      wind_error=WindError(initial=rms, growth=0.0, correlation_time=tau), keep="members")
    r = EARTH_RADIUS + 20000.0
    dy = np.radians(res.members.end_latitude.values) * r
    var = displacement_variance(T, rms / math.sqrt(2), tau)
    assert abs(dy.var(ddof=1) - var) < 5 * var * math.sqrt(2 / (n - 1))


def test_displace_on_sphere_keeps_the_longitude_convention():
    la, lo = displace_on_sphere(np.array([0.0]), np.array([359.9]), np.array([1e-3]), np.array([0.0]))
    assert lo[0] == pytest.approx(359.9 + math.degrees(1e-3))
