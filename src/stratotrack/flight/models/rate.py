"""``rate``: constant rate of climb ``p0`` (m/s; negative descends)."""

import numpy as np

from ..._jit import njit
from .base import Model


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def rate(z, q0, q1, cmd, p0, p1, p2, p3):
    return p0, 0.0, 0.0


MODEL = Model("rate", 0, ("rate",), rate,
              reference=lambda z, q0, q1, cmd, p: (p[0], 0.0, 0.0),
              speed=lambda p: np.abs(p[0]))
