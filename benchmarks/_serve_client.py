"""A lean HTTP/1.1 keep-alive client on asyncio streams (for the serve benchmarks: the client shares the CPUs with
the server, so it must cost little) and a helper that starts ``stratotrack serve`` on a free port."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


class Conn:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def request(self, method, path, body=b"", headers=None):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Connection: keep-alive"]
        for k, v in (headers or {}).items():
            head.append(f"{k}: {v}")
        if body or method == "POST":
            head.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length, chunked = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            k, _, v = line.decode().partition(":")
            k = k.strip().lower()
            if k == "content-length":
                length = int(v)
            elif k == "transfer-encoding" and "chunked" in v:
                chunked = True
        if chunked:
            data = b""
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                data += chunk[:-2]
        else:
            data = await self.reader.readexactly(length)
        return status, data

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, *args, workers=2):
        import httpx

        self.tmp = Path(tempfile.mkdtemp(prefix="stratotrack-bench-"))
        self.port = free_port()
        self.database = f"sqlite:///{self.tmp / 'serve.sqlite'}"
        env = dict(os.environ, STRATOTRACK_DATA_DIR=str(self.tmp))
        self.log = open(self.tmp / "server.log", "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "stratotrack", "serve", "--port", str(self.port),
                                      "--workers", str(workers), "--database", self.database, *args],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        end = time.monotonic() + 300
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited: {(self.tmp / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/api/datasetcheck", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        # every worker must have warmed up: ask until each has answered (they answer in turn)
        for _ in range(4 * workers):
            httpx.get(f"http://127.0.0.1:{self.port}/api/datasetcheck", timeout=60)

    def key(self):
        from stratotrack.service.auth import create_key
        from stratotrack.service.db import Database

        db = Database(self.database)
        k = create_key(db, "bench")[1]
        db.dispose()
        return k

    def pids(self):
        out = [self.proc.pid]
        try:
            kids = subprocess.run(["pgrep", "-g", str(self.proc.pid)], capture_output=True, text=True).stdout.split()
            out = sorted({int(k) for k in kids} | {self.proc.pid})
        except OSError:
            pass
        return out

    def rss_mib(self):
        total = 0
        for pid in self.pids():
            try:
                for line in open(f"/proc/{pid}/status"):
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total / 1024

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def loadavg() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])
