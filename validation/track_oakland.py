"""Tracking figures: landing error per Oakland flight (tracker vs straight-line baseline) and the update time of a
10,000-particle filter.

    python validation/track_oakland.py [path/to/shared/data]

Reads the six real RS41 flights in ../shared/data/flights/oakland-rs41-2023-01 (receiver KMZ files).  For each flight
the tracker sees the ascent only (up to the highest received fix, the burst) and predicts the position at the
altitude of the last received fix: observed ascent winds blended with the climatology, the default sea-level descent
rate of 5 m/s (no descent is seen yet).  The baseline carries on at the mean horizontal velocity of the last 5
minutes of ascent for the true elapsed time (an advantage it is given).  A second tracker column re-predicts after
the first three received descent fixes (the observed fall rate converted to its sea-level equivalent v0).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

import stratotrack as st
from stratotrack.geodesy import great_circle_distance
from stratotrack.track import (Observation, Observations, ParticleFilter, predict_landing, read_observations,
                               straight_line_baseline)
from stratotrack.track.api import forecast_cloud


def km(a, b, c, d):
    return float(great_circle_distance(a, b, c, d)) / 1000.0


def main(shared):
    wind = st.open_wind("climatology")
    rows = []
    for path in sorted((shared / "flights" / "oakland-rs41-2023-01").glob("*.kmz")):
        obs = read_observations(path)
        z = np.array([o.alt for o in obs])
        k = int(np.argmax(z))
        last = obs[-1]
        up = Observations(obs.items[:k + 1])
        fc = predict_landing(up, wind, landing_altitude=last.alt, members=1)
        bl = straight_line_baseline(up, last.time)
        early = Observations(obs.items[:min(k + 4, len(obs))])  # the first three received descent fixes
        fc2 = predict_landing(early, wind, landing_altitude=last.alt, members=1)
        rows.append((path.name[:15], obs[k].alt, last.alt, (last.time - obs[k].time) / 60.0,
                     km(fc.lat, fc.lon, last.lat, last.lon), km(bl[0], bl[1], last.lat, last.lon),
                     km(fc2.lat, fc2.lon, last.lat, last.lon), fc2.descent_rate,
                     (early[-1].time - obs[k].time) / 60.0))
    print("Landing (last received fix) predicted from the ascent alone, six Oakland RS41 flights, climatology winds")
    print(f"{'flight':<16}{'burst m':>9}{'last m':>8}{'min':>6}{'tracker km':>12}{'baseline km':>13}"
          f"{'+3 descent fixes km':>21}{'(min)':>6}{'v0 m/s':>8}")
    for r in rows:
        print(f"{r[0]:<16}{r[1]:>9.0f}{r[2]:>8.0f}{r[3]:>6.0f}{r[4]:>12.1f}{r[5]:>13.1f}{r[6]:>21.1f}{r[8]:>6.0f}{r[7]:>8.2f}")
    a = np.array([r[4:7] for r in rows])
    print(f"{'median':<16}{'':>9}{'':>8}{'':>6}{np.median(a[:, 0]):>12.1f}{np.median(a[:, 1]):>13.1f}"
          f"{np.median(a[:, 2]):>21.1f}")

    # update time of a 10,000-particle filter: one new observation, then re-predict (48 h float forecast)
    csv = shared / "incident-2023" / "checkpoints.csv"
    reports = read_observations(csv)
    pf = ParticleFilter(wind, n=10000, seed=0)
    pf.run(Observations(reports.items[:-1]))
    new = reports[-1]
    forecast_cloud(pf, "1h", members=100)  # warm (compiled kernels are cached on disk)
    t0 = time.perf_counter()
    pf.step(new)
    t1 = time.perf_counter()
    _, spread = forecast_cloud(pf, "48h", members=10000)
    t2 = time.perf_counter()
    print()
    print("10,000-particle filter, 2023 checkpoints on the climatology, one new observation "
          f"({new.label[:40]}..., {(new.time - reports[-2].time) / 3600:.1f} h after the previous one):")
    print(f"  update of the fused track: {t1 - t0:.2f} s; re-prediction 48 h ahead with all 10,000 particles: "
          f"{t2 - t1:.2f} s; total {t2 - t0:.2f} s")
    # a telemetry-rate update: 1 minute after the previous fix
    tel = Observation.fix(np.datetime64(int(new.time + 60), "s"), new.lat, new.lon + 0.005, new.alt, sigma_h=50,
                          sigma_z=30)
    t0 = time.perf_counter()
    pf.step(tel)
    t1 = time.perf_counter()
    print(f"  update 60 s after the previous observation (telemetry rate): {t1 - t0:.3f} s")
    print(f"  48 h forecast spread: 50% within {spread[-1]['r50_km']:.0f} km, 90% within {spread[-1]['r90_km']:.0f} km")


if __name__ == "__main__":
    here = Path(__file__).resolve().parents[1]
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else here.parent / "shared" / "data")
