"""``target``: follow a target altitude ``p0`` with time constant ``p1`` (s), at most ``p2`` up and ``p3`` down
(m/s): ``clip((p0 - z) / p1, -p3, p2)``.  A drift holds its start altitude this way; a controller steers it by
changing ``p0`` between intervals (or use ``steer``, which follows the command)."""

import numpy as np

from ..._jit import njit
from .base import Model


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def rate(z, q0, q1, cmd, p0, p1, p2, p3):
    return max(min((p0 - z) / p1, p2), -p3), 0.0, 0.0


MODEL = Model("target", 2, ("target_altitude", "time_constant", "max_ascent_rate", "max_descent_rate"), rate,
              defaults=(0.0, 1.0, 0.0, 0.0),
              reference=lambda z, q0, q1, cmd, p: (np.clip((p[0] - z) / p[1], -p[3], p[2]), 0.0, 0.0),
              speed=lambda p: np.abs(p[2]))
