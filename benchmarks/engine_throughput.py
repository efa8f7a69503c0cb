"""Engine figures (issue 2): ensemble throughput on a GFS 0.25-degree-shaped field, single-prediction latency, peak RSS.

Run:  python benchmarks/engine_throughput.py [--members 10000] [--hours 72] [--small] [--repeat 5]

The machine is shared: the threads line reports the load average, and NUMBA_NUM_THREADS=1 gives the cost per
particle-step of one core.

The field has the shape of a GFS 0.25-degree cycle restricted to the stratosphere: 721 x 1440 points, 12
pressure levels from 150 to 10 hPa with geopotential height, 3-hourly over 72 h (25 times), float32 (about 3.7 GB
for u, v and height).  Values are synthetic but realistic in size and structure (a jet with waves that move in
time; heights from the standard atmosphere with a meridional slope).  ``--small`` uses a 1-degree grid to check
the script quickly.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numba

import numpy as np
import xarray as xr


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def gfs_like_field(resolution=0.25, hours=72, every=3):
    from stratotrack import atmosphere

    lat = np.linspace(90.0, -90.0, int(round(180 / resolution)) + 1)  # GFS order: north to south
    lon = np.arange(0.0, 360.0, resolution)
    levels = np.array([150.0, 125.0, 100.0, 85.0, 70.0, 60.0, 50.0, 40.0, 30.0, 20.0, 15.0, 10.0])
    times = np.datetime64("2023-02-01T00:00") + np.arange(0, hours + 1, every).astype("timedelta64[h]")
    nt, nz, ny, nx = times.size, levels.size, lat.size, lon.size
    shape = (nt, nz, ny, nx)
    u = np.empty(shape, np.float32)
    v = np.empty(shape, np.float32)
    gh = np.empty(shape, np.float32)
    phi = np.deg2rad(lat)[:, None].astype(np.float32)
    lam = np.deg2rad(lon)[None, :].astype(np.float32)
    base_h = atmosphere.geometric_to_geopotential(atmosphere.altitude_from_pressure(levels * 100.0))
    for it in range(nt):
        shift = np.float32(2 * np.pi * it / nt)
        for k in range(nz):
            amp = np.float32(25.0 + 10.0 * np.sin(k / 3.0))
            wave = np.sin(3 * lam + shift + k * 0.2) * np.cos(phi)
            u[it, k] = amp * np.cos(phi) ** 2 + 8.0 * wave
            v[it, k] = 6.0 * np.cos(2 * lam - shift) * np.cos(phi) ** 2
            gh[it, k] = base_h[k] - 400.0 * np.sin(phi) ** 2 + 50.0 * wave
    dims = ("time", "isobaricInhPa", "latitude", "longitude")
    ds = xr.Dataset(
        {
            "u": (dims, u, {"units": "m s**-1", "standard_name": "eastward_wind"}),
            "v": (dims, v, {"units": "m s**-1", "standard_name": "northward_wind"}),
            "gh": (dims, gh, {"units": "gpm", "standard_name": "geopotential_height"}),
        },
        coords={"time": times, "isobaricInhPa": ("isobaricInhPa", levels, {"units": "hPa"}),
                "latitude": lat, "longitude": lon},
        attrs={"title": "synthetic GFS-0.25-shaped stratospheric field"},
    )
    return ds


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=10000)
    ap.add_argument("--hours", type=float, default=72.0)
    ap.add_argument("--small", action="store_true", help="1-degree grid (quick check)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run the ensemble this many times and report the fastest and the median (timings on a "
                         "shared machine vary by 20-40%% from run to run; compare medians of several)")
    args = ap.parse_args()

    import stratotrack as st
    from stratotrack.engine import Integrator
    from stratotrack.flight import drift
    from stratotrack.timeutil import to_epoch_seconds

    t = time.perf_counter()
    ds = gfs_like_field(1.0 if args.small else 0.25)
    nbytes = sum(ds[v].nbytes for v in ds.data_vars)
    print(f"field: {dict(ds.sizes)}  {nbytes / 2**30:.2f} GiB float32, built in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    wind = st.open_wind(ds)
    print(f"open_wind (reorganise once): {time.perf_counter() - t:.1f} s; prepared {wind.data.nbytes / 2**30:.2f} GiB")
    del ds
    print(f"peak RSS after preparing: {peak_rss_gb():.2f} GiB")

    rng = np.random.default_rng(42)
    n = args.members
    # members spread over a region about 1,000 km across, at 16-22 km
    lat = 40.0 + rng.uniform(-4.5, 4.5, n)
    lon = -100.0 + rng.uniform(-6.0, 6.0, n)
    alt = rng.uniform(16000.0, 22000.0, n)
    t0 = np.full(n, to_epoch_seconds("2023-02-01T00:00:00Z"))
    dur = args.hours * 3600.0
    prof = drift(t0 + dur, start_altitude=alt)
    codes, vals = prof.encode(n)
    step = 60.0

    # compile / warm with a tiny run
    warm = Integrator(wind, t0[:8], lat[:8], lon[:8], alt[:8], codes[:8], vals[:8], t0[:8] + dur + 120, step=step,
                      output_interval=3600.0)
    warm.advance(t0[0] + 600.0)

    walls = []
    for _ in range(max(1, args.repeat)):
        integ = Integrator(wind, t0, lat, lon, alt, codes, vals, t0 + dur + 2 * step, step=step,
                           output_interval=3600.0)
        t = time.perf_counter()
        integ.run()
        walls.append(time.perf_counter() - t)
    wall = float(np.median(walls))
    steps = n * dur / step
    if len(walls) > 1:
        print(f"  {len(walls)} runs: fastest {min(walls):.2f} s, median {wall:.2f} s, slowest {max(walls):.2f} s "
              f"(figures below use the median)")
    threads = numba.get_num_threads()
    print(f"ensemble: {n} members x {args.hours:g} h at {step:g} s = {steps / 1e6:.1f} M particle-steps")
    print(f"  wall {wall:.2f} s (kernel {integ.engine_seconds:.2f} s in the last run) -> {steps / wall / 1e6:.1f} M particle-steps/s "
          f"({4 * steps / wall / 1e6:.0f} M wind samples/s)")
    print(f"  {threads} threads (numba threading layer '{numba.threading_layer()}', {os.cpu_count()} CPUs, load "
          f"average {os.getloadavg()[0]:.1f} at the end): {wall * threads / steps * 1e9:.0f} thread-ns per particle-step")
    raw = integ.result()
    print(f"  ended: {np.bincount(raw.status).tolist()} (status counts), clamped steps: {raw.clamped.sum(axis=0).tolist()}")
    print(f"peak RSS after the ensemble: {peak_rss_gb():.2f} GiB")

    # single standard-profile prediction, warm
    st.predict(40.0, -100.0, 0.0, "2023-02-01T01:00:00Z", wind=wind, burst_altitude=28000.0)
    times = []
    engine = []
    for _ in range(50):
        t = time.perf_counter()
        r = st.predict(40.0, -100.0, 0.0, "2023-02-01T01:00:00Z", wind=wind, burst_altitude=28000.0)
        times.append(time.perf_counter() - t)
        engine.append(r.attrs["engine_seconds"])
    print(f"single standard prediction (warm): engine {np.median(engine) * 1e3:.3f} ms, "
          f"whole predict() incl. Dataset {np.median(times) * 1e3:.1f} ms (median of 50)")
    print(f"peak RSS: {peak_rss_gb():.2f} GiB")


if __name__ == "__main__":
    main()
