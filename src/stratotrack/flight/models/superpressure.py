"""``superpressure``: a superpressure balloon with an air ballonet (BLE's kind) as an engine model, obeying up /
stay / down commands (``cmd`` 1, 0, -1): down runs the compressor (air in: heavier, sinks), up opens the vent
(air out at the superpressure-driven flow: lighter, rises), stay holds.

The physics are BLE's, from :mod:`stratotrack.flight.superpressure`: envelope volume and superpressure from the
moles of helium and air and the gas temperature, terminal speed with BLE's drag area ``Cd V^(2/3)`` (relaxed
linearly within metres of equilibrium so the integrator does not chatter, :func:`._air.buoyant_speed`), the
compressor's power and air flow by pressure ratio, the vent's flow by superpressure.  The air is the US Standard
Atmosphere 1976 (the same that converts the controller's pressures).

State: slot 0 ``air`` (kg of air in the ballonet), slot 1 ``pump_energy`` (J drawn by the compressor so far).
Parameters: ``p0`` mol of helium, ``p1`` the gas temperature (K; the steering loop sets it between intervals from
BLE's thermal balance at the sun's elevation), ``p2`` the envelope mass (kg), ``p3`` the payload mass (kg).

Events, detected by the steering loop between intervals (:data:`EVENTS`): ``burst`` (superpressure above
:data:`~stratotrack.flight.superpressure.MAX_SUPERPRESSURE`), ``zero_pressure`` (the envelope goes slack),
``out_of_power`` (the battery is empty).
"""


import numpy as np

from ..._jit import njit
from .. import superpressure as sp
# (the physics functions as module globals, so that the engine's twins for other targets find and convert them)
from ..superpressure import (DRAG_COEFFICIENT, M_AIR, compressor_mass_flow, superpressure_and_volume, system_mass,
                             valve_mass_flow)
from ._air import air, buoyant_speed
from .base import Model

EVENTS = ("burst", "zero_pressure", "out_of_power")
MAX_SPEED = 5.0
EMPTY_TAU = 30.0


@njit(cache=True, fastmath=True, error_model="numpy", _nrt=False, inline="always")
def rate(z, q0, q1, cmd, p0, p1, p2, p3):
    rho, ta, p = air(z)
    mols_air = max(q0, 0.0) / M_AIR
    vol, spr = superpressure_and_volume(p0, mols_air, p1, p)
    mass = system_mass(p0, mols_air, p2, p3)
    w = buoyant_speed(rho * vol - mass, rho, vol, DRAG_COEFFICIENT * vol ** (2.0 / 3.0), MAX_SPEED)
    dair = 0.0
    de = 0.0
    if cmd < -0.5:
        power, flow = compressor_mass_flow((p + spr) / p)
        dair = flow
        de = power
    elif cmd > 0.5:
        # (tapering over the last EMPTY_TAU seconds' worth so that the integrator never overdraws the ballonet)
        dair = -min(-valve_mass_flow(spr, p, p1), max(q0, 0.0) / EMPTY_TAU)
    return w, dair, de


def state_at(z, mols_gas, gas_temperature, envelope_mass=sp.ENVELOPE_MASS, payload_mass=sp.PAYLOAD_MASS):
    """(air kg in the ballonet that floats the balloon at altitude z with the base volume, superpressure Pa there);
    negative air means it cannot float that low."""
    from ... import atmosphere as atm

    rho = float(atm.density(z))
    air_kg = rho * sp.ENVELOPE_VOLUME_BASE - envelope_mass - payload_mass - sp.M_HE * mols_gas
    _, spr = sp.superpressure_and_volume(mols_gas, max(air_kg, 0.0) / sp.M_AIR, gas_temperature,
                                         float(atm.pressure(z)))
    return air_kg, spr


def superpressure(z, air_kg, mols_gas, gas_temperature):
    """(volume m^3, superpressure Pa) at altitude z with ``air_kg`` in the ballonet."""
    from ... import atmosphere as atm

    return sp.superpressure_and_volume(float(mols_gas), max(float(air_kg), 0.0) / sp.M_AIR, float(gas_temperature),
                                       float(atm.pressure(z)))


MODEL = Model("superpressure", 10, ("mols_gas", "gas_temperature", "envelope_mass", "payload_mass"), rate,
              defaults=(sp.MOLS_LIFT_GAS, 220.0, sp.ENVELOPE_MASS, sp.PAYLOAD_MASS), state=("air", "pump_energy"),
              branch_free=False, commands=(-1.0, 0.0, 1.0), speed=lambda p: np.full(np.shape(p[0]), 0.01))
