"""Steering on real winds: a 5-day station-keeping run and a "go to" run on the shared GFS field (or the
climatology), with time within the radius, energy and payload hours.

    .venv/bin/python benchmarks/steer_real.py                    # GFS (../shared/data/gfs), seeker and greedy
    .venv/bin/python benchmarks/steer_real.py --wind climatology --controller planner --days 2

The GFS file is one forecast time (valid 2011-01-15 12:00 UTC), used as a steady field: the balloon flies on it
plus the engine's forecast-error process (an Ornstein-Uhlenbeck wind error growing with lead time, seeded), so the
controller sees the forecast and never the truth it is moved by.  A 100 W payload runs over the target (100 km
radius) while the battery allows.  Prints one line per run and a JSON object at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import stratotrack as st

HERE = Path(__file__).resolve().parent
GFS = HERE.parent.parent / "shared" / "data" / "gfs" / "gfs.t12z.pgrbf120.2p5deg.grib2"
START = "2011-01-15T12:00:00Z"


def run(name, wind, controller, *, start, target=None, waypoints=None, days, seed, payload_site, error=True):
    t = time.perf_counter()
    r = st.steer(*start, START, target=target, waypoints=waypoints, radius=50_000.0, wind=wind,
                 forecast_error=error, seed=seed, balloon="superpressure", controller=controller,
                 duration=days * 86400.0, payload_power=100.0, payload_sites=[payload_site], band=(15000.0, 18900.0))
    wall = time.perf_counter() - t
    s = r.summary
    e = s["energy"]
    print(f"{name:<16s} {controller:<8s} within 50 km {s['time_within_radius_h']:6.1f} h of {s['duration_h']:.0f} h "
          f"({100 * s['fraction_within_radius']:5.1f}%), final {s['final_distance_km']:7.1f} km, "
          f"compressor {e['compressor_wh']:6.0f} Wh, solar {e['solar_wh']:6.0f} Wh, payload {s['payload_hours']:5.1f} h "
          f"({e['payload_wh']:.0f} Wh), battery min {100 * s['battery_min_soc']:3.0f}%, end {s['end_state']}, "
          f"waypoints {s['waypoints_reached']}, wall {wall:5.1f} s")
    return dict(name=name, controller=controller, wall_s=round(wall, 1), **{k: s[k] for k in (
        "time_within_radius_h", "fraction_within_radius", "final_distance_km", "energy", "payload_hours",
        "battery_min_soc", "end_state", "events", "waypoints_reached", "safety_overrides")},
                route=r.route)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wind", default=str(GFS) if GFS.exists() else "climatology")
    ap.add_argument("--controller", action="append")
    ap.add_argument("--days", type=float, default=5.0)
    ap.add_argument("--goto-days", type=float, default=3.0)
    ap.add_argument("--target", default="-22.5,-50", help="LAT,LON of the station (default: southern Brazil, where "
                    "in the GFS field the winds at 15 and 18.9 km blow opposite ways)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--perfect", action="store_true", help="no forecast error: the truth is the forecast")
    a = ap.parse_args()
    wind = st.open_wind(a.wind)
    lat, lon = (float(v) for v in a.target.split(","))
    site = f"target,{lat},{lon},100"
    print(f"winds: {wind.label()}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    out = []
    for c in a.controller or ["seeker", "greedy"]:
        out.append(run("station 5 d", wind, c, start=(lat, lon, 17000.0), target=(lat, lon), days=a.days,
                       seed=a.seed, payload_site=site, error=not a.perfect))
        # go to: start 4 degrees (445 km) west of the station, reach it within 50 km, loiter there
        out.append(run("go to 445 km", wind, c, start=(lat, lon - 4.0, 17000.0),
                       waypoints=[(lat, lon, 50_000.0)], days=a.goto_days, seed=a.seed, payload_site=site, error=not a.perfect))
    print(json.dumps({"wind": wind.label(), "target": [lat, lon], "runs": out}, default=float))


if __name__ == "__main__":
    main()
