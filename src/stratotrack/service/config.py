"""The server's configuration: one dataclass, passed to worker processes as JSON in an environment variable."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from ..errors import InputError

ENV = "STRATOTRACK_SERVE_CONFIG"


def default_database() -> str:
    """SQLite in the user data folder (``$STRATOTRACK_DATA_DIR`` moves it)."""
    env = os.environ.get("STRATOTRACK_DATA_DIR")
    if env:
        root = Path(env).expanduser()
    else:
        import platformdirs

        root = Path(platformdirs.user_data_dir("stratotrack"))
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'serve.sqlite'}"


@dataclasses.dataclass
class ServeConfig:
    """What ``stratotrack serve`` runs with.

    ``winds``: the datasets a request may use, each ``SOURCE`` or ``NAME=SOURCE`` (``climatology``, a downloaded
    source such as ``gfs``, a cache entry id, or a file/glob chosen by whoever starts the server; a request only ever
    names a dataset, never a path).  Rates are requests per second with a burst allowance; they are per worker
    process divided by ``workers`` so that the total holds.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    winds: list = dataclasses.field(default_factory=lambda: ["climatology"])
    database: str | None = None
    cors_origins: list = dataclasses.field(default_factory=list)
    rate_per_key: float = 50.0
    rate_per_address: float = 200.0
    burst: float = 2.0  # seconds of rate allowed at once
    max_body_bytes: int = 1_000_000
    request_timeout_s: float = 30.0
    job_workers: int = 1
    max_members: int = 20000
    session_particles: int = 2000
    open_v1: bool = True  # v1 (Tawhiri) reads need no key, as Tawhiri's; writes always do

    def check(self) -> "ServeConfig":
        if not (1 <= int(self.port) <= 65535):
            raise InputError(f"port {self.port!r} is invalid; expected 1..65535")
        if int(self.workers) < 1:
            raise InputError(f"workers {self.workers!r} is invalid; expected at least 1")
        for name in ("rate_per_key", "rate_per_address", "burst", "request_timeout_s"):
            if not float(getattr(self, name)) > 0:
                raise InputError(f"{name.replace('_', ' ')} {getattr(self, name)!r} is invalid; "
                                 "expected a positive number")
        if not 10 <= int(self.session_particles) <= 100000:
            raise InputError(f"session particles {self.session_particles!r} is invalid; expected 10..100000")
        if int(self.max_body_bytes) < 1024:
            raise InputError(f"max body bytes {self.max_body_bytes!r} is invalid; expected at least 1024")
        if not self.winds:
            raise InputError("no wind datasets configured; expected at least one --wind (e.g. climatology)")
        if self.database is None:
            self.database = default_database()
        return self

    def to_env(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_env(cls) -> "ServeConfig":
        text = os.environ.get(ENV)
        if not text:
            return cls().check()
        return cls(**json.loads(text)).check()
