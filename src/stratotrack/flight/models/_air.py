"""Air at a geometric altitude for the balloon models, compiled: the US Standard Atmosphere 1976 (density from the
drag model's table, temperature by layer below 47 km, pressure = rho R T), and the drag-limited vertical speed of a
net lift shared by the buoyant models."""

import math

from ..._jit import njit
from ... import atmosphere as _atm
from .drag import sqrt_density_ratio

G = 9.80665
#: specific gas constant of air in the standard atmosphere (J/(kg K))
R_AIR = _atm.R_STAR / _atm.M_AIR
#: time constant (s) of the linear relaxation that replaces the drag law within a few metres of equilibrium (keeps
#: the rate Lipschitz so that the integrator's steps do not chatter about the float level)
RELAX_TAU = 60.0
#: density scale height (m) used to turn a lift excess into a distance from equilibrium
SCALE_HEIGHT = 6300.0
_RHO0 = float(_atm.RHO0)
_RG = _atm.R_GEOPOTENTIAL


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def air_temperature(z):
    """US Standard Atmosphere 1976 temperature (K) below 47 km (geometric z in m; constant beyond)."""
    h = _RG * z / (_RG + z)
    if h < 11000.0:
        return 288.15 - 0.0065 * h
    if h < 20000.0:
        return 216.65
    if h < 32000.0:
        return 216.65 + 0.001 * (h - 20000.0)
    return 228.65 + 0.0028 * (min(h, 47000.0) - 32000.0)


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def air(z):
    """(density kg/m^3, temperature K, pressure Pa) at geometric altitude z."""
    s = sqrt_density_ratio(z)
    rho = _RHO0 / (s * s)
    t = air_temperature(z)
    return rho, t, rho * R_AIR * t


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def buoyant_speed(lift, rho, volume, drag_area, max_speed):
    """Vertical speed (m/s, up positive) of a net lift (kg): the drag balance ``|lift| g = 1/2 rho Cd A w^2``, but no
    faster than a linear relaxation over RELAX_TAU of the distance to equilibrium ``H lift / (rho V)``."""
    a = abs(lift)
    w = math.sqrt(2.0 * a * G / (rho * drag_area))
    w = min(w, SCALE_HEIGHT * a / (rho * volume * RELAX_TAU), max_speed)
    return w if lift >= 0.0 else -w
