"""A bounded loopback load test: N requests, mixed API v1 predictions and live-session observation posts, from
C concurrent clients; then the observations are counted back from the database.

Run:  python benchmarks/serve_load.py [--requests 20000] [--clients 50] [--post-share 0.3] [--workers 2]

Each client owns a session (its own API key) and alternates, at random with a fixed seed, between a v1 standard
prediction and posting one telemetry fix to its session.  Printed: requests per second, errors (any status but
200/201), observations posted vs stored in the database (zero lost), the server's total RSS (all its processes)
after the warm-up, halfway and at the end (memory stable), and the load average (the machine may be shared).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from _serve_client import Conn, Server, loadavg  # noqa: E402

V1 = ("/api/v1/?launch_latitude=52.2&launch_longitude=0.1&launch_datetime=2023-01-17T11:00:00Z&ascent_rate=5"
      "&burst_altitude=30000&descent_rate=5")


async def run(srv, keys, sessions, total, share, seed, rss):
    rng = random.Random(seed)
    plan = [rng.random() < share for _ in range(total)]
    nxt = [0]
    stats = {"ok": 0, "errors": 0, "posted": {}, "codes": {}}
    marks = {total * k // 4 for k in (1, 2, 3)}

    async def client(i):
        c = Conn("127.0.0.1", srv.port)
        hdr = {"Authorization": f"Bearer {keys[i]}", "Content-Type": "application/json"}
        k = 0
        while nxt[0] < total:
            j = nxt[0]
            nxt[0] += 1
            if j in marks:
                rss.append(srv.rss_mib())
            if plan[j]:
                t = 1673953200 + 60 * k
                body = json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)),
                                   "latitude": 52.2 + 0.001 * k, "longitude": 0.1 + 0.004 * k,
                                   "altitude": 10.0 + 300.0 * (k % 100)}).encode()
                status, _ = await c.request("POST", f"/api/v2/sessions/{sessions[i]}/observations", body, hdr)
                if status == 201:
                    stats["posted"][i] = stats["posted"].get(i, 0) + 1
                k += 1
            else:
                status, _ = await c.request("GET", V1)
            stats["codes"][status] = stats["codes"].get(status, 0) + 1
            if status in (200, 201):
                stats["ok"] += 1
            else:
                stats["errors"] += 1
        c.close()

    t = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(len(keys))))
    return time.perf_counter() - t, stats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--post-share", type=float, default=0.3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--database", default=None, help="postgresql://... (default: SQLite in a temporary folder)")
    a = ap.parse_args()
    import httpx
    import sqlalchemy as sa

    from stratotrack.service.db import Database, ObservationRow

    print(f"load average before start: {loadavg()}  (cpus: {os.cpu_count()})")
    extra = ["--database", a.database] if a.database else []
    srv = Server("--rate-per-address", "1e9", "--rate-per-key", "1e6", "--session-particles", "500", *extra,
                 workers=a.workers)
    if a.database:
        srv.database = a.database
    try:
        keys = [srv.key() for _ in range(a.clients)]
        sessions = []
        for k in keys:
            r = httpx.post(f"http://127.0.0.1:{srv.port}/api/v2/sessions", json={"mode": "sounding"},
                           headers={"Authorization": f"Bearer {k}"}, timeout=60)
            sessions.append(r.json()["id"])
        rss = [srv.rss_mib()]
        wall, stats = asyncio.run(run(srv, keys, sessions, a.requests, a.post_share, 1, rss))
        time.sleep(1.0)
        rss.append(srv.rss_mib())
        db = Database(srv.database)
        with db.session() as s:
            stored = {sid: n for sid, n in s.execute(
                sa.select(ObservationRow.session_id, sa.func.count()).where(
                    ObservationRow.session_id.in_(sessions)).group_by(ObservationRow.session_id)).all()}
        db.dispose()
        posted = sum(stats["posted"].values())
        lost = sum(max(0, stats["posted"].get(i, 0) - stored.get(sid, 0)) for i, sid in enumerate(sessions))
        print(f"{a.requests} requests ({a.post_share:.0%} session posts) from {a.clients} clients, {a.workers} "
              f"workers: {a.requests / wall:.0f} requests/s over {wall:.1f} s; status counts {stats['codes']}; "
              f"errors {stats['errors']}")
        print(f"observations: {posted} accepted, {sum(stored.values())} in the database, {lost} lost")
        print(f"server RSS (all processes, job processes included once started): after warm-up {rss[0]:.0f} MiB, "
              f"at 25/50/75% {rss[1]:.0f}/{rss[2]:.0f}/{rss[3]:.0f} MiB, end {rss[4]:.0f} MiB   (load {loadavg()})")
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
