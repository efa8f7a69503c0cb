"""Fly the arena's episodes: one BLE scenario seed, a controller, 960 decisions of 3 minutes, TWR50.

An episode (Google's Balloon Learning Environment, BLE, Apache-2.0: ``env/balloon_arena.py``, ``eval/eval_lib.py``):
the balloon starts in the scenario's buoyant-equilibrium state; at each decision the controller sees an
:class:`~stratotrack.steer.control.Observation` (the forecast, the winds measured so far on its own path and the
balloon's state, never the true wind ahead) and answers up, stay or down; the safety layers may override it; the
balloon then flies 180 s in 10 s physics steps with the true wind at its position held over the interval. TWR50 is
the share of decisions after which the balloon is within 50 km of the station.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import InputError
from ...flight.superpressure import (
    MOLS_LIFT_GAS, accessible_pressure_range, atm_at_pressure, atmosphere_tables, stable_state,
)
from ..control import DOWN, STAY, UP, Observation
from ..power import BATTERY_CAPACITY_WH, BATTERY_START_SOC, is_day, latlng_from_offset, sun_position
from ..safety import PowerSafety, SafetyLayers
from .sim import OK, STATUS_NAMES, S, new_state, simulate_interval
from .wind import ArenaForecast, DecoderWeights, decode_wind_grid

__all__ = ["Scenario", "EpisodeResult", "load_scenarios", "find_weights", "fly_episode", "arena_wind",
           "AnalyticWind", "scenario_at",
           "DECISION_S", "PHYSICS_S", "N_DECISIONS", "RADIUS_M"]

DECISION_S = 180.0  #: seconds between decisions
PHYSICS_S = 10.0  #: physics sub-step, s
N_DECISIONS = 960  #: 48 h
RADIUS_M = 50_000.0  #: the station-keeping radius
WEIGHTS_NAME = "offlineskies22_decoder.msgpack"

_REQUIRED = ("seed", "z", "noise_u", "noise_v", "atm_alpha", "start_utc", "station_lat_deg", "station_lng_deg",
             "x_m", "y_m", "pressure_pa", "upwelling_infrared", "mols_air", "mols_lift_gas", "internal_temperature",
             "ambient_temperature", "envelope_volume", "superpressure", "battery_charge_wh")


@dataclass
class Scenario:
    """One episode's random draws and start state, as recorded from BLE (see the scenario file's README)."""

    seed: int
    data: dict

    @property
    def start_unix(self) -> float:
        """The start time, seconds since 1970 (UTC)."""
        return dt.datetime.fromisoformat(self.data["start_utc"]).timestamp()


def load_scenarios(path) -> list[Scenario]:
    """Read a scenario file (a JSON list of BLE scenarios); :class:`InputError` if missing or of another layout."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"scenario file {str(path)!r} not found; expected a JSON list of BLE scenarios")
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"scenario file {str(path)!r} is not JSON ({exc})") from None
    if not isinstance(data, list) or not data:
        raise InputError(f"scenario file {str(path)!r} holds {type(data).__name__}; expected a non-empty JSON list "
                         "of scenarios")
    out = []
    for i, item in enumerate(data):
        missing = [k for k in _REQUIRED if not isinstance(item, dict) or k not in item]
        if missing:
            raise InputError(f"scenario {i} in {str(path)!r} lacks {', '.join(missing[:5])}; expected BLE's "
                             "scenario layout (seed, z, noise_u, noise_v, atm_alpha, start state...)")
        if len(item["z"]) != 64 or len(item["noise_u"]) < 1 or len(item["noise_v"]) < 1:
            raise InputError(f"scenario {i} in {str(path)!r}: z has {len(item['z'])} values (expected 64) or no "
                             "noise harmonics")
        out.append(Scenario(int(item["seed"]), item))
    return out


def find_weights(scenario_path, weights=None) -> Path:
    """The decoder weights: ``weights`` if given, else ``offlineskies22_decoder.msgpack`` beside the scenarios."""
    if weights is not None:
        p = Path(weights)
    else:
        p = Path(scenario_path).parent / WEIGHTS_NAME
    if not p.is_file():
        raise InputError(f"wind-model weights {str(p)!r} not found; give --weights PATH to BLE's {WEIGHTS_NAME}")
    return p


def scenario_at(pressure: float, x_m: float = 0.0, y_m: float = 0.0, *, start_utc: str = "2013-11-18T06:00:00+00:00",
                station_lat_deg: float = 0.0, station_lng_deg: float = 0.0, atm_alpha: float = 0.5,
                upwelling_infrared: float = 250.0, battery_soc: float = BATTERY_START_SOC, seed: int = 0,
                z=None, noise_u=None, noise_v=None) -> Scenario:
    """A scenario whose balloon starts in BLE's buoyant equilibrium at a pressure (``stable_init``), for analytic
    tests and experiments; ``z`` and the noise harmonics are optional (fly it with ``fly_episode(..., wind=...)``)."""
    atm = atmosphere_tables(atm_alpha)
    t0 = dt.datetime.fromisoformat(start_utc).timestamp()
    lat, lng = latlng_from_offset(station_lat_deg, station_lng_deg, x_m, y_m)
    el, _, flux = sun_position(lat, lng, t0)
    ta, tg, nair, vol, sp = stable_state(pressure, atm, el, flux, upwelling_infrared)
    data = {"seed": seed, "z": list(z) if z is not None else [0.0] * 64, "noise_u": noise_u or [],
            "noise_v": noise_v or [], "atm_alpha": atm_alpha, "start_utc": start_utc,
            "station_lat_deg": station_lat_deg, "station_lng_deg": station_lng_deg, "x_m": x_m, "y_m": y_m,
            "pressure_pa": pressure, "upwelling_infrared": upwelling_infrared, "mols_air": nair,
            "mols_lift_gas": MOLS_LIFT_GAS, "internal_temperature": tg, "ambient_temperature": ta,
            "envelope_volume": vol, "superpressure": sp, "battery_charge_wh": battery_soc * BATTERY_CAPACITY_WH}
    return Scenario(seed, data)


class AnalyticWind:
    """A wind given on a grid (a :class:`~stratotrack.steer.control.Forecast`) that is also the truth (no noise):
    for tests with known answers (uniform wind, opposite layers)."""

    def __init__(self, forecast):
        self.forecast = forecast

    def forecast_uv(self, x, y, pressure, t_seconds):
        """The grid's wind (x, y, pressure and time clipped to the grid)."""
        return self.forecast.uv(x, y, pressure, t_seconds)

    def truth_uv(self, x, y, pressure, t_seconds):
        """The same as the forecast."""
        u, v = self.forecast.uv(x, y, pressure, t_seconds)
        return float(u), float(v)


def arena_wind(weights: DecoderWeights, scenario: Scenario) -> ArenaForecast:
    """The forecast and truth of one scenario: its latent decoded once, its noise harmonics for the truth."""
    u, v = decode_wind_grid(weights, scenario.data["z"])
    return ArenaForecast(u, v, scenario.data["noise_u"], scenario.data["noise_v"])


@dataclass
class EpisodeResult:
    """What one episode gives: TWR50, energy, the end state and the path every 3 minutes."""

    seed: int
    controller: str
    twr50: float
    steps: int
    end_state: str
    pump_wh: float
    pump_wh_per_day: float
    wall_s: float
    overrides: int
    cpu_s: float = float("nan")
    path: dict = field(repr=False, default_factory=dict)

    def path_lists(self) -> dict:
        """The path every 3 minutes as JSON-ready lists (NaN as None): t (s), x, y (m), pressure, altitude,
        superpressure, battery_soc, action (the controller's) and applied (after the safety layers)."""
        return {k: [None if v != v else float(v) for v in a] for k, a in self.path.items()}

    def summary(self) -> dict:
        """The figures without the path (JSON-ready)."""
        return {"seed": self.seed, "controller": self.controller, "twr50": self.twr50, "steps": self.steps,
                "end_state": self.end_state, "pump_wh": self.pump_wh, "pump_wh_per_day": self.pump_wh_per_day,
                "safety_overrides": self.overrides, "wall_s": self.wall_s, "cpu_s": self.cpu_s}


def fly_episode(scenario: Scenario, controller, weights: DecoderWeights | None = None, *, wind=None,
                n_decisions: int = N_DECISIONS, radius: float = RADIUS_M, reachable: bool = True,
                safety: bool = True) -> EpisodeResult:
    """Fly one episode with a controller.

    Args:
        scenario: the episode's draws and start state.
        controller: an object with ``name``, ``reset(obs)`` and ``act(obs)`` (see :mod:`stratotrack.steer.control`).
        weights: the decoder weights (needed unless ``wind`` is given).
        wind: an object with ``forecast`` (a :class:`~stratotrack.steer.control.Forecast`), ``forecast_uv`` and
            ``truth_uv`` to use in place of the scenario's decoded wind (analytic test winds).
        n_decisions: decisions to fly (960 = 48 h).
        radius: the station-keeping radius, m.
        reachable: compute BLE's accessible pressure range for each observation.
        safety: apply the safety layers (turn them off only to show what they prevent).
    """
    t_wall = time.perf_counter()
    t_cpu = time.process_time()
    d = scenario.data
    if wind is None:
        if weights is None:
            raise InputError("fly_episode needs the decoder weights or a wind")
        wind = arena_wind(weights, scenario)
    atm = atmosphere_tables(float(d["atm_alpha"]))
    lat0, lng0 = float(d["station_lat_deg"]), float(d["station_lng_deg"])
    t0 = scenario.start_unix
    ir = float(d["upwelling_infrared"])
    state = new_state(float(d["x_m"]), float(d["y_m"]), float(d["pressure_pa"]), float(d["ambient_temperature"]),
                      float(d["mols_lift_gas"]), float(d["mols_air"]), float(d["internal_temperature"]),
                      float(d["envelope_volume"]), float(d["superpressure"]), float(d["battery_charge_wh"]))
    lat, lng = latlng_from_offset(lat0, lng0, state[S.X], state[S.Y])
    layers = SafetyLayers(PowerSafety(lat, lng, t0, BATTERY_CAPACITY_WH))
    n_sub = int(round(DECISION_S / PHYSICS_S))

    hist = {k: np.zeros(n_decisions + 1) for k in ("t", "x", "y", "pressure", "u", "v")}
    path = {k: np.full(n_decisions + 1, np.nan) for k in
            ("t", "x", "y", "pressure", "altitude", "superpressure", "battery_soc", "action", "applied")}
    within = 0
    steps = 0
    status = OK
    controller_reset = False
    for k in range(n_decisions + 1):
        t = state[S.T]
        x, y, p = state[S.X], state[S.Y], state[S.P]
        u, v = wind.truth_uv(x, y, p, t)  # measured at the balloon now; it blows over the next interval
        hist["t"][k], hist["x"][k], hist["y"][k], hist["pressure"][k] = t, x, y, p
        hist["u"][k], hist["v"][k] = u, v
        alt, _ = atm_at_pressure(p, atm)
        path["t"][k], path["x"][k], path["y"][k], path["pressure"][k] = t, x, y, p
        path["altitude"][k] = alt
        path["superpressure"][k] = state[S.SP]
        path["battery_soc"][k] = state[S.BAT] / BATTERY_CAPACITY_WH
        if k == n_decisions or status != OK:
            break
        lat, lng = latlng_from_offset(lat0, lng0, x, y)
        el, _, flux = sun_position(lat, lng, t0 + t)
        rng = accessible_pressure_range(atm, el, flux, ir) if reachable else None
        obs = Observation(
            t=t, x=x, y=y, pressure=p, altitude=alt, superpressure=state[S.SP],
            battery_soc=state[S.BAT] / BATTERY_CAPACITY_WH, sun_elevation_deg=el, is_day=bool(is_day(el)),
            wind=(u, v), history={key: a[: k + 1] for key, a in hist.items()}, forecast=wind.forecast,
            radius=radius, reachable=rng, step=k)
        if not controller_reset:
            controller.reset(obs)
            controller_reset = True
        action = int(controller.act(obs))
        if action not in (UP, STAY, DOWN):
            raise InputError(f"controller {controller.name!r} returned {action!r}; expected UP (1), STAY (0) or "
                             "DOWN (-1)")
        applied = layers(action, t0 + t, state[S.BAT], state[S.SP], alt) if safety else action
        path["action"][k] = action
        path["applied"][k] = applied
        status = simulate_interval(state, applied, u, v, n_sub, PHYSICS_S, atm, lat0, lng0, t0, ir)
        steps += 1
        if math.hypot(state[S.X], state[S.Y]) <= radius:
            within += 1
    n = steps + 1
    path = {key: a[:n] for key, a in path.items()}
    pump = float(state[S.PUMP])
    days = max(steps * DECISION_S / 86400.0, 1e-9)
    return EpisodeResult(seed=scenario.seed, controller=getattr(controller, "name", type(controller).__name__),
                         twr50=within / max(steps, 1), steps=steps, end_state=STATUS_NAMES[int(status)],
                         pump_wh=pump, pump_wh_per_day=pump / days, wall_s=time.perf_counter() - t_wall,
                         overrides=layers.overrides, cpu_s=time.process_time() - t_cpu, path=path)
