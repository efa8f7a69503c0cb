"""TWR50 of a controller on BLE's station-keeping episodes, beside BLE's own results.

Run:  python benchmarks/steer_arena.py [--controller seeker] [--seeds 0-99] [--data ../shared/data/ble-arena]
                                      [--json OUT.json]

Prints, for the chosen seeds of BLE's ``small_eval`` suite (scenarios_seeds_0-99.json beside the decoder weights):
  * per seed: TWR50, pump energy per day, end state and wall time per episode;
  * the mean TWR50 with its standard error, the mean pump energy per day, the end states;
  * for seeds 0-9: BLE's StationSeeker and Perciatelli44 TWR50 beside ours, the mean |dTWR| against BLE's
    StationSeeker and the distance between our path and BLE's StationSeeker path after 6 h and 24 h;
  * the wall time per episode (median) and the load average (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from stratotrack.steer.arena import parse_seeds, summarize
from stratotrack.steer.arena.runner import fly_episode, load_scenarios
from stratotrack.steer.arena.wind import load_decoder_weights
from stratotrack.steer.registry import make

HERE = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--controller", default="seeker")
    ap.add_argument("--seeds", default="0-99")
    ap.add_argument("--data", default=str(HERE.parent / "shared" / "data" / "ble-arena"))
    ap.add_argument("--json", default=None, help="also write the per-seed results to this file")
    args = ap.parse_args()
    data = Path(args.data)
    scenarios = {s.seed: s for s in load_scenarios(data / "scenarios_seeds_0-99.json")}
    seeds = parse_seeds(args.seeds, sorted(scenarios))
    weights = load_decoder_weights(data / "offlineskies22_decoder.msgpack")
    ref_path = data / "reference_tiny_eval_seeds_0-9.json"
    ref = json.loads(ref_path.read_text()) if ref_path.is_file() else {}
    ble = {r["seed"]: r for r in ref.get("station_seeker", [])}
    perc = {r["seed"]: r for r in ref.get("perciatelli44", [])}

    # compile the numba kernels outside the timings
    fly_episode(scenarios[seeds[0]], make(args.controller, seed=seeds[0]), weights, n_decisions=2)
    results, rows = [], []
    load0 = os.getloadavg()
    for seed in seeds:
        r = fly_episode(scenarios[seed], make(args.controller, seed=seed), weights)
        results.append(r)
        line = (f"seed {seed:3d}  TWR50 {100 * r.twr50:5.1f}%  pump {r.pump_wh_per_day:6.0f} Wh/day  "
                f"end {r.end_state:<13s} {r.wall_s:5.1f} s")
        row = r.summary()
        if seed in ble:
            fp = ble[seed]["flight_path"]
            bx = np.array([p["x"] for p in fp])
            by = np.array([p["y"] for p in fp])
            n = min(bx.size, r.path["x"].size - 1)
            d = np.hypot(bx[:n] - r.path["x"][1:n + 1] / 1000, by[:n] - r.path["y"][1:n + 1] / 1000)
            row.update(ble_seeker_twr50=ble[seed]["time_within_radius"],
                       perciatelli44_twr50=perc.get(seed, {}).get("time_within_radius"),
                       path_km_6h=float(d[min(119, n - 1)]), path_km_24h=float(d[min(479, n - 1)]),
                       path_km_48h=float(d[n - 1]))
            p44 = row["perciatelli44_twr50"]
            p44 = np.nan if p44 is None else p44
            line += (f"   BLE StationSeeker {100 * row['ble_seeker_twr50']:5.1f}%  Perciatelli44 {100 * p44:5.1f}%"
                     "  path apart "
                     f"{row['path_km_6h']:.3f} / {row['path_km_24h']:.3f} / {row['path_km_48h']:.3f} km "
                     "(6/24/48 h)")
        rows.append(row)
        print(line, flush=True)
    s = summarize(results)
    load1 = os.getloadavg()
    wall = np.median([r.wall_s for r in results])
    cpu = np.median([r.cpu_s for r in results])
    print(f"\n{args.controller}: mean TWR50 {100 * s['twr50_mean']:.1f}% +- {100 * s['twr50_se']:.1f} (SE) over "
          f"{s['episodes']} episodes (seeds {args.seeds}); pump {s['pump_wh_per_day_mean']:.0f} Wh/day; "
          f"end states {s['end_states']}")
    compared = [r for r in rows if "ble_seeker_twr50" in r]
    if compared:
        dtwr = np.mean([abs(r["twr50"] - r["ble_seeker_twr50"]) for r in compared])
        print(f"against BLE's StationSeeker on {len(compared)} seeds: mean |dTWR50| {100 * dtwr:.2f} points; "
              f"BLE mean {100 * np.mean([r['ble_seeker_twr50'] for r in compared]):.1f}%, ours "
              f"{100 * np.mean([r['twr50'] for r in compared]):.1f}%; path apart max "
              f"{max(r['path_km_6h'] for r in compared):.3f} km at 6 h, "
              f"{max(r['path_km_24h'] for r in compared):.3f} km at 24 h, "
              f"{max(r['path_km_48h'] for r in compared):.3f} km at 48 h")
    print(f"wall time per 48 h episode: median {wall:.1f} s, CPU time {cpu:.1f} s (one core); load average "
          f"{load0[0]:.1f} -> "
          f"{load1[0]:.1f} on {os.cpu_count()} cores")
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": s, "episodes": rows}, indent=1))


if __name__ == "__main__":
    main()
