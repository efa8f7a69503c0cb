"""First-prediction latency of a new process: wall time of ``stratotrack predict`` (one standard flight on the
climatology, summary printed) and of ``import stratotrack; st.predict(...)`` in a script.

Run:  python benchmarks/first_call_latency.py [--compile-in-process]
      python benchmarks/first_call_latency.py --later-only [--repeat 7]   (later processes only, numba's cache as
      it is: run ``python -m stratotrack.engine.warmup`` first; quick A/B of the import path)

Cases, each a new process:
  * fresh install: an empty numba cache (``NUMBA_CACHE_DIR`` set to a new folder), as right after ``pip install``.
    The first small runs go uncompiled while one background process compiles the kernels into that cache
    (stratotrack.engine.warmup); the script waits for it and reports how long it took;
  * later processes: the same cache, now built.  ``stratotrack predict`` again (its single flight still runs
    uncompiled: cheaper than loading the compiled kernels), then a script's first and second ``st.predict``
    (the second loads the compiled kernels);
  * with ``--compile-in-process``: the old route for comparison (``STRATOTRACK_COLD_START=compile``, an empty
    cache: the first prediction compiles everything in the foreground; 30-120 s).
Note the load average printed beside the figures: the machine may be shared.  ``PYTHONDONTWRITEBYTECODE`` is
dropped from the commands' environment (set, every process compiles stratotrack's ~50 modules from source again:
0.15-0.2 s that no user of an installed package pays; pip writes the bytecode at install).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = [str(Path(sys.executable).with_name("stratotrack")), "predict", "--lat", "37.74", "--lon", "-122.22",
       "--time", "2023-01-17T11:00:00Z"]
SNIPPET = (
    "import time; t=time.perf_counter(); import stratotrack as st; "
    "p = st.predict(37.74, -122.22, 10.0, '2023-01-17T11:00:00Z', result='light'); a = time.perf_counter() - t; "
    "t = time.perf_counter(); q = st.predict(37.74, -122.22, 10.0, '2023-01-17T11:00:00Z', result='light'); "
    "print(f'{a:.2f} {p.backend} {time.perf_counter() - t:.3f} {q.backend}')"
)


def wall(cmd, env, cpu=None):
    """Wall seconds of ``cmd`` and its stdout; its CPU seconds (user + system) appended to ``cpu`` if given."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])}... failed:\n{out.stderr[-2000:]}")
    if cpu is not None:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return took, out.stdout


def stamp_in(cache):
    return list(Path(cache).rglob("stratotrack-compiled-*"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compile-in-process", action="store_true")
    ap.add_argument("--wait", type=float, default=600.0, help="seconds to wait for the background compilation")
    ap.add_argument("--later-only", action="store_true",
                    help="only later processes, on numba's cache as it is (no fresh install)")
    ap.add_argument("--repeat", type=int, default=2, help="later processes to time")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.later_only:
        env = dict(os.environ)
        env.pop("STRATOTRACK_COLD_START", None)
        cpu = []
        walls = sorted(wall(CLI, env, cpu)[0] for _ in range(args.repeat))
        cpu.sort()
        print(f"later processes: stratotrack predict wall min {walls[0]:.2f} s, median {walls[len(walls) // 2]:.2f} s, "
              f"max {walls[-1]:.2f} s; CPU (user + system) min {cpu[0]:.2f} s, median {cpu[len(cpu) // 2]:.2f} s "
              f"({args.repeat} runs; load average now {os.getloadavg()[0]:.2f})")
        t, out = wall([sys.executable, "-c", SNIPPET], env)
        first, b1, second, b2 = out.split()
        print(f"later process, script: import + first st.predict {first} s ({b1}), second call {second} s ({b2}; "
              f"loads the compiled kernels); process wall {t:.2f} s")
        return
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        env.pop("STRATOTRACK_COLD_START", None)
        t, _ = wall(CLI, env)
        started = time.perf_counter()
        print(f"fresh install (empty numba cache): stratotrack predict {t:.2f} s wall")
        while not stamp_in(cache) and time.perf_counter() - started < args.wait:
            time.sleep(0.5)
        if stamp_in(cache):
            note = stamp_in(cache)[0].read_text().strip()
            print(f"  background compilation finished {time.perf_counter() - started + t:.0f} s after the command "
                  f"started ({note})")
        else:
            print(f"  background compilation not finished after {args.wait:.0f} s")
        for k in range(args.repeat):
            t, _ = wall(CLI, env)
            print(f"later process {k + 1}: stratotrack predict {t:.2f} s wall")
        t, out = wall([sys.executable, "-c", SNIPPET], env)
        first, b1, second, b2 = out.split()
        print(f"later process, script: import + first st.predict {first} s ({b1}), second call {second} s ({b2}; "
              f"loads the compiled kernels); process wall {t:.2f} s")
    if args.compile_in_process:
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache, STRATOTRACK_COLD_START="compile")
            t, _ = wall(CLI, env)
            print(f"old route (compile in the process, empty cache): stratotrack predict {t:.2f} s wall")
            t, _ = wall(CLI, env)
            print(f"old route, later process (loads the compiled kernels): stratotrack predict {t:.2f} s wall")


if __name__ == "__main__":
    main()
