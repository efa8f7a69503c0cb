"""``drag``: drag-limited descent ``-p0 * sqrt(rho0 / rho(z))``, ``p0`` the sea-level descent rate (m/s) and rho
the US Standard Atmosphere 1976 density.

The density ratio is a cubic Hermite table in geopotential height (knots every TABLE_STEP m, on every layer
boundary; each cell's values and slopes exact for its layer), so the rate is branch-free arithmetic that the
kernels vectorise with the winds (no loop over layers, no power or exponential per sample): relative error about
1e-13 against :func:`stratotrack.atmosphere.density` (tested)."""

import numpy as np

from ..._jit import njit
from ... import atmosphere as _atm
from .base import Model

#: spacing (m of geopotential height) of the density table's knots; divides every layer boundary below the top
TABLE_STEP = 25.0
#: the table covers geopotential heights from TABLE_BOTTOM to TABLE_TOP (beyond: the end cells' cubics extended)
TABLE_BOTTOM = -2000.0
TABLE_TOP = 90000.0
_RG = _atm.R_GEOPOTENTIAL


def _table():
    """Per cell (c0, c1, c2, c3): sqrt(rho0 / rho) = c0 + s (c1 + s (c2 + s c3)), s in [0, 1] across the cell."""
    h0 = np.arange(TABLE_BOTTOM, TABLE_TOP, TABLE_STEP)
    h1 = h0 + TABLE_STEP
    mid = 0.5 * (h0 + h1)
    k = np.clip(np.searchsorted(_atm.LAYER_H, mid, side="right") - 1, 0, len(_atm.LAYER_H) - 2)
    hb, tb, lb, pb = _atm.LAYER_H[k], _atm.LAYER_T[k], _atm.LAYER_L[k], _atm.LAYER_P[k]
    gmr = _atm.GMR

    def f_and_slope(h):  # within the cell's layer: value and d/dh
        t = tb + lb * (h - hb)
        iso = lb == 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(iso, pb * np.exp(-gmr * (h - hb) / tb), pb * (tb / t) ** (gmr / np.where(iso, 1.0, lb)))
        f = np.sqrt(float(_atm.RHO0) / (p * (_atm.M_AIR / _atm.R_STAR) / t))
        return f, f * (gmr + lb) / (2.0 * t)  # d ln rho / dh = -(g M / R* + L) / T

    fa, da = f_and_slope(h0)
    fb, db = f_and_slope(h1)
    da, db = da * TABLE_STEP, db * TABLE_STEP
    return np.ascontiguousarray(np.stack([fa, da, 3 * (fb - fa) - 2 * da - db, 2 * (fa - fb) + da + db], axis=1)
                                .ravel())


_TAB = _table()
_NCELL = _TAB.size // 4
_INV_STEP = 1.0 / TABLE_STEP


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False)
def sqrt_density_ratio(z):
    """sqrt(rho0 / rho(z)) in the US Standard Atmosphere 1976 (z geometric, m), from the table (branch-free)."""
    x = (_RG * z / (_RG + z) - TABLE_BOTTOM) * _INV_STEP
    j = min(max(int(x), 0), _NCELL - 1)  # (int of a negative x is 0 or more after the max)
    s = x - j
    b = 4 * j
    return _TAB[b] + s * (_TAB[b + 1] + s * (_TAB[b + 2] + s * _TAB[b + 3]))


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def rate(z, q0, q1, cmd, p0, p1, p2, p3):
    return -p0 * sqrt_density_ratio(z), 0.0, 0.0


MODEL = Model("drag", 1, ("sea_level_descent_rate",), rate,
              reference=lambda z, q0, q1, cmd, p: (-_atm.descent_speed(p[0], z), 0.0, 0.0),
              speed=lambda p: np.abs(p[0]))
