"""``valve``: an altitude-control balloon obeying up / stay / down commands (``cmd`` 1, 0, -1) from its controller:
climbs at ``p0`` m/s, holds, or descends at ``p1`` m/s, drawing ``p2`` W from its battery while it climbs or
descends.  State: ``energy`` (J, slot 0; it stops obeying when the battery is empty) and ``work`` (J spent, slot 1).
"""

import numpy as np

from ..._jit import njit
from .base import Model


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def rate(z, q0, q1, cmd, p0, p1, p2, p3):
    live = q0 > 0.0
    up = cmd > 0.5 and live
    down = cmd < -0.5 and live
    power = p2 if (up or down) else 0.0
    return (p0 if up else (-p1 if down else 0.0)), -power, power


def _reference(z, q0, q1, cmd, p):
    live = q0 > 0.0
    up = (cmd > 0.5) & live
    down = (cmd < -0.5) & live
    power = np.where(up | down, p[2], 0.0)
    return np.where(up, p[0], np.where(down, -p[1], 0.0)), -power, power


MODEL = Model("valve", 4, ("ascent_rate", "descent_rate", "power"), rate, defaults=(0.0, 0.0, 0.0, 0.0),
              state=("energy", "work"), commands=(-1.0, 0.0, 1.0), reference=_reference,
              speed=lambda p: np.minimum(np.abs(p[0]), np.abs(p[1])))
