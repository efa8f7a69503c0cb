"""``st.steer(...)``: a steered balloon on real winds (the public entry; the CLI's ``stratotrack steer`` calls it)."""

from __future__ import annotations

import math


from ..errors import InputError

__all__ = ["steer", "make_controller"]



def make_controller(name, seed: int = 0, **options):
    """A controller from its name (``greedy`` here; ``seeker``, ``stay``, ``random``, ``planner``... from
    :mod:`stratotrack.steer.registry`) or the controller itself (anything with ``reset`` and ``act``)."""
    if hasattr(name, "act") and hasattr(name, "reset"):
        return name
    key = str(name).lower()
    if key == "greedy":
        from .goto import GreedyController

        return GreedyController(**options)
    from . import registry

    if key == "planner" and "planner" not in registry.names():
        try:  # (until the planner registers itself)
            from .planner import PlannerController
        except ImportError:
            PlannerController = None
        if PlannerController is not None:
            return PlannerController(**options)
    try:
        return registry.make(key, seed=seed)
    except InputError:
        raise InputError(f"controller {name!r} is unknown; expected one of "
                         f"{', '.join(sorted(set(registry.names()) | {'greedy'}))}") from None


def _duration(value) -> float:
    from ..timeutil import parse_duration

    d = float(parse_duration(value)) if isinstance(value, str) else float(value)
    if not (math.isfinite(d) and d > 0):
        raise InputError(f"duration {value!r} is invalid; expected a positive duration (e.g. 5d, 36h, seconds)")
    return d


def _wind(source):
    from ..wind import WindField, open_wind

    if source is None:
        return None
    return source if isinstance(source, WindField) else open_wind(source)


def steer(lat, lon, alt=None, time=None, *, target=None, radius=50_000.0, waypoints=None, wind="climatology",
          truth=None, forecast_error=False, balloon="superpressure", controller="seeker", duration="5d",
          band=None, payload_power=0.0, payload_sites=(), payload_schedule=(), payload_reserve=None, power=None,
          seed=0, control_interval=180.0, step=20.0, output_interval=600.0, balloon_options=None,
          controller_options=None):
    """Fly a steered balloon from (lat, lon, alt) at ``time`` toward a ``target`` (lat, lon) kept within ``radius``
    m (station keeping), or along ``waypoints`` (:class:`~.goto.Waypoint` or ``(lat, lon[, radius[, loiter]])``:
    reach each within its radius, loiter, go on), for ``duration`` (s or ``"5d"``).

    ``wind`` is the forecast the controller sees (any :func:`stratotrack.open_wind` source or a WindField);
    ``truth`` the winds that move the balloon (default: the forecast itself, plus the engine's forecast-error
    process if ``forecast_error`` is true or a :class:`~stratotrack.engine.wind_error.WindError`).
    ``balloon``: ``superpressure``, ``zero-pressure`` or ``latex`` (``balloon_options``: :class:`~.flight.BalloonSpec`
    fields); ``controller``: ``seeker``, ``planner``, ``greedy`` or a controller object; ``band`` the allowed
    altitudes (m, low and high; default 15-18.5 km for the superpressure balloon, the zero-pressure balloon's
    reach from full to no ballast); ``payload_power`` W switched on over ``payload_sites`` (:class:`~.payload.Site` or
    ``"NAME,LAT,LON[,RADIUS_KM]"``) or in ``payload_schedule`` ((start, end) s from the start), or always if
    neither is given, while the battery allows; ``power`` a :class:`~.flight.PowerSystem`.

    Returns a :class:`~.flight.SteerResult`: ``trajectories`` (a CF trajectory Dataset that every exporter
    writes), ``summary`` (time within radius, energy, payload hours, end state), ``log`` and ``events``.
    """
    from ..timeutil import now, to_epoch_seconds
    from .flight import BalloonSpec, PowerSystem, fly
    from .goto import Waypoint, parse_distance, parse_waypoint
    from .payload import Payload, Site, parse_site

    r = parse_distance(radius) if isinstance(radius, str) else float(radius)
    wps = []
    if target is not None:
        if waypoints:
            raise InputError("both a target and waypoints were given; expected one or the other")
        try:
            tlat, tlon = (float(v) for v in target)
        except (TypeError, ValueError):
            raise InputError(f"target {target!r} is invalid; expected (lat, lon) in degrees") from None
        wps = [Waypoint(tlat, tlon, r)]
    for w in waypoints or ():
        if isinstance(w, Waypoint):
            wps.append(w)
        elif isinstance(w, str):
            wps.append(parse_waypoint(w, radius=r))
        else:
            w = tuple(w)
            wps.append(Waypoint(float(w[0]), float(w[1]), float(w[2]) if len(w) > 2 else r,
                                float(w[3]) if len(w) > 3 else float("inf")))
    if not wps:
        raise InputError("no target or waypoint given; expected target=(lat, lon) or waypoints=[...]")
    kind = {"zeropressure": "zero-pressure", "zero_pressure": "zero-pressure", "sp": "superpressure"}.get(
        str(balloon), str(balloon))
    spec = BalloonSpec(kind=kind, **(balloon_options or {}))
    if alt is None:
        alt = {"superpressure": 17000.0, "zero-pressure": 30000.0, "latex": 0.0}[kind]
    alt = float(alt)
    if band is not None:
        band = tuple(float(b) for b in band)
    t0 = float(to_epoch_seconds(now() if time is None else time))
    fc = _wind(wind)
    tr = _wind(truth)
    power = power or PowerSystem()
    sites = [s if isinstance(s, Site) else parse_site(s) for s in (payload_sites or ())]
    pay = Payload(float(payload_power), sites, [tuple(map(float, iv)) for iv in (payload_schedule or ())],
                  power.reserve if payload_reserve is None else float(payload_reserve))
    ctl = None if kind == "latex" else make_controller(controller, seed=int(seed), **(controller_options or {}))
    return fly(fc, (float(lat), float(lon), alt), t0, wps, duration=_duration(duration), truth=tr,
               forecast_error=forecast_error, balloon=spec, controller=ctl, power=power, payload=pay, band=band,
               control_interval=float(control_interval), step=float(step), output_interval=float(output_interval),
               seed=int(seed))
