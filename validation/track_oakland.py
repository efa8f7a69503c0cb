"""Tracking figures: landing error and radius coverage on the six Oakland sondes and on synthetic truth, against
the careful chaser's ascent-wind replay and "no drift"; and the update time of a 10,000-particle filter.

    python validation/track_oakland.py [path/to/shared/data] [--synthetic N] [--no-filter]

**Truth.**  Each Oakland flight (../shared/data/flights/oakland-rs41-2023-01, receiver KMZ files: every received
position, about one a second, timed from the timed placemarks) ends where reception ended, 0.2-13 km up: the
"landing" is the last received fix and every method stops at its altitude (``landing_altitude`` = that fix's
altitude, the same for all).

**Burst.**  Found where the climb ends (:func:`stratotrack.track.sounding.analyse`): the last fix of the climb,
then the descent.  All six sondes were still climbing at 6.7-7.2 m/s at their last climbing fix: reception was
lost for 6-12 minutes around burst.  The burst altitude is then where a climb at the observed ascent rate from the
last climbing fix and a fall at the fitted fall law to the first falling fix meet (said per flight below).  Every
method is given that burst altitude in the first row (the telemetry "up to burst").

**Rows** (what each method sees):
1. ascent: every fix of the climb; no fall observed, so every method uses the default sea-level fall rate (5 m/s;
   stratotrack says 2-15 m/s are plausible and spreads its members accordingly);
2. + first 3 descent fixes (three seconds of fall, 6-12 minutes after the climb ended);
3. + descent down to 10 km (flights whose reception ended above 10 km have no such row: n/a).

**Methods**, each computed the same way for every flight:
- stratotrack: :func:`stratotrack.track.predict_landing` on the climatology (the only winds here for January
  2023), 200 members, its 50%/90% radii around its forecast;
- ascent-wind replay: :func:`stratotrack.track.sounding.ascent_wind_replay` -- the rest of the flight re-flown
  through the winds measured on the way up (nearest measured layer outside them), no model; the same phase, burst
  and default fall rate, and once falling the observed fall converted to sea level by the drag law (v ~ rho^-1/2),
  as a chaser would do by hand;
- no drift: the last fix seen.

**Synthetic truth** (``--synthetic N``, default 40): N flights flown by the engine through random winds
(a jet, a random profile; the descent meets the ascent's winds plus a change of 2.8 m/s RMS correlated over 3 km
in height), a random fall law (v0 2-15 m/s, exponent 0.2-0.55), GPS noise; the same three rows, stratotrack's
radius coverage.  This checks that the ensemble's spread is what its error model says on data drawn from a known
truth; the error model itself is checked only on the real flights.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

import stratotrack as st
from stratotrack.geodesy import great_circle_distance
from stratotrack.track import Observation, Observations, ParticleFilter, predict_landing, read_observations
from stratotrack.track.api import forecast_cloud
from stratotrack.track.sounding import analyse, ascent_wind_replay, telemetry

ROWS = ("ascent (burst given)", "+ first 3 descent fixes", "+ descent down to 10 km")


def km(a, b, c, d):
    return float(great_circle_distance(a, b, c, d)) / 1000.0


def cuts(alt, k):
    """Number of fixes seen in each row (None: not available)."""
    below = np.flatnonzero(alt[k + 1:] <= 10000.0)
    n3 = min(k + 4, alt.size - 1)
    n10 = int(below[0]) + k + 2 if below.size and int(below[0]) + k + 2 < alt.size else None
    return [k + 1, n3 if n3 > k + 1 else None, n10]


def evaluate(fixes, truth, land, burst, wind):
    """Per row: (stratotrack km, replay km, no drift km, r50, r90) or None."""
    alt = np.array([o.alt for o in fixes])
    t = np.array([o.time for o in fixes])
    k = analyse(t, np.array([o.lat for o in fixes]), np.array([o.lon for o in fixes]), alt).burst_index
    out = []
    for row, n in enumerate(cuts(alt, k)):
        if n is None:
            out.append(None)
            continue
        seen = Observations(fixes[:n])
        b = burst if row == 0 else None
        fc = predict_landing(seen, wind, landing_altitude=land, burst_altitude=b, members=200)
        rp = ascent_wind_replay(seen, landing_altitude=land, burst_altitude=b)
        r50, r90 = fc.radii()
        out.append((km(fc.lat, fc.lon, *truth), km(rp[0], rp[1], *truth), km(fixes[n - 1].lat, fixes[n - 1].lon,
                                                                               *truth), r50, r90))
    return out


def table(results, label):
    print(f"{label}: median landing error (km) and stratotrack's radius coverage")
    print(f"{'telemetry seen':<26}{'n':>3}{'stratotrack':>13}{'replay':>8}{'no drift':>10}{'ratio':>7}"
          f"{'in r50':>8}{'in r90':>8}{'beats replay':>14}")
    for row, name in enumerate(ROWS):
        rs = np.array([r[row] for r in results if r[row] is not None])
        if rs.size == 0:
            print(f"{name:<26}{0:>3}   n/a")
            continue
        m = np.median(rs, axis=0)
        n = len(rs)
        print(f"{name:<26}{n:>3}{m[0]:>13.1f}{m[1]:>8.1f}{m[2]:>10.1f}{m[0] / m[1]:>7.2f}"
              f"{int((rs[:, 0] <= rs[:, 3]).sum()):>5}/{n:<2}{int((rs[:, 0] <= rs[:, 4]).sum()):>5}/{n:<2}"
              f"{int((rs[:, 0] < rs[:, 1]).sum()):>9}/{n}")
    print()


def oakland(shared, wind):
    results = []
    print("Six Oakland RS41 flights (16-19 Jan 2023), climatology winds; truth = the last received fix")
    print(f"{'flight':<16}{'climb ends m':>13}{'gap min':>8}{'burst m':>9}{'last m':>8}  per row: stratotrack / "
          "replay / no drift km (r90 km)")
    for path in sorted((shared / "flights" / "oakland-rs41-2023-01").glob("*.kmz")):
        tm = telemetry(read_observations(path))
        s = analyse(tm.t, tm.lat, tm.lon, tm.alt, fixes=tm.fixes)
        k = s.burst_index
        truth = (tm.lat[-1], tm.lon[-1])
        res = evaluate(tm.fixes, truth, float(tm.alt[-1]), s.burst_altitude, wind)
        results.append(res)
        cells = "  ".join("n/a" if r is None else f"{r[0]:.1f}/{r[1]:.1f}/{r[2]:.1f} ({r[4]:.1f})" for r in res)
        print(f"{path.name[:15]:<16}{tm.alt[k]:>13.0f}{(tm.t[k + 1] - tm.t[k]) / 60:>8.1f}{s.burst_altitude:>9.0f}"
              f"{tm.alt[-1]:>8.0f}  {cells}")
    print()
    table(results, "Oakland, 6 flights")
    return results


def synthetic(n, wind, seed=1):
    from stratotrack.track.sounding import CHANGE_CORRELATION, _correlated_normal
    from stratotrack.track.synthetic import synthetic_sounding

    rng = np.random.default_rng(seed)
    levels = np.arange(0.0, 40001.0, 250.0)
    results = []
    for i in range(n):
        jet = rng.uniform(10, 50) * np.exp(-((levels - rng.uniform(9e3, 13e3)) / 4000.0) ** 2)
        base_u = rng.uniform(-5, 10) + jet + 6 * _correlated_normal(rng, 1, levels, 3000.0)[0]
        base_v = rng.uniform(-5, 5) + 6 * _correlated_normal(rng, 1, levels, 3000.0)[0]
        du = 2.8 * _correlated_normal(rng, 1, levels, CHANGE_CORRELATION)[0]
        dv = 2.8 * _correlated_normal(rng, 1, levels, CHANGE_CORRELATION)[0]
        burst = rng.uniform(25e3, 35e3)
        v0 = float(np.clip(5.0 * np.exp(0.5 * rng.standard_normal()), 2.0, 15.0))
        beta = rng.uniform(0.2, 0.55)
        s = synthetic_sounding(levels, base_u, base_v, base_u + du, base_v + dv, burst=burst, v0=v0, beta=beta,
                               ascent_rate=rng.uniform(4, 7), every=float(rng.choice([2.0, 30.0, 120.0])),
                               seed=1000 + i)
        results.append(evaluate(s.fixes, s.landing[:2], 0.0, s.burst, wind))
    table(results, f"Synthetic truth, {n} flights (fixes every 2, 30 or 120 s; climatology as the model)")
    return results


def filter_timing(shared, wind):
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
    print("10,000-particle filter, 2023 checkpoints on the climatology, one new observation "
          f"({new.label[:40]}..., {(new.time - reports[-2].time) / 3600:.1f} h after the previous one):")
    print(f"  update of the fused track: {t1 - t0:.2f} s; re-prediction 48 h ahead with all 10,000 particles: "
          f"{t2 - t1:.2f} s; total {t2 - t0:.2f} s")
    tel = Observation.fix(np.datetime64(int(new.time + 60), "s"), new.lat, new.lon + 0.005, new.alt, sigma_h=50,
                          sigma_z=30)
    t0 = time.perf_counter()
    pf.step(tel)
    t1 = time.perf_counter()
    print(f"  update 60 s after the previous observation (telemetry rate): {t1 - t0:.3f} s")
    print(f"  48 h forecast spread: 50% within {spread[-1]['r50_km']:.0f} km, 90% within {spread[-1]['r90_km']:.0f} km")


def main(argv):
    here = Path(__file__).resolve().parents[1]
    args = [a for a in argv if not a.startswith("--")]
    shared = Path(args[0]) if args else here.parent / "shared" / "data"
    n_syn = int(argv[argv.index("--synthetic") + 1]) if "--synthetic" in argv else 40
    if "--synthetic" in argv and argv.index("--synthetic") + 1 < len(argv):
        args = [a for a in args if a != argv[argv.index("--synthetic") + 1]]
        shared = Path(args[0]) if args else here.parent / "shared" / "data"
    wind = st.open_wind("climatology")
    oakland(shared, wind)
    if n_syn > 0:
        synthetic(n_syn, wind)
    if "--no-filter" not in argv:
        filter_timing(shared, wind)


if __name__ == "__main__":
    main(sys.argv[1:])
