"""First-prediction latency of a new process: wall time of ``stratotrack predict`` (one standard flight on the
climatology, summary printed) and of ``import stratotrack; st.predict(...)`` in a script.

Run:  python benchmarks/first_call_latency.py [--compile-in-process]

Cases, each a new process:
  * fresh install: an empty numba cache (``NUMBA_CACHE_DIR`` set to a new folder), as right after ``pip install``.
    The first small runs go uncompiled while one background process compiles the kernels into that cache
    (stratotrack.engine.warmup); the script waits for it and reports how long it took;
  * later processes: the same cache, now built.  ``stratotrack predict`` again (its single flight still runs
    uncompiled: cheaper than loading the compiled kernels), then a script's first and second ``st.predict``
    (the second loads the compiled kernels);
  * with ``--compile-in-process``: the old route for comparison (``STRATOTRACK_COLD_START=compile``, an empty
    cache: the first prediction compiles everything in the foreground; 30-120 s).
Note the load average printed beside the figures: the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
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


def wall(cmd, env):
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])}... failed:\n{out.stderr[-2000:]}")
    return time.perf_counter() - start, out.stdout


def stamp_in(cache):
    return list(Path(cache).rglob("stratotrack-compiled-*"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compile-in-process", action="store_true")
    ap.add_argument("--wait", type=float, default=600.0, help="seconds to wait for the background compilation")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
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
        for k in range(2):
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
