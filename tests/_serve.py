"""Start a real ``stratotrack serve`` on 127.0.0.1 (a free port, a temporary database and data folder) for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, tmp: Path, *args, workers=1, database=None, env=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = database or f"sqlite:///{tmp / 'serve.sqlite'}"
        self.env = dict(os.environ, STRATOTRACK_DATA_DIR=str(tmp / "data"), **(env or {}))
        self.log = open(tmp / f"server-{self.port}.log", "w+")
        cmd = [sys.executable, "-m", "stratotrack", "serve", "--port", str(self.port), "--workers", str(workers),
               "--database", self.database, *args]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=self.env,
                                     start_new_session=True)
        self.wait()

    def wait(self, timeout=240.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.output()}")
            try:
                r = httpx.get(self.url + "/api/datasetcheck", timeout=5.0)
                if r.status_code in (200, 404):  # answering (404: no dataset cycle yet)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        out = self.output()
        self.stop()
        raise RuntimeError(f"server did not answer within {timeout} s: {out}")

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-4000:]

    def cli(self, *args) -> str:
        out = subprocess.run([sys.executable, "-m", "stratotrack", "serve", *args, "--database", self.database],
                             capture_output=True, text=True, env=self.env, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    def new_key(self, name="test") -> str:
        """A key made by the function behind 'stratotrack serve keys create' (the command itself is tested once)."""
        from stratotrack.service.auth import create_key
        from stratotrack.service.db import Database

        db = Database(self.database)
        try:
            return create_key(db, name)[1]
        finally:
            db.dispose()

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()
