"""Steering on real winds (stratotrack.steer.flight, st.steer, stratotrack steer): analytic winds whose answer is
known, the zero-pressure model's ballast and valve, the payload duty cycle, the power layer, bad input, exports."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr

import stratotrack as st
from stratotrack import atmosphere
from stratotrack.errors import InputError
from stratotrack.steer.control import DOWN, STAY, UP
from stratotrack.steer.goto import GreedyController
from stratotrack.timeutil import to_epoch_seconds
from stratotrack.wind import analytic

T0 = "2024-03-01T00:00:00Z"  # local midnight near 180 E ... the tests choose longitudes for day or night
DEG = 111_195.0  # m per degree of latitude on stratotrack's sphere


def layered(u_low, u_high, *, split=17500.0, v_low=0.0, v_high=0.0, lat=(-30.0, 30.0), lon=(-60.0, 60.0)):
    """A steady field: (u_low, v_low) below ``split - 500`` m, (u_high, v_high) above ``split + 500`` m, linear
    between; on a regional 1-degree grid."""
    la = np.arange(lat[0], lat[1] + 0.5, 1.0)
    lo = np.arange(lon[0], lon[1] + 0.5, 1.0)
    alt = np.array([0.0, 10000.0, split - 500.0, split + 500.0, 30000.0, 40000.0])
    hi = alt > split
    shape = (alt.size, la.size, lo.size)
    u = np.where(hi[:, None, None], u_high, u_low) * np.ones(shape)
    v = np.where(hi[:, None, None], v_high, v_low) * np.ones(shape)
    dims = ("altitude", "latitude", "longitude")
    return xr.Dataset(
        {"eastward_wind": (dims, u.astype(np.float32), {"standard_name": "eastward_wind", "units": "m s-1"}),
         "northward_wind": (dims, v.astype(np.float32), {"standard_name": "northward_wind", "units": "m s-1"})},
        coords={"altitude": ("altitude", alt, {"standard_name": "altitude", "units": "m", "positive": "up"}),
                "latitude": ("latitude", la, {"standard_name": "latitude", "units": "degrees_north"}),
                "longitude": ("longitude", lo, {"standard_name": "longitude", "units": "degrees_east"})},
        attrs={"title": "two layers"})


class Always:
    def __init__(self, action):
        self.action = action
        self.name = f"always {action}"

    def reset(self, obs):
        pass

    def act(self, obs):
        return self.action


def fly(wind, controller, duration="1d", **kw):
    kw.setdefault("target", (0.0, 0.0))
    kw.setdefault("time", T0)
    return st.steer(kw.pop("lat", 0.0), kw.pop("lon", 0.0), kw.pop("alt", 17000.0), wind=st.open_wind(wind),
                    controller=controller, duration=duration, **kw)


def test_two_layers_blowing_opposite_ways_hold_station_and_drift_does_not():
    wind = layered(5.0, -5.0)
    held = fly(wind, GreedyController())
    drift = fly(wind, Always(STAY))
    # drifting at 5 m/s leaves 50 km after 10,000 s: 11.6% of a day
    assert drift.summary["fraction_within_radius"] == pytest.approx(10000 / 86400, abs=0.01)
    assert held.summary["fraction_within_radius"] > 0.95
    assert held.summary["final_distance_km"] < 50.0
    assert held.summary["actions"]["up"] + held.summary["actions"]["down"] > 0  # it had to leave 17 km
    assert held.summary["events"] == []


def test_uniform_wind_nothing_helps_twr_equals_pure_drift():
    wind = analytic.uniform_wind(4.0, 1.0, resolution=2.0)
    steered = fly(wind, GreedyController())
    drift = fly(wind, Always(STAY))
    assert steered.summary["fraction_within_radius"] == drift.summary["fraction_within_radius"]
    # 50 km at hypot(4, 1) m/s, in 180 s decisions
    exact = 50_000.0 / math.hypot(4.0, 1.0) / 86400.0
    assert drift.summary["fraction_within_radius"] == pytest.approx(exact, abs=180 / 86400 + 1e-9)
    np.testing.assert_allclose(steered.log["distance"], drift.log["distance"], rtol=0, atol=1.0)


def test_go_to_finds_the_layer_that_blows_toward_the_target():
    # target 3 degrees (334 km) east; the low layer blows away from it, the high layer toward it at 10 m/s
    wind = layered(-3.0, 10.0)
    r = fly(wind, GreedyController(), alt=16000.0, target=(0.0, 3.0), duration="1d")
    assert r.summary["waypoints_reached"] == 1
    assert r.summary["min_distance_km"] < 50.0
    assert r.summary["final_distance_km"] < 50.0  # and then it keeps station
    reached = r.route[0]["reached"]
    assert 8 * 3600 < reached < 16 * 3600  # 284 km at 10 m/s, after venting 2 km up (about 2.5 h)
    assert r.log["alt"].max() > 17500.0


def test_waypoints_are_visited_in_turn_with_loiter():
    wind = layered(-8.0, 8.0)
    r = st.steer(0.0, 0.0, 17000.0, T0, waypoints=["0,0,50km,2h", "0,2,50km,1h"], wind=st.open_wind(wind),
                 controller=GreedyController(), duration="1d")
    assert [w["waypoint"] for w in r.route] == [0, 1]
    assert r.route[0]["left"] == pytest.approx(2 * 3600, abs=200)
    assert r.summary["final_distance_km"] < 50.0


def test_forecast_error_moves_the_truth_but_not_the_forecast():
    wind = st.open_wind(analytic.uniform_wind(5.0, 0.0, resolution=2.0))
    a = st.steer(0.0, 0.0, 17000.0, T0, target=(0.0, 0.0), wind=wind, controller=Always(STAY), duration="12h")
    b = st.steer(0.0, 0.0, 17000.0, T0, target=(0.0, 0.0), wind=wind, controller=Always(STAY), duration="12h",
                 forecast_error=True, seed=3)
    c = st.steer(0.0, 0.0, 17000.0, T0, target=(0.0, 0.0), wind=wind, controller=Always(STAY), duration="12h",
                 forecast_error=True, seed=3)
    # the same seed, the same flight; a perfect forecast drifts at exactly 5 m/s
    np.testing.assert_array_equal(b.log["x"], c.log["x"])
    # (5 m/s at 17 km is 5 R / (R + 17 km) m/s over the ground)
    np.testing.assert_allclose(a.log["x"][-1], 5.0 * 12 * 3600 * 6371.0 / 6388.0, rtol=1e-3)
    assert abs(b.log["x"][-1] - a.log["x"][-1]) > 1000.0
    assert "Ornstein-Uhlenbeck" in b.summary["truth_wind"]


# -- the zero-pressure model ------------------------------------------------------------------------------------
def zp_run(z0, gas, ballast, command, hours, *, mass=250.0, volume=None, rate=0.02):
    from stratotrack.engine import Integrator
    from stratotrack.flight import Profile, Stage

    wind = st.open_wind(analytic.uniform_wind(0.0, 0.0, resolution=5.0))
    t0 = 1.7e9
    prof = Profile("zp", [Stage("float", "zeropressure", (mass, volume, 0.0, rate), "below", 0.0, "landing")],
                   "start", False, {})
    codes, vals = prof.encode(1)
    integ = Integrator(wind, np.array([t0]), np.zeros(1), np.zeros(1), np.array([z0]), codes, vals,
                       np.array([t0 + hours * 3600.0]), step=20.0, output_interval=600.0,
                       state=np.array([[gas, ballast]]), command=np.array([float(command)]), backend="serial")
    integ.run()
    return integ


def float_altitude(mass, ballast, volume):
    from stratotrack.flight.models import zeropressure as zp

    rho = (mass + ballast) / (volume * (1.0 - zp.M_GAS / zp.M_AIR))
    zs = np.arange(10000.0, 45000.0, 1.0)
    return float(zs[np.argmin(np.abs(atmosphere.density(zs) - rho))])


def test_zero_pressure_floats_where_the_full_envelope_lifts_its_weight():
    from stratotrack.flight.models import zeropressure as zp

    volume = 20000.0
    # launched at 20 km with 30% more gas than fills the envelope there: it rises, vents the excess, floats
    gas = 1.3 * zp.full_gas(volume, 20000.0)
    integ = zp_run(20000.0, gas, 60.0, STAY, 4, volume=volume)
    z_float = float_altitude(250.0, 60.0, volume)
    assert integ.alt[0] == pytest.approx(z_float, abs=30.0)
    assert integ.state[0, 0] == pytest.approx(zp.full_gas(volume, z_float), rel=0.01)  # excess gone
    assert integ.state[0, 1] == 60.0


def test_zero_pressure_ballast_drops_until_exhausted_then_floats_higher_and_the_valve_brings_it_down():
    from stratotrack.flight.models import zeropressure as zp

    volume = 20000.0
    z1 = float_altitude(250.0, 60.0, volume)
    gas = zp.full_gas(volume, z1)
    up = zp_run(z1, gas, 60.0, UP, 3, volume=volume, rate=0.02)  # 60 kg at 20 g/s: 3,000 s
    assert 0.0 <= up.state[0, 1] < 1e-3
    assert up.alt[0] == pytest.approx(float_altitude(250.0, 0.0, volume), abs=40.0)
    down = zp_run(z1, gas, 60.0, DOWN, 12, volume=volume)
    raw = down.result()
    assert raw.status[0] == 1  # landed: the valve let out the lift
    assert down.alt[0] == pytest.approx(0.0, abs=1e-6)


def test_zero_pressure_steered_flight_reports_ballast_exhausted():
    wind = analytic.uniform_wind(1.0, 0.0, resolution=2.0)
    r = fly(wind, Always(UP), balloon="zero-pressure", alt=30000.0, duration="6h",
            balloon_options={"ballast": 30.0, "ballast_rate": 0.02})
    assert "ballast_exhausted" in r.events
    t_ex = r.events["ballast_exhausted"][0] - to_epoch_seconds(T0)
    assert 1500.0 - 1 <= t_ex <= 1500.0 + 180.0 + 1  # 30 kg at 20 g/s, seen at the next decision
    assert 0.0 <= r.summary["ballast_left_kg"] < 0.01  # (the drop tapers: exhausted below 10 g)


def test_latex_flight_rises_bursts_and_lands_without_steering():
    wind = analytic.uniform_wind(5.0, 0.0, resolution=2.0)
    r = fly(wind, "greedy", balloon="latex", alt=0.0, duration="6h")
    assert r.summary["end_state"] == "landing"
    assert r.summary["controller"] is None
    names = list(r.trajectories.event.values)
    assert names == ["launch", "burst", "landing"]


# -- payload and power -------------------------------------------------------------------------------------------
def test_payload_runs_only_over_its_site_and_only_with_battery():
    from stratotrack.geodesy import great_circle_distance
    from stratotrack.steer.flight import PowerSystem

    wind = analytic.uniform_wind(10.0, 0.0, resolution=2.0)
    site = "site,0,1.5,30"  # 167 km east, 30 km radius: passed from about 3.8 h to 5.5 h
    r = fly(wind, Always(STAY), duration="10h", payload_power=200.0, payload_sites=[site], lon=0.0,
            target=(0.0, 0.0))
    on = r.log["payload"][:-1].astype(bool)
    d = great_circle_distance(r.log["lat"][:-1], r.log["lon"][:-1], 0.0, 1.5)
    assert on.any()
    assert np.all(d[on] <= 30_000.0)
    assert r.summary["payload_hours"] == pytest.approx(60_000 / 10 / 3600, abs=0.11)
    assert r.summary["energy"]["payload_wh"] == pytest.approx(200.0 * r.summary["payload_hours"], rel=1e-9)
    assert len(r.payload_intervals) == 1
    # a battery at its reserve: the same pass, no payload
    low = fly(wind, Always(STAY), duration="10h", payload_power=200.0, payload_sites=[site],
              power=PowerSystem(start_soc=0.2, reserve=0.2))  # (midnight at 0 E: no sun until ~6 h)
    assert low.summary["payload_hours"] == 0.0
    assert low.summary["energy"]["payload_wh"] == 0.0


def test_power_layer_trips_on_a_night_with_too_little_battery():
    from stratotrack.steer.flight import PowerSystem

    wind = layered(5.0, -5.0)
    # 0 N 0 E at 20:00 UTC: night; 30% of the battery does not last until sunrise at the night load
    night = fly(wind, Always(DOWN), duration="6h", time="2024-03-01T20:00:00Z",
                power=PowerSystem(start_soc=0.3), band=(14700.0, 18500.0))
    assert night.summary["safety_overrides"]["power"] > 0
    assert night.summary["energy"]["compressor_wh"] == 0.0
    full = fly(wind, Always(DOWN), duration="1h", time="2024-03-01T20:00:00Z", band=(14700.0, 18500.0))
    assert full.summary["safety_overrides"]["power"] == 0
    assert full.summary["energy"]["compressor_wh"] > 0.0


# -- bad input ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw, words", [
    ({"target": (50.0, 0.0)}, ["target", "50", "domain of the winds", "latitudes -30 to 30"]),
    ({"band": (25000.0, 30000.0)}, ["altitude band 25,000 to 30,000 m", "reach"]),
    ({"payload_power": 5000.0}, ["payload power 5000 W", "solar panels"]),
])
def test_bad_input_is_one_line_naming_the_value(kw, words):
    wind = layered(5.0, -5.0)
    with pytest.raises(InputError) as e:
        fly(wind, GreedyController(), duration="1h", **kw)
    msg = str(e.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, msg


def test_cli_bad_inputs_exit_2_with_one_line(tmp_path, capsys):
    from stratotrack.cli.app import run

    path = tmp_path / "layers.nc"
    layered(5.0, -5.0).to_netcdf(path)
    base = ["steer", "--wind", str(path), "--start", "0,0,17000", "--time", T0, "--duration", "1h"]
    cases = [
        (["--target", "50,0"], "beyond the domain of the winds"),
        (["--target", "0,0", "--band", "25000,30000"], "outside the balloon's reach"),
        (["--target", "0,0", "--payload-power", "5000"], "above the solar panels' output"),
        (["--target", "0,0", "--balloon", "blimp"], "blimp"),
        (["--target", "0,0", "--controller", "oracle"], "oracle"),
        (["--waypoint", "0,1,10parsecs"], "10parsecs"),
        (["--target", "0,0", "--band", "1000-2000"], "band '1000-2000' is not understood; expected LOW,HIGH"),
    ]
    for extra, words in cases:
        capsys.readouterr()
        code = run([*base, *extra])
        err = capsys.readouterr().err
        assert code == 2, (extra, err)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1, err
        assert words in lines[0], err


# -- exports and the command line -------------------------------------------------------------------------------
def test_steered_flight_exports_are_readable_and_the_cli_writes_them(tmp_path):
    import stratotrack.io as sio

    r = fly(layered(5.0, -5.0), GreedyController(), duration="6h", payload_power=100.0)
    ds = r.trajectories
    for ext in ("csv", "geojson", "kml", "gpx", "czml", "nc"):
        out = tmp_path / f"flight.{ext}"
        sio.write(ds, out)
        assert out.stat().st_size > 200
    back = xr.open_dataset(tmp_path / "flight.nc")
    n = int(back.n_obs.values[0])
    np.testing.assert_allclose(back.latitude.values[0, :n], ds.latitude.values[0, :n])
    assert json.loads(back.attrs["steer"])["balloon"] == "superpressure"
    gj = json.loads((tmp_path / "flight.geojson").read_text())
    assert gj["type"] == "FeatureCollection"
    lines = (tmp_path / "flight.csv").read_text().splitlines()
    assert len(lines) > n  # a header and a row per point


def test_cli_steer_json_plot_and_assess_accept_a_steered_flight(tmp_path, capsys):
    from stratotrack.cli.app import run

    path = tmp_path / "layers.nc"
    layered(5.0, -5.0).to_netcdf(path)
    out = tmp_path / "flight.nc"
    plot = tmp_path / "flight.png"
    capsys.readouterr()
    code = run(["steer", "--wind", str(path), "--start", "0,0,17000", "--time", T0, "--target", "0,0", "--radius",
                "50km", "--controller", "greedy", "--duration", "12h", "--payload-power", "150", "--payload-site",
                "here,0,0,100", "-o", str(out), "--plot", str(plot), "--json"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    summary = json.loads(cap.out)
    assert summary["fraction_within_radius"] > 0.9
    assert summary["payload_hours"] > 0
    assert out.exists() and plot.stat().st_size > 5000
    code = run(["assess", "--track", str(out), "--site", "here,0,0,100", "--no-termination", "--json"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    report = json.loads(cap.out)
    assert report["sites"][0]["site"]["name"] == "here"
    assert report["sites"][0]["passes"][0]["minutes"] == pytest.approx(720.0, abs=10.0)
    # without a target or waypoints the group prints its help (and 'arena' stays a subcommand)
    assert run(["steer"]) == 0
    assert "arena" in capsys.readouterr().out


def test_assess_accepts_a_steered_result_directly():
    from stratotrack.analysis import Site

    r = fly(layered(5.0, -5.0), GreedyController(), duration="6h")
    rep = st.assess(r, [Site.point("here", 0.0, 0.0, 100.0)], termination=False)
    assert rep["kind"] == "flight"
    assert rep["sites"][0]["passes"][0]["minutes"] == pytest.approx(360.0, abs=10.0)


def test_observations_are_in_the_targets_frame_and_flight_time():
    seen = []

    class Recorder(Always):
        def act(self, obs):
            seen.append(obs)
            return STAY

    fly(analytic.uniform_wind(5.0, 0.0, resolution=2.0), Recorder(STAY), duration="2h", target=(0.0, 0.5))
    assert seen[0].t == 0.0 and seen[0].step == 0
    assert seen[0].x == pytest.approx(-0.5 * DEG, rel=1e-3) and abs(seen[0].y) < 1.0
    last = seen[-1]
    h = last.history
    assert h["t"].size == len(seen) - 1
    assert 0.0 <= h["t"].min() and h["t"].max() < last.t  # flight time, measured before now
    # the wind it measured: 5 m/s at about 17 km is 5 R / (R + 17 km) over the ground
    np.testing.assert_allclose(h["u"], 5.0 * 6371.0 / 6388.0, rtol=1e-3)
    np.testing.assert_allclose(h["v"], 0.0, atol=1e-6)
    lo, hi = last.reachable
    assert last.pressure_min <= lo < hi <= last.pressure_max


@pytest.mark.parametrize("model, cmd", [("superpressure", DOWN), ("superpressure", UP), ("zeropressure", UP)])
def test_balloon_models_give_the_same_flight_on_the_compiled_and_the_python_backends(model, cmd):
    """The python backend runs the kernels' twins (the mechanism the gpu backend compiles for CUDA): the balloon
    models' physics must reach them as twins too."""
    from stratotrack.engine import Integrator
    from stratotrack.flight import Profile, Stage
    from stratotrack.flight import superpressure as sp
    from stratotrack.flight.models import superpressure as spm
    from stratotrack.flight.models import zeropressure as zp

    wind = st.open_wind(analytic.uniform_wind(3.0, 1.0, resolution=5.0))
    if model == "superpressure":
        params = (sp.MOLS_LIFT_GAS, 225.0, sp.ENVELOPE_MASS, sp.PAYLOAD_MASS)
        state = (spm.state_at(17000.0, sp.MOLS_LIFT_GAS, 225.0)[0], 0.0)
    else:
        params, state = (250.0, 20000.0, 3.0, 0.02), (zp.full_gas(20000.0, 17000.0), 30.0)
    prof = Profile("x", [Stage("f", model, params, "below", 0.0, "landing")], "start", False, {})
    runs = []
    for backend in ("serial", "python"):
        codes, vals = prof.encode(1)
        integ = Integrator(wind, np.array([1.7e9]), np.zeros(1), np.zeros(1), np.array([17000.0]), codes, vals,
                           np.array([1.7e9 + 1800.0]), step=20.0, state=np.array([state]),
                           command=np.array([float(cmd)]), backend=backend)
        integ.run()
        runs.append((integ.alt[0], *integ.state[0], integ.lat[0], integ.lon[0]))
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-12, atol=1e-12)
    assert abs(runs[0][0] - 17000.0) > 100.0  # it moved


def test_a_separate_truth_moves_the_balloon_and_a_schedule_runs_the_payload():
    fc = st.open_wind(analytic.uniform_wind(5.0, 0.0, resolution=2.0))
    truth = st.open_wind(analytic.uniform_wind(-2.0, 3.0, resolution=2.0))
    seen = []

    class Recorder(Always):
        def act(self, obs):
            seen.append(obs)
            return STAY

    r = st.steer(0.0, 0.0, 17000.0, T0, target=(0.0, 0.0), wind=fc, truth=truth, controller=Recorder(STAY),
                 duration="4h", payload_power=80.0, payload_schedule=[(3600.0, 7200.0)])
    k = 6371.0 / 6388.0
    assert r.log["x"][-1] == pytest.approx(-2.0 * k * 4 * 3600, rel=2e-3)
    assert r.log["y"][-1] == pytest.approx(3.0 * k * 4 * 3600, rel=2e-3)
    # the controller's forecast is the other field's
    u, v = seen[-1].forecast.uv(0.0, 0.0, 8000.0, 0.0)
    assert (float(u), float(v)) == pytest.approx((5.0, 0.0), abs=1e-4)
    assert r.payload_intervals == [(3600.0, 7200.0)]
    assert r.summary["payload_hours"] == pytest.approx(1.0)
    assert "perfect forecast" not in r.summary["truth_wind"]
