"""Where a controlled run's time goes (issue 14): the kernel's cost per call against the same steps in one call.

Run:  python benchmarks/engine_reentry.py [--members 10000] [--threads 1] [--resolution 1.0] [--calls 60]

Steered balloons (as engine_throughput.py's controller case) on a GFS-shaped field, no controller: the integrator
is advanced by calls of k steps (k = 0, 1, 3, 10) and the median CPU time of the calling thread per call is
printed, with the same steps taken in one long call for comparison; then the same with the members given in
locality order (kernels.locality_order), which makes the kernel's gather of the particles' records sequential.
CPU time of the calling thread (1 numba thread by default) rather than wall time: on a shared machine it is the
figure that waiting for a core does not change.  The load average is printed beside each line.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numba
import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--resolution", type=float, default=1.0, help="grid spacing of the field (degrees)")
    ap.add_argument("--calls", type=int, default=60, help="calls timed per case (median)")
    args = ap.parse_args()

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from engine_throughput import gfs_like_field

    import stratotrack as st
    from stratotrack.engine import Integrator
    from stratotrack.engine.kernels import locality_order
    from stratotrack.flight import Profile, Stage
    from stratotrack.timeutil import to_epoch_seconds

    wind = st.open_wind(gfs_like_field(args.resolution, hours=48))
    numba.set_num_threads(args.threads)
    n = args.members
    rng = np.random.default_rng(42)
    lat = 40.0 + rng.uniform(-4.5, 4.5, n)
    lon = -100.0 + rng.uniform(-6.0, 6.0, n)
    alt = rng.uniform(16000.0, 22000.0, n)
    t0 = np.full(n, to_epoch_seconds("2023-02-01T00:00:00Z"))
    codes, vals = Profile("steer", [Stage("steer", "steer", (60.0, 3.0, 3.0), "none", None, "end")]).encode(n)
    step = 60.0

    def make(order):
        integ = Integrator(wind, t0, lat[order], lon[order], alt[order], codes, vals, t0 + 40 * 3600.0, step=step,
                           output_interval=3600.0, command=alt[order])
        integ.advance(t0[0] + 600.0)  # (compiled, ordered, buffers made)
        return integ, t0[0] + 600.0

    print(f"{n} steered balloons, {args.resolution:g}-degree field, step {step:g} s, {args.threads} numba thread(s); "
          f"CPU ms of the calling thread per call (median of {args.calls})")
    for name, order in (("members in random order", np.arange(n)),
                        ("members in locality order", locality_order(lat, lon, np.ones(n, bool)))):
        integ, t = make(order)
        cols = []
        for k in (0, 1, 3, 10):
            per = []
            for _ in range(args.calls):
                t += k * step
                c = time.thread_time()
                integ.advance(t)
                per.append(time.thread_time() - c)
            cols.append((k, float(np.median(per))))
        integ, t = make(order)
        c = time.thread_time()
        integ.advance(t + args.calls * 10 * step)
        one = (time.thread_time() - c) / (args.calls * 10)
        print(f"  {name:<26} " + "  ".join(f"{k:>2} steps {v * 1e3:6.2f}" for k, v in cols)
              + f"  | one long call: {one * 1e3:5.2f} per step of all members; a 3-step call costs "
              f"{(cols[2][1] - 3 * one) * 1e3:5.2f} ms more  (load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
