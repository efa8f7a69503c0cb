"""Latency and throughput of API v1 over HTTP on loopback: Tawhiri's documented standard prediction.

Run:  python benchmarks/serve_latency.py [--requests 400] [--concurrent 50] [--total 4000] [--workers 2]

Starts ``stratotrack serve`` (uvicorn, --workers processes, the embedded climatology), warms it up, then
(1) one client, one request at a time: p50/p99 latency; (2) --concurrent clients on keep-alive connections sending
--total requests: predictions per second.  The client runs on the same CPUs as the server (2 cores here), so the
throughput figure includes its cost.  Tawhiri answers such a request in 27-45 ms.  The load average is printed:
the machine may be shared.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from _serve_client import Conn, Server, loadavg  # noqa: E402

QUERY = ("/api/v1/?launch_latitude=50.0&launch_longitude=0.01&launch_datetime=2014-08-20T00%3A00%3A00%2B01:00"
         "&ascent_rate=5&burst_altitude=30000&descent_rate=10")


async def sequential(port, n):
    c = Conn("127.0.0.1", port)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        status, _ = await c.request("GET", QUERY)
        times.append(time.perf_counter() - t)
        assert status == 200, status
    c.close()
    return times


async def concurrent(port, clients, total):
    left = [total]
    errors = [0]

    async def client():
        c = Conn("127.0.0.1", port)
        while left[0] > 0:
            left[0] -= 1
            status, _ = await c.request("GET", QUERY)
            if status != 200:
                errors[0] += 1
        c.close()

    t = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - t, errors[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--concurrent", type=int, default=50)
    ap.add_argument("--total", type=int, default=4000)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    print(f"load average before start: {loadavg()}  (cpus: {os.cpu_count()})")
    srv = Server("--rate-per-address", "1e9", workers=a.workers)
    try:
        asyncio.run(sequential(srv.port, 50))  # warm every worker
        times = sorted(asyncio.run(sequential(srv.port, a.requests)))
        p = lambda q: times[min(len(times) - 1, int(q * len(times)))] * 1e3  # noqa: E731
        print(f"v1 standard prediction, 1 client, {a.requests} requests: p50 {p(0.50):.2f} ms  p90 {p(0.90):.2f} ms"
              f"  p99 {p(0.99):.2f} ms  mean {statistics.mean(times) * 1e3:.2f} ms   (load {loadavg()})")
        wall, errors = asyncio.run(concurrent(srv.port, a.concurrent, a.total))
        print(f"v1 standard prediction, {a.concurrent} concurrent clients, {a.total} requests, {a.workers} workers: "
              f"{a.total / wall:.0f} predictions/s, {errors} errors   (load {loadavg()})")
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
