"""Long runs as jobs: queued in the database, run in a pool of worker processes, results stored in the database.

The web worker validates a request, stores a ``Job`` row (``queued``) and hands its id to a process pool; the job
process marks it ``running``, reports progress, runs the science through the public API and stores the result (or
one line saying why it failed).  Live-session re-predictions run in the same pool, coalesced per session: while one
is running, later observations wait for the next one, which then sees all of them.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import math
import multiprocessing
import threading
import time as _time
import uuid

import numpy as np

log = logging.getLogger("stratotrack.service")


# -- helpers shared by both sides -------------------------------------------------------------------------------------
def clean(obj):
    """JSON-ready: numpy scalars and arrays to Python, NaN and infinities to None (PostgreSQL's JSON has no NaN)."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return clean(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, int) and not isinstance(obj, bool) and not -2**63 <= obj < 2**63:
        return str(obj)  # a 128-bit seed: orjson writes 64-bit integers only
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if isinstance(obj, np.datetime64):
        return str(np.datetime64(obj, "s")) + "Z"
    return str(obj)


# -- the job process side -------------------------------------------------------------------------------------------
_CTX: dict = {}


def _context(db_url, winds):
    key = (db_url, tuple(winds))
    if key not in _CTX:
        from .datasets import Datasets
        from .db import Database

        _CTX[key] = (Database(db_url), Datasets(winds))
    return _CTX[key]


def _one_line(exc) -> str:
    return " ".join(str(exc).split())[:1000]


def run_job(db_url: str, winds: list, job_id: str) -> str:
    """Run job ``job_id`` (in a job process) and store its result; returns its final status."""
    from ..errors import StratotrackError
    from .db import Job
    from .science import KINDS

    db, datasets = _context(db_url, winds)
    with db.session.begin() as s:
        job = s.get(Job, job_id)
        if job is None or job.status != "queued":
            return "missing"
        job.status, job.started, job.progress = "running", _time.time(), 0.05
        kind, request = job.kind, dict(job.request)

    def progress(p):
        with db.session.begin() as s:
            j = s.get(Job, job_id)
            j.progress = float(min(max(p, 0.0), 0.99))

    try:
        result, status, error = clean(KINDS[kind](datasets, request, progress)), "done", None
    except (StratotrackError, LookupError) as exc:
        result, status, error = None, "failed", _one_line(exc)
    except Exception as exc:  # noqa: BLE001 - a failed job says so; the log has the traceback
        log.exception("job %s failed", job_id)
        result, status, error = None, "failed", f"internal error ({type(exc).__name__}); the server log has details"
    with db.session.begin() as s:
        j = s.get(Job, job_id)
        j.status, j.finished, j.result, j.error = status, _time.time(), result, error
        j.progress = 1.0 if status == "done" else j.progress
    return status


def run_session_update(db_url: str, winds: list, session_id: str, particles: int) -> int:
    """Re-run the tracker on all of a session's observations (in a job process); store the state; its n_obs."""
    from .db import SessionState
    from .science import session_state

    db, datasets = _context(db_url, winds)
    n, last_id, result = session_state(db, datasets, session_id, particles)
    if n == 0:
        return 0
    with db.session.begin() as s:
        s.add(SessionState(session_id=session_id, n_obs=n, last_obs_id=last_id, created=_time.time(),
                           result=clean(result)))
    return n


def _init_child():
    import os

    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    # a job process lives long: load (or build) the compiled kernels rather than run small runs uncompiled
    os.environ.setdefault("STRATOTRACK_COLD_START", "compile")


# -- the web worker side --------------------------------------------------------------------------------------------
class JobRunner:
    """A process pool per web worker; jobs and coalesced session updates go to it."""

    def __init__(self, state):
        self.state = state
        self._pool = None
        self._lock = threading.Lock()
        self._sessions: dict[str, list] = {}  # session id -> [future, dirty]

    @property
    def pool(self):
        with self._lock:
            if self._pool is None:
                ctx = multiprocessing.get_context("spawn")
                self._pool = cf.ProcessPoolExecutor(max_workers=max(1, int(self.state.config.job_workers)),
                                                    mp_context=ctx, initializer=_init_child)
            return self._pool

    def _submit(self, fn, *args):
        """Submit to the pool; a pool broken by a dead job process is replaced once."""
        try:
            return self.pool.submit(fn, *args)
        except (cf.process.BrokenProcessPool, RuntimeError):
            with self._lock:
                old, self._pool = self._pool, None
            if old is not None:
                old.shutdown(wait=False, cancel_futures=True)
            return self.pool.submit(fn, *args)

    def submit(self, key_id: str, kind: str, request: dict) -> str:
        from .db import Job

        job_id = str(uuid.uuid4())
        with self.state.db.session.begin() as s:
            s.add(Job(id=job_id, key_id=key_id, kind=kind, status="queued", progress=0.0, created=_time.time(),
                      request=clean(request)))
        fut = self._submit(run_job, self.state.db.url, list(self.state.config.winds), job_id)
        fut.add_done_callback(lambda f, j=job_id: self._job_done(j, f))
        return job_id

    def _job_done(self, job_id, fut):
        exc = fut.exception()
        if exc is not None:  # the job process died: say so in the row
            log.error("job %s: %s", job_id, exc)
            from .db import Job

            with self.state.db.session.begin() as s:
                j = s.get(Job, job_id)
                if j is not None and j.status in ("queued", "running"):
                    j.status, j.finished, j.error = "failed", _time.time(), "the job process ended unexpectedly"

    def session_changed(self, session_id: str) -> None:
        """Observations arrived: re-predict now, or right after the run in progress."""
        with self._lock:
            slot = self._sessions.get(session_id)
            if slot is not None:
                slot[1] = True
                return
            slot = [None, False, 0]
            self._sessions[session_id] = slot
        try:
            self._start(session_id, slot)
        except Exception:  # noqa: BLE001 - the observations are stored; the next post tries again
            log.exception("session %s: the update could not be started", session_id)
            with self._lock:
                self._sessions.pop(session_id, None)

    def _start(self, session_id, slot):
        fut = self._submit(run_session_update, self.state.db.url, list(self.state.config.winds), session_id,
                           int(self.state.config.session_particles))
        slot[0] = fut
        fut.add_done_callback(lambda f, sid=session_id: self._session_done(sid, f))

    def _session_done(self, session_id, fut):
        exc = fut.exception()
        broken = isinstance(exc, cf.process.BrokenProcessPool)
        if exc is not None:
            log.error("session %s update failed: %s", session_id, exc)
        with self._lock:
            slot = self._sessions.get(session_id)
            if slot is None:
                return
            if broken and slot[2] < 2:  # a job process died (e.g. killed): a new pool, and the update again
                slot[2] += 1
                slot[1] = True
                if self._pool is not None and getattr(self._pool, "_broken", False):
                    self._pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = None
            if slot[1]:
                slot[1] = False
                again = True
            else:
                del self._sessions[session_id]
                again = False
        if again:
            try:
                self._start(session_id, slot)
            except RuntimeError:  # the pool is shutting down
                pass

    def shutdown(self):
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def job_view(job, base: str) -> dict:
    return {"id": job.id, "kind": job.kind, "status": job.status, "progress": round(float(job.progress), 3),
            "created": _iso(job.created), "started": _iso(job.started), "finished": _iso(job.finished),
            "error": job.error, "status_url": f"{base}/api/v2/jobs/{job.id}",
            "result_url": f"{base}/api/v2/jobs/{job.id}/result"}


def _iso(t):
    if t is None:
        return None
    from .errors import rfc3339

    return rfc3339(t)


__all__ = ["JobRunner", "run_job", "run_session_update", "clean", "job_view"]
