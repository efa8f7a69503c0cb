"""The planner controller on BLE's station-keeping episodes: TWR50, pump energy, end states and time per episode.

Run:  python benchmarks/steer_planner.py [--seeds 0-99] [--controllers planner,seeker] [--jobs 2]
                                         [--data ../shared/data/ble-arena] [--set KEY=VALUE ...] [--json OUT.json]

Flies every chosen seed of BLE's ``small_eval`` suite with each controller (``--jobs`` worker processes, each
episode on one process) and prints:
  * per seed: TWR50, pump energy per day, end state, wall and CPU seconds, and the planner's own planning
    seconds; for seeds 0-9 BLE's StationSeeker and Perciatelli44 beside it;
  * per controller: mean TWR50 with its standard error, mean pump energy per day, end states, wall and CPU time
    per episode (mean and max) and the load average before and after (the machine may be shared: CPU seconds
    are the figure to compare);
  * with two controllers: the mean TWR50 difference (paired, with its standard error) and the pump-energy ratio.
``--set`` changes a planner setting (a field of ``stratotrack.steer.planner.PlannerConfig``), e.g.
``--set replan_every=2``.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1]
_W = {}


def _init(data: str) -> None:
    from stratotrack.steer.arena.runner import load_scenarios
    from stratotrack.steer.arena.wind import load_decoder_weights

    data = Path(data)
    _W["scenarios"] = {s.seed: s for s in load_scenarios(data / "scenarios_seeds_0-99.json")}
    _W["weights"] = load_decoder_weights(data / "offlineskies22_decoder.msgpack")


def _make(name: str, seed: int, settings: dict):
    from stratotrack.steer.registry import make

    if name == "planner" and settings:
        from stratotrack.steer.planner import PlannerController

        return PlannerController(**settings)
    return make(name, seed=seed)


def _fly(job):
    from stratotrack.steer.arena.runner import fly_episode

    name, seed, settings = job
    c = _make(name, seed, settings)
    cpu = time.process_time()
    r = fly_episode(_W["scenarios"][seed], c, _W["weights"])
    row = r.summary()
    row["cpu_s"] = time.process_time() - cpu
    row["plan_s"] = getattr(c, "plan_seconds", None)
    row["n_plans"] = getattr(c, "n_plans", None)
    row["controller"] = name
    return row


def _warm(data: str, names: list, settings: dict) -> None:
    """Compile the numba kernels (cached on disk) once before the workers start."""
    from stratotrack.steer.arena.runner import fly_episode

    _init(data)
    seed = min(_W["scenarios"])
    for name in names:
        fly_episode(_W["scenarios"][seed], _make(name, seed, settings), _W["weights"], n_decisions=3)


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main():
    from stratotrack.steer.arena import parse_seeds

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0-99")
    ap.add_argument("--controllers", default="planner")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--data", default=str(HERE.parent / "shared" / "data" / "ble-arena"))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a planner setting")
    ap.add_argument("--json", default=None, help="also write the per-seed results to this file")
    ap.add_argument("--engine-overhead", action="store_true",
                    help="only time one look-ahead through the engine's Integrator beside the planner's roll-out")
    args = ap.parse_args()
    if args.engine_overhead:
        engine_overhead()
        return
    settings = {}
    for item in args.set:
        key, _, val = item.partition("=")
        settings[key.strip()] = _value(val.strip())
    names = [n.strip() for n in args.controllers.split(",") if n.strip()]
    data = Path(args.data)
    ref_path = data / "reference_tiny_eval_seeds_0-9.json"
    ref = json.loads(ref_path.read_text()) if ref_path.is_file() else {}
    ble = {r["seed"]: r["time_within_radius"] for r in ref.get("station_seeker", [])}
    perc = {r["seed"]: r["time_within_radius"] for r in ref.get("perciatelli44", [])}

    _warm(str(data), names, settings)
    seeds = parse_seeds(args.seeds, sorted(_W["scenarios"]))
    jobs = [(n, s, settings) for s in seeds for n in names]
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    rows = []
    # spawned workers: the parent has run numba's threads (OpenMP), which a forked child must not inherit
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=args.jobs, initializer=_init, initargs=(str(data),), mp_context=ctx) as pool:
        for row in pool.map(_fly, jobs):
            rows.append(row)
            extra = "" if row["plan_s"] is None else f"  planning {row['plan_s']:5.1f} s"
            side = (f"  BLE StationSeeker {100 * ble[row['seed']]:5.1f}%  Perciatelli44 {100 * perc[row['seed']]:5.1f}%"
                    if row["seed"] in ble else "")
            print(f"{row['controller']:8s} seed {row['seed']:3d}  TWR50 {100 * row['twr50']:5.1f}%  "
                  f"pump {row['pump_wh_per_day']:6.0f} Wh/day  end {row['end_state']:<12s} "
                  f"wall {row['wall_s']:5.1f} s  cpu {row['cpu_s']:5.1f} s{extra}{side}", flush=True)
    elapsed = time.perf_counter() - t0
    load1 = os.getloadavg()
    print()
    by = {}
    for name in names:
        rs = sorted((r for r in rows if r["controller"] == name), key=lambda r: r["seed"])
        twr = np.array([r["twr50"] for r in rs])
        pump = np.array([r["pump_wh_per_day"] for r in rs])
        wall = np.array([r["wall_s"] for r in rs])
        cpu = np.array([r["cpu_s"] for r in rs])
        ends = {}
        for r in rs:
            ends[r["end_state"]] = ends.get(r["end_state"], 0) + 1
        se = twr.std(ddof=1) / math.sqrt(twr.size) if twr.size > 1 else float("nan")
        by[name] = {"twr": twr, "pump": pump}
        print(f"{name}: {twr.size} episodes  TWR50 {100 * twr.mean():.1f}% +- {100 * se:.1f}% (standard error)  "
              f"pump {pump.mean():.0f} Wh/day  end states {ends}")
        print(f"{name}: wall per 48 h episode mean {wall.mean():.1f} s, max {wall.max():.1f} s; "
              f"CPU mean {cpu.mean():.1f} s, max {cpu.max():.1f} s")
        plan = [r["plan_s"] for r in rs if r["plan_s"] is not None]
        if plan:
            n_plans = np.mean([r["n_plans"] for r in rs])
            print(f"{name}: planning {np.mean(plan):.1f} s per episode, {n_plans:.0f} plans flown per episode")
        ten = [r for r in rs if r["seed"] in ble]
        if ten:
            ours = np.mean([r["twr50"] for r in ten])
            print(f"{name}: seeds {ten[0]['seed']}-{ten[-1]['seed']} ({len(ten)}): {100 * ours:.1f}%  (BLE "
                  f"StationSeeker {100 * np.mean([ble[r['seed']] for r in ten]):.1f}%, Perciatelli44 "
                  f"{100 * np.mean([perc[r['seed']] for r in ten]):.1f}%)")
    if len(names) == 2:
        a, b = names
        d = by[a]["twr"] - by[b]["twr"]
        print(f"{a} - {b}: TWR50 {100 * d.mean():+.1f}% +- {100 * d.std(ddof=1) / math.sqrt(d.size):.1f}% (paired); "
              f"pump energy {by[a]['pump'].mean() / max(by[b]['pump'].mean(), 1e-9):.2f} x")
    print(f"{len(jobs)} episodes in {elapsed:.0f} s on {args.jobs} processes; load average "
          f"{load0[0]:.1f} before, {load1[0]:.1f} after ({os.cpu_count()} CPUs)")
    if args.json:
        Path(args.json).write_text(json.dumps({"settings": settings, "episodes": rows}, indent=1))




def engine_overhead(n_plans: int = 1001, repeats: int = 5) -> None:
    """Time one look-ahead of ``n_plans`` plans over 18 h (three segments, 600 s steps) through the engine's
    Integrator on the forecast mapped to lat/lon around the station (pressure to altitude by the standard
    atmosphere), beside the planner's own compiled roll-out of the same size."""
    import xarray as xr

    import stratotrack as st
    from stratotrack.atmosphere import altitude_from_pressure
    from stratotrack.engine import Integrator
    from stratotrack.flight import drift
    from stratotrack.steer.planner import PlannerController
    from stratotrack.steer.control import Observation
    from stratotrack.steer.arena.runner import ArenaWind

    _init(str(HERE.parent / "shared" / "data" / "ble-arena"))
    sc = _W["scenarios"][0]
    fc = ArenaWind(_W["weights"], sc).forecast
    lat0, lon0 = float(sc.data["station_lat_deg"]), float(sc.data["station_lng_deg"])
    m_per_deg = 111_195.0
    lat = lat0 + fc.y / m_per_deg
    lon = lon0 + fc.x / (m_per_deg * math.cos(math.radians(lat0)))
    alt = np.asarray(altitude_from_pressure(fc.pressure[::-1]), dtype=float)
    t0 = np.datetime64("2023-01-01T00:00:00", "ns")
    times = t0 + (fc.time * 1e9).astype("timedelta64[ns]")
    dims = ("time", "altitude", "latitude", "longitude")
    u = np.transpose(fc.u[:, :, ::-1, :], (3, 2, 1, 0))
    v = np.transpose(fc.v[:, :, ::-1, :], (3, 2, 1, 0))
    ds = xr.Dataset({"eastward_wind": (dims, u.astype(np.float32), {"standard_name": "eastward_wind", "units": "m s-1"}),
                     "northward_wind": (dims, v.astype(np.float32), {"standard_name": "northward_wind", "units": "m s-1"})},
                    coords={"time": ("time", times, {"standard_name": "time"}),
                            "altitude": ("altitude", alt, {"standard_name": "altitude", "units": "m", "positive": "up"}),
                            "latitude": ("latitude", lat, {"standard_name": "latitude", "units": "degrees_north"}),
                            "longitude": ("longitude", lon, {"standard_name": "longitude", "units": "degrees_east"})})
    wind = st.open_wind(ds)
    ts = (t0 - np.datetime64("1970-01-01T00:00:00", "ns")) / np.timedelta64(1, "s")
    rng = np.random.default_rng(0)
    targets = rng.uniform(alt.min(), alt.max(), (n_plans, 3))

    def engine_once():
        start = time.perf_counter()
        n = n_plans
        t_start = np.full(n, ts + 3600.0)
        prof = drift(t_start + 18 * 3600.0, start_altitude=np.full(n, 15500.0), max_rate=3.0)
        codes, vals = prof.encode(n)
        integ = Integrator(wind, t_start, np.full(n, lat0), np.full(n, lon0), np.full(n, 15500.0), codes, vals,
                           t_start + 18 * 3600.0 + 600.0, step=600.0, output_interval=600.0)
        for k, end_h in enumerate((2.0, 6.0, 18.0)):
            integ.vals[:, 0, 0] = targets[:, k]
            integ.advance(ts + 3600.0 + end_h * 3600.0)
        integ.result()
        return time.perf_counter() - start

    first = engine_once()  # compiles the engine's kernels on a cold cache
    print(f"first engine call {first:.1f} s", flush=True)
    eng = min(engine_once() for _ in range(repeats))
    c = PlannerController(n_levels=round(n_plans ** (1 / 3)))
    obs = Observation(t=3600.0, x=0.0, y=0.0, pressure=10000.0, altitude=16000.0, superpressure=1200.0,
                      battery_soc=0.9, sun_elevation_deg=30.0, is_day=True, wind=(0.0, 0.0), forecast=fc)
    c.reset(obs)
    c.act(obs)
    own = []
    for _ in range(repeats):
        before = c.plan_seconds
        c._replan(obs)
        own.append(c.plan_seconds - before)
    la = os.getloadavg()[0]
    print(f"one look-ahead of {n_plans} plans over 18 h: engine Integrator {1000 * eng:.0f} ms (positions only, "
          f"no score); planner roll-out {1000 * min(own):.0f} ms (with the wind correction, tracker, energy and "
          f"score); load average {la:.1f}")


if __name__ == "__main__":
    main()
