"""The service's database layer on SQLite and on a real PostgreSQL server: Alembic migrations (idempotent, at
head), jobs left by a stopped server marked failed, results without NaN (PostgreSQL's JSON has none)."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("sqlalchemy")
from _pg import TempDatabase  # noqa: E402


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    from stratotrack.service.db import Database

    pg = TempDatabase() if request.param == "postgresql" else None
    d = Database(pg.url if pg else f"sqlite:///{tmp_path / 'db.sqlite'}")
    yield d
    d.dispose()
    if pg:
        pg.drop()


def test_migrations_are_idempotent_and_at_head(db):
    import sqlalchemy as sa

    db.upgrade()
    db.upgrade()
    with db.engine.connect() as con:
        assert con.execute(sa.text("select version_num from alembic_version")).scalar() == "0001"
        names = set(sa.inspect(con).get_table_names())
    assert {"api_keys", "sessions", "observations", "session_states", "jobs"} <= names


def test_interrupted_jobs_are_marked_failed_and_results_hold_no_nan(db):
    import time

    from stratotrack.service.auth import create_key
    from stratotrack.service.db import Job
    from stratotrack.service.jobs import clean

    db.upgrade()
    kid, _ = create_key(db, "t")
    with db.session.begin() as s:
        for i, status in enumerate(("queued", "running", "done", "failed")):
            s.add(Job(id=f"job{i}", key_id=kid, kind="predict", status=status, progress=0.0, created=time.time(),
                      request={"x": 1}, result=clean({"a": math.nan, "b": [1.0, math.inf], "c": {"d": 2.5}})))
    assert db.fail_interrupted_jobs() == 2
    with db.session() as s:
        jobs = {j: s.get(Job, j) for j in ("job0", "job1", "job2")}
    assert jobs["job0"].status == jobs["job1"].status == "failed" and "stopped" in jobs["job0"].error
    assert jobs["job2"].status == "done"
    assert jobs["job2"].result == {"a": None, "b": [1.0, None], "c": {"d": 2.5}}


@pytest.mark.parametrize("args, code, words", [
    (["--port", "0"], 2, ["port 0", "1..65535"]),
    (["--wind", "/nonexistent/winds.nc"], 2, ["/nonexistent/winds.nc"]),
    (["--database", "mysql://x@y/z"], 2, ["mysql://", "postgresql://"]),
    (["--database", "postgresql://nobody:wrong@127.0.0.1:1/none"], 1, ["database cannot be used"]),
])
def test_serve_command_line_faults(args, code, words, tmp_path):
    """Bad input exits 2 and an unreachable database exits 1, each with one line, before any server starts."""
    import os
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "stratotrack", "serve", *args], capture_output=True, text=True,
                         timeout=120, env=dict(os.environ, STRATOTRACK_DATA_DIR=str(tmp_path)))
    assert out.returncode == code, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("stratotrack: error:"), out.stderr
    assert all(w in lines[0] for w in words), lines[0]
