"""The steering arena: BLE's wind model, superpressure physics, power and safety layers, the StationSeeker-like
heuristic and ``stratotrack steer arena``.

Analytic tests build their winds and start states in code; tests marked ``shared`` read BLE's weights, scenarios
and reference results from ../shared/data/ble-arena.
"""

import json

import msgpack
import numpy as np
import pytest

from stratotrack.cli import run
from stratotrack.errors import InputError
from stratotrack.flight.superpressure import (
    MAX_SUPERPRESSURE, atmosphere_tables, atm_at_height, atm_at_pressure, compressor_efficiency, compressor_power,
    superpressure_and_volume, system_mass, valve_mass_flow, vertical_speed,
)
from stratotrack.steer.arena import parse_seeds
from stratotrack.steer.arena.runner import AnalyticWind, fly_episode, load_scenarios, scenario_at
from stratotrack.steer.arena.sim import S, new_state, simulate_interval
from stratotrack.steer.arena.wind import (
    decode_wind_grid, load_decoder_weights, resize_half_pixel, stream_to_wind,
)
from stratotrack.steer.control import DOWN, STAY, UP, Forecast
from stratotrack.steer.power import BATTERY_CAPACITY_WH, next_sunrise_sunset, sun_position
from stratotrack.steer.registry import make
from stratotrack.steer.safety import AltitudeSafety, EnvelopeSafety, PowerSafety


class Always:
    """A controller that always wants the same action."""

    def __init__(self, action):
        self.action = action
        self.name = f"always{action}"

    def reset(self, obs):
        pass

    def act(self, obs):
        return self.action


def layered_wind(levels, u_at, v_at=None):
    """A wind that depends on pressure only (the same forecast and truth everywhere)."""
    ps = np.asarray(levels, dtype=float)
    ax = np.array([-2e6, 2e6])
    t = np.array([0.0, 4e5])
    u = np.broadcast_to(np.asarray([u_at(p) for p in ps])[None, None, :, None], (2, 2, ps.size, 2))
    v = np.broadcast_to(np.asarray([(v_at or (lambda p: 0.0))(p) for p in ps])[None, None, :, None],
                        (2, 2, ps.size, 2))
    return AnalyticWind(Forecast(ax, ax, ps, t, u.copy(), v.copy()))


# -- the forecast grid and the decoder ---------------------------------------------------------------------------
def test_forecast_uv_is_multilinear_clipped_and_matches_its_numpy_twin():
    rng = np.random.default_rng(0)
    f = Forecast(np.linspace(-5e5, 5e5, 21), np.linspace(-5e5, 5e5, 21), np.linspace(5000, 14000, 10),
                 np.linspace(0, 48 * 3600, 9), rng.normal(size=(21, 21, 10, 9)), rng.normal(size=(21, 21, 10, 9)))
    q = [rng.uniform(-7e5, 7e5, 500), rng.uniform(-7e5, 7e5, 500), rng.uniform(3000, 16000, 500),
         rng.uniform(-1e3, 2e5, 500)]
    u, v = f.uv(*q)
    ur, vr = f.uv_reference(*q)
    np.testing.assert_allclose(u, ur, atol=1e-12)
    np.testing.assert_allclose(v, vr, atol=1e-12)
    # on a grid node: the node's value; beyond the grid: the edge's value
    assert f.uv(f.x[3], f.y[4], f.pressure[5], f.time[6])[0] == pytest.approx(f.u[3, 4, 5, 6])
    assert f.uv(9e9, -9e9, 1.0, 1e9)[1] == pytest.approx(f.v[-1, 0, 0, -1])
    # a linear field is reproduced exactly between nodes
    lin = Forecast([0, 10], [0, 10], [0, 10], [0, 10], np.fromfunction(lambda a, b, c, d: a + 2 * b + 3 * c + 4 * d,
                                                                       (2, 2, 2, 2)), np.zeros((2, 2, 2, 2)))
    assert lin.uv(2.0, 3.0, 4.0, 5.0)[0] == pytest.approx((2 + 6 + 12 + 20) / 10)


def test_half_pixel_resize_and_stream_function_derivatives():
    # psi linear in the two axes: the resize keeps it linear inside, the differences give constant winds
    a, b = 1.5, -0.7
    psi7 = np.fromfunction(lambda i, j, c: a * i + b * j + 0 * c, (7, 7, 90))
    psi = resize_half_pixel(psi7, (23, 23))
    assert psi.shape == (23, 23, 90)
    assert psi[0, 0, 0] == pytest.approx(0.0) and psi[-1, -1, 0] == pytest.approx(6 * a + 6 * b)  # edges held
    pos = (np.arange(23) + 0.5) * 7 / 23 - 0.5
    assert psi[11, 5, 0] == pytest.approx(a * pos[11] + b * pos[5])
    u, v = stream_to_wind(psi)
    assert u.shape == v.shape == (21, 21, 10, 9)
    assert np.allclose(u[3:-3, 3:-3], a * 7 / 23) and np.allclose(v[3:-3, 3:-3], -b * 7 / 23)


def _synthetic_weights(rng, width=8):
    sizes = [64, width, width, width, 7 * 7 * 90]
    kernels = [rng.normal(size=(m, n)).astype(np.float32) * 0.3 for m, n in zip(sizes[:-1], sizes[1:])]
    biases = [rng.normal(size=n).astype(np.float32) for n in sizes[1:]]
    return kernels, biases


def _pack(arr):
    return msgpack.ExtType(1, msgpack.packb((list(arr.shape), arr.dtype.name, arr.tobytes())))


def test_decoder_reads_a_flax_msgpack_and_decodes_a_field(tmp_path):
    rng = np.random.default_rng(1)
    kernels, biases = _synthetic_weights(rng)
    tree = {"params": {f"Dense_{i}": {"kernel": _pack(k), "bias": _pack(b)} for i, (k, b) in
                       enumerate(zip(kernels, biases))}}
    path = tmp_path / "w.msgpack"
    path.write_bytes(msgpack.packb(tree))
    w = load_decoder_weights(path)
    assert [k.shape for k in w.kernels] == [k.shape for k in kernels]
    z = rng.normal(size=64)
    u, v = decode_wind_grid(w, z)
    assert u.shape == v.shape == (21, 21, 10, 9)
    # by hand: MLP, then channels c = pressure * 9 + time
    h = z.astype(np.float32)
    for i in range(4):
        h = h @ kernels[i] + biases[i]
        h = np.maximum(h, 0) if i < 3 else h
    psi = resize_half_pixel(h.reshape(7, 7, 90).astype(float), (23, 23))
    assert u[4, 5, 2, 3] == pytest.approx((psi[6, 6, 2 * 9 + 3] - psi[4, 6, 2 * 9 + 3]) / 2, rel=1e-6)
    assert v[4, 5, 2, 3] == pytest.approx(-(psi[5, 7, 2 * 9 + 3] - psi[5, 5, 2 * 9 + 3]) / 2, rel=1e-6)
    # wrong layouts are one clear error
    (tmp_path / "bad.msgpack").write_bytes(msgpack.packb({"params": {"Dense_0": {}}}))
    with pytest.raises(InputError, match="Dense_0"):
        load_decoder_weights(tmp_path / "bad.msgpack")
    with pytest.raises(InputError, match="not found"):
        load_decoder_weights(tmp_path / "missing.msgpack")


@pytest.mark.shared
def test_wind_model_matches_bles_wind_samples(shared_data):
    """Reads ../shared/data/ble-arena: every seed's 5 forecast and true winds, to 1e-3 m/s (measured 3.0e-5)."""
    from stratotrack.steer.arena.runner import arena_wind

    arena = shared_data / "ble-arena"
    w = load_decoder_weights(arena / "offlineskies22_decoder.msgpack")
    worst_f = worst_t = 0.0
    for sc in load_scenarios(arena / "scenarios_seeds_0-99.json"):
        wind = arena_wind(w, sc)
        for s in sc.data["wind_samples"]:
            args = (s["x_km"] * 1000, s["y_km"] * 1000, s["p_pa"], s["t_h"] * 3600)
            fu, fv = wind.forecast_uv(*args)
            tu, tv = wind.truth_uv(*args)
            worst_f = max(worst_f, abs(fu - s["forecast_uv"][0]), abs(fv - s["forecast_uv"][1]))
            worst_t = max(worst_t, abs(tu - s["truth_uv"][0]), abs(tv - s["truth_uv"][1]))
    assert worst_f < 1e-3 and worst_t < 1e-3, (worst_f, worst_t)


# -- physics against BLE's numbers ----------------------------------------------------------------------------------
# BLE's buoyant-equilibrium start state of small_eval seed 0 (from its own code, recorded in the scenario file).
SEED0 = dict(pressure=12301.640625, mols_air=6389.237161455541, mols_gas=6830.0, gas_t=228.67654225025476,
             ambient_t=207.0435413155614, volume=1832.186599957926, superpressure=1416.4120581872394,
             atm_alpha=0.9911879301071167, x=30310.407344379702, y=-93936.15948664641, ir=315.0,
             lat=-9.204595565795898, lng=53.931724548339844, start="2013-11-18T03:23:59+00:00")


def test_superpressure_volume_and_stable_state_reproduce_bles_start_state():
    s = SEED0
    vol, sp = superpressure_and_volume(s["mols_gas"], s["mols_air"], s["gas_t"], s["pressure"])
    assert vol == pytest.approx(s["volume"], rel=1e-12) and sp == pytest.approx(s["superpressure"], rel=1e-10)
    sc = scenario_at(s["pressure"], s["x"], s["y"], start_utc=s["start"], station_lat_deg=s["lat"],
                     station_lng_deg=s["lng"], atm_alpha=s["atm_alpha"], upwelling_infrared=s["ir"])
    d = sc.data
    assert d["ambient_temperature"] == pytest.approx(s["ambient_t"], rel=1e-12)
    assert d["internal_temperature"] == pytest.approx(s["gas_t"], rel=1e-9)
    assert d["mols_air"] == pytest.approx(s["mols_air"], rel=1e-12)
    assert d["superpressure"] == pytest.approx(s["superpressure"], rel=1e-8)
    # BLE's equilibrium: the air ballast floats the *base* volume, so the stretched envelope (28 m3 more) starts
    # with a small free lift and rises a few metres per second until it settles
    atm = atmosphere_tables(s["atm_alpha"])
    rho = s["pressure"] * 0.028964922481160 / (8.3144621 * s["ambient_t"])
    assert rho * 1804.0 == pytest.approx(system_mass(s["mols_gas"], s["mols_air"]), rel=1e-12)
    w = vertical_speed(s["pressure"], s["ambient_t"], vol, system_mass(s["mols_gas"], s["mols_air"]))
    assert 0 < w < 5.0
    h, t = atm_at_pressure(s["pressure"], atm)
    assert atm_at_height(h, atm)[0] == pytest.approx(s["pressure"], rel=1e-10) and t == pytest.approx(s["ambient_t"])


def test_start_is_stable_and_stay_keeps_the_balloon_near_its_level():
    sc = scenario_at(11000.0)
    r = fly_episode(sc, make("stay"), wind=layered_wind([5000, 14000], lambda p: 0.0), n_decisions=240)
    assert r.end_state == "ok" and r.pump_wh == 0
    p = r.path["pressure"]
    assert abs(p[1] - p[0]) < 400 and np.nanmax(np.abs(p - 11000.0)) < 1500  # drifts with the day, stays near


def test_compressor_and_valve_follow_bles_tables():
    assert compressor_power(1.0) == 100 and compressor_power(1.05) == 100 and compressor_power(1.2) == 300
    assert compressor_power(1.225) == pytest.approx(350.0) and compressor_power(1.35) == 400
    assert compressor_efficiency(1.05, 100.0) == pytest.approx(0.4)
    # BLE reshapes its flat list of 52 efficiencies to 13 ratios x 4 powers; mirrored as it is
    assert compressor_efficiency(1.05, 400.0) == pytest.approx(0.2)  # row 0, column 3
    assert compressor_efficiency(1.075, 100.0) == pytest.approx(0.2)  # row 1, column 0
    assert compressor_efficiency(1.0625, 100.0) == pytest.approx(0.3)  # half-way between them
    assert compressor_efficiency(1.1, 200.0) == 0.0
    assert valve_mass_flow(1000.0, 10000.0, 220.0) < 0 and valve_mass_flow(0.0, 10000.0, 220.0) == 0.0


def test_pumping_raises_superpressure_and_venting_lowers_it():
    sc = scenario_at(10000.0)
    d = sc.data
    atm = atmosphere_tables(d["atm_alpha"])
    out = {}
    for action in (DOWN, STAY, UP):
        st = new_state(0, 0, d["pressure_pa"], d["ambient_temperature"], d["mols_lift_gas"], d["mols_air"],
                       d["internal_temperature"], d["envelope_volume"], d["superpressure"], d["battery_charge_wh"])
        simulate_interval(st, action, 0.0, 0.0, 18, 10.0, atm, 0.0, 0.0, sc.start_unix, 250.0)
        out[action] = st.copy()
    assert out[DOWN][S.NAIR] > out[STAY][S.NAIR] > out[UP][S.NAIR]
    assert out[DOWN][S.PUMP] > 0 and out[STAY][S.PUMP] == out[UP][S.PUMP] == 0
    assert out[DOWN][S.BAT] < out[STAY][S.BAT] - 0.5  # the sun differs only through the altitude


# -- power and safety layers ------------------------------------------------------------------------------------------
def test_sun_and_nights_at_the_equator():
    t_noon = scenario_at(10000.0, start_utc="2013-03-20T12:00:00+00:00").start_unix
    el, _, flux = sun_position(0.0, 0.0, t_noon)
    assert el > 80 and 1300 < flux < 1420
    assert sun_position(0.0, 0.0, t_noon + 12 * 3600)[0] < -80
    sunrise, sunset = next_sunrise_sunset(0.0, 0.0, t_noon)
    assert sunset - t_noon == pytest.approx(6.3 * 3600, abs=0.3 * 3600)  # -4.24 degrees: ~18 min after 18:00
    assert sunrise - sunset == pytest.approx(11.4 * 3600, abs=0.3 * 3600)


def test_power_layer_trips_on_a_night_with_too_little_battery():
    sc = scenario_at(7000.0, start_utc="2013-11-18T20:00:00+00:00", battery_soc=0.75)
    d = sc.data
    atm = atmosphere_tables(d["atm_alpha"])
    ends = {}
    for use in (True, False):
        st = new_state(0, 0, d["pressure_pa"], d["ambient_temperature"], d["mols_lift_gas"], d["mols_air"],
                       d["internal_temperature"], d["envelope_volume"], d["superpressure"], d["battery_charge_wh"])
        layer = PowerSafety(0.0, 0.0, sc.start_unix, BATTERY_CAPACITY_WH)
        refused = 0
        status = 0
        for _ in range(240):  # 12 h of a controller that always pumps, from 20:00 local
            a = layer(DOWN, sc.start_unix + st[S.T], st[S.BAT]) if use else DOWN
            refused += a != DOWN
            status = simulate_interval(st, a, 0.0, 0.0, 18, 10.0, atm, 0.0, 0.0, sc.start_unix, 250.0)
            if status:
                break
        ends[use] = (status, refused, st[S.BAT])
    assert ends[False][0] == 3  # without the layer the battery runs out before sunrise
    status, refused, battery = ends[True]
    assert status == 0 and refused > 50 and battery > 0.02 * BATTERY_CAPACITY_WH
    # by day the layer lets pumping through even at a low charge
    day = PowerSafety(0.0, 0.0, sc.start_unix + 14 * 3600, BATTERY_CAPACITY_WH)
    assert day(DOWN, sc.start_unix + 14 * 3600, 0.3 * BATTERY_CAPACITY_WH) == DOWN


def test_envelope_and_altitude_layers_with_hysteresis():
    env = EnvelopeSafety()
    assert env(DOWN, 1000.0) == DOWN
    assert env(DOWN, 200.0) == STAY and env(STAY, 100.0) == UP
    assert env(DOWN, 280.0) == STAY  # hysteresis: still LOW until above 300 Pa
    assert env(DOWN, 320.0) == DOWN
    assert env(DOWN, 2300.0) == UP and env(DOWN, 2100.0) == STAY and env(DOWN, 2000.0) == DOWN
    alt = AltitudeSafety()
    assert alt(DOWN, 15000.0) == UP and alt(DOWN, 15300.0) == STAY and alt(DOWN, 15500.0) == STAY
    assert alt(DOWN, 15600.0) == DOWN


def test_safety_layers_override_a_controller_that_would_end_the_flight():
    wind = layered_wind([5000, 14000], lambda p: 0.0)
    sc = scenario_at(10000.0)
    unsafe = fly_episode(sc, Always(DOWN), wind=wind, safety=False, reachable=False)
    assert unsafe.end_state in ("zero-pressure", "burst", "battery") and unsafe.steps < 960
    safe = fly_episode(sc, Always(DOWN), wind=wind, reachable=False)
    assert safe.end_state == "ok" and safe.steps == 960 and safe.overrides > 100
    assert np.nanmax(safe.path["superpressure"]) < MAX_SUPERPRESSURE and np.nanmin(safe.path["superpressure"]) > 0
    applied = safe.path["applied"][:-1]
    assert (applied == DOWN).sum() > 10 and (applied != DOWN).sum() > 100  # pumps until a layer stops it
    assert np.nanmin(safe.path["altitude"]) > 15240 - 300  # BLE's floor: 50,000 ft


# -- analytic arena winds ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["seeker", "stay", "random"])
def test_uniform_wind_twr_is_pure_drift_whatever_the_controller(name):
    wind = layered_wind([5000, 14000], lambda p: 3.0, lambda p: -1.0)
    sc = scenario_at(11000.0, -60000.0, 10000.0)
    n = 300
    r = fly_episode(sc, make(name, seed=3), wind=wind, n_decisions=n)
    k = np.arange(1, n + 1)
    drift = np.mean(np.hypot(-60000 + 3 * 180 * k, 10000 - 180 * k) <= 50000)
    assert r.end_state == "ok" and r.twr50 == pytest.approx(drift) and 0.3 < drift < 0.9


def test_seeker_holds_station_between_two_opposite_layers():
    wind = layered_wind([5000, 9000, 10000, 14000], lambda p: 5.0 if p <= 9000 else -5.0)
    sc = scenario_at(12000.0)
    seeker = fly_episode(sc, make("seeker"), wind=wind, n_decisions=480)
    stay = fly_episode(sc, make("stay"), wind=wind, n_decisions=480)
    assert stay.twr50 < 0.15  # drifting west at 5 m/s leaves 50 km in under 3 h
    assert seeker.twr50 > 0.95 and seeker.end_state == "ok"
    assert np.nanmax(np.abs(seeker.path["x"])) < 50_000


# -- BLE's own StationSeeker results ----------------------------------------------------------------------------------
@pytest.mark.shared
def test_seeker_reproduces_bles_station_seeker_on_a_seed(shared_data):
    """Reads ../shared/data/ble-arena: seed 5 flown by the heuristic against BLE's StationSeeker path."""
    arena = shared_data / "ble-arena"
    w = load_decoder_weights(arena / "offlineskies22_decoder.msgpack")
    sc = load_scenarios(arena / "scenarios_seeds_0-99.json")[5]
    ref = json.loads((arena / "reference_tiny_eval_seeds_0-9.json").read_text())["station_seeker"][5]
    r = fly_episode(sc, make("seeker"), w)
    assert r.twr50 == pytest.approx(ref["time_within_radius"], abs=0.01)
    bx = np.array([p["x"] for p in ref["flight_path"]])
    by = np.array([p["y"] for p in ref["flight_path"]])
    d = np.hypot(bx - r.path["x"][1:] / 1000, by - r.path["y"][1:] / 1000)
    assert d[:480].max() < 1.0  # km, over the first 24 h (measured: identical to 1e-3 km)


# -- the command line -------------------------------------------------------------------------------------------------
def test_parse_seeds():
    assert parse_seeds("0-3,7", list(range(10))) == [0, 1, 2, 3, 7]
    assert parse_seeds(None, [4, 5]) == [4, 5]
    for bad in ("x", "5-2", "12"):
        with pytest.raises(InputError):
            parse_seeds(bad, list(range(10)))


@pytest.mark.parametrize("args, expects", [
    (["MISSING.json"], "not found"),
    (["BADLAYOUT"], "expected a non-empty JSON list"),
    (["GOOD", "--seeds", "7"], "seed 7 is not in the scenario file"),
    (["GOOD", "--controller", "nope"], "unknown controller 'nope'"),
    (["GOOD"], "weights"),
])
def test_steer_arena_bad_input_is_one_line_exit_2(args, expects, tmp_path, capsys):
    good = tmp_path / "good.json"
    good.write_text(json.dumps([{**scenario_at(10000.0).data, "noise_u": [{}], "noise_v": [{}]}]))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"seeds": []}))
    subst = {"MISSING.json": str(tmp_path / "missing.json"), "BADLAYOUT": str(bad), "GOOD": str(good)}
    code = run(["steer", "arena"] + [subst.get(a, a) for a in args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and expects in err, err


def test_steer_group_without_a_command_prints_help(capsys):
    assert run(["steer"]) == 0
    assert "arena" in capsys.readouterr().out


@pytest.mark.shared
def test_steer_arena_cli_json(shared_data, capsys):
    """Reads ../shared/data/ble-arena: one short episode through the command line."""
    code = run(["steer", "arena", str(shared_data / "ble-arena" / "scenarios_seeds_0-99.json"), "--controller",
                "stay", "--seeds", "2", "--json", "--paths"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["summary"]["episodes"] == 1 and out["episodes"][0]["seed"] == 2
    path = out["episodes"][0]["path"]
    assert len(path["x"]) == 961 and path["t"][-1] == 48 * 3600 and set(path["applied"][:-1]) == {0.0}
    assert 0 <= out["episodes"][0]["twr50"] <= 1 and out["episodes"][0]["end_state"] == "ok"


def test_controller_sees_the_forecast_and_its_own_measurements_never_the_truth_ahead():
    """Forecast calm, truth a steady 2 m/s east: the controller's forecast says calm, its measurements say 2 m/s,
    and its history holds only the points already flown."""
    calm = layered_wind([5000, 14000], lambda p: 0.0).forecast

    class Truth:
        forecast = calm

        def forecast_uv(self, x, y, p, t):
            return calm.uv(x, y, p, t)

        def truth_uv(self, x, y, p, t):
            return 2.0, 0.0

    seen = []

    class Recorder(Always):
        def act(self, obs):
            seen.append(obs)
            return STAY

    fly_episode(scenario_at(11000.0), Recorder(STAY), wind=Truth(), n_decisions=20)
    assert len(seen) == 20
    for k, obs in enumerate(seen):
        assert obs.step == k and obs.t == pytest.approx(180.0 * k)
        assert obs.forecast is calm and obs.forecast.uv(obs.x, obs.y, obs.pressure, obs.t)[0] == 0.0
        assert obs.wind == (2.0, 0.0) and len(obs.history["t"]) == k + 1
        assert obs.history["t"].max() <= obs.t and obs.x == pytest.approx(2.0 * 180.0 * k)
        assert obs.reachable is not None and obs.reachable[0] < obs.reachable[1]
