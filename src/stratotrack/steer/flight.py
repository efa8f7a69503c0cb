"""A steered flight on real winds: the balloon moves through stratotrack's engine (an
:class:`~stratotrack.engine.Integrator` with its controller hook every ``control_interval`` s), the controller sees
an :class:`~.control.Observation` in the target's local frame with a forecast sampled from the forecast winds, and
never the truth ahead: the engine's field is the *truth* (a separate wind source, or the forecast plus the engine's
forecast-error process :mod:`stratotrack.engine.wind_error` applied between intervals).

Between intervals the loop (the hook) does, in order: the forecast-error displacement; the balloon's measured wind;
the battery (solar in, hotel, compressor and payload out); the model's events (burst, zero pressure, out of power,
ballast exhausted, landing); the route (go-to and loiter); the payload's duty cycle; the controller's action
through the safety layers (power, envelope, altitude band); the per-particle parameters the rates cannot see
(the gas temperature at the sun's elevation).

Balloons: ``superpressure`` (engine model :mod:`stratotrack.flight.models.superpressure`, BLE's physics),
``zero-pressure`` (:mod:`stratotrack.flight.models.zeropressure`: ballast drops and a gas valve) and ``latex`` (the
standard free-lift ascent, burst and descent: it cannot steer; the controller is not consulted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from .. import atmosphere
from ..errors import InputError
from ..flight.profiles import Profile, Stage, standard
from .control import DOWN, STAY, UP, Observation
from .frame import LocalFrame, check_in_domain, sample_forecast
from .goto import Route
from .payload import Payload, intervals

__all__ = ["PowerSystem", "BalloonSpec", "fly", "sun_elevation", "BALLOONS"]

BALLOONS = ("superpressure", "zero-pressure", "latex")


# -- sun and power ----------------------------------------------------------------------------------------------
def sun_elevation(t, lat, lon) -> float:
    """The sun's elevation (degrees) at epoch seconds ``t`` over (lat, lon) (:func:`.power.sun_position`)."""
    from .power import sun_position

    return float(sun_position(float(lat), float(lon), float(t))[0])


@dataclass
class PowerSystem:
    """Solar panels, battery and loads: BLE's flight system by default (:mod:`stratotrack.steer.power`: six 210 W
    panels, ``battery_wh`` 3,058.56 Wh starting at ``start_soc`` 95%, hotel loads of 120.4 W by day and 183.7 W by
    night), the panels' output times ``panel_scale``.  ``reserve`` (a fraction of the capacity) is what the payload
    leaves in the battery; the compressor follows BLE's power safety layer (no pumping at night when the battery
    would not last until sunrise)."""

    panel_scale: float = 1.0
    battery_wh: float | None = None
    day_load: float | None = None
    night_load: float | None = None
    start_soc: float | None = None
    reserve: float = 0.2

    def __post_init__(self):
        from . import power as pw

        self.battery_wh = pw.BATTERY_CAPACITY_WH if self.battery_wh is None else float(self.battery_wh)
        self.day_load = pw.DAY_LOAD_W if self.day_load is None else float(self.day_load)
        self.night_load = pw.NIGHT_LOAD_W if self.night_load is None else float(self.night_load)
        self.start_soc = pw.BATTERY_START_SOC if self.start_soc is None else float(self.start_soc)
        for name in ("panel_scale", "battery_wh", "day_load", "night_load"):
            v = float(getattr(self, name))
            if not (math.isfinite(v) and v >= 0):
                raise InputError(f"power system {name.replace('_', ' ')} {v!r} is invalid; expected a number >= 0")
        if not (self.battery_wh > 0):
            raise InputError(f"battery capacity {self.battery_wh!r} Wh is invalid; expected a positive capacity")
        for name in ("start_soc", "reserve"):
            v = float(getattr(self, name))
            if not (0.0 <= v <= 1.0):
                raise InputError(f"{name.replace('_', ' ')} {v!r} is invalid; expected a fraction 0 to 1")

    @property
    def capacity(self) -> float:
        return self.battery_wh * 3600.0

    def solar(self, elevation_deg, pressure) -> float:
        from .power import solar_power

        return self.panel_scale * float(solar_power(float(elevation_deg), float(pressure)))

    def peak(self, pressure) -> float:
        """The panels' best output (W) at a pressure, over every sun elevation."""
        return max(self.solar(e, pressure) for e in np.arange(-4.0, 90.1, 0.5))

    def is_day(self, elevation_deg) -> bool:
        from .power import is_day

        return bool(is_day(float(elevation_deg)))

    def hotel(self, elevation_deg) -> float:
        return self.day_load if self.is_day(elevation_deg) else self.night_load


# -- balloons -----------------------------------------------------------------------------------------------------
@dataclass
class BalloonSpec:
    """What flies.  ``superpressure``: BLE's balloon (mol of helium, envelope and payload masses).
    ``zero-pressure``: ``system_mass`` kg (envelope and payload) with ``ballast`` kg, an envelope sized to float at
    the start altitude (``volume`` m^3 if given), a ``ballast_rate`` kg/s drop.  ``latex``: ``ascent_rate`` m/s to
    ``burst_altitude`` m, then ``descent_rate`` (sea level) m/s."""

    kind: str = "superpressure"
    mols_gas: float | None = None
    envelope_mass: float | None = None
    payload_mass: float | None = None
    system_mass: float = 250.0
    ballast: float = 60.0
    volume: float | None = None
    ballast_rate: float = 0.02
    ascent_rate: float = 5.0
    burst_altitude: float = 30000.0
    descent_rate: float = 5.0

    def __post_init__(self):
        if self.kind not in BALLOONS:
            raise InputError(f"balloon {self.kind!r} is unknown; expected one of {', '.join(BALLOONS)}")


def _gas_temperature(spec, z, air_kg, elevation):
    """BLE's equilibrium gas temperature at the balloon (superpressure) or the air's plus a solar excess (ZP)."""
    from ..flight import superpressure as sp

    p = float(atmosphere.pressure(z))
    ta = float(atmosphere.temperature(z))
    if spec.kind == "superpressure":
        return float(sp.equilibrium_gas_temperature(sp.ENVELOPE_VOLUME_BASE, spec.envelope_mass, ta, p,
                                                    float(elevation), SOLAR_FLUX, UPWELLING_IR))
    return ta + (ZP_DAY_EXCESS * max(math.sin(math.radians(float(elevation))), 0.0) if elevation > -4.242
                 else ZP_NIGHT_EXCESS)


#: solar constant (W/m^2) and the Earth's upwelling infrared (W/m^2) for the superpressure thermal balance
SOLAR_FLUX = 1361.0
UPWELLING_IR = 250.0
#: zero-pressure gas temperature above the air's (K): by day times the sine of the sun's elevation; at night
ZP_DAY_EXCESS = 8.0
ZP_NIGHT_EXCESS = -3.0


# -- the result ---------------------------------------------------------------------------------------------------
@dataclass
class SteerResult:
    """A steered flight: ``trajectories`` (CF trajectory Dataset, one trajectory, like :func:`stratotrack.predict`'s:
    every exporter writes it), ``log`` (per control interval: time, distance to the current target, altitude,
    pressure, action asked and flown, battery, payload on, ...), ``events`` (name -> (time, lat, lon, alt)),
    ``summary`` (time within radius, energy, payload hours, end state)."""

    trajectories: object
    log: dict
    events: dict
    summary: dict
    payload_intervals: list = field(default_factory=list)
    route: list = field(default_factory=list)

    def to_dataset(self):
        return self.trajectories

    def to_dict(self) -> dict:
        return {"summary": self.summary, "events": {k: list(v) for k, v in self.events.items()},
                "payload_intervals": self.payload_intervals, "route": self.route}


# -- the flight ---------------------------------------------------------------------------------------------------
def _band_pressures(band):
    lo, hi = float(band[0]), float(band[1])
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise InputError(f"altitude band {band!r} m is invalid; expected two altitudes, the lower first")
    return float(atmosphere.pressure(hi)), float(atmosphere.pressure(lo))


def _reach(spec: BalloonSpec, z0: float):
    """The (lowest, highest) altitude (m) the balloon can float at, and a sentence saying why."""
    from ..flight import superpressure as sp
    from ..flight.models import zeropressure as zp

    zs = np.arange(5000.0, 40001.0, 50.0)
    rho = atmosphere.density(zs)
    if spec.kind == "superpressure":
        dry = spec.envelope_mass + spec.payload_mass + sp.M_HE * spec.mols_gas
        air_kg = rho * sp.ENVELOPE_VOLUME_BASE - dry
        # the ballonet holds air up to about the envelope's own volume of it at the float pressure
        ok = (air_kg >= 0) & (air_kg <= rho * sp.ENVELOPE_VOLUME_BASE * 0.5)
        why = (f"a superpressure balloon with {spec.mols_gas:g} mol of helium floats with its air ballast between "
               "empty and half the envelope")
    elif spec.kind == "zero-pressure":
        frac = 1.0 - zp.M_GAS / zp.M_AIR
        vol = spec.volume
        heavy = rho * vol * frac >= spec.system_mass  # can float with no ballast left
        ok = heavy & (rho * vol * frac <= spec.system_mass + spec.ballast)
        why = (f"a zero-pressure balloon of {vol:,.0f} m^3 floats between its weight with all {spec.ballast:g} kg "
               "of ballast and with none")
    else:
        return (0.0, spec.burst_altitude), f"a latex balloon rises to its burst altitude {spec.burst_altitude:g} m"
    if not ok.any():
        return (np.nan, np.nan), why
    return (float(zs[ok].min()), float(zs[ok].max())), why


def _stages(spec: BalloonSpec, z0: float, t_end: float, gas_t: float):
    """(profile, initial state [2], start command) of the flight."""
    from ..flight.models import superpressure as spm
    from ..flight.models import zeropressure as zp

    if spec.kind == "superpressure":
        air_kg, _ = spm.state_at(z0, spec.mols_gas, gas_t, spec.envelope_mass, spec.payload_mass)
        prof = Profile("steer-superpressure", [Stage("float", "superpressure", (spec.mols_gas, gas_t,
                                                                                spec.envelope_mass,
                                                                                spec.payload_mass),
                                                     "below", 0.0, "landing")], "start", False, {})
        return prof, (max(air_kg, 0.0), 0.0)
    if spec.kind == "zero-pressure":
        gas = zp.full_gas(spec.volume, z0, gas_t - float(atmosphere.temperature(z0))) * 1.01
        prof = Profile("steer-zero-pressure", [Stage("float", "zeropressure", (spec.system_mass, spec.volume,
                                                                               gas_t - float(atmosphere.temperature(z0)),
                                                                               spec.ballast_rate),
                                                     "below", 0.0, "landing")], "start", False, {})
        return prof, (gas, spec.ballast)
    prof = standard(spec.ascent_rate, spec.burst_altitude, spec.descent_rate, start_altitude=z0)
    return prof, (0.0, 0.0)


def fly(forecast_field, start, t0: float, waypoints, *, duration: float, truth=None, forecast_error=None,
        balloon: BalloonSpec | None = None, controller=None, power: PowerSystem | None = None,
        payload: Payload | None = None, band=None, control_interval: float = 180.0,
        step: float = 20.0, output_interval: float = 600.0, seed: int = 0, forecast_half_width=None,
        forecast_spacing: float = 100_000.0) -> SteerResult:
    """Fly one steered balloon; see :func:`stratotrack.steer` (the public entry) for the arguments."""
    from ..api import trajectory_dataset
    from ..engine import Integrator
    from ..engine.wind_error import WindError, WindErrorState
    from ..flight import superpressure as sp
    from ..geodesy import great_circle_distance, wrap_longitude

    spec = replace(balloon) if balloon is not None else BalloonSpec()  # (a copy: defaults are filled in below)
    if spec.kind == "superpressure":
        spec.mols_gas = sp.MOLS_LIFT_GAS if spec.mols_gas is None else spec.mols_gas
        spec.envelope_mass = sp.ENVELOPE_MASS if spec.envelope_mass is None else spec.envelope_mass
        spec.payload_mass = sp.PAYLOAD_MASS if spec.payload_mass is None else spec.payload_mass
    power = power or PowerSystem()
    payload = payload or Payload(0.0)
    route = Route(waypoints)
    lat0, lon0, z0 = (float(v) for v in start)
    if not (-90 <= lat0 <= 90) or not math.isfinite(lon0):
        raise InputError(f"start {lat0!r}, {lon0!r} is invalid; expected a latitude in -90..90 and a longitude")
    if not (math.isfinite(duration) and duration > 0):
        raise InputError(f"duration {duration!r} s is invalid; expected a positive number of seconds")
    truth_field = forecast_field if truth is None else truth
    for wp in route.waypoints:
        check_in_domain(forecast_field, wp.lat, wp.lon, "the target")
        check_in_domain(truth_field, wp.lat, wp.lon, "the target")
    check_in_domain(truth_field, lat0, lon0, "the start")
    forecast_field.check_times(t0)
    truth_field.check_times(t0)
    if payload.active:
        best = power.peak(float(atmosphere.pressure(z0)))
        if payload.power > best:
            raise InputError(f"payload power {payload.power:g} W is above the solar panels' output ({best:,.0f} W at "
                             f"best at {z0:,.0f} m); expected at most {best:,.0f} W")
    if spec.kind == "zero-pressure" and spec.volume is None:
        from ..flight.models import zeropressure as zp

        # sized to float at the start altitude with all its ballast (as after its ascent: full, the excess vented)
        spec.volume = (spec.system_mass + spec.ballast) / (float(atmosphere.density(z0)) * (1 - zp.M_GAS / zp.M_AIR))
    (rlo, rhi), why = _reach(spec, z0)
    if band is None:  # BLE's band for the superpressure balloon; the others' reach
        band = ((15000.0, 18500.0) if spec.kind == "superpressure" else
                (min(rlo, z0) - 1000.0, rhi) if spec.kind == "zero-pressure" and np.isfinite(rlo)
                else (0.0, spec.burst_altitude))
    band = (float(band[0]), float(band[1]))
    pmin, pmax = _band_pressures(band)
    if spec.kind != "latex":
        # (a zero-pressure balloon floats no lower than with all its ballast, but its band's floor may lie below:
        # it is where the safety layer drops ballast when the night's cooling makes it sink)
        low_ok = rlo <= band[0] or spec.kind == "zero-pressure"
        if not (low_ok and band[1] <= rhi) or not (band[0] <= z0 <= band[1]):
            lo_s = "none" if not np.isfinite(rlo) else f"{rlo:,.0f} to {rhi:,.0f} m"
            raise InputError(f"altitude band {band[0]:,.0f} to {band[1]:,.0f} m (start {z0:,.0f} m) is outside the "
                             f"balloon's reach: {why}, {lo_s}; expected a band within it around the start")

    steer_ok = spec.kind != "latex"
    # the pressures it can float at inside the band (seeker and planner restrict their choices to them)
    reachable = (max(pmin, float(atmosphere.pressure(rhi))), min(pmax, float(atmosphere.pressure(rlo)))) \
        if np.isfinite(rlo) else None
    safety = Safety(spec, power, lat0, lon0, t0, band, overrides := {"power": 0, "envelope": 0, "altitude": 0})
    t_end = t0 + duration
    elev0 = float(sun_elevation(t0, lat0, lon0))
    gas_t = _gas_temperature(spec, z0, 0.0, elev0)
    prof, state0 = _stages(spec, z0, t_end, gas_t)
    codes, vals = prof.encode(1)

    frames = {}
    half = forecast_half_width

    def frame_for(k):
        if k not in frames:
            wp = route.waypoints[k]
            fr = LocalFrame(wp.lat, wp.lon)
            d0 = float(great_circle_distance(lat0, lon0, wp.lat, wp.lon))
            hw = half if half is not None else max(1_000_000.0, 1.5 * d0 + 500_000.0)
            frames[k] = (fr, sample_forecast(forecast_field, fr, t0, duration=duration, half_width=hw,
                                             spacing=forecast_spacing))
        return frames[k]

    err = None
    if forecast_error is not None and forecast_error is not False:
        model = WindError() if forecast_error is True else forecast_error
        ref = forecast_field.knots[0] if forecast_field.time_mode == "series" else t0
        err = WindErrorState(model, np.random.default_rng(seed), 1, ref)

    names = ("t", "lat", "lon", "alt", "pressure", "distance", "x", "y", "u", "v", "soc", "solar", "elevation",
             "asked", "action", "payload", "superpressure", "q0", "q1", "waypoint")
    log = {k: [] for k in names}
    hist = {k: [] for k in ("t", "x", "y", "pressure", "u", "v")}
    events = {}
    st = {"prev": None, "soc": power.start_soc, "energy_in": 0.0, "hotel": 0.0, "pump": 0.0, "payload": 0.0,
          "spilled": 0.0, "payload_on": False, "last_q1": state0[1], "action": STAY, "reset": False}

    def event(name, t, integ):
        if name not in events:
            events[name] = (float(t), float(integ.lat[0]), float(wrap_longitude(integ.lon[0])),
                            float(integ.alt[0]))

    def hook(view):
        integ = view.integrator
        t = float(view.t)
        prev = st["prev"]
        if err is not None and prev is not None:
            err.displace(integ, np.array([prev["t"]]), np.array([True]))
        lat, lon, z = float(integ.lat[0]), float(integ.lon[0]), float(integ.alt[0])
        q0, q1 = float(integ.state[0, 0]), float(integ.state[0, 1])
        k = route.index
        fr, fc = frame_for(k)
        x, y = (float(a) for a in fr.to_xy(lat, lon))
        elev = float(sun_elevation(t, lat, lon))
        p = float(atmosphere.pressure(max(z, -500.0)))
        solar = power.solar(elev, p)
        hotel = power.hotel(elev)
        # measured wind over the last interval (in the current frame), and the energy balance over it
        u = v = 0.0
        if prev is not None:
            dt = t - prev["t"]
            if prev["k"] == k and dt > 0:
                u, v = (x - prev["x"]) / dt, (y - prev["y"]) / dt
                for key, val in zip(("t", "x", "y", "pressure", "u", "v"), (prev["t"] - t0, prev["x"], prev["y"],
                                                                           prev["p"], u, v)):
                    hist[key].append(val)
            pump = (q1 - st["last_q1"]) if spec.kind == "superpressure" else 0.0
            e_in = 0.5 * (prev["solar"] + solar) * dt
            e_pay = payload.power * dt if st["payload_on"] else 0.0
            e_hotel = 0.5 * (prev["hotel"] + hotel) * dt
            e = st["soc"] * power.capacity + e_in - e_hotel - pump - e_pay
            st["spilled"] += max(e - power.capacity, 0.0)
            st["soc"] = min(max(e, 0.0), power.capacity) / power.capacity
            st["energy_in"] += e_in
            st["hotel"] += e_hotel
            st["pump"] += pump
            st["payload"] += e_pay
            if e <= 0.0:
                event("out_of_power", t, integ)
        st["last_q1"] = q1
        # the model's events
        spr = 0.0
        if spec.kind == "superpressure":
            _vol, spr = _sp_state(z, q0, spec, float(integ.vals[0, 0, 1]))
            if spr > sp.MAX_SUPERPRESSURE:
                event("burst", t, integ)
            elif spr <= 0.0:
                event("zero_pressure", t, integ)
        elif spec.kind == "zero-pressure" and q1 < BALLAST_EMPTY and spec.ballast > 0:
            event("ballast_exhausted", t, integ)
        ended = any(e in events for e in ("burst", "zero_pressure"))
        if ended:
            integ.t_end[0] = min(integ.t_end[0], t)
        # the route
        dist = math.hypot(x, y)
        if route.update(t - t0, dist):
            k = route.index
            fr, fc = frame_for(k)
            x, y = (float(a) for a in fr.to_xy(lat, lon))
            dist = math.hypot(x, y)
        # payload duty cycle for the next interval
        want = payload.wants(t - t0, lat, lon)
        net_other = solar - hotel
        on = bool(want and payload.allowed(st["soc"], power.capacity, control_interval, net_other))
        if on and not power.is_day(elev):
            # at night the payload runs only if the battery then lasts until sunrise above the reserve
            on = payload.allowed(st["soc"], power.capacity, _until_sunrise(lat, lon, t), -power.night_load)
        st["payload_on"] = on
        # the controller, through the safety layers
        asked = act = STAY
        if steer_ok and not ended:
            h = {key: np.asarray(val, dtype=float) for key, val in hist.items()}
            obs = Observation(t=t - t0, x=x, y=y, pressure=p, altitude=z, superpressure=spr, battery_soc=st["soc"],
                              sun_elevation_deg=elev, is_day=power.is_day(elev), wind=(u, v), history=h,
                              forecast=fc, radius=route.current.radius, pressure_min=pmin, pressure_max=pmax,
                              reachable=reachable, step=len(log["t"]))
            if not st["reset"]:
                controller.reset(obs)
                st["reset"] = True
            asked = int(controller.act(obs))
            act = safety(asked, obs, t, st["soc"] * power.battery_wh)
        st["action"] = act
        # parameters the rates cannot see: the gas temperature at the sun's elevation
        if spec.kind == "superpressure":
            integ.vals[0, 0, 1] = _gas_temperature(spec, z, q0, elev)
        elif spec.kind == "zero-pressure":
            integ.vals[0, 0, 2] = _gas_temperature(spec, z, q0, elev) - float(atmosphere.temperature(max(z, 0.0)))
        for key, val in zip(names, (t, lat, float(wrap_longitude(lon)), z, p, dist, x, y, u, v, st["soc"], solar,
                                    elev, asked, act, on, spr, q0, q1, k)):
            log[key].append(val)
        st["prev"] = {"t": t, "x": x, "y": y, "p": p, "k": k, "solar": solar, "hotel": hotel}
        return np.array([float(act)])

    integ = Integrator(truth_field, np.array([t0]), np.array([lat0]), np.array([lon0]), np.array([z0]), codes, vals,
                       np.array([t_end]), step=step, output_interval=output_interval, state=np.array([state0]),
                       command=np.array([0.0]), controller=hook, control_interval=control_interval,
                       backend="serial")
    integ.run()
    # one last look at the end point
    hook(type("V", (), {"integrator": integ, "t": float(integ.t[0])})())
    if float(integ.alt[0]) <= 1.0 and "landing" not in events:
        events["landing"] = (float(integ.t[0]), float(integ.lat[0]), float(integ.lon[0]), float(integ.alt[0]))
    ds = trajectory_dataset(integ, prof, truth_field, (1,), step, "clamp")
    L = {k: np.asarray(v) for k, v in log.items()}
    return _result(ds, L, events, overrides, st, route, payload, power, spec, control_interval, forecast_field,
                   truth_field, err, controller if steer_ok else None, t0)


def _until_sunrise(lat, lon, t) -> float:
    """Seconds from t to the next sunrise (the sun above -4.242 degrees) at (lat, lon), as BLE finds it."""
    from .power import next_sunrise_sunset

    sunrise, _ = next_sunrise_sunset(max(min(lat, 60.0), -60.0), lon, t)
    return max(sunrise - t, 0.0)


def _sp_state(z, air_kg, spec, gas_t):
    from ..flight.models import superpressure as spm

    return spm.superpressure(z, air_kg, spec.mols_gas, gas_t)


#: ballast (kg) below which the zero-pressure balloon's ballast counts as exhausted (the drop tapers to zero)
BALLAST_EMPTY = 0.01


class Safety:
    """The safety layers between a controller and the balloon, counted per layer in ``overrides``: for the
    superpressure balloon BLE's power and envelope layers (:mod:`stratotrack.steer.safety`) and its altitude floor
    at the band's bottom; for every balloon the band's top (no going up above it) and bottom (up below it, no
    going down just above it)."""

    def __init__(self, spec, power, lat0, lon0, t0, band, overrides):
        from . import safety as sf

        self.kind = spec.kind
        self.overrides = overrides
        self.power = self.envelope = None
        if spec.kind == "superpressure":
            self.power = sf.PowerSafety(max(min(lat0, 60.0), -60.0), lon0, t0, power.battery_wh,
                                        night_load_w=power.night_load)
            self.envelope = sf.EnvelopeSafety()
        self.floor = sf.AltitudeSafety(min_altitude_m=float(band[0]))
        self.top = float(band[1])

    def __call__(self, action, obs: Observation, unix_seconds, battery_wh) -> int:
        if action not in (UP, STAY, DOWN):
            raise InputError(f"controller returned {action!r}; expected UP (1), STAY (0) or DOWN (-1)")
        a = action
        if self.power is not None:
            b = self.power(a, unix_seconds, battery_wh) if battery_wh > 0 else (STAY if a == DOWN else a)
            self.overrides["power"] += b != a
            a = b
        if self.envelope is not None:
            b = self.envelope(a, obs.superpressure)
            self.overrides["envelope"] += b != a
            a = b
        b = self.floor(a, obs.altitude)
        if b == a and obs.altitude > self.top and a == UP:
            b = STAY
        self.overrides["altitude"] += b != a
        return b


def _result(ds, L, events, overrides, st, route, payload, power, spec, dt, forecast_field, truth_field, err,
            controller, t0):
    from ..timeutil import format_time

    n = L["t"].size
    last = max(n - 1, 1)
    # per interval (all but the last log row, which is the end point)
    within = np.zeros(last, dtype=bool)
    for k in range(last):
        within[k] = L["distance"][k] <= route.waypoints[int(L["waypoint"][k])].radius
    span = np.diff(L["t"]) if n > 1 else np.zeros(1)
    on = L["payload"][:last].astype(bool)
    pay_iv = [(a, b) for a, b in intervals(L["t"] - t0, np.append(on, False)[:n])] if n > 1 else []
    total = float(L["t"][-1] - L["t"][0]) if n > 1 else 0.0
    t_within = float(np.sum(span[within]))
    ev = {k: v for k, v in events.items()}
    end = "completed"
    for name in ("burst", "zero_pressure", "landing"):
        if name in ev:
            end = name.replace("_", " ")
            break
    summary = {
        "balloon": spec.kind,
        "controller": getattr(controller, "name", None) if controller is not None else None,
        "start": format_time(np.datetime64(int(round(t0)), "s")),
        "duration_h": total / 3600.0,
        "radius_km": route.waypoints[0].radius / 1000.0 if len(route.waypoints) == 1 else None,
        "time_within_radius_h": t_within / 3600.0,
        "fraction_within_radius": t_within / total if total > 0 else 0.0,
        "final_distance_km": float(L["distance"][-1]) / 1000.0 if n else None,
        "min_distance_km": float(L["distance"].min()) / 1000.0 if n else None,
        "energy": {"solar_wh": st["energy_in"] / 3600.0, "hotel_wh": st["hotel"] / 3600.0,
                   "compressor_wh": st["pump"] / 3600.0, "payload_wh": st["payload"] / 3600.0,
                   "spilled_wh": st["spilled"] / 3600.0},
        "battery_min_soc": float(L["soc"].min()) if n else None,
        "battery_end_soc": float(L["soc"][-1]) if n else None,
        "payload_hours": float(np.sum(span[on])) / 3600.0 if n > 1 else 0.0,
        "payload_power_w": payload.power,
        "safety_overrides": dict(overrides),
        "actions": {"up": int(np.sum(L["action"] == UP)), "stay": int(np.sum(L["action"] == STAY)),
                    "down": int(np.sum(L["action"] == DOWN))},
        "events": sorted(ev),
        "end_state": end,
        "end_altitude_m": float(L["alt"][-1]) if n else None,
        "waypoints_reached": len(route.log),
        "forecast_wind": forecast_field.label(),
        "truth_wind": truth_field.label() if truth_field is not forecast_field else (
            f"forecast plus {err.m.describe()}" if err is not None else "the forecast itself (a perfect forecast)"),
    }
    if spec.kind == "zero-pressure":
        summary["ballast_left_kg"] = float(L["q1"][-1])
        summary["gas_left_kg"] = float(L["q0"][-1])
    ds.attrs["steer"] = _json(summary)
    ds.attrs["title"] = f"steered {spec.kind} balloon"
    # per-point log on the trajectory's own times would need resampling: keep it as the result's ``log``
    return SteerResult(ds, L, ev, summary, pay_iv, list(route.log))


def _json(d) -> str:
    import json

    return json.dumps(d, default=float)
