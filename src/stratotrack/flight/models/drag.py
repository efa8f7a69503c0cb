"""``drag``: drag-limited descent ``-p0 * sqrt(rho0 / rho(z))``, ``p0`` the sea-level descent rate (m/s) and rho
the US Standard Atmosphere 1976 density (a loop over layers and a power: computed row by row)."""

import math

import numpy as np
from numba import njit

from ... import atmosphere as _atm
from .base import Model

_LH = _atm.LAYER_H
_LL = _atm.LAYER_L
_LT = _atm.LAYER_T
_LP = _atm.LAYER_P
_RG = _atm.R_GEOPOTENTIAL
_GMR = _atm._GMR
_RHO_FACTOR = _atm._M / _atm._RSTAR
_RHO0 = float(_atm.RHO0)


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False)
def sqrt_density_ratio(z):
    """sqrt(rho0 / rho(z)) in the US Standard Atmosphere 1976 (z geometric, m)."""
    h = _RG * z / (_RG + z)
    k = 0
    while k < 6 and h >= _LH[k + 1]:
        k += 1
    tb = _LT[k]
    lb = _LL[k]
    dh = h - _LH[k]
    t = tb + lb * dh
    if lb == 0.0:
        p = _LP[k] * math.exp(-_GMR * dh / tb)
    else:
        p = _LP[k] * (tb / t) ** (_GMR / lb)
    return math.sqrt(_RHO0 / (p * _RHO_FACTOR / t))


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def rate(z, q0, q1, cmd, p0, p1, p2, p3):
    return -p0 * sqrt_density_ratio(z), 0.0, 0.0


MODEL = Model("drag", 1, ("sea_level_descent_rate",), rate, branch_free=False,
              reference=lambda z, q0, q1, cmd, p: (-_atm.descent_speed(p[0], z), 0.0, 0.0),
              speed=lambda p: np.abs(p[0]))
