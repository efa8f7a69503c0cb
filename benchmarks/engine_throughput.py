"""Engine figures (issues 2, 14): throughput on a GFS 0.25-degree-shaped field, single-prediction latency, peak RSS.

Run:  python benchmarks/engine_throughput.py [--members 10000] [--hours 72] [--small] [--repeat 3] [--threads 1,2]

Cases, each with 1 and 2 numba threads: 10,000 drifters at 16-22 km for 72 h (hourly output); 10,000 standard
flights (5 m/s to 30 km, drag descent at 5 m/s) from the ground; both from members spread over about 1,000 km.
Then the drift again keeping every step's position (against the hourly run), the NumPy reference on a subsample
(the ratio of the compiled engine to it), and steered balloons for 48 h with a trivial controller deciding every
180 s against the same run without a controller (and with the particles' records left in their own order during
the run, as before Integrator.physical_order).  ``--controller-only`` runs only this last case.  The machine is
shared: each line reports the load average.

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


_CPU = []


def _timed(make, repeat):
    """Run make() -> integrator repeat times; (median wall, last integrator).  The median CPU time of the process
    (all threads) goes to _CPU[-1]: on a shared machine it says what the run costs whatever the load."""
    walls, cpus = [], []
    integ = None
    for _ in range(max(1, repeat)):
        integ = make()
        t, c = time.perf_counter(), time.process_time()
        integ.run()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    _CPU.append(float(np.median(cpus)))
    return float(np.median(walls)), integ


def _line(label, steps, wall, threads, extra=""):
    print(f"  {label:<38} {threads} thr  {steps / 1e6:6.1f} M steps  wall {wall:6.2f} s  "
          f"{steps / wall / 1e6:5.1f} M particle-steps/s  (cpu {_CPU[-1]:.2f} s: {steps / _CPU[-1] / 1e6:5.1f} M per "
          f"cpu-second)  load {os.getloadavg()[0]:.1f}{extra}")
    return steps / wall


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=10000)
    ap.add_argument("--hours", type=float, default=72.0)
    ap.add_argument("--small", action="store_true", help="1-degree grid (quick check)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each case this many times and report the median (timings on a shared machine vary "
                         "by 20-40%% from run to run)")
    ap.add_argument("--threads", default="1,2", help="numba thread counts to run each case with")
    ap.add_argument("--reference-particles", type=int, default=300,
                    help="particles of the NumPy reference's subsample (timed over 20 steps)")
    ap.add_argument("--skip-single", action="store_true", help="skip the single-prediction latency")
    ap.add_argument("--controller-only", action="store_true",
                    help="only the controller case (with and without a controller; implies --skip-single)")
    args = ap.parse_args()

    import stratotrack as st
    from stratotrack.engine import Integrator
    from stratotrack.engine.reference import rk4_reference
    from stratotrack.flight import Profile, Stage, drift, standard
    from stratotrack.timeutil import to_epoch_seconds

    t = time.perf_counter()
    ds = gfs_like_field(1.0 if args.small else 0.25, hours=max(48, int(np.ceil(args.hours / 3) * 3)))
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
    step = 60.0
    codes, vals = drift(t0 + dur, start_altitude=alt).encode(n)
    # standard flights from the ground over the same region: 5 m/s to 30 km, drag descent at 5 m/s (sea level)
    z_ground = np.zeros(n)
    s_codes, s_vals = standard(5.0, 30000.0, 5.0, start_altitude=z_ground).encode(n)
    # the controller case: steered balloons (a commanded altitude) over 48 h, a decision every 180 s
    c_dur = 48 * 3600.0
    c_codes, c_vals = Profile("steer", [Stage("steer", "steer", (60.0, 3.0, 3.0), "none", None, "end")]).encode(n)

    def drift_run(out=3600.0):
        return lambda: Integrator(wind, t0, lat, lon, alt, codes, vals, t0 + dur + 2 * step, step=step,
                                  output_interval=out)

    def standard_run():
        return Integrator(wind, t0, lat, lon, z_ground, s_codes, s_vals, t0 + 6 * 3600.0, step=step,
                          output_interval=3600.0)

    def trivial(view):
        return view.command  # stay: the smallest decision there is (still checked and copied)

    def steer_run(controller):
        return lambda: Integrator(wind, t0, lat, lon, alt, c_codes, c_vals, t0 + c_dur, step=step,
                                  output_interval=3600.0, command=alt, controller=controller,
                                  control_interval=180.0 if controller else None)

    # compile / warm with tiny runs of each kind
    for make in (drift_run(), lambda: standard_run(), steer_run(trivial)):
        w = make()
        w.advance(t0[0] + 600.0)
    threads = [int(x) for x in args.threads.split(",")]
    print(f"ensembles of {n} members, step {step:g} s ({os.cpu_count()} CPUs, numba threading layer "
          f"'{numba.threading_layer()}'; load = 1-minute load average at the end of each run)")
    if args.controller_only:
        numba.set_num_threads(max(threads))
        return _controller_case(steer_run, trivial, n, c_dur, step, max(threads), args.repeat)
    rates = {}
    for nt in threads:
        numba.set_num_threads(nt)
        wall, integ = _timed(drift_run(), args.repeat)
        rates["drift", nt] = _line(f"drift {args.hours:g} h, hourly output", n * dur / step, wall, nt)
        wall, integ = _timed(standard_run, args.repeat)
        flown = float(np.sum(integ.t - t0)) / step
        rates["standard", nt] = _line("standard (5 m/s to 30 km, descent)", flown, wall, nt,
                                      f"  (status {np.bincount(integ.status).tolist()})")
    numba.set_num_threads(max(threads))
    nt = max(threads)
    hourly = _timed(drift_run(), args.repeat)[0]
    wall, integ = _timed(drift_run(step), args.repeat)
    raw = integ.result()
    _line(f"drift {args.hours:g} h, output every step", n * dur / step, wall, nt,
          f"  ({wall / hourly:.2f}x the hourly run; {raw.time.shape[1]} points each)")
    del raw, integ
    print(f"peak RSS after the drift and standard runs: {peak_rss_gb():.2f} GiB")

    # the NumPy reference on a subsample (whole steps of one law; no events, no outputs)
    m = min(args.reference_particles, n)
    ref = {}
    for name, model, params, z in (("drift", 2, (0.0, 60.0, 5.0, 5.0), alt[:m]),
                                   ("ascent", 0, (5.0,), np.full(m, 1000.0)),
                                   ("descent", 1, (5.0,), np.full(m, 29000.0))):
        t = time.perf_counter()
        rk4_reference(wind, t0[0], lat[:m], lon[:m], z, step, 20, model=model, params=params)
        ref[name] = m * 20 / (time.perf_counter() - t)
    ref["standard"] = 2.0 / (1.0 / ref["ascent"] + 1.0 / ref["descent"])  # half the steps of each law, roughly
    print(f"NumPy reference (stratotrack.engine.reference, {m} particles x 20 steps, same field): "
          f"drift {ref['drift'] / 1e3:.0f} k, standard {ref['standard'] / 1e3:.0f} k particle-steps/s")
    for case in ("drift", "standard"):
        print(f"  compiled / NumPy, {case}: " + ", ".join(f"{rates[case, k] / ref[case]:.0f}x ({k} thr)"
                                                         for k in threads))

    _controller_case(steer_run, trivial, n, c_dur, step, nt, args.repeat)
    if args.skip_single:
        return
    # single standard-profile prediction, warm
    numba.set_num_threads(1)
    st.predict(40.0, -100.0, 0.0, "2023-02-01T01:00:00Z", wind=wind, burst_altitude=28000.0)
    times = []
    engine = []
    for _ in range(50):
        t = time.perf_counter()
        r = st.predict(40.0, -100.0, 0.0, "2023-02-01T01:00:00Z", wind=wind, burst_altitude=28000.0)
        times.append(time.perf_counter() - t)
        engine.append(r.attrs["engine_seconds"])
    print(f"single standard prediction (warm, 1 thread): engine {np.median(engine) * 1e3:.3f} ms, "
          f"whole predict() incl. Dataset {np.median(times) * 1e3:.1f} ms (median of 50)")


def _controller_case(steer_run, trivial, n, c_dur, step, nt, repeat):
    """The controller: a trivial decision every 180 s for every particle, 48 h, against the same run without; then
    the same with the records left in the particles' order during the run (Integrator.physical_order False)."""
    base, base_integ = _timed(steer_run(None), repeat)
    _line("steer 48 h, no controller", n * c_dur / step, base, nt)
    cbase = _CPU[-1]
    decisions = int(c_dur // 180.0) + 1
    for physical in (True, False):
        def make():
            integ = steer_run(trivial)()
            integ.physical_order = physical
            return integ

        wall, integ = _timed(make, repeat)
        kernel = integ.engine_seconds - base_integ.engine_seconds
        python = (wall - base) - kernel - integ.control_seconds
        label = "steer 48 h, controller every 180 s" + ("" if physical else " (records in particles' order)")
        _line(label, n * c_dur / step, wall, nt,
              f"  (+{100 * (wall - base) / base:.0f}% wall, +{100 * (_CPU[-1] - cbase) / cbase:.0f}% cpu; "
              f"{1e3 * (wall - base) / decisions:.2f} ms wall per decision: "
              f"{1e3 * integ.control_seconds / decisions:.2f} ms in the controller call and its checks, "
              f"{1e3 * kernel / decisions:.2f} ms more in the kernel (a call per interval), "
              f"{1e3 * python / decisions:.2f} ms in the runner's Python)")
    print(f"peak RSS: {peak_rss_gb():.2f} GiB")

if __name__ == "__main__":
    main()
