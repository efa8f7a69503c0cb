"""``zeropressure``: a zero-pressure balloon (open at the bottom) with a gas valve and ballast drops, obeying
up / stay / down commands (``cmd`` 1, 0, -1): up drops ballast at ``p3`` kg/s, down opens the valve (lift gas out
at :data:`VALVE_FLOW` kg/s), stay does neither.

State: slot 0 ``gas`` (kg of lift gas), slot 1 ``ballast`` (kg).  Parameters: ``p0`` the system mass without gas
and ballast (kg: envelope and payload), ``p1`` the envelope's full volume (m^3), ``p2`` the gas's temperature above
the air's (K; the steering loop sets it between intervals: solar heating by day, radiative cooling at night),
``p3`` the ballast drop rate (kg/s).

Physics (helium at the ambient pressure, ideal gases, US Standard Atmosphere 1976 air):

- gas volume ``V = m_gas (M_air / M_gas) ((T + dT) / T) / rho_air``; the envelope holds at most ``p1``: above
  that the excess gas leaves through the ducts (relaxing with :data:`DUCT_TAU`), which is what makes the balloon
  float where the full envelope's lift equals its weight;
- net lift (kg) ``L = rho_air min(V, p1) - m_gas - p0 - ballast``; vertical speed from the drag balance
  ``L g = 1/2 rho_air Cd A w^2`` (``A`` the cross-section of a sphere of the gas volume), smoothed near ``L = 0``
  (linearly within metres of equilibrium, :func:`._air.buoyant_speed`) and capped at :data:`MAX_SPEED`.

So a partly filled balloon has an altitude-independent lift and climbs or sinks at a steady rate; a full one floats
at the density ``(p0 + ballast) / (p1 (1 - M_gas / M_air))`` (see :func:`float_density`).  Events, detected by the
steering loop between intervals (:data:`EVENTS`): ``ballast_exhausted`` (slot 1 reaches 0).  A flight stage ends it
at the ground with a ``below`` terminator.
"""

import math

import numpy as np

from ..._jit import njit
from ... import atmosphere as _atm
from .base import Model
from ._air import air, buoyant_speed

#: molar masses (kg/mol) of air and helium
M_AIR = 0.0289644
M_GAS = 0.0040026
#: helium vented through the open valve (kg/s)
VALVE_FLOW = 0.004
#: time constant (s) with which excess gas leaves a full envelope through its ducts
DUCT_TAU = 120.0
#: a store (gas, ballast) runs out exponentially over its last this many seconds of flow
EMPTY_TAU = 30.0
#: drag coefficient of the envelope
CD = 0.5
#: vertical speed cap (m/s)
MAX_SPEED = 10.0
#: events the steering loop detects for this model
EVENTS = ("ballast_exhausted", "landing")


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def rate(z, q0, q1, cmd, p0, p1, p2, p3):
    rho, t_air, _p = air(z)
    gas = max(q0, 0.0)
    vol = gas * (M_AIR / M_GAS) * ((t_air + p2) / t_air) / rho
    full = max(min(vol, p1), 1e-6)
    lift = rho * full - gas - p0 - max(q1, 0.0)
    r = (0.75 * full / math.pi) ** (1.0 / 3.0)
    w = buoyant_speed(lift, rho, full, CD * math.pi * r * r, MAX_SPEED)
    # excess gas out of a full envelope; the valve on command
    dgas = -max(vol - p1, 0.0) / vol * gas / DUCT_TAU if vol > 0.0 else 0.0
    # (flows taper over the last EMPTY_TAU seconds' worth so that the integrator never overdraws a store)
    if cmd < -0.5:
        dgas -= min(VALVE_FLOW, gas / EMPTY_TAU)
    dball = -min(p3, max(q1, 0.0) / EMPTY_TAU) if cmd > 0.5 else 0.0
    return w, dgas, dball


def float_density(system_mass, ballast, gas_temperature_excess=0.0, air_temperature_k=216.65):
    """Air density (kg/m^3) at which a full envelope floats: its lift equals the system and ballast mass,
    ``rho V (1 - (M_gas/M_air) T/(T+dT))`` per unit volume, so ``rho = (p0 + ballast) / (V (1 - ...))``; returned
    per unit volume (divide by the volume)."""
    frac = 1.0 - (M_GAS / M_AIR) * air_temperature_k / (air_temperature_k + gas_temperature_excess)
    return (np.asarray(system_mass, dtype=float) + np.asarray(ballast, dtype=float)) / frac


def full_gas(volume, z, gas_temperature_excess=0.0):
    """Gas mass (kg) that fills ``volume`` m^3 at altitude z (ambient pressure, gas dT above the air)."""
    t = float(_atm.temperature(z))
    return volume * float(_atm.density(z)) * (M_GAS / M_AIR) * t / (t + gas_temperature_excess)


MODEL = Model("zeropressure", 11, ("system_mass", "volume", "gas_temperature_excess", "ballast_rate"), rate,
              defaults=(100.0, 1000.0, 0.0, 0.0), state=("gas", "ballast"), branch_free=False,
              commands=(-1.0, 0.0, 1.0), speed=lambda p: np.full(np.shape(p[0]), 0.01))
