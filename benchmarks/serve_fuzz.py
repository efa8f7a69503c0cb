"""Fuzzing the running service with thousands of malformed requests (Hypothesis): v1 query strings, v2 job bodies,
session observation bodies in every accepted Content-Type and some that are not.  Never a 500, never a traceback.

Run:  python benchmarks/serve_fuzz.py [--examples 1500]

Uses the strategies of tests/_fuzz.py (the test suite runs 100 of each); prints the number of requests sent and the
status codes they got.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from _serve_client import Server, loadavg  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=1500, help="examples per endpoint")
    a = ap.parse_args()
    import httpx
    from hypothesis import HealthCheck, given, settings

    import _fuzz

    print(f"load average before start: {loadavg()}")
    srv = Server("--rate-per-address", "1e9", "--rate-per-key", "1e6", "--session-particles", "100", workers=2)
    codes = collections.Counter()
    try:
        c = httpx.Client(base_url=f"http://127.0.0.1:{srv.port}", timeout=120,
                         headers={"Authorization": f"Bearer {srv.key()}"})
        sid = c.post("/api/v2/sessions", json={"forecast": "1h"}).json()["id"]
        conf = settings(max_examples=a.examples, deadline=None, suppress_health_check=list(HealthCheck),
                        database=None)

        def record(r, allowed):
            codes[r.status_code] += 1
            _fuzz.check_response(r, allowed)

        @conf
        @given(q=_fuzz.v1_queries)
        def v1(q):
            record(c.get("/api/v1/", params=q), {200, 400, 404})

        @conf
        @given(q=_fuzz.v1_sparse)
        def v1_sparse(q):
            record(c.get("/api/v1/", params=q), {200, 400, 404})

        @conf
        @given(body=_fuzz.job_bodies)
        def jobs(body):
            record(c.post("/api/v2/jobs", content=json.dumps(body).encode(),
                          headers={"Content-Type": "application/json"}), {202, 400, 404, 501})

        @conf
        @given(item=_fuzz.obs_bodies)
        def observations(item):
            ctype, body = item
            record(c.post(f"/api/v2/sessions/{sid}/observations", content=body,
                          headers={"Content-Type": ctype} if ctype else {}), {201, 400})

        t = time.perf_counter()
        for f in (v1, v1_sparse, jobs, observations):
            f()
        n = sum(codes.values())
        print(f"{n} fuzzed requests in {time.perf_counter() - t:.0f} s: status codes {dict(sorted(codes.items()))}; "
              f"no 500, no traceback   (load {loadavg()})")
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
