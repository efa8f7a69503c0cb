"""Wall time of ``stratotrack predict`` (standard profile, embedded climatology) in a new process, cold and warm.

Run:  python benchmarks/cli_latency.py [--repeat 5]

"cold": empty numba cache and empty stratotrack cache (the first run after installing: the kernels compile and the
place names are converted once).  "warm": the same caches reused, as every later run finds them.  The "phases"
line times the steps of one warm run inside a process, to show where the time goes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ARGS = ["predict", "--lat", "37.74", "--lon", "-122.22", "--time", "2023-01-17T11:00:00Z"]

PHASES = r"""
import time, io, contextlib
t0 = time.perf_counter()
import stratotrack.cli.app
t1 = time.perf_counter()
import stratotrack as st
import stratotrack.api
t2 = time.perf_counter()
wind = st.open_wind("climatology")
t3 = time.perf_counter()
ds = st.predict(37.74, -122.22, 0.0, "2023-01-17T11:00:00Z", wind=wind)
t4 = time.perf_counter()
from stratotrack.io.summary import summarize
s = summarize(ds)
t5 = time.perf_counter()
from stratotrack.cli.render import render
with contextlib.redirect_stdout(io.StringIO()):
    render(s)
t6 = time.perf_counter()
print(f"cli import {t1-t0:.2f} s, engine import {t2-t1:.2f} s, climatology {t3-t2:.2f} s, "
      f"first predict {t4-t3:.2f} s, summary with places {t5-t4:.2f} s, printing {t6-t5:.2f} s")
"""


def once(env) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "stratotrack", *ARGS], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="warm runs to take the median of")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as numba_cache, tempfile.TemporaryDirectory() as st_cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=numba_cache, STRATOTRACK_CACHE_DIR=st_cache)
        cold = once(env)
        warm = [once(env) for _ in range(opts.repeat)]
        print(f"command: stratotrack {' '.join(ARGS)}")
        print(f"cold (empty caches): {cold:.2f} s")
        print(f"warm (caches filled): median {statistics.median(warm):.2f} s, "
              f"min {min(warm):.2f} s, max {max(warm):.2f} s over {len(warm)} runs")
        out = subprocess.run([sys.executable, "-c", PHASES], env=env, check=True, capture_output=True, text=True)
        print("phases of a warm run:", out.stdout.strip())


if __name__ == "__main__":
    main()
