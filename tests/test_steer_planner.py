"""The planner controller on analytic winds where the answer is known, and its compiled roll-out against the NumPy
reference.

The flights here use a stand-in balloon (constant pump and vent rates, fixed superpressure, the wind held over
each 3-minute decision, no safety layers): enough to check the planner's decisions, not the arena's physics.
"""

import math

import numpy as np
import pytest

from stratotrack.steer.control import DOWN, STAY, UP, Forecast, Observation
from stratotrack.steer.planner import PlannerController, SunClock, VerticalModel
from stratotrack.steer.planner_rollout import PARAMS, rollout, rollout_reference

X = np.linspace(-500e3, 500e3, 21)
P = np.linspace(5000.0, 14000.0, 10)
T = np.linspace(0.0, 48 * 3600.0, 9)
RADIUS = 50e3


def layered(u_of_p, v_of_p=None):
    """A forecast whose wind depends on pressure only: u_of_p(p) and v_of_p(p) m/s at the grid levels."""
    u = np.broadcast_to(np.array([u_of_p(p) for p in P])[None, None, :, None], (21, 21, 10, 9)).copy()
    v = np.zeros_like(u) if v_of_p is None else np.broadcast_to(
        np.array([v_of_p(p) for p in P])[None, None, :, None], (21, 21, 10, 9)).copy()
    return Forecast(X, X, P, T, u, v)


def fly(controller, forecast, x0, y0, p0, hours=24.0, rate_up=0.5, rate_down=0.4, band=(5000.0, 14000.0),
        truth=None):
    """Fly a stand-in balloon: returns arrays of time, x, y, pressure and the actions taken."""
    dt = 180.0
    x, y, p = x0, y0, p0
    hist = {k: [] for k in ("t", "x", "y", "pressure", "u", "v")}
    out = {k: [] for k in ("t", "x", "y", "pressure", "action")}
    wind = (0.0, 0.0)
    for k in range(int(hours * 3600 / dt)):
        t = k * dt
        elev = 60.0 * math.sin(2 * math.pi * (t / 86400.0))  # day in the first half of each day
        obs = Observation(t=t, x=x, y=y, pressure=p, altitude=16000.0 - 6300.0 * math.log(p / 10000.0),
                          superpressure=300.0, battery_soc=0.95, sun_elevation_deg=elev, is_day=elev > -4.24,
                          wind=wind, history={k2: np.array(v2) for k2, v2 in hist.items()}, forecast=forecast,
                          radius=RADIUS, pressure_min=band[0], pressure_max=band[1])
        if k == 0:
            controller.reset(obs)
        a = controller.act(obs)
        assert a in (UP, STAY, DOWN)
        for key, val in (("t", t), ("x", x), ("y", y), ("pressure", p), ("action", a)):
            out[key].append(val)
        u, v = (truth or forecast.uv)(x, y, p, t)
        u, v = float(u), float(v)
        for key, val in (("t", t), ("x", x), ("y", y), ("pressure", p), ("u", u), ("v", v)):
            hist[key].append(val)
        wind = (u, v)
        x += u * dt
        y += v * dt
        p += {UP: -rate_up, STAY: 0.0, DOWN: rate_down}[a] * dt
    return {k: np.array(v) for k, v in out.items()}


def twr(f):
    return float(np.mean(np.hypot(f["x"], f["y"]) <= RADIUS))


class Stay:
    name = "stay"

    def reset(self, obs):
        pass

    def act(self, obs):
        return STAY


@pytest.mark.parametrize("credit", [0.0, 0.6])
def test_rollout_matches_numpy_reference(credit):
    rng = np.random.default_rng(3)
    fc = Forecast(X, X, P, T, rng.normal(0, 8, (21, 21, 10, 9)), rng.normal(0, 8, (21, 21, 10, 9)))
    targets = rng.uniform(5000, 14000, (50, 3))
    seg_end = np.tile(np.array([2.0, 6.0, 12.0]) * 3600.0, (50, 1))
    seg_end[25:, :2] -= rng.uniform(0.0, 7200.0, (25, 1))  # half the plans' segments end sooner (a warm start)
    leads = np.concatenate([np.arange(0, 6 * 3600.0, 600.0), np.arange(6 * 3600.0, 12 * 3600.0, 1200.0), [12 * 3600.0]])
    tab = 4000.0 + 100.0 * np.arange(121)
    up, down, pw = VerticalModel.prior(tab, 1600.0, p_ref=11000.0)
    cu, cv = 0.5 * np.sin(tab / 900.0), -0.3 * np.cos(tab / 700.0)
    params = np.array([RADIUS, 0.1, 0.4, 100e3, 0.97, 2.0, 6.0, 6 * 3600.0, 60.0, 5200.0, 13500.0,
                       3 * 3600.0, 9 * 3600.0, 150.0, 1800.0, 3000.0, 0.7, credit, 0.5, 1.0, 1.0])
    assert params.size == len(PARAMS)
    n = targets.shape[0]
    got = [np.empty(n) for _ in range(3)]
    rollout(fc.x, fc.y, fc.pressure, fc.time, fc.u, fc.v, 30e3, -80e3, 11000.0, 5000.0, targets, seg_end, leads,
            4000.0, 100.0, up, down, pw, cu, cv, params, *got)
    want = rollout_reference(fc, 30e3, -80e3, 11000.0, 5000.0, targets, seg_end, leads, 4000.0, 100.0, up, down,
                             pw, cu, cv, params)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-9)
    assert np.ptp(got[0]) > 0 and got[2].max() > 0  # the plans differ and some pump


def test_two_opposite_layers_hold_station():
    fc = layered(lambda p: 6.0 if p < 9500 else -6.0)
    f = fly(PlannerController(), fc, 20e3, 0.0, 11000.0, hours=16.0)
    drift = fly(Stay(), fc, 20e3, 0.0, 11000.0, hours=16.0)
    assert twr(drift) < 0.25
    assert twr(f) > 0.9


def test_uniform_wind_nothing_helps():
    fc = layered(lambda p: 4.0, lambda p: 1.0)
    f = fly(PlannerController(), fc, -60e3, -10e3, 10000.0, hours=12.0)
    drift = fly(Stay(), fc, -60e3, -10e3, 10000.0, hours=12.0)
    assert twr(f) == pytest.approx(twr(drift), abs=1e-12)
    assert 0.1 < twr(drift) < 0.9
    np.testing.assert_allclose(f["x"], drift["x"])


def test_finds_the_layer_that_blows_to_the_target():
    # everything blows east (away from the station, which lies west of the start) except one layer near 7000 Pa
    fc = layered(lambda p: -5.0 if abs(p - 7000.0) < 1 else 3.0)
    f = fly(PlannerController(), fc, 150e3, 0.0, 11000.0, hours=18.0)
    inside = np.hypot(f["x"], f["y"]) <= RADIUS
    assert inside.any()
    first = int(np.argmax(inside))
    # at best ~10 h: 2 h climbing 4,000 Pa while blown 25 km further, then 125 km at ~4.7 m/s
    assert f["t"][first] < 14 * 3600.0
    assert np.min(f["pressure"][:first + 1]) < 8000.0  # it went up to the layer to get there
    assert twr(f) > 0.2
    assert twr(fly(Stay(), fc, 150e3, 0.0, 11000.0, hours=18.0)) == 0.0


def test_never_commands_past_the_band():
    # the only layer blowing home lies above the band: the planner must not go there
    band = (7500.0, 12500.0)
    fc = layered(lambda p: -5.0 if p <= 6000.0 else 3.0)
    f = fly(PlannerController(), fc, 150e3, 0.0, 10000.0, hours=12.0, band=band)
    step = 0.5 * 180.0
    assert f["pressure"].min() >= band[0] - step
    assert f["pressure"].max() <= band[1] + step
    assert not np.any((f["action"] == UP) & (f["pressure"] < band[0] + 150.0))
    assert not np.any((f["action"] == DOWN) & (f["pressure"] > band[1] - 150.0))


def test_sun_clock_finds_the_night():
    clock = SunClock()
    for k in range(60):  # 3 h of samples, sunset at 12 h, sunrise at 24 h
        t = 8 * 3600.0 + 180.0 * k
        clock.record(t, math.degrees(math.asin(0.95 * math.sin(2 * math.pi * t / 86400.0))))
    start, end = clock.night_window(11 * 3600.0)
    # the threshold is -4.24 degrees: the night starts ~17 min after 12 h and ends ~17 min before 24 h
    assert abs(start - (1 * 3600.0 + 1060.0)) < 300.0
    assert abs(end - (13 * 3600.0 - 1060.0)) < 300.0


def test_no_forecast_is_one_clear_error():
    from stratotrack.errors import InputError

    obs = Observation(t=0.0, x=0.0, y=0.0, pressure=10000.0, altitude=16000.0, superpressure=300.0, battery_soc=0.9,
                      sun_elevation_deg=10.0, is_day=True, wind=(0.0, 0.0))
    c = PlannerController()
    c.reset(obs)
    with pytest.raises(InputError, match="forecast"):
        c.act(obs)


def test_level_counts_per_segment():
    fc = layered(lambda p: 6.0 if p < 9500 else -6.0)
    obs = Observation(t=0.0, x=20e3, y=0.0, pressure=11000.0, altitude=16000.0, superpressure=300.0,
                      battery_soc=0.95, sun_elevation_deg=40.0, is_day=True, wind=(0.0, 0.0), forecast=fc)
    c = PlannerController(n_levels=(12, 5, 3))
    c.reset(obs)
    c.act(obs)
    assert c.n_plans == 12 * 5 * 3 + 1
    assert np.unique(np.round(c._band, 6)).size == 2
    from stratotrack.errors import InputError

    with pytest.raises(InputError, match="n_levels"):
        PlannerController(n_levels=(12, 5)).level_counts()


def test_warm_start_keeps_the_last_plan_on_its_clock():
    fc = layered(lambda p: 6.0 if p < 9500 else -6.0)
    f = fly(PlannerController(warm_start=True), fc, 20e3, 0.0, 11000.0, hours=16.0)
    assert twr(f) > 0.9
    c = PlannerController(warm_start=True, n_levels=(6, 4, 3))
    obs = Observation(t=0.0, x=20e3, y=0.0, pressure=11000.0, altitude=16000.0, superpressure=300.0,
                      battery_soc=0.95, sun_elevation_deg=40.0, is_day=True, wind=(0.0, 0.0), forecast=fc)
    c.reset(obs)
    c.act(obs)
    first = c.plan
    assert c.n_plans == 6 * 4 * 3 + 1
    later = Observation(**{**obs.__dict__, "t": 1800.0})
    c._replan(later)
    assert c.n_plans == 2 * (6 * 4 * 3 + 1) + 1  # the last plan competed
    # the plan chosen runs on the fresh clock, or it is the last plan on its own (segments ending 1,800 s sooner)
    fresh = np.allclose(c.plan.seg_end, first.seg_end)
    kept = np.array_equal(c.plan.targets, first.targets) and np.allclose(c.plan.seg_end[:-1],
                                                                          first.seg_end[:-1] - 1800.0)
    assert fresh or kept


def _one_plan_score(fc, p_hold, band, credit, hours=6.0, geometry=1.0, pairs=0.0):
    """Score of holding ``p_hold`` for ``hours`` from the station (no pumping: vent/pump rates irrelevant)."""
    tab = 4000.0 + 100.0 * np.arange(121)
    up, down, pw = VerticalModel.prior(tab, 800.0)
    zero = np.zeros_like(tab)
    leads = np.arange(0.0, hours * 3600.0 + 1.0, 600.0)
    params = np.array([RADIUS, 0.1, 0.4, 100e3, 0.97, 0.3, 6.0, 9.6 * 3600.0, 60.0, band[0], band[1],
                       0.0, 0.0, 0.0, 0.0, 3000.0, 0.7, credit, 0.5, geometry, pairs])
    targets = np.full((1, 1), p_hold)
    ends = np.full((1, 1), leads[-1])
    got = [np.empty(1) for _ in range(3)]
    rollout(fc.x, fc.y, fc.pressure, fc.time, fc.u, fc.v, 0.0, 0.0, p_hold, 0.0, targets, ends, leads,
            4000.0, 100.0, up, down, pw, zero, zero, params, *got)
    want = rollout_reference(fc, 0.0, 0.0, p_hold, 0.0, targets, ends, leads, 4000.0, 100.0, up, down, pw, zero,
                             zero, params)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-9)
    return float(got[0][0])


def test_terminal_value_counts_the_way_home():
    # 5 m/s east above 9,000 Pa, 5 m/s west below: holding 7,000 Pa for 6 h ends 108 km east of the station
    fc = layered(lambda p: 5.0 if p < 9000.0 else -5.0)
    wide, narrow = (6000.0, 13000.0), (6000.0, 8500.0)
    base = _one_plan_score(fc, 7000.0, wide, 0.0)
    assert _one_plan_score(fc, 7000.0, narrow, 0.0) == pytest.approx(base, rel=1e-12)
    # with the westward layers in the band: back inside after (108 - 50) km / 5 m/s = 3.2 h
    d = 5.0 * 6 * 3600.0
    back = 0.6 * 0.97 ** ((d - RADIUS) / 5.0 / 3600.0)
    p_in = 0.5 * math.erfc((d - RADIUS) / (math.sqrt(2.0) * math.hypot(3000.0, 0.7 * 6 * 3600.0)))
    reward = p_in + (1.0 - p_in) * 0.4 * 2.0 ** (-(d - RADIUS) / 100e3)  # the reward at the end point
    assert back > 2 * reward
    gain = _one_plan_score(fc, 7000.0, wide, 0.6) - base
    assert gain == pytest.approx(0.97 ** 6 * 6.0 * (back - reward), rel=1e-6)
    # without them (every level of the band blows east): nothing to gain, the shaped reward stands
    assert _one_plan_score(fc, 7000.0, narrow, 0.6) == pytest.approx(base, rel=1e-12)


def test_terminal_value_counts_the_crosswind():
    # holding 7,000 Pa (5 m/s east) for 6 h ends 108 km east; below 9,000 Pa the wind blows west at 5 m/s and north
    # at v m/s: its component home is 5 m/s whatever v, but a straight drift comes back inside only if it passes
    # within 50 km, after the time where |r + w t| = R
    d = 5.0 * 6 * 3600.0
    for v, enters in ((2.0, True), (10.0, False)):
        fc = layered(lambda p: 5.0 if p < 9000.0 else -5.0, lambda p, v=v: 0.0 if p < 9000.0 else v)
        base = _one_plan_score(fc, 7000.0, (6000.0, 8500.0), 0.0)
        radial = _one_plan_score(fc, 7000.0, (6000.0, 13000.0), 0.6, geometry=0.0)
        crossing = _one_plan_score(fc, 7000.0, (6000.0, 13000.0), 0.6, geometry=1.0)
        p_in = 0.5 * math.erfc((d - RADIUS) / (math.sqrt(2.0) * math.hypot(3000.0, 0.7 * 6 * 3600.0)))
        reward = p_in + (1.0 - p_in) * 0.4 * 2.0 ** (-(d - RADIUS) / 100e3)
        # the component home alone: back after (108 - 50) km / 5 m/s, as with no crosswind
        back = 0.6 * 0.97 ** ((d - RADIUS) / 5.0 / 3600.0)
        assert radial - base == pytest.approx(0.97 ** 6 * 6.0 * (back - reward), rel=1e-6)
        if enters:  # t: the smaller root of (u^2 + v^2) t^2 + 2 (x u) t + x^2 - R^2 = 0, x = d, u = -5
            a, b, c = 25.0 + v * v, -10.0 * d, d * d - RADIUS**2
            t = (-b - math.sqrt(b * b - 4 * a * c)) / (2 * a)
            back_x = 0.6 * 0.97 ** (t / 3600.0)
            assert back_x < back
            assert crossing - base == pytest.approx(0.97 ** 6 * 6.0 * (back_x - reward), rel=1e-6)
        else:  # it passes 97 km from the station: the way home is no better than the minimum speed, 0.5 m/s
            slow = 0.6 * 0.97 ** ((d - RADIUS) / 0.5 / 3600.0)
            assert crossing - base == pytest.approx(0.97 ** 6 * 6.0 * max(slow - reward, 0.0), rel=1e-6, abs=1e-12)


def test_terminal_value_pairs_of_levels():
    # from 108 km east: at 9,000-10,000 Pa 5 m/s west and 10 m/s north, at 12,000 Pa and below 5 m/s west and 10 m/s
    # south, 11,000 Pa 5 m/s east: no level alone passes within 50 km, alternating between the two heads home at 5 m/s
    def uv(p):
        return (5.0, 0.0) if p < 9000.0 or p == 11000.0 else (-5.0, 10.0) if p <= 10000.0 else (-5.0, -10.0)

    fc = layered(lambda p: uv(p)[0], lambda p: uv(p)[1])
    d = 5.0 * 6 * 3600.0
    base = _one_plan_score(fc, 7000.0, (6000.0, 8500.0), 0.0)
    assert _one_plan_score(fc, 7000.0, (6000.0, 13000.0), 0.6, pairs=0.0) == pytest.approx(base, rel=1e-12)
    p_in = 0.5 * math.erfc((d - RADIUS) / (math.sqrt(2.0) * math.hypot(3000.0, 0.7 * 6 * 3600.0)))
    reward = p_in + (1.0 - p_in) * 0.4 * 2.0 ** (-(d - RADIUS) / 100e3)
    back = 0.6 * 0.97 ** ((d - RADIUS) / 5.0 / 3600.0)
    gain = _one_plan_score(fc, 7000.0, (6000.0, 13000.0), 0.6, pairs=1.0) - base
    assert gain == pytest.approx(0.97 ** 6 * 6.0 * (back - reward), rel=1e-6)


def test_vertical_prior_holds_the_pressure_ratio():
    # BLE's compressor table has dead zones at some pressure ratios (1 + S/p): with S scaled with p the ratio, and
    # so the pump's mass flow, is the same at every pressure; with S fixed the dead zone sits at one pressure
    p = np.linspace(6000.0, 13000.0, 36)
    up, down, pw = VerticalModel.prior(p, 940.0, p_ref=7462.0)
    flow = down * (1804.0 + 0.0199 * 940.0 * p / 7462.0)  # rate x volume: proportional to the mass flow
    np.testing.assert_allclose(flow, flow[0], rtol=1e-9)
    assert np.ptp(pw) < 1e-9 and down.min() > 0.5
    fixed = VerticalModel.prior(p, 940.0)[1]
    assert fixed.min() < 0.1 * fixed.max()  # the dead zone near 1 + 940/10,000 the fixed-S model sees
