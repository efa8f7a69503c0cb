"""GPU backend throughput (numba.cuda, one thread per particle) on the GFS 0.25-degree-shaped field of
benchmarks/engine_throughput.py: 10^6 particles, a constant-altitude drift and standard flights.

Run (on a machine with a CUDA GPU):  python benchmarks/gpu_throughput.py [--members 1000000] [--hours 24]

Prints, for each case: particle-steps per second on the GPU (wall time of Integrator.run, host<->device copies of
every chunk included; the field is copied to the device once, before timing), the first call's compile time,
the same case on the compiled CPU backend for a subset (``--cpu-members``) and the ratio, and the largest
difference between GPU and CPU positions of the common members (they agree to rounding, not bit for bit).
``--small`` uses a 1-degree field and 20,000 members to check the script quickly (and with
NUMBA_ENABLE_CUDASIM=1 ``--resolution 2 --members 20 --cpu-members 5 --hours 1`` runs it on numba's CUDA
simulator, without a GPU: a check of the script, not a figure).  Without a GPU it says so and
exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def members(n, rng, kind, t0, hours):
    from stratotrack.flight import drift, standard

    lat = 40.0 + rng.uniform(-4.5, 4.5, n)  # spread over about 1,000 km
    lon = -100.0 + rng.uniform(-6.0, 6.0, n)
    if kind == "drift":
        alt = rng.uniform(16000.0, 22000.0, n)
        prof = drift(np.full(n, t0 + hours * 3600.0), start_altitude=alt)
        t_end = np.full(n, t0 + hours * 3600.0 + 120.0)
    else:
        alt = np.full(n, 0.0)
        prof = standard(5.0, 30000.0, 5.0, start_altitude=alt)
        t_end = np.full(n, t0 + 4 * 3600.0)  # ascent 6,000 s + descent: about 2.6 h
    codes, vals = prof.encode(n)
    return lat, lon, alt, codes, vals, t_end


def run(wind, backend, n, kind, t0, hours, seed=7):
    from stratotrack.engine import Integrator

    rng = np.random.default_rng(seed)
    lat, lon, alt, codes, vals, t_end = members(n, rng, kind, t0, hours)
    integ = Integrator(wind, np.full(n, t0), lat, lon, alt, codes, vals, t_end, step=60.0, output_interval=3600.0,
                       backend=backend)
    start = time.perf_counter()
    integ.run()
    wall = time.perf_counter() - start
    raw = integ.result()
    steps = float(np.sum(np.abs(integ.t - t0))) / 60.0  # particle-steps actually taken
    return wall, steps, raw


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--hours", type=float, default=24.0, help="length of the drift")
    ap.add_argument("--cpu-members", type=int, default=20_000, help="members run on the CPU for the ratio")
    ap.add_argument("--resolution", type=float, default=0.25, help="grid spacing of the field, degrees")
    ap.add_argument("--small", action="store_true")
    args = ap.parse_args()
    if args.small:
        args.members, args.cpu_members, args.resolution = 20_000, 2_000, 1.0

    from numba import cuda

    import stratotrack as st
    from stratotrack.engine import gpu
    from stratotrack.timeutil import to_epoch_seconds

    if not gpu.available():
        print("no CUDA GPU here: the gpu backend needs one (numba.cuda.is_available() is False)")
        raise SystemExit(2)
    try:
        name = cuda.get_current_device().name
        name = name.decode() if isinstance(name, bytes) else name
    except AttributeError:  # numba's CUDA simulator
        name = "numba CUDA simulator"
    print(f"device: {name}; "
          f"load average {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs")
    from engine_throughput import gfs_like_field

    t = time.perf_counter()
    wind = st.open_wind(gfs_like_field(args.resolution, hours=max(24, int(args.hours) + 6)))
    print(f"field prepared in {time.perf_counter() - t:.1f} s: {wind.data.nbytes / 2**30:.2f} GiB float32")
    t0 = float(to_epoch_seconds("2023-02-01T01:00:00Z"))

    t = time.perf_counter()
    run(wind, "gpu", 64, "standard", t0, 1.0)  # compile the CUDA kernel, copy the field to the device
    print(f"first GPU call (CUDA compilation + field copy): {time.perf_counter() - t:.1f} s")
    run(wind, "cpu", 64, "standard", t0, 1.0)

    for kind in ("drift", "standard"):
        wall, steps, g = run(wind, "gpu", args.members, kind, t0, args.hours)
        print(f"{kind}: GPU {args.members} members, {steps / 1e6:.0f} M particle-steps in {wall:.2f} s -> "
              f"{steps / wall / 1e6:.0f} M particle-steps/s")
        m = min(args.cpu_members, args.members)
        cwall, csteps, c = run(wind, "cpu", m, kind, t0, args.hours)
        gs = run(wind, "gpu", m, kind, t0, args.hours)[2]
        width = min(gs.lat.shape[1], c.lat.shape[1])
        dlat = np.nanmax(np.abs(gs.lat[:, :width] - c.lat[:, :width]))
        dalt = np.nanmax(np.abs(gs.alt[:, :width] - c.alt[:, :width]))
        print(f"  CPU ({os.cpu_count()} CPUs, numba threads), {m} members: {csteps / cwall / 1e6:.1f} M "
              f"particle-steps/s; GPU/CPU {steps / wall / (csteps / cwall):.1f}x; "
              f"same members GPU vs CPU: max |dlat| {dlat:.1e} deg, max |dalt| {dalt:.1e} m, "
              f"same events {np.array_equal(gs.ev_kind, c.ev_kind)}")


if __name__ == "__main__":
    main()
