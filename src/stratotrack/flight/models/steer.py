"""``steer``: follow the altitude its controller commands (``cmd``, m) with time constant ``p0`` (s), at most
``p1`` up and ``p2`` down (m/s): ``clip((cmd - z) / p0, -p2, p1)``.  Until a controller first decides, set the
command with ``Integrator(..., command=start altitudes)``."""

import numpy as np

from ..._jit import njit
from .base import Model


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def rate(z, q0, q1, cmd, p0, p1, p2, p3):
    return max(min((cmd - z) / p0, p1), -p2), 0.0, 0.0


MODEL = Model("steer", 3, ("time_constant", "max_ascent_rate", "max_descent_rate"), rate,
              defaults=(1.0, 0.0, 0.0, 0.0),
              reference=lambda z, q0, q1, cmd, p: (np.clip((cmd - z) / p[0], -p[2], p[1]), 0.0, 0.0),
              speed=lambda p: np.minimum(np.abs(p[1]), np.abs(p[2])))
