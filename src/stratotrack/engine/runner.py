"""The Python around the kernels: arrange arrays, advance in chunks, collect outputs and events."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from ..errors import InputError
from . import backends
from . import kernels as K

#: output buffers of one chunk are kept under this many bytes
CHUNK_BUFFER_BYTES = 256 * 2**20
_BYTES_PER_OUTPUT = 8 * 4 + 1
#: simulated time after which run() orders the particles by position again (they drift apart)
REORDER_SECONDS = 6 * 3600.0
#: blocks of kernels.BLOCK particles a thread takes at a time
PARALLEL_CHUNK_BLOCKS = 4


@dataclass
class RawTrajectories:
    """Kernel results before naming: NaN-padded outputs ``[n, obs]`` and events ``[n, n_events]``."""

    time: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    alt: np.ndarray
    stage: np.ndarray
    n_obs: np.ndarray
    ev_time: np.ndarray
    ev_lat: np.ndarray
    ev_lon: np.ndarray
    ev_alt: np.ndarray
    ev_kind: np.ndarray
    n_events: np.ndarray
    status: np.ndarray
    final_stage: np.ndarray
    clamped: np.ndarray


class Integrator:
    """Particles advanced by the compiled RK4 kernel, chunk by chunk.

    Between calls to :meth:`advance` a caller may change ``codes``/``vals`` (for example the target altitude of a
    ``target`` stage: ``vals[:, stage, 0]``), which is how altitude controllers steer without a second integrator.

    Times are seconds since 1970-01-01T00:00Z; ``step`` is positive and ``backward`` flips the direction.
    """

    def __init__(self, field, t0, lat, lon, alt, codes, vals, t_end, *, step=60.0, output_interval=None,
                 backward=False, outside="clamp", backend="auto"):
        if not (np.isfinite(step) and step > 0):
            raise InputError(f"step {step!r} s is invalid; expected a positive number of seconds")
        output_interval = step if output_interval is None else output_interval
        if not (np.isfinite(output_interval) and output_interval > 0):
            raise InputError(f"output interval {output_interval!r} s is invalid; expected a positive number of seconds")
        if outside not in ("clamp", "stop"):
            raise InputError(f"outside={outside!r} is invalid; expected 'clamp' or 'stop'")
        self.field = field
        self.n = n = np.size(t0)
        self.h = -float(step) if backward else float(step)
        self.sgn = -1.0 if backward else 1.0
        self.out_dt = float(output_interval)
        self.stop_outside = outside == "stop"
        self.t = np.array(t0, dtype=np.float64).reshape(n)
        self.lat = np.array(lat, dtype=np.float64).reshape(n)
        self.lon = np.array(lon, dtype=np.float64).reshape(n)
        self.alt = np.array(alt, dtype=np.float64).reshape(n)
        self.codes = np.ascontiguousarray(codes, dtype=np.int64)
        self.vals = np.ascontiguousarray(vals, dtype=np.float64)
        self.t_end = np.array(t_end, dtype=np.float64).reshape(n)
        self.stage = np.zeros(n, dtype=np.int64)
        self.status = np.zeros(n, dtype=np.int64)
        self.khint = np.zeros(n, dtype=np.int64)
        self.thint = np.zeros(n, dtype=np.int64)
        self.next_out = self.t + self.sgn * self.out_dt
        self.clamped = np.zeros((n, 4), dtype=np.int64)
        self._scratch = K.scratch(n)
        self._trig = K.particle_trig(n)
        n_ev = self.codes.shape[1] + 2
        self.ev = {
            "t": np.full((n, n_ev), np.nan), "lat": np.full((n, n_ev), np.nan), "lon": np.full((n, n_ev), np.nan),
            "alt": np.full((n, n_ev), np.nan), "kind": np.full((n, n_ev), -99, dtype=np.int64),
            "n": np.zeros(n, dtype=np.int64),
        }
        self._chunks = [(self.t.copy()[:, None], self.lat.copy()[:, None], self.lon.copy()[:, None],
                         self.alt.copy()[:, None], np.zeros((n, 1), dtype=np.int8), np.ones(n, dtype=np.int64))]
        self.engine_seconds = 0.0
        #: the backend that advances the particles (see :mod:`stratotrack.engine.backends`; ``auto``: ``serial`` for
        #: a few particles, ``cpu`` otherwise)
        self.backend = backends.choose(backend, n, self._expected_steps)

    def _expected_steps(self) -> float:
        """About how many steps the longest particle takes (for the backend choice)."""
        span = np.max(np.abs(self.t_end - self.t), initial=0.0)
        return float(span / abs(self.h)) + self.codes.shape[1]

    @property
    def running(self) -> np.ndarray:
        return self.status == K.RUNNING

    def advance(self, t_until: float) -> None:
        """Advance running particles by whole steps up to the absolute time ``t_until`` (s)."""
        import time as _time

        run = self.running
        if not run.any():
            return
        span = np.max(np.abs(t_until - self.t[run])) if run.any() else 0.0
        m = int(math.ceil(span / self.out_dt)) + self.codes.shape[1] + 4
        n = self.n
        o_t = np.full((n, m), np.nan)
        o_la = np.full((n, m), np.nan)
        o_lo = np.full((n, m), np.nan)
        o_z = np.full((n, m), np.nan)
        o_st = np.zeros((n, m), dtype=np.int8)
        o_n = np.zeros(n, dtype=np.int64)
        ev = self.ev
        start = _time.perf_counter()
        # blocks of particles handed to the threads a few at a time rather than one equal share each up front, so
        # that a thread that loses its core to another process for a while does not hold up the whole call
        parallel = self.backend == "cpu"
        previous = numba.set_parallel_chunksize(PARALLEL_CHUNK_BLOCKS) if parallel else None
        try:
            backends.advance_function(self.backend)(*self.field.kernel_args(), self.t, self.lat, self.lon, self.alt, self.stage, self.status,
                      self.khint, self.thint, self.next_out, self.codes, self.vals, self.t_end, self.h,
                      float(t_until), self.out_dt, self.stop_outside, o_t, o_la, o_lo, o_z, o_st, o_n,
                      ev["t"], ev["lat"], ev["lon"], ev["alt"], ev["kind"], ev["n"], self.clamped,
                      self._order(run), self._trig, *self._scratch)
        finally:
            if parallel:
                numba.set_parallel_chunksize(previous)
        self.engine_seconds += _time.perf_counter() - start
        if o_n.max(initial=0) >= m:
            raise RuntimeError("internal error: output buffer of a chunk overflowed")
        self._chunks.append((o_t, o_la, o_lo, o_z, o_st, o_n))

    def _order(self, running):
        """The particles' order for the blocks (see :func:`kernels.locality_order`); one block needs none."""
        if self.n <= K.BLOCK:
            return np.arange(self.n, dtype=np.int64)
        return K.locality_order(self.lat, self.lon, running)

    def run(self, chunk_seconds=None) -> None:
        """Advance until every particle has ended (each has an end time, so this terminates)."""
        if chunk_seconds is None:
            per_chunk = max(1, CHUNK_BUFFER_BYTES // max(1, self.n * _BYTES_PER_OUTPUT))
            # each chunk starts by putting nearby particles into the same blocks again (see kernels.locality_order)
            chunk_seconds = min(per_chunk * self.out_dt, REORDER_SECONDS)
        chunk_seconds = max(chunk_seconds, abs(self.h))
        steps_per_chunk = max(1, int(chunk_seconds // abs(self.h)))
        while self.running.any():
            run = self.running
            # whole steps for the slowest running particle; particles started later catch up on their own grid
            base = self.t[run].min() if self.sgn > 0 else self.t[run].max()
            last = self.t_end[run].max() if self.sgn > 0 else self.t_end[run].min()
            until = base + self.sgn * steps_per_chunk * abs(self.h)
            if self.sgn * (until - last) > 0:
                until = last + self.h  # one more step covers the end event
            self.advance(until)

    def take_chunks(self) -> list:
        """Hand over the outputs recorded since the last call and forget them (streaming consumers).

        Returns a list of ``(time, lat, lon, alt, stage, count)`` tuples, one per chunk (the first call also gets
        the start points): arrays ``[n, m]`` of which the first ``count[i]`` columns of row ``i`` are valid.  Once
        taken, outputs are no longer part of :meth:`result`; events and the particle state are kept.
        """
        chunks, self._chunks = self._chunks, []
        return chunks

    def _result_one_chunk(self) -> RawTrajectories:
        """:meth:`result` when the run was one :meth:`advance` (a single prediction): the start points and that
        chunk side by side, without the general row-by-row gather (a chunk's buffers are NaN past each count)."""
        (t0, la0, lo0, z0, _s0, c0), (t1, la1, lo1, z1, s1, c1) = self._chunks
        counts = c0 + c1
        width = int(counts.max(initial=1))
        k = width - 1
        out = []
        for a, b in ((t0, t1), (la0, la1), (lo0, lo1), (z0, z1)):
            x = np.empty((self.n, width))
            x[:, :1] = a
            x[:, 1:] = b[:, :k]
            out.append(x)
        stage = np.empty((self.n, width), dtype=np.int8)
        stage[:, 0] = 0
        stage[:, 1:] = s1[:, :k]
        if (counts != width).any():
            stage[np.arange(width)[None, :] >= counts[:, None]] = -1
        lon = (out[2] + 180.0) % 360.0 - 180.0  # NaN padding stays NaN
        total = int(counts.sum())
        for arr in (out[0], out[1], lon, out[3]):
            if np.count_nonzero(np.isfinite(arr)) != total:
                raise RuntimeError("internal error: the integrator produced non-finite positions")
        ev = self.ev
        ev_lon = (ev["lon"] + 180.0) % 360.0 - 180.0
        return RawTrajectories(out[0], out[1], lon, out[3], stage, counts, ev["t"], ev["lat"], ev_lon, ev["alt"],
                               ev["kind"], ev["n"], self.status.copy(), self.stage.copy(), self.clamped.copy())

    def result(self) -> RawTrajectories:
        """Outputs of all chunks so far, NaN-padded into ``[n, obs]`` arrays."""
        n = self.n
        if len(self._chunks) == 2 and self._chunks[0][0].shape[1] == 1:
            return self._result_one_chunk()
        counts = np.sum([c[5] for c in self._chunks], axis=0)
        width = int(counts.max(initial=1))
        out = [np.full((n, width), np.nan) for _ in range(4)] + [np.full((n, width), -1, dtype=np.int8)]
        offset = np.zeros(n, dtype=np.int64)
        for chunk in self._chunks:
            cnt = chunk[5]
            rows, cols = np.nonzero(np.arange(chunk[0].shape[1])[None, :] < cnt[:, None])
            dest = offset[rows] + cols
            for k in range(5):
                out[k][rows, dest] = chunk[k][rows, cols]
            offset += cnt
        lon = out[2]
        lon = np.where(np.isfinite(lon), (lon + 180.0) % 360.0 - 180.0, np.nan)
        ev = self.ev
        ev_lon = np.where(np.isfinite(ev["lon"]), (ev["lon"] + 180.0) % 360.0 - 180.0, np.nan)
        for arr in (out[0], out[1], lon, out[3]):
            valid = np.arange(width)[None, :] < counts[:, None]
            if not np.all(np.isfinite(arr[valid])):
                raise RuntimeError("internal error: the integrator produced non-finite positions")
        return RawTrajectories(out[0], out[1], lon, out[3], out[4], counts, ev["t"], ev["lat"], ev_lon, ev["alt"],
                               ev["kind"], ev["n"], self.status.copy(), self.stage.copy(), self.clamped.copy())
