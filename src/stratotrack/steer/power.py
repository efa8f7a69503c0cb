"""Power: the sun's position, solar panels, battery and hotel loads of a superpressure balloon.

The sun's position is the NOAA solar calculator as Google's Balloon Learning Environment (BLE, Apache-2.0,
``env/balloon/solar.py``) writes it, with its atmospheric refraction and its own time handling (integer seconds of
the day), so that the arena's days and nights match BLE's to the second; it is a general function of latitude,
longitude and time usable anywhere. The panels, battery and loads are BLE's flight system: six 210 W panels (four at
35 degrees, two at 65 degrees, shadowed by the envelope when the sun is high), a 3,058.56 Wh battery, hotel loads of
120.4 W by day and 183.7 W by night, and "day" while the sun is above -4.242 degrees (the horizon seen from
float altitude).
"""

from __future__ import annotations

import math

from numba import njit

from ..flight.superpressure import MIN_SOLAR_ELEVATION_DEG, solar_attenuation

__all__ = [
    "BATTERY_CAPACITY_WH", "BATTERY_START_SOC", "DAY_LOAD_W", "NIGHT_LOAD_W", "PANEL_POWER_W", "EARTH_RADIUS_M",
    "MIN_SOLAR_ELEVATION_DEG",
    "sun_position", "solar_power", "is_day", "latlng_from_offset", "next_sunrise_sunset",
]

BATTERY_CAPACITY_WH = 3058.56  #: Wh
BATTERY_START_SOC = 0.95  #: BLE starts every flight at 95% (2,905.6 Wh)
DAY_LOAD_W = 120.4  #: hotel load by day, W
NIGHT_LOAD_W = 183.7  #: hotel load by night, W
PANEL_POWER_W = 210.0  #: each of the six panels' peak power, W
EARTH_RADIUS_M = 6_371_000.0  #: BLE's spherical Earth


@njit(cache=True)
def _civil_from_days(days):
    # Howard Hinnant's days -> (year, month, day) for the proleptic Gregorian calendar.
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    return y, m, d


@njit(cache=True)
def sun_position(lat_deg: float, lng_deg: float, unix_seconds: float) -> tuple:
    """The sun's (elevation deg, azimuth deg, flux W/m^2) at a place and UTC time (seconds since 1970).

    NOAA's solar calculator as BLE writes it (refraction included; flux from the Earth's orbital eccentricity).
    """
    secs = int(math.floor(unix_seconds))
    days = secs // 86400
    fraction_of_day = (secs % 86400) / 86400.0
    year, month, day = _civil_from_days(days)
    jdn = (367.0 * year - math.floor(7.0 * (year + math.floor((month + 9.0) / 12.0)) / 4.0)
           - math.floor(3.0 * (math.floor((year + (month - 9.0) / 7.0) / 100.0) + 1.0) / 4.0)
           + math.floor(275.0 * month / 9.0) + day + 1721028.5)
    jc = (jdn + fraction_of_day - 2451545.0) / 36525.0
    l0 = math.radians(280.46646 + jc * (36000.76983 + jc * 0.0003032))
    m0 = math.radians(357.52911 + jc * (35999.05029 - 0.0001537 * jc))
    obliquity = math.radians(23.0 + (26.0 + (21.448 - jc * (46.815 + jc * (0.00059 - jc * 0.001813))) / 60.0) / 60.0)
    obliquity += math.radians(0.00256 * math.cos(math.radians(125.04 - 1934.136 * jc)))
    var_y = math.tan(obliquity / 2.0) ** 2
    ecc = 0.016708634 - jc * (0.000042037 + 0.0000001267 * jc)
    eq_time = 4.0 * (var_y * math.sin(2 * l0) - 2.0 * ecc * math.sin(m0)
                     + 4.0 * ecc * var_y * math.sin(m0) * math.cos(2 * l0)
                     - 0.5 * var_y * var_y * math.sin(4 * l0) - 1.25 * ecc * ecc * math.sin(2 * m0))
    minutes = 1440.0 * fraction_of_day + math.degrees(eq_time) + 4.0 * lng_deg
    minutes = minutes - 1440.0 * math.trunc(minutes / 1440.0)  # C fmod: keeps the sign
    hour_angle = math.radians(minutes) / 4.0
    if hour_angle < 0:
        hour_angle += math.pi
    else:
        hour_angle -= math.pi
    center = math.radians(math.sin(m0) * (1.914602 - jc * (0.004817 + 0.000014 * jc))
                          + math.sin(2 * m0) * (0.019993 - 0.000101 * jc) + math.sin(3 * m0) * 0.000289)
    apparent_long = l0 + center - math.radians(0.00569 - 0.00478 * math.sin(math.radians(125.04 - 1934.136 * jc)))
    declination = math.asin(math.sin(obliquity) * math.sin(apparent_long))
    lat = math.radians(lat_deg)
    cz = math.sin(lat) * math.sin(declination) + math.cos(lat) * math.cos(declination) * math.cos(hour_angle)
    zenith = math.acos(min(1.0, max(-1.0, cz)))
    el0 = 90.0 - math.degrees(zenith)
    if el0 > 85.0:
        refraction = 0.0
    elif el0 > 5.0:
        t = math.tan(math.radians(el0))
        refraction = 58.1 / t - 0.07 / t ** 3 + 0.000086 / t ** 5
    elif el0 > -0.575:
        refraction = 1735.0 + el0 * (-518.2 + el0 * (103.4 + el0 * (-12.79 + el0 * 0.711)))
    else:
        refraction = -20.772 / math.tan(math.radians(el0))
    el = el0 + refraction / 3600.0
    denom = math.cos(lat) * math.sin(zenith)
    cos_az = (math.sin(lat) * math.cos(zenith) - math.sin(declination)) / denom if denom != 0.0 else 1.0
    az0 = math.degrees(math.acos(min(1.0, max(-1.0, cos_az))))
    az = az0 + 180.0 if hour_angle > 0 else 180.0 - az0
    flux = 1366.0 * (1 + 0.5 * (((1 + ecc) / (1 - ecc)) ** 2 - 1) * math.cos(m0))
    return el, az, flux


@njit(cache=True)
def _shadow(el_deg, panel_below_m):
    shadow_el = math.degrees(math.atan2(math.sqrt(panel_below_m * (10.41603 + panel_below_m)), 8.69275))
    return 0.4392 if el_deg >= shadow_el else 1.0


@njit(cache=True)
def solar_power(elevation_deg: float, pressure: float) -> float:
    """Power (W) of the six panels at a sun elevation and pressure altitude (attenuation and envelope shadow)."""
    att = solar_attenuation(elevation_deg, pressure)
    return PANEL_POWER_W * att * (4 * math.cos(math.radians(elevation_deg - 35)) * _shadow(elevation_deg, 3.3)
                                  + 2 * math.cos(math.radians(elevation_deg - 65)) * _shadow(elevation_deg, 2.7))


@njit(cache=True)
def is_day(elevation_deg: float) -> bool:
    """Whether the panels see the sun: elevation above -4.242 degrees (BLE)."""
    return elevation_deg > MIN_SOLAR_ELEVATION_DEG


@njit(cache=True)
def latlng_from_offset(lat0_deg: float, lng0_deg: float, x_m: float, y_m: float) -> tuple:
    """(lat, lng) degrees of the point x metres east and y metres north of (lat0, lng0) on BLE's spherical Earth."""
    heading = math.atan2(x_m, y_m)
    angle = math.sqrt(x_m * x_m + y_m * y_m) / EARTH_RADIUS_M
    lat0 = math.radians(lat0_deg)
    sin_lat = math.cos(angle) * math.sin(lat0) + math.sin(angle) * math.cos(lat0) * math.cos(heading)
    d_lng = math.atan2(math.sin(angle) * math.cos(lat0) * math.sin(heading),
                       math.cos(angle) - math.sin(lat0) * sin_lat)
    lat = min(max(math.asin(sin_lat), -math.pi / 2), math.pi / 2)
    lng = math.radians(lng0_deg) + d_lng
    if abs(lng) > math.pi:  # wrap to [-pi, pi] (IEEE remainder)
        lng = lng - 2 * math.pi * round(lng / (2 * math.pi))
    return math.degrees(lat), math.degrees(lng)


# ---------------------------------------------------------------------------------------------------------------
# Sunrise and sunset, found as BLE finds them: a bisection on a 3-minute grid (solar.py), so that the power safety
# layer switches at the same minute.
_SEARCH_STEP = 180.0


def _elev(lat, lng, t):
    return sun_position(lat, lng, t)[0]


def _search(lat, lng, t0, t1, f):
    steps = int((t1 - t0) // _SEARCH_STEP)
    cache = {}

    def obj(i):
        if i not in cache:
            cache[i] = f(_elev(lat, lng, t0 + _SEARCH_STEP * i))
        return cache[i]

    lo, hi = 0, steps
    while hi > lo + 1:
        mid = lo + (hi - lo) / 2
        if obj(lo) < obj(hi):
            hi = math.ceil(mid)
        else:
            lo = math.floor(mid)
    return t0 + _SEARCH_STEP * (lo if obj(lo) < obj(hi) else hi)


def _afternoon(lat, lng, t):
    return _elev(lat, lng, t + 1.0) < _elev(lat, lng, t)


def next_sunrise_sunset(lat_deg: float, lng_deg: float, unix_seconds: float) -> tuple[float, float]:
    """(next sunrise, next sunset) after a time, unix seconds, where the sun crosses -4.242 degrees.

    Found as BLE does (``get_next_sunrise_sunset``): the next solar noon and midnight, then the crossings between
    them, each to 3 minutes. Latitudes within 60 degrees.
    """
    lat, lng, t = float(lat_deg), float(lng_deg), float(unix_seconds)
    h12, h24 = 12 * 3600.0, 24 * 3600.0
    pm = _afternoon(lat, lng, t)
    target = MIN_SOLAR_ELEVATION_DEG

    def cross(e):
        return abs(e - target)

    def low(e):
        return e

    def high(e):
        return -e

    noon = _search(lat, lng, t + h12, t + h24, high) if pm else _search(lat, lng, t, t + h12, high)
    midnight = _search(lat, lng, t, t + h12, low) if pm else _search(lat, lng, t + h12, t + h24, low)
    if pm:
        sunrise = _search(lat, lng, midnight, noon, cross)
        sunset = _search(lat, lng, noon - 86400.0, midnight, cross)
    else:
        sunrise = _search(lat, lng, midnight - 86400.0, noon, cross)
        sunset = _search(lat, lng, noon, midnight, cross)
    if sunrise < t:
        sunrise += 86400.0
    if sunset < t:
        sunset += 86400.0
    return sunrise, sunset
