"""The fall law's priors per payload class, its joint fit, the early descent's weight, and the two-scale wind error
(synthetic truth built in code; no shared data)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stratotrack import atmosphere as atm
from stratotrack.geodesy import great_circle_distance
from stratotrack.track import Observations, predict_landing
from stratotrack.track import sounding as S
from stratotrack.track.synthetic import synthetic_sounding

LEVELS = np.arange(0.0, 40001.0, 250.0)
U = 6.0 + 14.0 * np.exp(-((LEVELS - 11000.0) / 4000.0) ** 2)  # a jet at 11 km
V = np.full(LEVELS.size, 3.0)


def _time_to_fall(z_top, z_end, law):
    z = np.linspace(z_end, z_top, 4000)
    inv = 1.0 / law(z)
    return float(np.sum(0.5 * (inv[1:] + inv[:-1]) * np.diff(z)))


def _fall(z_top, z_end, law, every):
    """Times and altitudes (no noise) of a fall at rate ``law(z)`` from ``z_top``, fixes every ``every`` s."""
    z = np.linspace(z_end, z_top, 6000)
    inv = 1.0 / law(z)
    t_at = np.concatenate([[0.0], np.cumsum(0.5 * (inv[1:] + inv[:-1]) * np.diff(z))])
    t_at = t_at[-1] - t_at
    t = np.arange(0.0, t_at[0], every)
    return t, np.interp(t, t_at[::-1], z[::-1])


def test_radiosonde_descent_with_exponent_03_recovers_it_and_lands_near():
    """A radiosonde falling at v0 = 11 m/s with exponent 0.3 (a jet, 2 s fixes with GPS noise), seen down to 10 km:
    the fit recovers the exponent within 0.06 and v0 within 12%; the landing is within 0.6 km of the truth (0.1-0.3
    km measured) and inside the stated 90% radius; the replay (drag law, exponent 0.5) misses by more than 1.5 km."""
    s = synthetic_sounding(LEVELS, U, V, burst=32000.0, v0=11.0, beta=0.3, every=2.0, seed=4)
    alt = np.array([o.alt for o in s.fixes])
    k = s.last_climb + 1 + int(np.flatnonzero(alt[s.last_climb + 1:] < 10000.0)[0])
    seen = Observations(s.fixes[:k + 1])
    fc = predict_landing(seen, "climatology", members=60, payload="radiosonde")
    m, cov = fc.state.fall_posterior
    assert abs(m[1] - 0.3) < 0.06 and abs(math.exp(m[0]) / 11.0 - 1.0) < 0.12, m
    err = float(great_circle_distance(fc.lat, fc.lon, *s.landing[:2])) / 1000.0
    assert err < 0.6 and err <= fc.radii()[1], (err, fc.radii())
    rp = S.ascent_wind_replay(seen)
    assert float(great_circle_distance(rp[0], rp[1], *s.landing[:2])) / 1000.0 > 1.5


def test_the_payload_class_prior_sets_the_forecast_from_the_ascent():
    """Ascent only, burst given: a radiosonde-like fall (11 m/s, exponent 0.33) lands nearer the truth with the
    radiosonde prior than with the amateur payload's (5 m/s, 0.5), and inside its 90% radius; the notes name the
    prior and its source."""
    s = synthetic_sounding(LEVELS, U, V, burst=31000.0, v0=11.0, beta=0.33, every=30.0, seed=5)
    seen = Observations(s.fixes[:s.last_climb + 1])
    err = {}
    for kind in ("radiosonde", "payload"):
        fc = predict_landing(seen, "climatology", members=80, burst_altitude=31000.0, payload=kind)
        err[kind] = float(great_circle_distance(fc.lat, fc.lon, *s.landing[:2])) / 1000.0
        if kind == "radiosonde":
            assert err[kind] <= fc.radii()[1]
            assert any("fall-rate prior: radiosonde" in n and "Oakland" in n for n in fc.notes), fc.notes
    assert err["radiosonde"] < 0.5 * err["payload"], err


def test_a_given_prior_replaces_the_class_prior():
    """``fall_prior=`` is what the fit starts from: with no fall seen, member 0 falls at its v0 and exponent."""
    s = synthetic_sounding(LEVELS, U, V, burst=25000.0, every=60.0, seed=6)
    seen = Observations(s.fixes[:s.last_climb + 1])
    prior = S.FallPrior("radiosonde", 8.0, 0.3, 0.4, 0.05, "a station's own")
    fc = predict_landing(seen, "climatology", members=10, burst_altitude=25000.0, fall_prior=prior)
    assert fc.descent_rate == 8.0 and fc.state.fall_beta == 0.4
    assert any("a station's own" in n for n in fc.notes)
    given = prior.given(6.0)
    assert (given.v0, given.v0_log_sd, given.beta) == (6.0, S.V0_GIVEN_LOG_SD, 0.4)


def test_a_fast_settling_fall_after_burst_weighs_less():
    """A fall whose first 4 km after burst (32 -> 28 km) run 60% faster than its law (the train settling: the
    parachute opening, remnants tangled), then v0 = 6 m/s, exponent 0.5, seen down to 18 km at 10 s: the remaining
    fall time to the ground predicted by the fit is within 15% of the truth (10.5% measured) and errs by at most
    two thirds of a fit that weighs every piece alike (LAW_DRIFT = 0: 23%)."""
    def law(z):
        steady = 6.0 * (atm.RHO0 / atm.density(z)) ** 0.5
        return steady * np.where(z > 28000.0, 1.6, 1.0)

    t, z = _fall(32000.0, 18000.0, law, 10.0)
    truth = _time_to_fall(float(z[-1]), 0.0, law)
    errs = {}
    for drift in (S.LAW_DRIFT, 0.0):
        old = S.LAW_DRIFT
        S.LAW_DRIFT = drift
        try:
            m, _ = S.fall_law_posterior(t, z, prior=S.PAYLOAD_PRIOR)
        finally:
            S.LAW_DRIFT = old
        errs[drift] = S.fall_time(float(z[-1]), 0.0, math.exp(m[0]), m[1]) / truth - 1.0
    assert abs(errs[S.LAW_DRIFT]) < 0.15 and abs(errs[S.LAW_DRIFT]) < 0.67 * abs(errs[0.0]), errs


def test_two_scale_profiles_have_the_stated_correlation():
    """The ensemble's wind perturbations: unit variance, correlation error_correlation(dz) at 1, 4 and 10 km
    (0.51, 0.21, 0.13: the Oakland descent-minus-ascent figures it was fitted to) within 0.05."""
    rng = np.random.default_rng(0)
    x = S.two_scale_normal(rng, 4000, LEVELS)
    assert abs(x.std() - 1.0) < 0.05
    for dz in (1000.0, 4000.0, 10000.0):
        n = int(dz / 250.0)
        c = float(np.mean(x[:, :-n] * x[:, n:]))
        assert abs(c - float(S.error_correlation(dz))) < 0.05, (dz, c)
    assert float(S.error_correlation(1000.0)) == pytest.approx(0.51, abs=0.03)
    assert float(S.error_correlation(4000.0)) == pytest.approx(0.21, abs=0.03)
