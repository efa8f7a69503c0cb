"""`assess` on a 10-day, 1,000-member drift ensemble with 50 sites: wall time and peak memory, printed.

    python benchmarks/assess_ensemble.py [--members 1000] [--days 10] [--sites 50]

The ensemble (climatology, 18.3 km drift from the 2023 Montana checkpoint, wind error) runs first and keeps every
trajectory at 10-minute output; then the assessment: 50 point sites (a grid of 150-km circles across North America
and the North Atlantic), airspace per member (countries tested at hourly points), and termination windows every
3 hours along the path (release points drawn from the members, 20 samples per piece).  Peak RSS is the process's
high-water mark (ru_maxrss), reset is not possible, so the ensemble's and the assessment's share are printed.
The first run in a fresh cache also builds the borders and land-mask caches (about 25 s): run it twice.

With ``--workers N`` the assessment runs again with its termination falls on a ``LocalCluster`` of N worker
processes (1 thread each; ``assess(client=)``), checks that the report is the same (timeline, windows, impacts)
and prints both times.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1000)
    ap.add_argument("--days", type=float, default=10.0)
    ap.add_argument("--sites", type=int, default=50)
    ap.add_argument("--every-hours", type=float, default=3.0)
    ap.add_argument("--workers", type=int, default=0, help="also run the falls on a LocalCluster of this many")
    args = ap.parse_args()
    import stratotrack as st
    from stratotrack.analysis import Site, assess, write_report

    w = st.open_wind("climatology")
    t0 = time.perf_counter()
    ens = st.ensemble(45.71, -109.54, 18300.0, "2023-02-01T21:21Z", "drift", members=args.members, seed=1,
                      duration=f"{args.days}d", wind=w, wind_error=True, keep="trajectories", step=120.0,
                      interval=600.0, output_interval=600.0)
    t_ens = time.perf_counter() - t0
    rss_ens = rss_mb()
    lats = np.linspace(30, 55, 5)
    lons = np.linspace(-120, -20, args.sites // 5 + (args.sites % 5 > 0))
    sites = [Site.point(f"site {i}", la, lo, 150.0) for i, (la, lo) in
             enumerate((a, b) for a in lats for b in lons)][:args.sites]
    t1 = time.perf_counter()
    res = assess(ens, sites, wind=w, every=args.every_hours * 3600.0, samples=20)
    t_assess = time.perf_counter() - t1
    write_report(res, "/tmp/assess_bench.json")
    n = res["members"]
    pts = int(res["_track"].valid.sum())
    print(f"ensemble: {n} members x {args.days:g} days ({pts:,} points at 10 min): {t_ens:.1f} s, peak RSS "
          f"{rss_ens:.0f} MB")
    print(f"assess: {len(sites)} sites, airspace, termination every {args.every_hours:g} h: {t_assess:.1f} s "
          f"({res['timings_seconds']}), peak RSS now {rss_mb():.0f} MB")
    if args.workers:
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None) as lc, \
                Client(lc) as client:
            assess(ens, sites[:1], wind=w, every=args.every_hours * 3600.0, samples=20, client=client)  # (warm)
            t2 = time.perf_counter()
            dist = assess(ens, sites, wind=w, every=args.every_hours * 3600.0, samples=20, client=client)
            t_dist = time.perf_counter() - t2
        same = (dist["termination"]["timeline"] == res["termination"]["timeline"] and all(
            np.array_equal(a.lat, b.lat) and np.array_equal(a.lon, b.lon)
            for a, b in zip(dist["termination"]["_footprints"], res["termination"]["_footprints"])))
        print(f"assess with the falls on {args.workers} workers: {t_dist:.1f} s ({dist['timings_seconds']}); "
              f"report the same as in one process: {same}")
    p = [r["p_in_reach"] for r in res["sites"]]
    print(f"sites in reach with probability > 0.5: {sum(x > 0.5 for x in p)}; windows: "
          f"{len(res['termination']['windows'])}, earliest {res['termination']['earliest'] and res['termination']['earliest']['start']}")


if __name__ == "__main__":
    main()
