"""Ensemble figure (issue 5): a 5-day float ensemble on a GFS-shaped field, reduced as it runs.

Run:  python benchmarks/ensemble_100k.py [--members 25000,100000] [--resolution 1.0] [--step 60] [--interval 1800]

Each member count runs in its own process and prints wall time, engine time and memory: the RSS after preparing the
field and compiling (the baseline), then the peak RSS during the ensemble alone (the peak is reset first through
/proc/self/clear_refs) and its increment over the baseline.  With the default batch of 25,000 members the
particle state held at once is bounded by the batch, so 100,000 members should cost no more memory than 25,000
beyond the summaries (sparse density grids and a few numbers per passage target).

The field is the synthetic GFS-shaped stratosphere of ``engine_throughput.py`` (12 pressure levels, 150-10 hPa, with
geopotential height; a jet with moving waves), here on a 1-degree grid (``--resolution``; GFS 0.25 degree is
3.7 GB and would dominate the memory figures), 3-hourly over 138 h.  The field starts at 150 hPa (about 13.6 km), so
members launch at 14 km: ascent at 5 +- 0.5 m/s to a float altitude of 20,000 +- 500 m, float to 5 days after
launch; launch times +- 30 min (normal); the default forecast wind error (OU, 2.5 m/s RMS vector error growing by
0.8 m/s per day, 12 h correlation).  Summaries: end-point and float-start densities with 50/90/99% contours and
ellipses, positions at 1 and 3 days, the probability of passing within 200 km of two points and of entering a box.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def rss_gb(kind="VmHWM") -> float:
    """Current (VmRSS) or peak (VmHWM) resident memory of this process, GiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(kind + ":"):
                return int(line.split()[1]) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def one(members, args):
    import stratotrack as st
    from engine_throughput import gfs_like_field
    from stratotrack.ensemble import Normal, WindError

    t = time.perf_counter()
    ds = gfs_like_field(args.resolution, hours=138, every=3)
    wind = st.open_wind(ds)
    del ds
    prep = time.perf_counter() - t
    # compile / warm the kernels on a tiny ensemble (not timed)
    st.ensemble(40.0, -100.0, 14000.0, "2023-02-01T03:00Z", "float", members=8, seed=0, wind=wind,
                float_altitude=20000.0, duration="2h", wind_error=True, passages=[(40.0, -95.0, 100.0)],
                keep="summary")
    base_cur, base_peak = rss_gb("VmRSS"), rss_gb("VmHWM")
    try:  # reset the peak (Linux: "5" > clear_refs resets VmHWM to the current RSS) so that it is the ensemble's own
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        reset = True
    except OSError:
        reset = False
    t = time.perf_counter()
    res = st.ensemble(
        40.0, -100.0, 14000.0, "2023-02-01T03:00Z", "float", members=members, seed=2023, wind=wind,
        ascent_rate=5.0, float_altitude=20000.0, duration="5d", step=args.step, interval=args.interval,
        spread={"ascent_rate": Normal(0.5), "float_altitude": Normal(500.0), "launch_time": Normal(1800.0)},
        wind_error=WindError(interval=args.interval),
        at=["2023-02-02T03:00Z", "2023-02-04T03:00Z"],
        passages=[{"lat": 40.0, "lon": -80.0, "radius_km": 200.0, "name": "200 km of 40N 80W"},
                  {"lat": 45.0, "lon": -60.0, "radius_km": 200.0, "name": "200 km of 45N 60W"},
                  {"polygon": [(-75.0, 35.0), (-65.0, 35.0), (-65.0, 45.0), (-75.0, 45.0)], "name": "box"}],
        batch_size=args.batch_size, keep="summary")
    wall = time.perf_counter() - t
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    res.write(out / f"ensemble_{members}.nc")
    res.write(out / f"ensemble_{members}.geojson")
    products = time.perf_counter() - t
    steps = members * 5 * 86400 / args.step
    row = {
        "members": members, "batch_size": args.batch_size, "step_s": args.step, "interval_s": args.interval,
        "field": f"{args.resolution} deg, {wind.data.nbytes / 2**30:.2f} GiB prepared", "prepare_s": round(prep, 1),
        "wall_s": round(wall, 1), "engine_s": round(res.meta["engine_seconds"], 1),
        "particle_steps_M_per_s": round(steps / wall / 1e6, 2), "products_s": round(products, 1),
        "rss_baseline_gb": round(base_cur, 3), "peak_rss_preparing_field_gb": round(base_peak, 3),
        "peak_rss_during_ensemble_gb": round(rss_gb("VmHWM"), 3), "peak_reset": reset,
        "ensemble_peak_increment_gb": round(rss_gb("VmHWM") - base_cur, 3),
        "status": res.meta["status_counts"],
        "passage": {r["name"]: [round(r["probability"], 4), round(r["standard_error"], 4)] for r in res.passage()},
        "end_ellipse90_km": [round(x, 1) for x in (res.ellipses("end", [0.9])[0]["semi_major_km"],
                                                    res.ellipses("end", [0.9])[0]["semi_minor_km"])],
        "summary_cells": {k: int(p.keys.size) for k, p in res.products.items()},
        "load_average": os.getloadavg(),
    }
    print(json.dumps(row))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", default="25000,100000")
    ap.add_argument("--batch-size", type=int, default=25000)
    ap.add_argument("--resolution", type=float, default=1.0)
    ap.add_argument("--step", type=float, default=60.0)
    ap.add_argument("--interval", type=float, default=1800.0)
    ap.add_argument("--out", default="benchmarks/out")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        one(args.one, args)
        return
    rows = []
    for m in [int(x) for x in args.members.split(",")]:
        cmd = [sys.executable, __file__, "--one", str(m), "--batch-size", str(args.batch_size), "--resolution",
               str(args.resolution), "--step", str(args.step), "--interval", str(args.interval), "--out", args.out]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode:
            print(p.stderr, file=sys.stderr)
            sys.exit(p.returncode)
        row = json.loads(p.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(json.dumps(row, indent=1))
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        print(f"\nmembers {a['members']} -> {b['members']}: wall {a['wall_s']} -> {b['wall_s']} s, ensemble peak RSS "
              f"increment {a['ensemble_peak_increment_gb']} -> {b['ensemble_peak_increment_gb']} GiB "
              f"(peak during the ensemble {a['peak_rss_during_ensemble_gb']} -> {b['peak_rss_during_ensemble_gb']} GiB)")


if __name__ == "__main__":
    main()
