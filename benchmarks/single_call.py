"""Whole-call latency of one prediction with a prepared wind: ``st.predict`` on one start, Python included.

Run:  python benchmarks/single_call.py [--calls 1000] [--threads 1]

Prints the median (and 10th/90th percentiles) of ``--calls`` calls, for a standard flight (ascent 5 m/s to 30 km,
drag descent, 60 s step and output) on the embedded climatology:
  * one start, ``result="light"`` (stratotrack.Prediction), called again and again;
  * a loop of 100 different starts (latitude, longitude, altitude, launch time), ``result="light"``, 10 times;
  * every call a start and launch time not seen before (nothing made for an earlier call is reused);
  * one start, the default CF Dataset (``result="dataset"``), for comparison;
and the kernel's own share (``engine_seconds``).  Each line also gives the process CPU time per call (what the call
costs whatever else runs) and the load average: the machine may be shared.

The distribution of the whole call is bimodal on the shared 2-core machine (two peaks about 1.7x apart, the slow
calls in runs of several): the last lines time a fixed pure-Python loop of about the same length (no NumPy, no
allocation, nothing for the garbage collector) the same way, which shows the same two peaks, so they come from the
machine (the core's share of a physical core), not from the call; and the one-start case with the garbage
collector disabled and frozen (``gc.disable()``, ``gc.freeze()``), which changes neither peak.
"""

from __future__ import annotations

import argparse
import gc
import os
import time

os.environ.setdefault("STRATOTRACK_COLD_START", "compile")

import numba  # noqa: E402
import numpy as np  # noqa: E402

import stratotrack as st  # noqa: E402


_CPU = []


def timed(calls):
    out = []
    c = time.process_time()
    for call in calls:
        t = time.perf_counter()
        call()
        out.append(time.perf_counter() - t)
    _CPU.append(1e3 * (time.process_time() - c) / max(1, len(out)))
    return 1e3 * np.array(out)


def report(label, ms):
    p10, p50, p90 = np.percentile(ms, [10, 50, 90])
    print(f"{label:<44} median {p50:6.3f} ms  (p10 {p10:.3f}, p90 {p90:.3f}; {ms.size} calls; process CPU "
          f"{_CPU[-1]:.3f} ms per call)  load {os.getloadavg()[0]:.1f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    numba.set_num_threads(args.threads)
    wind = st.open_wind("climatology")
    one = dict(lat=37.74, lon=-122.22, alt=10.0, time="2023-01-17T11:00:00Z", wind=wind)
    for _ in range(20):  # compile/load and warm
        p = st.predict(**one, result="light")
        st.predict(**one)
    rng = np.random.default_rng(0)
    starts = [dict(lat=float(rng.uniform(-60, 60)), lon=float(rng.uniform(-180, 180)),
                   alt=float(rng.uniform(0, 1500)),
                   time=f"2023-01-{rng.integers(1, 29):02d}T{rng.integers(0, 24):02d}:00Z", wind=wind)
              for _ in range(100)]
    for s in starts:
        st.predict(**s, result="light")
    print(f"load average {os.getloadavg()[0]:.2f}; numba threads {numba.get_num_threads()}; backend {p.backend}; "
          f"{p.n_obs[0]} output points")
    report("one start, light result", timed([lambda: st.predict(**one, result="light")] * args.calls))
    loop = [lambda s=s: st.predict(**s, result="light") for s in starts] * max(1, args.calls // 100)
    report("100 different starts in a loop, light (per call)", timed(loop))
    fresh = [dict(lat=float(rng.uniform(-60, 60)), lon=float(rng.uniform(-180, 180)), alt=float(rng.uniform(0, 1500)),
                  time=f"2023-02-{rng.integers(1, 29):02d}T{rng.integers(0, 24):02d}:{rng.integers(0, 60):02d}:"
                       f"{rng.integers(0, 60):02d}Z", wind=wind) for _ in range(args.calls)]
    report("every call a new start and time (no reuse)", timed([lambda s=s: st.predict(**s, result="light")
                                                              for s in fresh]))
    engine = []
    for _ in range(200):
        engine.append(1e3 * st.predict(**one, result="light").engine_seconds)
    print(f"{'  of which the kernel (engine_seconds)':<44} median {np.median(engine):6.3f} ms")
    report("one start, CF Dataset (default)", timed([lambda: st.predict(**one)] * max(50, args.calls // 5)))
    light = [lambda: st.predict(**one, result="light")] * args.calls
    gc.disable()
    report("one start, light, garbage collector disabled", timed(light))
    gc.enable()
    gc.freeze()
    report("one start, light, garbage collector frozen", timed(light))
    gc.unfreeze()
    report("a fixed pure-Python loop (the machine's own spread)", timed([_fixed_work] * args.calls))


def _fixed_work():
    s = 0
    for i in range(3000):
        s += i * i
    return s


if __name__ == "__main__":
    main()
