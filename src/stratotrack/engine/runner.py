"""The Python around the kernels: arrange arrays, advance in chunks, call the controller, collect outputs and events."""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass

import threading

import numpy as np

from ..errors import InputError
from ..flight import models as _models
from . import backends
from . import kernels as K

#: output buffers kept for a run of :meth:`Integrator.advance` calls (not :meth:`Integrator.run`, which sizes them
#: for the whole run at once) start under this many bytes and grow when a call needs more
CHUNK_BUFFER_BYTES = 256 * 2**20
_BYTES_PER_OUTPUT = 8 * 4 + 1
#: simulated time after which the particles are ordered by position again (they drift apart)
REORDER_SECONDS = 6 * 3600.0
#: run() with a controller keeps each particle's stencil cache from one kernel call to the next (with its records
#: in locality order): a block's first step of a call does not refill them from the field
KEEP_STENCILS = True
#: groups of blocks of kernels.BLOCK particles (one block each up to kernels.SCRATCH_SLICES blocks) a thread takes
#: at a time
PARALLEL_CHUNK_BLOCKS = 4
# float columns of a particle's record: t, lat, lon, alt, q0, q1, command, next output time, end time, cos/sin of
# latitude and the latitude they belong to (see Integrator.__init__)
_P_COLUMNS = 12
_chunk_set = threading.local()
_NO_STENCILS = (np.zeros((1, 3)), np.zeros((1, 48), dtype=np.float32))  # (stencils not kept: not used)


def _parallel_chunks() -> None:
    """Blocks handed to numba's threads PARALLEL_CHUNK_BLOCKS at a time rather than one equal share each up front,
    so that a thread that loses its core to another process for a while does not hold up the whole call.  numba's
    chunk size is a setting of the calling thread: it is set once in each thread that runs the engine (not changed
    and restored around every call; numba code that thread runs afterwards schedules the same way)."""
    if getattr(_chunk_set, "done", False):
        return
    import numba  # (here: a run on the python backend needs no numba)

    numba.set_parallel_chunksize(PARALLEL_CHUNK_BLOCKS)
    _chunk_set.done = True


@dataclass
class RawTrajectories:
    """Kernel results before naming: NaN-padded outputs ``[n, obs]`` (views of the integrator's buffers: copy them
    to keep them past the next :meth:`Integrator.advance`) and events ``[n, n_events]``."""

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
    status: np.ndarray
    clamped: np.ndarray


class ControlState:
    """What a controller sees at a decision: views of the particles' state (do not write to them).

    ``t`` the decision time (s since 1970-01-01T00:00Z); per particle ``time``, ``lat``, ``lon`` (any convention),
    ``alt``, ``state`` [n, 2] (the model's state slots), ``command`` (the command in force), ``stage``, ``running``;
    ``integrator`` the integrator itself (its ``field``, ``codes``, ``vals`` for a look-ahead of its own).

    Particle i is the integrator's particle i.  While :meth:`Integrator.run` keeps the particles' records in its
    own order (see :attr:`Integrator.physical_order`), each of these is gathered into the particles' order when it
    is first read (a controller pays only for what it reads).
    """

    _FIELDS = {"time": "t", "lat": "lat", "lon": "lon", "alt": "alt", "state": "state", "command": "command",
               "stage": "stage"}

    def __init__(self, integ: "Integrator", t: float, running=None):
        self.t = t
        self.integrator = integ
        self._inv = integ._inv
        if self._inv is None:
            self.time, self.lat, self.lon, self.alt = integ.t, integ.lat, integ.lon, integ.alt
            self.state, self.command, self.stage = integ.state, integ.command, integ.stage
            self.running = integ.running if running is None else running
        else:
            self._running = running
            self.command = integ._commands  # (the commands in the particles' order, kept by the integrator)

    def __getattr__(self, name):  # (only for the fields not set in __init__: records in the integrator's order)
        inv = self.__dict__.get("_inv")
        if inv is None:
            raise AttributeError(name)
        if name == "running":
            run = self._running
            value = (self.integrator.running if run is None else run)[inv]
        elif name in self._FIELDS:
            value = getattr(self.integrator, self._FIELDS[name])[inv]
        else:
            raise AttributeError(name)
        self.__dict__[name] = value
        return value


def _describe(controller) -> str:
    return getattr(controller, "__qualname__", None) or type(controller).__name__


class Integrator:
    """Particles advanced by the compiled RK4 kernel, chunk by chunk.

    ``physical_order`` (default True): during :meth:`run` with a controller (more than one block of particles), the
    particles' records (position, state, command, stage, hints) are kept physically in locality order, permuted
    each time the order is made again and put back in the particles' order when :meth:`run` returns, so that each
    of the run's many short kernel calls reads them sequentially; results do not depend on it.

    Between calls to :meth:`advance` a caller may change ``codes``/``vals`` (for example the target altitude of a
    ``target`` stage: ``vals[:, stage, 0]``) or ``command`` (what the particle's model obeys, see
    :mod:`stratotrack.flight.models`); a ``controller`` does the latter every ``control_interval`` seconds of model
    time during :meth:`run`.

    Times are seconds since 1970-01-01T00:00Z; ``step`` is positive and ``backward`` flips the direction.
    ``state`` [n, k] (k <= 2) starts the models' state slots (default zeros); ``command`` [n] the command.
    ``controller(ControlState) -> commands [n]`` is called at the start and then every ``control_interval``
    seconds; a bad answer (wrong shape, not finite, a command the particle's model does not know) raises
    :class:`~stratotrack.errors.InputError`.
    """

    physical_order = True

    def __init__(self, field, t0, lat, lon, alt, codes, vals, t_end, *, step=60.0, output_interval=None,
                 backward=False, outside="clamp", state=None, command=None, controller=None,
                 control_interval=None, backend="auto"):
        if not (np.isfinite(step) and step > 0):
            raise InputError(f"step {step!r} s is invalid; expected a positive number of seconds")
        output_interval = step if output_interval is None else output_interval
        if not (np.isfinite(output_interval) and output_interval > 0):
            raise InputError(f"output interval {output_interval!r} s is invalid; expected a positive number of seconds")
        if outside not in ("clamp", "stop"):
            raise InputError(f"outside={outside!r} is invalid; expected 'clamp' or 'stop'")
        if controller is not None:
            if not callable(controller):
                raise InputError(f"controller {controller!r} is not callable; expected a function of the state")
            if control_interval is None or not (np.isfinite(control_interval) and control_interval > 0):
                raise InputError(f"control interval {control_interval!r} s is invalid; expected a positive number "
                                 f"of seconds with a controller")
        self.field = field
        self.n = n = np.size(t0)
        self.h = -float(step) if backward else float(step)
        self.sgn = -1.0 if backward else 1.0
        self.out_dt = float(output_interval)
        self.stop_outside = outside == "stop"
        # Per-particle state, one record per particle (float and integer columns): the kernel loads and stores a
        # block's particles, which the locality order scatters over the arrays, from one or two cache lines each
        # rather than one per quantity.  The attributes are (strided) views of the columns.
        self._p = np.zeros((n, _P_COLUMNS))
        self._pi = np.zeros((n, 4), dtype=np.int64)
        self.t, self.lat, self.lon, self.alt = (self._p[:, k] for k in range(4))
        self.t[:] = np.asarray(t0, dtype=np.float64).reshape(n)
        self.lat[:] = np.asarray(lat, dtype=np.float64).reshape(n)
        self.lon[:] = np.asarray(lon, dtype=np.float64).reshape(n)
        self.alt[:] = np.asarray(alt, dtype=np.float64).reshape(n)
        self.codes = np.ascontiguousarray(codes, dtype=np.int64)
        self.vals = np.ascontiguousarray(vals, dtype=np.float64)
        model_codes = self.codes[..., 0]
        # (a set of a few Python ints is made faster than np.unique for a single flight's handful of stages)
        used = sorted(set(model_codes.ravel().tolist()) if model_codes.size <= 64 else np.unique(model_codes).tolist())
        unknown = [c for c in used if c not in _models.BY_CODE]
        if unknown:
            raise InputError(f"vertical-model code {unknown[0]} is unknown; expected one of {sorted(_models.BY_CODE)}")
        self.t_end = self._p[:, 8]
        self.t_end[:] = np.asarray(t_end, dtype=np.float64).reshape(n)
        #: per particle: the model's state slots q0, q1 and the command (views: ``state``, ``command``)
        self.xs = self._p[:, 4:7]
        if state is not None:
            st = np.asarray(state, dtype=float)
            st = st.reshape(n, -1) if st.ndim else np.full((n, 1), float(st))
            if st.shape[1] > _models.MAX_STATE or not np.all(np.isfinite(st)):
                raise InputError(f"state of shape {np.shape(state)} is invalid; expected finite values [n, k], "
                                 f"k <= {_models.MAX_STATE}")
            self.xs[:, :st.shape[1]] = st
        if command is not None:
            self.xs[:, 2] = np.broadcast_to(np.asarray(command, dtype=float), (n,))
        self._command_sets = [(c, np.array(_models.BY_CODE[c].commands, dtype=float)) for c in used
                              if _models.BY_CODE[c].commands is not None]
        self._one_model = len(used) == 1  # every stage of every particle in one model: no per-particle lookup
        self.state = self.xs[:, :2]
        self.command = self.xs[:, 2]
        self.controller = controller
        self.control_interval = None if controller is None else float(control_interval)
        self.stage, self.status, self.khint, self.thint = (self._pi[:, k] for k in range(4))
        self.next_out = self._p[:, 7]
        self.next_out[:] = self.t + self.sgn * self.out_dt
        self.clamped = np.zeros((n, 4), dtype=np.int64)
        self._scratch = K.run_scratch(n)
        self._trig = self._p[:, 9:12]
        self._trig[:] = K.particle_trig(n)
        self._order = None
        self._order_time = None
        n_ev = self.codes.shape[1] + 2
        self._ev_block = evf = np.full((4, n, n_ev), np.nan)  # (t, lat, lon, alt of the events in one allocation)
        self.ev = {"t": evf[0], "lat": evf[1], "lon": evf[2], "alt": evf[3],
                   "kind": np.full((n, n_ev), -99, dtype=np.int64), "n": np.zeros(n, dtype=np.int64)}
        # outputs: one set of [n, capacity] buffers written by the kernel in place (count[i] columns of row i are
        # valid), the start point first; made when first needed (run() sizes them for the whole run at once)
        self._out = None
        self._out_block = None
        self._start_point = self._p[:, :4].copy()  # (t, lat, lon, alt) for the first column
        self._count = np.ones(n, dtype=np.int64)
        self._mark = np.zeros(n, dtype=np.int64)  # outputs before it were handed out by take_chunks(keep=True)
        self.engine_seconds = 0.0
        self.control_seconds = 0.0
        #: the backend that advances the particles (see :mod:`stratotrack.engine.backends`; ``auto``: ``serial`` for
        #: a few particles, ``cpu`` otherwise)
        self.backend = backends.choose(backend, n, self._expected_steps)
        self._kernel = None  # (advance function, the field's kernel arguments), made on the first advance
        self._scratch0 = None  # the scratch as made, for restart()
        self._identity = None  # the identity permutation (the order of a single block; pid when not permuted)
        # While run() keeps the records physically in locality order (physical_order): the particle of each record
        # (pid), its inverse, and the stages (codes, vals) in record order with a copy of the caller's to notice
        # changes (None otherwise)
        self._pid = None
        self._inv = None
        self._stages = None
        self._commands = None  # the commands in the particles' order (only set by _decide meanwhile)
        self._stencils = None  # the particles' stencil caches between calls (records in locality order only)

    @property
    def nbytes(self) -> int:
        """Bytes held by the particles' state, the scratch and the output and event buffers."""
        arrays = [self._p, self._pi, self.clamped, self._ev_block, self.ev["kind"], *self._scratch]
        if self._out is not None:
            arrays += [self._out_block, self._out[4]]
        return int(sum(a.nbytes for a in arrays))

    def release(self) -> None:
        """Let go of the wind field (until :meth:`restart` is given one): an idle integrator kept for reuse."""
        self.field = None
        self._kernel = None

    def restart(self, t0, lat, lon, alt, t_end, field=None) -> None:
        """Start again from new positions and times, keeping the stages (``codes``/``vals``), the backend and the
        buffers (the single call's path: a run made again without allocating), on ``field`` if given (the same
        grid's arguments are looked up again).  Everything the previous run left (state, events, outputs,
        scratch) is reset as :meth:`__init__` sets it; ``state`` and ``command`` start at zero.  The arrays
        :meth:`result` returned before are overwritten: copy them first (``result(copy=True)``)."""
        if field is not None and field is not self.field:
            self.field = field
            self._kernel = None
        if self.field is None:
            raise ValueError("restart() of a released integrator needs a field")
        p = self._p
        if self.n == 1:  # (one row at once)
            p[0] = (t0, lat, lon, alt, 0.0, 0.0, 0.0, t0 + self.sgn * self.out_dt, t_end, 0.0, 0.0, K.NO_LATITUDE)
        else:
            p.fill(0.0)
            self.t[:] = t0
            self.lat[:] = lat
            self.lon[:] = lon
            self.alt[:] = alt
            self.t_end[:] = t_end
            np.add(self.t, self.sgn * self.out_dt, out=self.next_out)
            p[:, 11] = K.NO_LATITUDE  # (particle_trig)
        self._pi.fill(0)
        self.clamped.fill(0)
        if self._scratch0 is None:
            self._scratch0 = K.run_scratch(self.n)
        np.copyto(self._scratch[0], self._scratch0[0])
        self._scratch[1].fill(0)
        self._order = None
        self._order_time = None
        self._pid = self._inv = self._stages = self._commands = None
        ev = self.ev
        self._ev_block.fill(np.nan)
        ev["kind"].fill(-99)
        ev["n"].fill(0)
        if self._out is None:
            self._start_point = p[:, :4].copy()
        elif self.n == 1:
            o = self._out
            o[0][0, 0], o[1][0, 0], o[2][0, 0], o[3][0, 0], o[4][0, 0] = t0, lat, lon, alt, 0
        else:
            for k in range(4):
                self._out[k][:, 0] = p[:, k]
            self._out[4][:, 0] = 0
        self._count.fill(1)
        self._mark.fill(0)
        self.engine_seconds = 0.0
        self.control_seconds = 0.0

    def _expected_steps(self) -> float:
        """About how many steps the longest particle takes (for the backend choice)."""
        span = np.max(np.abs(self.t_end - self.t), initial=0.0)
        return float(span / abs(self.h)) + self.codes.shape[1]

    @property
    def running(self) -> np.ndarray:
        return self.status == K.RUNNING

    def _extreme(self, a, run, largest: bool) -> float:
        """max (or min) of ``a`` over the running particles (any running)."""
        if self.n <= 64:  # (a copy is cheaper than a masked reduction for a few particles)
            return float(a[run].max() if largest else a[run].min())
        return float(np.max(a, where=run, initial=-np.inf) if largest else np.min(a, where=run, initial=np.inf))

    # -- output buffers -------------------------------------------------------------------------------------------
    def _columns_for(self, span: float) -> int:
        """Output columns one particle may add over ``span`` seconds: output points plus the points at events."""
        return int(math.ceil(span / self.out_dt)) + 2 * self.codes.shape[1] + 6

    def _reserve(self, width: int, exact=False) -> None:
        """Make the output buffers at least ``width`` columns wide (growing keeps what they hold)."""
        cap = 0 if self._out is None else self._out[0].shape[1]
        if width <= cap:
            return
        if not exact:
            width = max(width, 2 * cap)
        block = np.empty((4, self.n, width))  # (time, lat, lon, alt in one allocation: copied out at once)
        new = [*block, np.empty((self.n, width), dtype=np.int8)]
        if self._out is not None:
            used = int(self._count.max(initial=0))
            for a, b in zip(new, self._out):
                a[:, :used] = b[:, :used]
        else:  # the start point
            for k in range(4):
                new[k][:, 0] = self._start_point[:, k]
            new[4][:, 0] = 0
            self._start_point = None
        self._out = new
        self._out_block = block

    def _outputs(self) -> list:
        """The output buffers (made, holding the start points, if no run has made them yet)."""
        if self._out is None:
            self._reserve(1 + self._columns_for(0.0), exact=True)
        return self._out

    def _pad(self, width: int) -> None:
        """NaN (stage -1) in the columns [count, width) of each row."""
        short = np.nonzero(self._count < width)[0]
        o_t, o_la, o_lo, o_z, o_st = self._out
        for i in short:
            c = self._count[i]
            o_t[i, c:width] = o_la[i, c:width] = o_lo[i, c:width] = o_z[i, c:width] = np.nan
            o_st[i, c:width] = -1

    # -- integration ------------------------------------------------------------------------------------------------
    def advance(self, t_until: float) -> None:
        """Advance running particles by whole steps up to the absolute time ``t_until`` (s)."""
        run = self.running
        if not run.any():
            return
        span = max(abs(t_until - self._extreme(self.t, run, False)), abs(t_until - self._extreme(self.t, run, True)))
        self._reserve(int(self._count.max()) + self._columns_for(span))
        self._advance(float(t_until), run)

    def _advance(self, t_until: float, run) -> None:
        """advance() once the output buffers are large enough (``run``: the running particles)."""
        # particles ordered by position (blocks of nearby ones share the wind they read) at the first call and
        # after REORDER_SECONDS of model time; in between the rows keep their particles and stencil caches
        same = self._order is not None and abs(t_until - self._order_time) < REORDER_SECONDS
        if not same:
            # (one block needs no order)
            if self.n > K.BLOCK:
                order = K.locality_order(self.lat, self.lon, run)
                if self._pid is not None:  # records kept in locality order: permute them, step them in sequence
                    self._permute(order)
                    order = self._ids()
                self._order = order
            else:
                self._order = self._ids()
            self._order_time = t_until
        if self._kernel is None:
            if self.backend == "cpu":
                _parallel_chunks()
            self._kernel = (backends.advance_function(self.backend), self.field.kernel_args())
        advance, field_args = self._kernel
        ev = self.ev
        o_t, o_la, o_lo, o_z, o_st = self._out
        start = _time.perf_counter()
        if self._pid is None:
            codes, vals, pid = self.codes, self.vals, self._ids()
            st_key, st_val = _NO_STENCILS
            io = 0
        else:
            codes, vals, pid = self._stage_records()
            st_key, st_val = self._stencils
            io = (2 if same else 1) if KEEP_STENCILS else 0
        advance(*field_args, self.t, self.lat, self.lon, self.alt, self.xs, self.stage, self.status,
                self.khint, self.thint, self.next_out, codes, vals, self.t_end, self.h,
                t_until, self.out_dt, self.stop_outside, o_t, o_la, o_lo, o_z, o_st, self._count,
                ev["t"], ev["lat"], ev["lon"], ev["alt"], ev["kind"], ev["n"], self.clamped,
                pid, self._order, self._trig, *self._scratch, same, st_key, st_val, io)
        self.engine_seconds += _time.perf_counter() - start
        if (max(self._count.tolist()) if self.n <= K.BLOCK else self._count.max(initial=0)) >= o_t.shape[1]:
            raise RuntimeError("internal error: the output buffers overflowed")

    def _ids(self) -> np.ndarray:
        """The identity permutation (made once; the kernel does not write to it)."""
        if self._identity is None:
            self._identity = np.arange(self.n, dtype=np.int64)
        return self._identity

    # -- records in the integrator's own order (run() with a controller) ---------------------------------------------
    def _keep_in_order(self) -> None:
        """From now on the records are permuted whenever the locality order is made again (see physical_order)."""
        self._pid = self._ids().copy()
        self._inv = self._pid.copy()
        self._stages = None
        self._order = None  # (ordered, and so permuted, at the next call)
        self._commands = self.command.copy()
        # each particle's stencil cache kept from one call to the next (216 bytes a particle, for the run)
        self._stencils = (np.full((self.n, 3), -1.0), np.zeros((self.n, 48), dtype=np.float32))

    def _permute(self, order) -> None:
        """Record k becomes the record that was at order[k] (in place: the attributes stay views of them)."""
        self._p[:] = self._p[order]
        self._pi[:] = self._pi[order]
        self._pid = self._pid[order]
        self._inv[self._pid] = self._ids()
        self._stages = None

    def _stage_records(self):
        """(codes, vals, pid) for the kernel with the records in the integrator's own order: the stages in record
        order, made again when the caller's codes or vals changed since they were made."""
        st = self._stages
        if st is None or not (np.array_equal(st[2], self.codes) and np.array_equal(st[3], self.vals)):
            pid = self._pid
            st = self._stages = (self.codes[pid], self.vals[pid], self.codes.copy(), self.vals.copy())
        return st[0], st[1], self._pid

    def _back_in_order(self) -> None:
        """The records back in the particles' order (the end of run())."""
        if self._pid is None:
            return
        inv = self._inv
        self._p[:] = self._p[inv]
        self._pi[:] = self._pi[inv]
        self._pid = self._inv = self._stages = self._commands = self._stencils = None
        self._order = None

    def _decide(self, t: float, run) -> None:
        """Ask the controller for the next interval's commands and check them (``run``: the running particles)."""
        start = _time.perf_counter()
        view = ControlState(self, t, run)
        rec = self._pid  # (records in the integrator's order: the commands are checked in the particles' order)
        cmd = self.controller(view)
        name = _describe(self.controller)
        try:
            arr = np.asarray(cmd, dtype=float)
        except (TypeError, ValueError):
            raise InputError(f"controller {name} returned {cmd!r}; expected an array of {self.n} numbers") from None
        if arr.shape != (self.n,):
            raise InputError(f"controller {name} returned commands of shape {arr.shape}; expected ({self.n},), one "
                             f"per particle")
        if not np.isfinite(arr).all():
            bad = (run if rec is None else view.running) & ~np.isfinite(arr)
            if bad.any():
                i = int(np.argmax(bad))
                raise InputError(f"controller {name} returned {arr[i]!r} for particle {i} at t = {t:.0f} s; expected "
                                 f"a finite command")
        if self._command_sets:  # models of this run that know a fixed set of commands
            model = None
            for code, known in self._command_sets:
                ok = np.isin(arr, known)
                if ok.all():
                    continue
                running = run if rec is None else view.running
                if not self._one_model:
                    stage = self.stage if rec is None else view.stage
                    model = self.codes[np.arange(self.n), stage, 0]
                unknown = running & ~ok if model is None else running & (model == code) & ~ok
                if unknown.any():
                    i = int(np.argmax(unknown))
                    raise InputError(f"controller {name} returned command {arr[i]:g} for particle {i} at t = {t:.0f} "
                                     f"s; the {_models.BY_CODE[code].name} model knows {known.tolist()}")
        if rec is None:
            np.copyto(self.command, arr, where=run)
        else:
            new = arr[rec]
            self._commands[:] = arr
            if not run.all():  # (ended particles keep theirs)
                ended = np.flatnonzero(~run)
                new[ended] = self.command[ended]
                self._commands[rec[ended]] = new[ended]
            self.command[:] = new
        self.control_seconds += _time.perf_counter() - start

    def run(self, chunk_seconds=None) -> None:
        """Advance until every particle has ended (each has an end time, so this terminates), calling the
        controller every ``control_interval`` seconds of model time (on one clock from the earliest start)."""
        if self.controller is None and self.n <= K.BLOCK:
            return self._run_few(chunk_seconds)
        run = self.running
        if not run.any():
            return
        # outputs for the whole run at once
        span = np.abs(self.t_end - self.t)
        self._reserve(int(self._count.max()) + self._columns_for(self._extreme(span, run, True)))
        if chunk_seconds is None:
            chunk_seconds = REORDER_SECONDS
        if self.controller is not None:
            chunk_seconds = self.control_interval
        chunk_seconds = max(chunk_seconds, abs(self.h))
        steps_per_chunk = max(1, int(round(chunk_seconds / abs(self.h))))
        fwd = self.sgn > 0
        # the latest end of a running particle (particles only stop running, so it bounds every later chunk)
        last = self._extreme(self.t_end, run, fwd)
        physical = self.controller is not None and self.physical_order and self.n > K.BLOCK and self._pid is None
        if physical:
            self._keep_in_order()
        try:
            self._run_chunks(run, last, fwd, steps_per_chunk)
        finally:
            if physical:
                self._back_in_order()

    def _run_chunks(self, run, last, fwd, steps_per_chunk) -> None:
        """run()'s loop: chunks up to the end, a decision before each chunk with a controller."""
        clock = None
        base = None
        while True:
            if self.controller is None or clock is None:
                # whole steps for the slowest running particle; particles started later catch up on their own grid
                base = self._extreme(self.t, run, not fwd)
            if self.controller is not None:
                clock = base if clock is None else clock
                self._decide(clock, run)
                clock = clock + self.sgn * self.control_interval
                until = clock
            else:
                until = base + self.sgn * steps_per_chunk * abs(self.h)
            if self.sgn * (until - last) > 0:
                until = last + self.h  # one more step covers the end event
            self._advance(until, run)
            run = self.running
            if not run.any():
                break

    def _run_few(self, chunk_seconds=None) -> None:
        """:meth:`run` without a controller for one block of particles or fewer: the same chunks, with the
        bookkeeping on Python numbers (for one particle, numpy's per-call costs were most of a run's Python)."""
        running = [s == K.RUNNING for s in self.status.tolist()]
        if not any(running):
            return
        t = [x for x, r in zip(self.t.tolist(), running) if r]
        t_end = [x for x, r in zip(self.t_end.tolist(), running) if r]
        span = max(abs(b - a) for a, b in zip(t, t_end))
        self._reserve(max(self._count.tolist()) + self._columns_for(span))
        chunk_seconds = max(REORDER_SECONDS if chunk_seconds is None else chunk_seconds, abs(self.h))
        steps_per_chunk = max(1, int(round(chunk_seconds / abs(self.h))))
        fwd = self.sgn > 0
        last = max(t_end) if fwd else min(t_end)
        run = None  # (_advance needs the running mask only to order more than one block)
        while True:
            base = min(t) if fwd else max(t)
            until = base + self.sgn * steps_per_chunk * abs(self.h)
            if self.sgn * (until - last) > 0:
                until = last + self.h  # one more step covers the end event
            self._advance(until, run)
            running = [s == K.RUNNING for s in self.status.tolist()]
            if not any(running):
                break
            t = [x for x, r in zip(self.t.tolist(), running) if r]

    # -- outputs ----------------------------------------------------------------------------------------------------
    def take_chunks(self, keep=False) -> list:
        """Hand over the outputs recorded since the last call (streaming consumers).

        Returns a list of ``(time, lat, lon, alt, stage, count)`` tuples (one, or none when nothing is new; the
        first call also gets the start points): arrays ``[n, m]`` of which the first ``count[i]`` columns of row
        ``i`` are valid.  Without ``keep`` the outputs are then forgotten (no longer part of :meth:`result`, and
        their buffers are reused); with it they stay.  Events and the particle state are kept either way.
        """
        start = self._mark
        cnt = self._count - start
        width = int(cnt.max(initial=0))
        if width == 0:
            return []
        self._outputs()
        if np.all(start == start[0]):
            s0 = int(start[0])
            chunk = [a[:, s0:s0 + width].copy() for a in self._out]
        else:
            idx = np.minimum(start[:, None] + np.arange(width)[None, :], self._out[0].shape[1] - 1)
            chunk = [np.take_along_axis(a, idx, axis=1) for a in self._out]
        if keep:
            self._mark = self._count.copy()
        else:
            self._count[:] = self._mark
        return [tuple(chunk) + (cnt.copy(),)]

    def result(self, copy=False) -> RawTrajectories:
        """Outputs kept so far as ``[n, obs]`` views of the integrator's buffers (copies with ``copy``),
        NaN-padded; longitudes in [-180, 180)."""
        counts = self._count.copy()
        few = self.n <= K.BLOCK
        if few:
            c = counts.tolist()
            width, padded = max(c, default=1), min(c, default=1) < max(c, default=1)
        else:
            width = int(counts.max(initial=1))
            padded = True
        self._outputs()
        if padded:
            self._pad(width)
        block = self._out_block[:, :, :width]
        if copy:
            block = block.copy()
            o_st = self._out[4][:, :width].copy()
        else:
            o_st = self._out[4][:, :width]
        o_t, o_la, o_lo, o_z = block
        np.add(o_lo, 180.0, out=o_lo)  # in place: the kernel continues from its own state, not from these
        np.mod(o_lo, 360.0, out=o_lo)
        np.subtract(o_lo, 180.0, out=o_lo)
        if padded:
            total = int(counts.sum())
            finite = all(np.count_nonzero(np.isfinite(arr)) == total for arr in (o_t, o_la, o_lo, o_z))
        else:  # (no padding: any non-finite value makes the sum non-finite; the sum cannot overflow)
            finite = math.isfinite(block.sum())
        if not finite:
            raise RuntimeError("internal error: the integrator produced non-finite positions")
        ev = self.ev
        if copy:  # (the four float event arrays are one allocation: copied at once)
            ev_t, ev_la, ev_lon, ev_z = self._ev_block.copy()
            ev_k = ev["kind"].copy()
            np.add(ev_lon, 180.0, out=ev_lon)  # (NaN where no event: NaN stays NaN)
        else:
            ev_t, ev_la, ev_z, ev_k = ev["t"], ev["lat"], ev["alt"], ev["kind"]
            ev_lon = ev["lon"] + 180.0
        np.mod(ev_lon, 360.0, out=ev_lon)
        np.subtract(ev_lon, 180.0, out=ev_lon)
        status = self.status.copy() if self._inv is None else self.status[self._inv]  # (asked during run())
        return RawTrajectories(o_t, o_la, o_lo, o_z, o_st, counts, ev_t, ev_la, ev_lon, ev_z, ev_k, status,
                               self.clamped.copy())
