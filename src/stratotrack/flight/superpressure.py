"""Superpressure-balloon physics as plain compiled functions (numba ``@njit``, scalar in, scalar out).

These mirror the model of Google's Balloon Learning Environment (BLE, Bellemare et al., Nature 588, 2020;
Apache-2.0; ``env/balloon/balloon.py``, ``thermal.py``, ``acs.py``, ``standard_atmosphere.py``, ``solar.py``): the
constants and tables are BLE's, the code is written anew. A superpressure envelope of fixed base volume with an air
ballonet: pumping air in ("down") makes the balloon heavier, venting it ("up") lighter.

* volume and superpressure from the moles of gas and air and the gas temperature (:func:`superpressure_and_volume`);
* vertical speed: the terminal velocity of the net buoyancy with a drag coefficient of 0.25
  (:func:`vertical_speed`), turned into a pressure rate through the atmosphere (:func:`pressure_rate`);
* thermal balance of the film and gas: sun, Earth infrared, emission and convection
  (:func:`d_gas_temperature_dt`, :func:`equilibrium_gas_temperature`);
* BLE's atmosphere: a 1976-like standard atmosphere whose lapse rates mix two tables by ``atm_alpha``
  (:func:`atmosphere_tables`, :func:`atm_at_pressure`, :func:`atm_at_height`);
* the compressor (100-400 W chosen by pressure ratio, tabulated efficiency: :func:`compressor_power`,
  :func:`compressor_efficiency`) and the 4 cm vent valve (:func:`valve_mass_flow`).

Everything is SI: Pa, K, m, m^3, mol, kg, s, W.
"""

from __future__ import annotations

import math

import numpy as np

from .._jit import njit

__all__ = [
    "GRAVITY", "R_GAS", "M_AIR", "M_HE", "R_AIR",
    "ENVELOPE_VOLUME_BASE", "ENVELOPE_DV_DP", "ENVELOPE_MASS", "MAX_SUPERPRESSURE", "DRAG_COEFFICIENT",
    "PAYLOAD_MASS", "MOLS_LIFT_GAS", "VALVE_DIAMETER", "VALVE_CD", "MIN_SOLAR_ELEVATION_DEG",
    "atmosphere_tables", "atm_at_pressure", "atm_at_height",
    "superpressure_and_volume", "system_mass", "net_lift", "vertical_speed", "pressure_rate",
    "solar_attenuation", "d_gas_temperature_dt", "equilibrium_gas_temperature", "stable_state",
    "compressor_power", "compressor_efficiency", "compressor_mass_flow", "valve_mass_flow",
    "accessible_pressure_range",
]

# Physical constants (BLE utils/constants.py).
GRAVITY = 9.80665  #: m/s^2
R_GAS = 8.3144621  #: J/(mol K)
M_AIR = 0.028964922481160  #: kg/mol, dry air
M_HE = 0.004002602  #: kg/mol, helium
R_AIR = R_GAS / M_AIR  #: J/(kg K)

# BLE's flight system (env/balloon/balloon.py, BalloonState defaults).
ENVELOPE_VOLUME_BASE = 1804.0  #: m^3 at zero superpressure
ENVELOPE_DV_DP = 0.0199  #: m^3/Pa, envelope stretch per Pa of superpressure
ENVELOPE_MASS = 68.5  #: kg
MAX_SUPERPRESSURE = 2380.0  #: Pa: above this the envelope bursts
DRAG_COEFFICIENT = 0.25
PAYLOAD_MASS = 92.5  #: kg (78.5 kg payload + 14 kg ballast)
MOLS_LIFT_GAS = 6830.0  #: mol of helium
VALVE_DIAMETER = 0.04  #: m, the ballonet's vent
VALVE_CD = 0.62  #: discharge coefficient of the vent
MIN_SOLAR_ELEVATION_DEG = -4.242  #: the sun is below the horizon at float altitude under this

# ---------------------------------------------------------------------------------------------------------------
# BLE's atmosphere (env/balloon/standard_atmosphere.py)
_H_TRANSITIONS = np.array([-610.0, 17000.0, 21000.0, 32000.0, 47000.0, 51000.0, 71000.0, 85000.0])
_LAPSE_LOW = np.array([-0.007, 0.006, 0.001, 0.0028, 0.0, -0.0028, -0.002])
_LAPSE_HIGH = np.array([-0.0058, 0.005, 0.001, 0.0028, 0.0, -0.0028, -0.002])
_T_BASE = 300.0
_P_BASE = 108870.8213


def atmosphere_tables(alpha: float) -> np.ndarray:
    """BLE's atmosphere for a mix ``alpha`` in [0, 1] of its two lapse-rate tables.

    Returns a (4, 8) float array: rows heights (m), lapse rates (K/m, 7 used), temperatures (K) and pressures
    (Pa) at the layer boundaries; pass it to :func:`atm_at_pressure` and :func:`atm_at_height`.
    """
    lapse = (1.0 - alpha) * _LAPSE_LOW + alpha * _LAPSE_HIGH
    temps = [_T_BASE]
    for i in range(7):
        temps.append(temps[-1] + lapse[i] * (_H_TRANSITIONS[i + 1] - _H_TRANSITIONS[i]))
    press = [_P_BASE]
    for i in range(7):
        if lapse[i] == 0.0:
            dh = _H_TRANSITIONS[i + 1] - _H_TRANSITIONS[i]
            press.append(press[-1] * math.exp(-GRAVITY * dh / (R_AIR * temps[i + 1])))
        else:
            press.append(press[-1] * (temps[i + 1] / temps[i]) ** (-GRAVITY / (R_AIR * lapse[i])))
    out = np.zeros((4, 8))
    out[0] = _H_TRANSITIONS
    out[1, :7] = lapse
    out[2] = temps
    out[3] = press
    return out


@njit(cache=True)
def atm_at_pressure(pressure: float, atm: np.ndarray) -> tuple:
    """(height m, temperature K) at a pressure in BLE's atmosphere ``atm`` (:func:`atmosphere_tables`)."""
    for i in range(7):
        if pressure > atm[3, i + 1]:
            lapse = atm[1, i]
            t0 = atm[2, i]
            p0 = atm[3, i]
            h0 = atm[0, i]
            if lapse == 0.0:
                h = (-R_AIR * t0 / GRAVITY) * math.log(pressure / p0) + h0
            else:
                h = ((pressure / p0) ** (-R_AIR * lapse / GRAVITY) - 1.0) * t0 / lapse + h0
            return h, t0 + lapse * (h - h0)
    return np.nan, np.nan


@njit(cache=True)
def atm_at_height(height: float, atm: np.ndarray) -> tuple:
    """(pressure Pa, temperature K) at a height (m) in BLE's atmosphere ``atm``."""
    for i in range(7):
        if height < atm[0, i + 1]:
            lapse = atm[1, i]
            t0 = atm[2, i]
            p0 = atm[3, i]
            t = t0 + lapse * (height - atm[0, i])
            if lapse == 0.0:
                p = p0 * math.exp(-(GRAVITY * (height - atm[0, i])) / (R_AIR * t))
            else:
                p = p0 * (t / t0) ** (-GRAVITY / (R_AIR * lapse))
            return p, t
    return np.nan, np.nan


# ---------------------------------------------------------------------------------------------------------------
# Envelope and buoyancy (env/balloon/balloon.py)
@njit(cache=True)
def superpressure_and_volume(mols_gas: float, mols_air: float, gas_temperature: float, pressure: float,
                             volume_base: float = ENVELOPE_VOLUME_BASE,
                             dv_dp: float = ENVELOPE_DV_DP) -> tuple:
    """(envelope volume m^3, superpressure Pa) of an envelope holding ``mols_gas + mols_air`` at a temperature.

    Slack (volume below the base volume): superpressure 0. Taut: ``V = V0 + dv_dp * (P_gas - P)`` with
    ``P_gas = n R T / V``, solved as a quadratic in V (BLE's model).
    """
    v_free = (mols_gas + mols_air) * R_GAS * gas_temperature / pressure
    if v_free <= volume_base:
        return v_free, 0.0
    b = -(volume_base - dv_dp * pressure)
    c = -(dv_dp * v_free * pressure)
    volume = 0.5 * (-b + math.sqrt(b * b - 4.0 * c))
    return volume, pressure * v_free / volume - pressure


@njit(cache=True)
def system_mass(mols_gas: float, mols_air: float, envelope_mass: float = ENVELOPE_MASS,
                payload_mass: float = PAYLOAD_MASS) -> float:
    """Total mass (kg) of the flight system: gas, ballonet air, envelope and payload."""
    return M_HE * mols_gas + M_AIR * mols_air + envelope_mass + payload_mass


@njit(cache=True)
def net_lift(pressure: float, ambient_temperature: float, volume: float, mass: float) -> float:
    """Net buoyancy as a mass (kg): displaced air minus the system's mass (positive rises)."""
    rho = pressure * M_AIR / (R_GAS * ambient_temperature)
    return rho * volume - mass


@njit(cache=True)
def vertical_speed(pressure: float, ambient_temperature: float, volume: float, mass: float,
                   drag_coefficient: float = DRAG_COEFFICIENT) -> float:
    """Terminal vertical speed (m/s, up positive) of the net buoyancy, BLE's drag area ``Cd * V^(2/3)``."""
    rho = pressure * M_AIR / (R_GAS * ambient_temperature)
    drag = drag_coefficient * volume ** (2.0 / 3.0)
    lift = rho * volume - mass
    direction = 1.0 if lift >= 0.0 else -1.0
    return direction * math.sqrt(abs(2.0 * lift * GRAVITY / (rho * drag)))


@njit(cache=True)
def pressure_rate(pressure: float, dh_dt: float, atm: np.ndarray) -> float:
    """dp/dt (Pa/s) for a vertical speed, from a 1 Pa finite difference of the atmosphere's height (as BLE)."""
    direction = 1.0 if dh_dt >= 0.0 else -1.0
    h0, _ = atm_at_pressure(pressure, atm)
    h1, _ = atm_at_pressure(pressure + direction, atm)
    return direction / (h1 - h0) * dh_dt


# ---------------------------------------------------------------------------------------------------------------
# Thermal balance (env/balloon/thermal.py), PE01 film
_SOLAR_VIEW = 0.25
_EARTH_VIEW = 0.4605
_REFLECTIVITY = 0.0291
_ABS_SOLAR = 0.01435
_ABS_IR_BASE = 0.04587
_ABS_IR_DT = 0.000232
_ABS_IR_TREF = 210.0
_FILM_CP = 1500.0
_SIGMA = 0.000000056704


@njit(cache=True)
def solar_attenuation(elevation_deg: float, pressure: float) -> float:
    """BLE's atmospheric attenuation (0..1) of sunlight at a pressure altitude; 0 below -4.242 degrees."""
    if elevation_deg < MIN_SOLAR_ELEVATION_DEG:
        return 0.0
    s = 614.0 * math.sin(math.radians(elevation_deg))
    airmass = 0.34764 * (pressure / 101325.0) * (math.sqrt(1229.0 + s * s) - s)
    return 0.5 * (math.exp(-0.65 * airmass) + math.exp(-0.95 * airmass))


@njit(cache=True)
def _total_absorptivity(absorptivity: float) -> float:
    transmissivity = 1.0 - absorptivity - _REFLECTIVITY
    return absorptivity * (1.0 + transmissivity / (1.0 - _REFLECTIVITY))


@njit(cache=True)
def _abs_ir(temperature: float) -> float:
    return _ABS_IR_BASE + _ABS_IR_DT * (temperature - _ABS_IR_TREF)


@njit(cache=True)
def d_gas_temperature_dt(volume: float, envelope_mass: float, gas_temperature: float, ambient_temperature: float,
                         pressure: float, solar_elevation_deg: float, solar_flux: float,
                         upwelling_ir: float) -> float:
    """dT/dt (K/s) of the film and gas: sun + Earth infrared + convection - emission, over the film's heat capacity."""
    radius = (3.0 * volume / (4.0 * math.pi)) ** (1.0 / 3.0)
    area = 4.0 * math.pi * radius * radius
    q_solar = (solar_flux * solar_attenuation(solar_elevation_deg, pressure) * _SOLAR_VIEW * area
               * _total_absorptivity(_ABS_SOLAR))
    earth_t = (upwelling_ir / _SIGMA) ** 0.25
    q_earth = upwelling_ir * _EARTH_VIEW * area * _total_absorptivity(_abs_ir(earth_t))
    q_emit = _SIGMA * gas_temperature ** 4 * area * _total_absorptivity(_abs_ir(gas_temperature))
    # Convection (free convection around a sphere).
    ta = ambient_temperature
    viscosity = 1.458e-6 * ta ** 1.5 / (ta + 110.4)
    conductivity = 0.0241 * (ta / 273.15) ** 0.9
    prandtl = 0.804 - 3.25e-4 * ta
    rho = pressure * M_AIR / (R_GAS * ta)
    grashof = GRAVITY * rho ** 2 * (2.0 * radius) ** 3 / (ta * viscosity ** 2) * abs(ta - gas_temperature)
    rayleigh = prandtl * grashof
    nusselt = 2.0 + 0.457 * rayleigh ** 0.25 + (1.0 + 2.69e-8 * rayleigh) ** (1.0 / 12.0)
    h = nusselt * conductivity / (2.0 * radius)
    q_conv = area * h * (ta - gas_temperature)
    return (q_solar + q_earth + q_conv - q_emit) / (_FILM_CP * envelope_mass)


@njit(cache=True)
def equilibrium_gas_temperature(volume: float, envelope_mass: float, ambient_temperature: float, pressure: float,
                                solar_elevation_deg: float, solar_flux: float, upwelling_ir: float) -> float:
    """The gas temperature where :func:`d_gas_temperature_dt` vanishes: BLE's 10 Newton steps from 206 K."""
    t = 206.0
    d = 0.01
    for _ in range(10):
        r1 = d_gas_temperature_dt(volume, envelope_mass, t - d / 2, ambient_temperature, pressure,
                                  solar_elevation_deg, solar_flux, upwelling_ir)
        r2 = d_gas_temperature_dt(volume, envelope_mass, t + d / 2, ambient_temperature, pressure,
                                  solar_elevation_deg, solar_flux, upwelling_ir)
        slope = (r2 - r1) / d
        mean = (r1 + r2) / 2.0
        if abs(slope) > 0.0:
            t -= mean / slope
        if abs(mean) < 1e-5:
            break
    return t


@njit(cache=True)
def stable_state(pressure: float, atm: np.ndarray, solar_elevation_deg: float, solar_flux: float,
                 upwelling_ir: float, mols_gas: float = MOLS_LIFT_GAS) -> tuple:
    """BLE's buoyant-equilibrium state at a pressure (``stable_init``).

    Returns (ambient temperature K, gas temperature K, mols of air, envelope volume m^3, superpressure Pa): the air
    ballast that floats the balloon at ``pressure`` with the base volume, and the thermal equilibrium.
    """
    _, ta = atm_at_pressure(pressure, atm)
    mols_air = ((pressure * M_AIR * ENVELOPE_VOLUME_BASE / (R_GAS * ta) - ENVELOPE_MASS - PAYLOAD_MASS
                 - M_HE * mols_gas) / M_AIR)
    if mols_air < 0.0:
        mols_air = 0.0
    tg = equilibrium_gas_temperature(ENVELOPE_VOLUME_BASE, ENVELOPE_MASS, ta, pressure, solar_elevation_deg,
                                     solar_flux, upwelling_ir)
    volume, sp = superpressure_and_volume(mols_gas, mols_air, tg, pressure)
    return ta, tg, mols_air, volume, sp


# ---------------------------------------------------------------------------------------------------------------
# Altitude-control system (env/balloon/acs.py and balloon.py)
_PR_TO_POWER_X = np.array([1.0, 1.05, 1.2, 1.25, 1.35])
_PR_TO_POWER_Y = np.array([100.0, 100.0, 300.0, 400.0, 400.0])
_EFF_PR = np.linspace(1.05, 1.35, 13)
_EFF_POWER = np.linspace(100.0, 400.0, 4)
_EFF_TABLE = np.array([
    0.4, 0.4, 0.3, 0.2, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.4, 0.3, 0.3, 0.30, 0.25, 0.23, 0.20, 0.15,
    0.12, 0.10, 0.0, 0.0, 0.0, 0.0, 0.3, 0.25, 0.25, 0.25, 0.20, 0.20, 0.20, 0.2, 0.15, 0.13, 0.12, 0.11, 0.0,
    0.23, 0.23, 0.23, 0.23, 0.23, 0.20, 0.20, 0.20, 0.18, 0.16, 0.15, 0.13]).reshape(13, 4)


@njit(cache=True)
def _interval(axis, x):
    """Index i of the segment [axis[i], axis[i+1]] for x, the end segments extended (linear extrapolation)."""
    n = axis.shape[0]
    i = 0
    while i < n - 2 and x > axis[i + 1]:
        i += 1
    return i


@njit(cache=True)
def compressor_power(pressure_ratio: float) -> float:
    """The compressor's most efficient power (W) at a pressure ratio (gas/ambient), BLE's table, extrapolated."""
    i = _interval(_PR_TO_POWER_X, pressure_ratio)
    x0 = _PR_TO_POWER_X[i]
    x1 = _PR_TO_POWER_X[i + 1]
    w = (pressure_ratio - x0) / (x1 - x0)
    return _PR_TO_POWER_Y[i] + w * (_PR_TO_POWER_Y[i + 1] - _PR_TO_POWER_Y[i])


@njit(cache=True)
def compressor_efficiency(pressure_ratio: float, power: float) -> float:
    """The compressor's efficiency (kg of air per Wh) at a pressure ratio and power: BLE's 13x4 table, bilinear,
    extrapolated linearly outside it (as SciPy's RegularGridInterpolator with ``fill_value=None``).

    The table is indexed exactly as BLE indexes it (its flat list of 52 values reshaped to 13 ratios x 4 powers),
    which leaves zero efficiency over parts of the range (e.g. ratio 1.10): the arena must match BLE, not fix it.
    """
    i = _interval(_EFF_PR, pressure_ratio)
    j = _interval(_EFF_POWER, power)
    wi = (pressure_ratio - _EFF_PR[i]) / (_EFF_PR[i + 1] - _EFF_PR[i])
    wj = (power - _EFF_POWER[j]) / (_EFF_POWER[j + 1] - _EFF_POWER[j])
    return ((1 - wi) * (1 - wj) * _EFF_TABLE[i, j] + wi * (1 - wj) * _EFF_TABLE[i + 1, j]
            + (1 - wi) * wj * _EFF_TABLE[i, j + 1] + wi * wj * _EFF_TABLE[i + 1, j + 1])


@njit(cache=True)
def compressor_mass_flow(pressure_ratio: float) -> tuple:
    """(power W, air mass flow kg/s into the ballonet) of the compressor at a pressure ratio."""
    power = compressor_power(pressure_ratio)
    return power, compressor_efficiency(pressure_ratio, power) * power / 3600.0


@njit(cache=True)
def valve_mass_flow(superpressure: float, pressure: float, gas_temperature: float,
                    diameter: float = VALVE_DIAMETER) -> float:
    """Air mass flow (kg/s, negative: out of the ballonet) through the vent valve at a superpressure."""
    area = math.pi * diameter * diameter / 4.0
    rho = (superpressure + pressure) * M_AIR / (R_GAS * gas_temperature)
    return -VALVE_CD * area * math.sqrt(2.0 * max(superpressure, 0.0) * rho)


# ---------------------------------------------------------------------------------------------------------------
# The pressure range a balloon can float at with a safe superpressure (BLE: env/balloon/pressure_range_builder.py)
@njit(cache=True)
def _crossing(p1, sp1, p2, sp2, lo, hi):
    if (sp1 < lo and sp2 >= lo) or (sp1 >= lo and sp2 < lo):
        target = lo
    elif (sp1 > hi and sp2 <= hi) or (sp1 <= hi and sp2 > hi):
        target = hi
    else:
        return np.nan
    return abs((target - sp1) / (sp2 - sp1)) * (p2 - p1) + p1


@njit(cache=True)
def _safe_search(bound, column, atm, el, flux, ir, mols_gas, lo, hi, downward):
    sp = stable_state(bound, atm, el, flux, ir, mols_gas)[4]
    if lo <= sp <= hi:
        return bound
    last_p = bound
    last_sp = sp
    n = column.shape[0]
    for k in range(n):
        p = column[n - 1 - k] if downward else column[k]
        if (downward and p > bound) or ((not downward) and p < bound):
            continue
        sp = stable_state(p, atm, el, flux, ir, mols_gas)[4]
        if sp > hi or sp < lo:
            last_p = p
            last_sp = sp
            continue
        if downward:
            return _crossing(p, sp, last_p, last_sp, lo, hi)
        return _crossing(last_p, last_sp, p, sp, lo, hi)
    return np.nan


@njit(cache=True)
def accessible_pressure_range(atm: np.ndarray, solar_elevation_deg: float, solar_flux: float, upwelling_ir: float,
                              min_altitude_m: float = 15240.0, buffer_pa: float = 250.0,
                              mols_gas: float = MOLS_LIFT_GAS) -> tuple:
    """(lowest, highest) pressure (Pa) the balloon can float at with its superpressure ``buffer_pa`` away from zero
    and from burst, as BLE's pressure-range builder finds it (stable states on a 20-level column from 1,000 Pa to
    the altitude floor, the ceiling from the empty-ballonet density); NaN where no safe level exists."""
    lo = buffer_pa
    hi = MAX_SUPERPRESSURE - buffer_pa
    p_floor, _ = atm_at_height(min_altitude_m, atm)
    column = np.linspace(1000.0, p_floor, 20)
    ratio = np.empty(20)
    for k in range(20):
        _, t = atm_at_pressure(column[k], atm)
        ratio[k] = column[k] / t
    empty_mass = PAYLOAD_MASS + ENVELOPE_MASS + mols_gas * M_HE
    target = empty_mass * R_GAS / (M_AIR * ENVELOPE_VOLUME_BASE)
    # linear interpolation of pressure against P/T, extrapolated from the end segments
    k = 0
    while k < 18 and target > ratio[k + 1]:
        k += 1
    ceiling = column[k] + (target - ratio[k]) / (ratio[k + 1] - ratio[k]) * (column[k + 1] - column[k])
    p_min = _safe_search(ceiling, column, atm, solar_elevation_deg, solar_flux, upwelling_ir, mols_gas, lo, hi, False)
    p_max = _safe_search(p_floor, column, atm, solar_elevation_deg, solar_flux, upwelling_ir, mols_gas, lo, hi, True)
    return p_min, p_max
