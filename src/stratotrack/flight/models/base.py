"""What a vertical-motion model declares (see :mod:`stratotrack.flight.models`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

#: parameters a stage passes to its model (``vals[:, stage, 0:4]``; ``vals[:, stage, 4]`` is the terminator value)
MAX_PARAMS = 4
#: per-particle state variables beyond position that the engine carries and integrates (gas, ballast, battery...)
MAX_STATE = 2


@dataclass(frozen=True)
class Model:
    """A vertical-motion model: data plus pure functions.

    ``code``       the integer the kernels see (unique; declared here and nowhere else).
    ``params``     names of its parameters, in the order of ``Stage.params`` (at most MAX_PARAMS).
    ``defaults``   parameter values that are safe to evaluate ``rate`` with (no division by zero): when every
                   running particle of a block is in this model, the kernels evaluate it for all the block's rows
                   in one vectorised loop, and rows that are not running hand it these.
    ``state``      names of the per-particle state variables it integrates (at most MAX_STATE), in slots 0, 1.
    ``rate``       a numba ``@njit(inline="always")`` function ``rate(z, q0, q1, cmd, p0, p1, p2, p3)`` returning
                   ``(dz/dt, dq0/dt, dq1/dt)`` in forward time (SI units; ``q0``, ``q1`` the state slots, ``cmd`` the
                   particle's command, set by a controller).
    ``branch_free`` whether ``rate`` is plain arithmetic (min/max/selects, no loops).  Informational: the kernels
                   evaluate only the model of each particle's stage whatever it says (see
                   :func:`stratotrack.engine.kernels.model_rates_block`); such a rate vectorises across particles.
    ``commands``   the command values the model understands (a controller returning another stops the run), or
                   None if any finite number is a valid command (e.g. a target altitude).
    ``reference``  optional plain NumPy twin ``reference(z, q0, q1, cmd, p)`` (arrays; ``p`` a sequence of 4) used by
                   :mod:`stratotrack.engine.reference`; without it the reference applies ``rate``'s Python
                   function element by element.
    ``speed``      ``speed(p)``: a lower bound on |dz/dt| while the stage moves towards its altitude terminator
                   (arrays of parameters in, array out), used to bound a run's natural duration.
    """

    name: str
    code: int
    params: tuple
    rate: Callable
    defaults: tuple = (0.0, 1.0, 0.0, 0.0)
    state: tuple = ()
    branch_free: bool = True
    commands: tuple | None = None
    reference: Callable | None = None
    speed: Callable | None = None
    doc: str = field(default="", compare=False)

    def __post_init__(self):
        if len(self.params) > MAX_PARAMS:
            raise ValueError(f"model {self.name!r} declares {len(self.params)} parameters; at most {MAX_PARAMS}")
        if len(self.state) > MAX_STATE:
            raise ValueError(f"model {self.name!r} declares {len(self.state)} state variables; at most {MAX_STATE}")
        if len(self.defaults) != MAX_PARAMS:
            raise ValueError(f"model {self.name!r}: defaults must have {MAX_PARAMS} values")

    def reference_rate(self, z, q0, q1, cmd, p):
        """(dz/dt, dq0/dt, dq1/dt) as arrays, by the NumPy twin or else element by element."""
        z, q0, q1, cmd = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (z, q0, q1, cmd)))
        p = [np.broadcast_to(np.asarray(x, dtype=float), z.shape) for x in p]
        if self.reference is not None:
            return tuple(np.broadcast_to(np.asarray(r, dtype=float), z.shape) for r in self.reference(z, q0, q1, cmd, p))
        f = self.rate.py_func
        out = np.array([f(*(float(a) for a in args)) for args in zip(z.ravel(), q0.ravel(), q1.ravel(), cmd.ravel(),
                                                                      *(x.ravel() for x in p))])
        return tuple(out[:, k].reshape(z.shape) for k in range(3))
