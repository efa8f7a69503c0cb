"""First-call latency of a new process: import stratotrack and run one standard prediction on the climatology.

Run:  python benchmarks/first_call_latency.py

"cold" uses an empty numba cache directory (everything compiles), "warm" reuses it (the on-disk cache is loaded).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

SNIPPET = (
    "import time; t=time.perf_counter(); import stratotrack as st; "
    "ds = st.predict(37.74, -122.22, 10.0, '2023-01-17T11:00:00Z'); "
    "print(f'{time.perf_counter() - t:.2f}')"
)


def run(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", SNIPPET], env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, float(out.stdout.strip().splitlines()[-1])


def main():
    with tempfile.TemporaryDirectory() as cache:
        for label in ("cold", "warm", "warm"):
            wall, inside = run(cache)
            print(f"{label}: process wall {wall:.2f} s (import + first predict inside the process {inside:.2f} s)")


if __name__ == "__main__":
    main()
