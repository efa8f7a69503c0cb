"""The model seam and the controller hook: declared models with state and commands, and a controller called every
few minutes of model time, held to the NumPy reference (stratotrack.engine.reference) on the sheared, time-varying
pressure-level field of test_engine_reference; nested look-ahead runs inside a controller; bad controller output.
"""

import numpy as np
import pytest
from test_engine_reference import LAT, LON, T0, field

from stratotrack.engine import Integrator
from stratotrack.engine.kernels import BLOCK
from stratotrack.engine.reference import rk4_reference
from stratotrack.errors import InputError
from stratotrack.flight import Profile, Stage, models
from stratotrack.geodesy import great_circle_distance, path_length

H = 120.0
EVERY = 3  # the controller decides every 3 steps (360 s)
NSTEPS = 60
N = LAT.size


def cycle(view):
    """Up, stay, down in turn, shifted per particle (independent of rounding: a function of the decision time)."""
    k = int(round((view.t - T0) / (EVERY * H)))
    return np.array([1.0, 0.0, -1.0])[(k + np.arange(view.lat.size)) % 3]


def valve_run(lat, lon, alt, energy, controller, order=None, chunk=None):
    n = lat.size
    stage = Stage("fly", "valve", (2.0, 1.5, 10.0), "none", None, "end")
    codes, vals = Profile("test", [stage]).encode(n)
    t0 = np.full(n, T0)
    integ = Integrator(field("pressure levels"), t0, lat, lon, alt, codes, vals, t0 + H * NSTEPS, step=H,
                       state=np.stack([energy, np.zeros(n)], axis=1), controller=controller,
                       control_interval=EVERY * H)
    integ.run()
    return integ


def test_valve_model_under_a_controller_matches_the_reference():
    alt = np.full(N, 18000.0)
    # some batteries run out during the run (10 W for at most 7200 s)
    energy = np.where(np.arange(N) % 2 == 0, 1e6, 2.0e4)
    integ = valve_run(LAT, LON, alt, energy, cycle)
    raw = integ.result()
    rla, rlo, rz, rq0, rq1, rcmd = rk4_reference(field("pressure levels"), T0, LAT, LON, alt, H, NSTEPS,
                                                 model="valve", params=(2.0, 1.5, 10.0),
                                                 state=np.stack([energy, np.zeros(N)], axis=1),
                                                 controller=cycle, every=EVERY, full=True)
    assert np.all(raw.n_obs == NSTEPS + 1)
    lengths = np.array([path_length(rla[:, i], rlo[:, i]) for i in range(N)])
    d = great_circle_distance(raw.lat.T, raw.lon.T, rla, rlo)
    assert np.all(d.max(axis=0) / lengths < 1e-9)
    np.testing.assert_allclose(raw.alt.T, rz, rtol=1e-12, atol=1e-7)
    np.testing.assert_allclose(integ.state, np.stack([rq0[-1], rq1[-1]], axis=1), rtol=1e-12, atol=1e-6)
    np.testing.assert_array_equal(integ.command, rcmd[-1])
    # the commands were obeyed: altitudes went up and down; empty batteries stopped obeying
    assert np.ptp(rz, axis=0).min() > 500.0
    assert np.all(integ.state[1::2, 0] <= 0.0) and np.all(integ.state[::2, 0] > 0.0)
    np.testing.assert_allclose(integ.state.sum(axis=1), energy, rtol=1e-12)  # energy + work is conserved


def test_paths_under_a_controller_do_not_depend_on_which_particles_share_a_block():
    rng = np.random.default_rng(5)
    n = 2 * BLOCK + 3
    lat, lon = rng.uniform(-60.0, 60.0, n), rng.uniform(-180.0, 180.0, n)
    alt, energy = rng.uniform(15000.0, 22000.0, n), rng.uniform(1e4, 1e5, n)
    a = valve_run(lat, lon, alt, energy, cycle).result()
    perm = rng.permutation(n)

    def permuted(view):  # the same decisions for the same particles (particle j here is perm[j] there)
        k = int(round((view.t - T0) / (EVERY * H)))
        return np.array([1.0, 0.0, -1.0])[(k + perm) % 3]

    b = valve_run(lat[perm], lon[perm], alt[perm], energy[perm], permuted).result()
    for x, y in ((a.time, b.time), (a.lat, b.lat), (a.lon, b.lon), (a.alt, b.alt)):
        np.testing.assert_array_equal(x[perm], y)


def test_steer_follows_the_commanded_altitude_and_the_reference():
    alt = np.full(N, 20000.0)
    targets = np.linspace(16000.0, 24000.0, N)
    stage = Stage("steer", "steer", (60.0, 3.0, 3.0), "none", None, "end")
    codes, vals = Profile("test", [stage]).encode(N)
    t0 = np.full(N, T0)
    integ = Integrator(field("pressure levels"), t0, LAT, LON, alt, codes, vals, t0 + H * NSTEPS, step=H,
                       command=targets)
    integ.run()
    raw = integ.result()
    rla, rlo, rz = rk4_reference(field("pressure levels"), T0, LAT, LON, alt, H, NSTEPS, model="steer",
                                 params=(60.0, 3.0, 3.0), command=targets)
    np.testing.assert_allclose(raw.alt.T, rz, rtol=1e-12, atol=1e-7)
    lengths = np.array([path_length(rla[:, i], rlo[:, i]) for i in range(N)])
    assert np.all(great_circle_distance(raw.lat.T, raw.lon.T, rla, rlo).max(axis=0) / lengths < 1e-9)
    np.testing.assert_allclose(integ.alt, targets, atol=1.0)  # 2 h at up to 3 m/s covers 4 km


def test_a_controller_may_run_the_engine_on_a_look_ahead():
    """A planner: at each decision, each balloon tries three altitudes for the next hour in a nested run on the
    same prepared wind and picks the one that takes it furthest east.  The outer run must equal a replay of the
    same decisions without nesting (the nested runs disturb nothing of the outer one)."""
    wind = field("pressure levels")
    decisions = []
    stage = Stage("steer", "steer", (60.0, 5.0, 5.0), "none", None, "end")
    options = np.array([-2000.0, 0.0, 2000.0])

    def planner(view):
        n = view.lat.size
        la, lo, z = (np.repeat(a, options.size) for a in (view.lat, view.lon, view.alt))
        target = z + np.tile(options, n)
        codes, vals = Profile("look", [stage]).encode(la.size)
        t = np.repeat(view.time, options.size)
        look = Integrator(wind, t, la, lo, z, codes, vals, t + 3600.0 + H, step=H, output_interval=3600.0,
                          command=target)
        look.advance(view.t + 3600.0)
        east = ((look.lon - lo + 180.0) % 360.0 - 180.0).reshape(n, options.size)
        choice = target.reshape(n, options.size)[np.arange(n), np.argmax(east, axis=1)]
        decisions.append(choice)
        return choice

    def replay(view):
        replay.k += 1
        return decisions[replay.k]

    replay.k = -1
    lat, lon = LAT[:6], LON[:6]
    codes, vals = Profile("plan", [stage]).encode(lat.size)
    t0 = np.full(lat.size, T0)
    alt = np.full(lat.size, 19000.0)

    def outer(controller):
        integ = Integrator(wind, t0, lat, lon, alt, codes, vals, t0 + 4 * 3600.0, step=H,
                           command=alt, controller=controller, control_interval=1800.0)
        integ.run()
        return integ.result()

    a = outer(planner)
    assert len(decisions) >= 8 and np.ptp(np.array(decisions)) >= 2000.0  # it did steer
    b = outer(replay)
    for x, y in ((a.time, b.time), (a.lat, b.lat), (a.lon, b.lon), (a.alt, b.alt)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("answer, words", [
    (lambda v: np.zeros(3), ["bad_controller", "shape (3,)", f"({N},)"]),
    (lambda v: np.full(v.lat.size, np.nan), ["bad_controller", "nan", "finite"]),
    (lambda v: np.full(v.lat.size, 2.0), ["bad_controller", "command 2", "valve", "[-1.0, 0.0, 1.0]"]),
    (lambda v: "up", ["bad_controller", "'up'"]),
])
def test_bad_controller_output_stops_the_run_with_one_sentence(answer, words):
    def bad_controller(view):
        return answer(view)

    with pytest.raises(InputError) as e:
        valve_run(LAT, LON, np.full(N, 18000.0), np.full(N, 1e5), bad_controller)
    msg = str(e.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, msg


def test_models_are_declared_once_with_unique_codes():
    codes = [m.code for m in models.MODELS.values()]
    assert len(set(codes)) == len(codes)
    assert {"rate", "drag", "target", "steer", "valve"} <= set(models.MODELS)
    from stratotrack.flight import profiles

    assert profiles.MODELS is models.CODES
    with pytest.raises(InputError, match="takes 1"):
        Stage("up", "rate", (1.0, 2.0), "none", None, "end")


def test_blocks_whose_particles_are_in_different_models_follow_the_same_paths_as_particles_alone():
    """The kernels evaluate a block's model once for all its rows when its running particles share a model, and
    row by row when they do not: standard flights with different burst altitudes (so that blocks hold ascending
    and descending particles at once) must follow bit-identical paths to the same flights run one at a time."""
    from stratotrack.flight import standard

    rng = np.random.default_rng(11)
    n = BLOCK + 4
    lat, lon = rng.uniform(-50.0, 50.0, n), rng.uniform(-180.0, 180.0, n)
    burst = rng.uniform(14000.0, 26000.0, n)
    z0 = np.full(n, 1000.0)
    t0 = np.full(n, T0)

    def run(rows, backend):
        codes, vals = standard(6.0, burst[rows], 7.0, start_altitude=z0[rows]).encode(rows.size)
        integ = Integrator(field("pressure levels"), t0[rows], lat[rows], lon[rows], z0[rows], codes, vals,
                           t0[rows] + 4 * 3600.0, step=H, output_interval=600.0, backend=backend)
        integ.run()
        return integ.result()

    together = run(np.arange(n), "cpu")
    assert np.all(together.status == 1)  # all landed
    for i in range(0, n, 5):
        alone = run(np.array([i]), "serial")
        k = alone.n_obs[0]
        assert together.n_obs[i] == k
        for x, y in ((together.time, alone.time), (together.lat, alone.lat), (together.lon, alone.lon),
                     (together.alt, alone.alt)):
            np.testing.assert_array_equal(x[i, :k], y[0, :k])


@pytest.mark.parametrize("backward", [False, True])
def test_records_kept_in_locality_order_change_nothing(monkeypatch, backward):
    """run() with a controller keeps the particles' records physically in locality order (permuted again at each
    re-order) and puts them back when it returns.  Everything must be identical to the same run with the records
    left in the particles' order (physical_order False): outputs, events, status, clamped counts, final state, the
    views each decision saw, a change the controller makes to the stages, and streaming take_chunks."""
    from stratotrack.engine import runner

    monkeypatch.setattr(runner, "REORDER_SECONDS", 4 * H)  # re-ordered (and permuted) many times in the run
    rng = np.random.default_rng(21)
    n = 3 * BLOCK + 5
    lat, lon = rng.uniform(-75.0, 75.0, n), rng.uniform(-180.0, 180.0, n)
    alt, energy = rng.uniform(15000.0, 22000.0, n), rng.uniform(1e4, 1e5, n)
    stage = Stage("fly", "valve", (2.0, 1.5, 10.0), "none", None, "end")
    codes, vals = Profile("test", [stage]).encode(n)
    sgn = -1.0 if backward else 1.0
    t0 = np.full(n, T0) + sgn * rng.integers(0, 4, n) * H  # some start later (or earlier backward)
    t_end = t0 + sgn * H * rng.integers(NSTEPS // 3, NSTEPS, n)  # some end mid-run: events, statuses

    def run(physical):
        seen = []

        def controller(view):
            seen.append((view.t, view.lat.copy(), view.lon.copy(), view.alt.copy(), view.time.copy(),
                         view.state.copy(), view.command.copy(), view.stage.copy(), view.running.copy()))
            if len(seen) == 4:  # the caller may change the stages between calls: here, half the ascent rates
                view.integrator.vals[::2, 0, 0] = 3.0
            # a function of each particle's own state: a permutation bug sends another particle's command
            return np.where(view.alt < 17000.0 + 20.0 * view.lat, 1.0,
                            np.where(view.state[:, 0] > 5e4, -1.0, 0.0))

        integ = Integrator(field("pressure levels"), t0, lat, lon, alt, codes, vals.copy(), t_end, step=H,
                           output_interval=2 * H, backward=backward, state=np.stack([energy, np.zeros(n)], axis=1),
                           controller=controller, control_interval=EVERY * H)
        integ.physical_order = physical
        integ.run()
        return integ, seen

    a, seen_a = run(True)
    b, seen_b = run(False)
    assert len(seen_a) == len(seen_b) > 10
    for x, y in zip(seen_a, seen_b):
        for u, v in zip(x, y):
            np.testing.assert_array_equal(u, v)
    ra, rb = a.result(), b.result()
    for f in ("time", "lat", "lon", "alt", "stage", "n_obs", "ev_time", "ev_lat", "ev_lon", "ev_alt", "ev_kind",
              "status", "clamped"):
        np.testing.assert_array_equal(getattr(ra, f), getattr(rb, f), err_msg=f)
    for f in ("t", "lat", "lon", "alt", "state", "command", "stage", "status", "next_out", "t_end", "vals"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    # it did things: particles ended at many times (their events), commands moved them up and down
    assert np.unique(ra.ev_time[:, 0]).size > 10 and np.ptp(ra.alt[np.isfinite(ra.alt)]) > 1000.0
    assert a._pid is None  # records back in the particles' order
    # the same particles again from the end state: streaming chunks equal too
    for integ in (a, b):
        integ.t_end[:] = integ.t + sgn * 6 * H
        integ.status[:] = 0
        integ.take_chunks()
        integ.run()
    for x, y in zip(a.take_chunks(), b.take_chunks()):
        for u, v in zip(x, y):
            np.testing.assert_array_equal(u, v)


def test_a_bad_command_names_the_particle_in_its_own_order_with_records_in_locality_order():
    rng = np.random.default_rng(3)
    n = 2 * BLOCK + 1
    lat, lon = rng.uniform(-60.0, 60.0, n), rng.uniform(-180.0, 180.0, n)
    bad = 7

    def controller(view):
        if view.t > T0 + 5 * EVERY * H:  # after re-orders
            return np.where(np.arange(n) == bad, np.where(view.running, 5.0, 0.0), 0.0)
        return np.zeros(n)

    stage = Stage("fly", "valve", (2.0, 1.5, 10.0), "none", None, "end")
    codes, vals = Profile("test", [stage]).encode(n)
    t0 = np.full(n, T0)
    stopped = []
    for physical in (True, False):
        integ = Integrator(field("pressure levels"), t0, lat, lon, np.full(n, 18000.0), codes, vals,
                           t0 + H * NSTEPS, step=H, controller=controller, control_interval=EVERY * H)
        integ.physical_order = physical
        with pytest.raises(InputError, match=f"command 5 for particle {bad} "):
            integ.run()
        stopped.append(integ)
    # the run stopped with the records back in the particles' order
    for f in ("t", "lat", "lon", "alt", "state", "command", "status"):
        np.testing.assert_array_equal(getattr(stopped[0], f), getattr(stopped[1], f), err_msg=f)
