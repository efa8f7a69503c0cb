"""Where the serial backend stops beating the parallel one: the kernel time of an hour of drift (60 s steps,
output every step) for n particles, ``serial`` against ``cpu`` with 2 threads (median of 30 runs each).

Run:  python benchmarks/backend_threshold.py [--threads 2]

The crossover is ``stratotrack.engine.backends.SERIAL_MAX``.  Note ``uptime`` beside the figures: on a shared
machine a parallel region waits for a thread that has lost its core.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("STRATOTRACK_COLD_START", "compile")

import numba  # noqa: E402
import numpy as np  # noqa: E402

from stratotrack.engine import Integrator  # noqa: E402
from stratotrack.flight import profiles as P  # noqa: E402
from stratotrack.wind import open_wind  # noqa: E402


def kernel_ms(field, n, backend, repeat):
    t0 = 1673953200.0
    rng = np.random.default_rng(1)
    lat = 37.0 + rng.uniform(-2, 2, n)
    lon = -122.0 + rng.uniform(-2, 2, n)
    prof = P.drift(np.full(n, t0 + 3600.0), start_altitude=np.full(n, 18000.0))
    times = []
    for _ in range(repeat):
        codes, vals = prof.encode(n)
        integ = Integrator(field, np.full(n, t0), lat, lon, np.full(n, 18000.0), codes, vals,
                           np.full(n, t0 + 7200.0), backend=backend)
        start = time.perf_counter()
        integ.run()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--n", type=int, nargs="+", default=[1, 4, 16, 32, 64, 128, 256, 512, 1024, 2048])
    args = ap.parse_args()
    numba.set_num_threads(args.threads)
    field = open_wind("climatology")
    for backend in ("serial", "cpu"):
        kernel_ms(field, 64, backend, 2)  # compile / load
    print(f"load average {os.getloadavg()[0]:.2f}; {args.threads} threads; kernel ms, median of {args.repeat}")
    print(f"{'n':>6} {'serial':>9} {'cpu':>9}")
    for n in args.n:
        s = kernel_ms(field, n, "serial", args.repeat)
        p = kernel_ms(field, n, "cpu", args.repeat)
        print(f"{n:>6} {s:9.3f} {p:9.3f}")


if __name__ == "__main__":
    main()
