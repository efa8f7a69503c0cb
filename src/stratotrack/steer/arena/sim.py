"""The arena's balloon simulator: BLE's superpressure balloon stepped in 10 s sub-steps (numba).

One call of :func:`simulate_interval` flies one decision interval (180 s = 18 sub-steps) with the wind held, as
Google's Balloon Learning Environment does (BLE, Apache-2.0, ``env/balloon/balloon.py``): in each sub-step the
balloon drifts with the wind, its pressure follows the terminal velocity of its net buoyancy, the gas temperature
follows the thermal balance, volume and superpressure follow the gas, the compressor or the valve moves air, and the
battery takes the panels' power minus the loads. Every update uses the state at the start of the sub-step (BLE's
explicit Euler order). Events: burst (superpressure > 2,380 Pa), zero pressure (superpressure <= 0), empty battery.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ...flight.superpressure import (
    ENVELOPE_MASS, MAX_SUPERPRESSURE, M_AIR, atm_at_pressure, compressor_mass_flow, d_gas_temperature_dt,
    pressure_rate, superpressure_and_volume, system_mass, valve_mass_flow, vertical_speed,
)
from ..power import BATTERY_CAPACITY_WH, DAY_LOAD_W, NIGHT_LOAD_W, is_day, latlng_from_offset, solar_power, sun_position

__all__ = ["STATE_FIELDS", "S", "OK", "BURST", "ZERO_PRESSURE", "OUT_OF_POWER", "STATUS_NAMES", "new_state",
           "simulate_interval"]

#: The fields of the state vector, in order.
STATE_FIELDS = ("x", "y", "pressure", "ambient_temperature", "mols_gas", "mols_air", "gas_temperature",
                "volume", "superpressure", "battery_wh", "t", "status", "pump_wh", "acs_power")


class S:
    """Indices into the state vector (see :data:`STATE_FIELDS`)."""

    X, Y, P, TA, NGAS, NAIR, TG, V, SP, BAT, T, STATUS, PUMP, ACS = range(14)


OK, BURST, ZERO_PRESSURE, OUT_OF_POWER = 0, 1, 2, 3
#: Event names by status code.
STATUS_NAMES = {OK: "ok", BURST: "burst", ZERO_PRESSURE: "zero-pressure", OUT_OF_POWER: "battery"}


def new_state(x, y, pressure, ambient_temperature, mols_gas, mols_air, gas_temperature, volume, superpressure,
              battery_wh) -> np.ndarray:
    """A state vector from its physical values (time 0, status ok, no pump energy yet)."""
    s = np.zeros(len(STATE_FIELDS))
    s[:10] = (x, y, pressure, ambient_temperature, mols_gas, mols_air, gas_temperature, volume, superpressure,
              battery_wh)
    return s


@njit(cache=True)
def simulate_interval(state, action, u, v, n_steps, dt, atm, lat0, lng0, start_unix, upwelling_ir):
    """Fly ``n_steps`` sub-steps of ``dt`` seconds with wind (u, v) and an effective action, in place.

    ``action`` is 1 (vent: up), 0 (stay) or -1 (pump: down), already passed through the safety layers. Stops at
    the first event; returns the status (0 ok, 1 burst, 2 zero pressure, 3 empty battery).
    """
    for _ in range(n_steps):
        x = state[0]
        y = state[1]
        p = state[2]
        ta = state[3]
        ngas = state[4]
        nair = state[5]
        tg = state[6]
        vol = state[7]
        sp = state[8]
        bat = state[9]
        t = state[10]
        # 1. drift with the wind
        state[0] = x + u * dt
        state[1] = y + v * dt
        # 2. terminal velocity of the net buoyancy -> pressure
        dh_dt = vertical_speed(p, ta, vol, system_mass(ngas, nair))
        state[2] = p + pressure_rate(p, dh_dt, atm) * dt
        # 3. ambient and gas temperature (sun at the balloon's place and time)
        lat, lng = latlng_from_offset(lat0, lng0, x, y)
        el, _, flux = sun_position(lat, lng, start_unix + t)
        _, state[3] = atm_at_pressure(p, atm)
        state[6] = tg + d_gas_temperature_dt(vol, ENVELOPE_MASS, tg, ta, p, el, flux, upwelling_ir) * dt
        # 4. volume and superpressure
        state[7], state[8] = superpressure_and_volume(ngas, nair, tg, p)
        status = 0
        if state[8] > MAX_SUPERPRESSURE:
            status = 1
        if state[8] <= 0.0:
            status = 2
        # 5. the altitude-control system
        acs_power = 0.0
        flow = 0.0
        if action == 1:
            flow = valve_mass_flow(sp, p, tg)
        elif action == -1:
            ratio = (p + max(sp, 0.0)) / p
            acs_power, flow = compressor_mass_flow(ratio)
        state[5] = max(nair + flow / M_AIR * dt, 0.0)
        state[13] = acs_power
        # 6. energy
        day = is_day(el)
        charge = solar_power(el, p) if day else 0.0
        load = (DAY_LOAD_W if day else NIGHT_LOAD_W) + acs_power
        bat = bat + (charge - load) * dt / 3600.0
        bat = min(max(bat, 0.0), BATTERY_CAPACITY_WH)
        state[9] = bat
        state[12] += acs_power * dt / 3600.0
        if bat <= 0.0:
            status = 3
        state[10] = t + dt
        state[11] = status
        if status != 0:
            return status
    return 0
