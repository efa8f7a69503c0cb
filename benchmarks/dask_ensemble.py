"""Dask figure (issue 14): a 100,000-member ensemble on 2 local Dask workers against 1 process.

Run:  python benchmarks/dask_ensemble.py [--members 100000] [--hours 24] [--batch-size 12500] [--resolution 1.0]

The field is the synthetic GFS-shaped stratosphere of ``engine_throughput.py`` (12 pressure levels, 150-10 hPa, a
jet with moving waves) on a ``--resolution`` degree grid, 3-hourly.  Members launch at 14 km, ascend at 5 +- 0.5
m/s to float at 20,000 +- 500 m for ``--hours`` from launch, launch times +- 30 min, with the default forecast wind
error; summaries: end-point density with contours and ellipses and one passage target; ``keep="summary"``.

Three runs of the same ensemble (same seed and batch size, so the same result, which is checked):
  1. one process, numba limited to 1 thread;
  2. one process, numba's default threads (all cores of this machine);
  3. a ``LocalCluster`` of 2 worker processes with 1 thread each (``processes=True``): batches are tasks, the
     workers memory-map the prepared wind (a copy written once under the cache's ``prepared/`` folder).
Printed: wall time of each, the CPU time it took (this process, plus the workers for 3: what the work cost,
whatever else the machine is doing), the kernels' own time (summed over batches), the speed-up of 3 over 1 and over
2, and per worker its peak RSS (VmHWM, which counts the mapped wind pages it touched) and its RSS now.  Warm-up runs (not timed) compile or load the kernels first in
this process and in each worker.  The machine may be shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _status(kind):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(kind + ":"):
                return int(line.split()[1]) / 2**20
    return float("nan")


def cpu_seconds():
    """User + system CPU time of this process so far (s)."""
    t = os.times()
    return t.user + t.system


def worker_memory():
    return {"peak_gib": _status("VmHWM"), "rss_gib": _status("VmRSS")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--batch-size", type=int, default=12_500)
    ap.add_argument("--resolution", type=float, default=1.0)
    args = ap.parse_args()

    import numba
    from distributed import Client, LocalCluster

    import stratotrack as st
    from engine_throughput import gfs_like_field
    from stratotrack.ensemble import Normal

    wind = st.open_wind(gfs_like_field(args.resolution, hours=int(args.hours) + 12, every=3))
    print(f"wind: {wind.label()}, {wind.data.nbytes / 2**20:.0f} MiB; {os.cpu_count()} cores; "
          f"numba threads {numba.config.NUMBA_NUM_THREADS}")
    kw = dict(profile="float", seed=1, wind=wind, float_altitude=20000.0, duration=f"{args.hours}h",
              spread={"ascent_rate": Normal(0.5), "float_altitude": Normal(500.0), "launch_time": "normal:30m"},
              wind_error=True, passages=[(40.0, -90.0, 200.0)], keep="summary", batch_size=args.batch_size,
              interval=1800.0)
    start = (40.0, -100.0, 14000.0, "2023-02-01T03:00Z")

    def run(label, client=None):
        c0 = cpu_seconds() + (sum(client.run(cpu_seconds).values()) if client else 0.0)
        t = time.perf_counter()
        res = st.ensemble(*start, members=args.members, **kw, client=client)
        wall = time.perf_counter() - t
        cpu = cpu_seconds() + (sum(client.run(cpu_seconds).values()) if client else 0.0) - c0
        print(f"{label:<38s} {wall:7.1f} s wall, {cpu:7.1f} s CPU (all processes), kernels "
              f"{res.meta['engine_seconds']:6.1f} s   (load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})")
        return res, wall

    st.ensemble(*start, members=200, **{**kw, "batch_size": 100})  # warm-up: compile/load the kernels here
    numba.set_num_threads(1)
    r1, w1 = run("1 process, 1 numba thread")
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    r2, w2 = run(f"1 process, {numba.config.NUMBA_NUM_THREADS} numba threads")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      worker_dashboard_address=None) as cluster, Client(cluster) as client:
        st.ensemble(*start, members=200, **{**kw, "batch_size": 100}, client=client)  # warm-up in the workers
        client.run(_reset_peak)
        r3, w3 = run("LocalCluster, 2 workers x 1 thread", client=client)
        mem = client.run(worker_memory)
    same = r1.summary()["products"] == r3.summary()["products"] == r2.summary()["products"]
    print(f"results equal (local 1 thread, local all threads, cluster): {same}")
    print(f"speed-up of 2 workers over 1 process: {w1 / w3:.2f}x (1 thread), {w2 / w3:.2f}x (all threads)")
    for addr, m in mem.items():
        print(f"worker {addr}: peak RSS {m['peak_gib'] * 1024:.0f} MiB, RSS now {m['rss_gib'] * 1024:.0f} MiB")
    print(f"this process: peak RSS {_status('VmHWM') * 1024:.0f} MiB")
    if not same:
        raise SystemExit("the distributed result differs from the local one")


def _reset_peak():
    try:  # Linux: "5" > clear_refs resets VmHWM to the current RSS
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


if __name__ == "__main__":
    main()
