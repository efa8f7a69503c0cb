"""Safety layers that override any controller: power, envelope and altitude, applied in that order.

They follow Google's Balloon Learning Environment (BLE, Apache-2.0, ``env/balloon/power_safety.py``,
``envelope_safety.py``, ``altitude_safety.py``, ``balloon.py``): each layer sees the action coming from the layer
before it and may replace it; later layers win (the envelope and altitude layers only ever ask to go up or to stay,
which costs no power).

* :class:`PowerSafety`: at night, if the battery would fall below 2.5% of capacity before sunrise + 30 min at the
  night hotel load, pumping (down) is refused until day comes and the battery is back above 5%.
* :class:`EnvelopeSafety`: within 250 Pa of zero superpressure or of burst, no pumping; within 150 Pa, vent (up);
  50 Pa of hysteresis before control is handed back.
* :class:`AltitudeSafety`: below 50,000 ft go up; within 500 ft above it no pumping; 500 ft of hysteresis.

:class:`SafetyLayers` chains the three.
"""

from __future__ import annotations

from .control import DOWN, STAY, UP
from .power import NIGHT_LOAD_W, next_sunrise_sunset

__all__ = ["PowerSafety", "EnvelopeSafety", "AltitudeSafety", "SafetyLayers",
           "ENVELOPE_CRITICAL_BUFFER", "ENVELOPE_BUFFER", "ENVELOPE_HYSTERESIS", "MIN_ALTITUDE_M"]

ENVELOPE_CRITICAL_BUFFER = 150.0  #: Pa from zero/burst superpressure: vent
ENVELOPE_BUFFER = 250.0  #: Pa: no pumping
ENVELOPE_HYSTERESIS = 50.0  #: Pa
_FOOT = 0.3048
MIN_ALTITUDE_M = 50_000 * _FOOT  #: the altitude floor, m
_ALT_BUFFER = 500 * _FOOT
_ALT_HYSTERESIS = 500 * _FOOT


class PowerSafety:
    """BLE's power layer: no pumping at night when the battery would not last until after sunrise.

    Args:
        lat_deg, lng_deg: where the sunrise and sunset are computed (once, at the start, as BLE does).
        unix_seconds: the flight's start.
        capacity_wh: battery capacity.
        night_load_w: the night hotel load.
        soc_min: the state of charge that must remain at sunrise + ``hysteresis_s`` (2.5%).
        soc_restart: by day, control resumes once the battery is above this (5%).
    """

    def __init__(self, lat_deg: float, lng_deg: float, unix_seconds: float, capacity_wh: float,
                 night_load_w: float = NIGHT_LOAD_W, soc_min: float = 0.025, soc_restart: float = 0.05,
                 hysteresis_s: float = 1800.0):
        sunrise, sunset = next_sunrise_sunset(lat_deg, lng_deg, unix_seconds)
        self.sunrise = sunrise + hysteresis_s
        self.sunset = sunset
        self.capacity_wh = capacity_wh
        self.night_load_w = night_load_w
        self.soc_min = soc_min
        self.soc_restart = soc_restart
        self.paused = False

    def __call__(self, action: int, unix_seconds: float, battery_wh: float) -> int:
        """The action let through at a time with a battery charge."""
        while unix_seconds > self.sunrise:
            self.sunrise += 86400.0
        while unix_seconds > self.sunset:
            self.sunset += 86400.0
        soc = battery_wh / self.capacity_wh
        if self.sunset < self.sunrise:  # day
            if self.paused and soc < self.soc_restart:
                return STAY if action == DOWN else action
            self.paused = False
            return action
        if self.paused:
            return STAY if action == DOWN else action
        reserve_wh = self.night_load_w * (self.sunrise - unix_seconds) / 3600.0
        if (battery_wh - reserve_wh) / self.capacity_wh < self.soc_min:
            self.paused = True
            return STAY if action == DOWN else action
        return action


class EnvelopeSafety:
    """BLE's envelope layer: keep the superpressure away from zero and from burst, with hysteresis."""

    NOMINAL, LOW_CRITICAL, LOW, HIGH, HIGH_CRITICAL = range(5)

    def __init__(self, max_superpressure: float = 2380.0):
        self.max_superpressure = max_superpressure
        self.state = self.NOMINAL

    def __call__(self, action: int, superpressure: float) -> int:
        """The action let through at a superpressure (Pa)."""
        sp, top = superpressure, self.max_superpressure
        if sp < ENVELOPE_CRITICAL_BUFFER:
            self.state = self.LOW_CRITICAL
        elif sp < ENVELOPE_BUFFER:
            self.state = self.LOW
        elif sp < ENVELOPE_BUFFER + ENVELOPE_HYSTERESIS:
            self.state = self.LOW if self.state in (self.LOW_CRITICAL, self.LOW) else self.NOMINAL
        elif sp < top - ENVELOPE_BUFFER - ENVELOPE_HYSTERESIS:
            self.state = self.NOMINAL
        elif sp < top - ENVELOPE_BUFFER:
            self.state = self.HIGH if self.state in (self.HIGH, self.HIGH_CRITICAL) else self.NOMINAL
        elif sp < top - ENVELOPE_CRITICAL_BUFFER:
            self.state = self.HIGH
        else:
            self.state = self.HIGH_CRITICAL
        if self.state in (self.LOW_CRITICAL, self.HIGH_CRITICAL):
            return UP
        if self.state in (self.LOW, self.HIGH) and action == DOWN:
            return STAY
        return action


class AltitudeSafety:
    """BLE's altitude layer: stay above 50,000 ft (15,240 m), with a 500 ft buffer and 500 ft of hysteresis."""

    NOMINAL, LOW, VERY_LOW = range(3)

    def __init__(self, min_altitude_m: float = MIN_ALTITUDE_M):
        self.min_altitude_m = min_altitude_m
        self.state = self.NOMINAL

    def __call__(self, action: int, altitude_m: float) -> int:
        """The action let through at an altitude (m)."""
        floor = self.min_altitude_m
        if altitude_m < floor:
            self.state = self.VERY_LOW
        elif altitude_m < floor + _ALT_BUFFER:
            self.state = self.LOW
        elif altitude_m < floor + _ALT_BUFFER + _ALT_HYSTERESIS:
            self.state = self.LOW if self.state in (self.VERY_LOW, self.LOW) else self.NOMINAL
        else:
            self.state = self.NOMINAL
        if self.state == self.VERY_LOW:
            return UP
        if self.state == self.LOW and action == DOWN:
            return STAY
        return action


class SafetyLayers:
    """Power, envelope and altitude layers chained in BLE's order; ``overrides`` counts the changed actions."""

    def __init__(self, power: PowerSafety | None, envelope: EnvelopeSafety | None = None,
                 altitude: AltitudeSafety | None = None):
        self.power = power
        self.envelope = envelope or EnvelopeSafety()
        self.altitude = altitude or AltitudeSafety()
        self.overrides = 0

    def __call__(self, action: int, unix_seconds: float, battery_wh: float, superpressure: float,
                 altitude_m: float) -> int:
        """The action the balloon executes."""
        a = action
        if self.power is not None:
            a = self.power(a, unix_seconds, battery_wh)
        a = self.envelope(a, superpressure)
        a = self.altitude(a, altitude_m)
        if a != action:
            self.overrides += 1
        return a

    @property
    def paused(self) -> bool:
        """Whether any layer holds the controller back (BLE's ``navigation_is_paused``)."""
        return bool((self.power is not None and self.power.paused) or self.envelope.state != EnvelopeSafety.NOMINAL
                    or self.altitude.state != AltitudeSafety.NOMINAL)
