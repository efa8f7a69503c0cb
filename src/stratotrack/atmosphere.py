"""US Standard Atmosphere 1976 (0-86 km) and height conversions.

All inputs and outputs are SI: geometric altitude in metres above mean sea level, temperature in K, pressure in
Pa, density in kg m-3.  Functions accept scalars or arrays and return NumPy values of the same shape.

>>> round(float(density(0.0)), 4)
1.225
>>> round(float(pressure(geopotential_to_geometric(11000.0))))
22632
>>> round(float(descent_speed(5.0, 20000.0)), 2)     # 5 m/s at sea level falls at 18.56 m/s at 20 km
18.56
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "G0",
    "R_GEOPOTENTIAL",
    "M_AIR",
    "R_STAR",
    "GMR",
    "temperature",
    "pressure",
    "density",
    "descent_speed",
    "geometric_to_geopotential",
    "geopotential_to_geometric",
    "altitude_from_pressure",
]

#: standard gravity (m s-2)
G0 = 9.80665
#: Earth radius used by the 1976 standard atmosphere for geopotential height (m)
R_GEOPOTENTIAL = 6356766.0
#: molar mass of air (kg/mol)
M_AIR = 0.0289644
#: universal gas constant as used by the 1976 standard (J/(mol K))
R_STAR = 8.31432
#: g0 M / R* (K/m): the hydrostatic constant of the layers
GMR = G0 * M_AIR / R_STAR
_M, _RSTAR, _GMR = M_AIR, R_STAR, GMR

# Layer bases in geopotential metres, lapse rates in K/m, base temperatures and pressures.
LAYER_H = np.array([0.0, 11000.0, 20000.0, 32000.0, 47000.0, 51000.0, 71000.0, 84852.0])
LAYER_L = np.array([-0.0065, 0.0, 0.001, 0.0028, 0.0, -0.0028, -0.002, 0.0])
LAYER_T = np.empty(8)
LAYER_P = np.empty(8)
LAYER_T[0], LAYER_P[0] = 288.15, 101325.0
for _k in range(1, 8):
    _dh = LAYER_H[_k] - LAYER_H[_k - 1]
    _lapse = LAYER_L[_k - 1]
    LAYER_T[_k] = LAYER_T[_k - 1] + _lapse * _dh
    if _lapse == 0.0:
        LAYER_P[_k] = LAYER_P[_k - 1] * np.exp(-_GMR * _dh / LAYER_T[_k - 1])
    else:
        LAYER_P[_k] = LAYER_P[_k - 1] * (LAYER_T[_k - 1] / LAYER_T[_k]) ** (_GMR / _lapse)
RHO0 = LAYER_P[0] * _M / (_RSTAR * LAYER_T[0])


def geometric_to_geopotential(z):
    """Geopotential height (m') of a geometric altitude ``z`` (m)."""
    z = np.asarray(z, dtype=float)
    return R_GEOPOTENTIAL * z / (R_GEOPOTENTIAL + z)


def geopotential_to_geometric(h):
    """Geometric altitude (m) of a geopotential height ``h`` (m', e.g. GRIB ``gh`` in gpm)."""
    h = np.asarray(h, dtype=float)
    return R_GEOPOTENTIAL * h / (R_GEOPOTENTIAL - h)


def _layer(h):
    return np.clip(np.searchsorted(LAYER_H, h, side="right") - 1, 0, 6)


def temperature(z):
    """Temperature (K) at geometric altitude ``z`` (m)."""
    h = geometric_to_geopotential(z)
    k = _layer(h)
    return LAYER_T[k] + LAYER_L[k] * (h - LAYER_H[k])


def pressure(z):
    """Pressure (Pa) at geometric altitude ``z`` (m)."""
    h = geometric_to_geopotential(z)
    k = _layer(h)
    tb, lb, pb = LAYER_T[k], LAYER_L[k], LAYER_P[k]
    t = tb + lb * (h - LAYER_H[k])
    with np.errstate(divide="ignore", invalid="ignore"):
        p_grad = pb * (tb / t) ** (_GMR / np.where(lb == 0.0, 1.0, lb))
    p_iso = pb * np.exp(-_GMR * (h - LAYER_H[k]) / tb)
    return np.where(lb == 0.0, p_iso, p_grad)


def density(z):
    """Air density (kg m-3) at geometric altitude ``z`` (m)."""
    return pressure(z) * _M / (_RSTAR * temperature(z))


def descent_speed(sea_level_rate, z):
    """Drag-limited fall speed at ``z`` for a given sea-level rate: v0 * sqrt(rho0 / rho(z))."""
    return np.asarray(sea_level_rate, dtype=float) * np.sqrt(RHO0 / density(z))


def altitude_from_pressure(p):
    """Geometric altitude (m) at which the standard atmosphere has pressure ``p`` (Pa)."""
    p = np.asarray(p, dtype=float)
    if np.any(~(p > 0)):
        raise ValueError(f"pressure must be positive, got {p[~(p > 0)].ravel()[0]!r} Pa")
    k = np.clip(np.searchsorted(-LAYER_P, -p, side="right") - 1, 0, 6)
    tb, lb, pb, hb = LAYER_T[k], LAYER_L[k], LAYER_P[k], LAYER_H[k]
    with np.errstate(divide="ignore", invalid="ignore"):
        h_grad = hb + tb / np.where(lb == 0.0, 1.0, lb) * ((p / pb) ** (-np.where(lb == 0.0, 1.0, lb) / _GMR) - 1.0)
    h_iso = hb - tb / _GMR * np.log(p / pb)
    return geopotential_to_geometric(np.where(lb == 0.0, h_iso, h_grad))
