"""Flight profiles as data: a chain of stages, each a vertical-motion model plus a terminator.

Vertical-motion models (rate of climb in m/s, positive up, in forward time) are declared one per module in
:mod:`stratotrack.flight.models` (their parameters, state variables, rate and commands); among them:

``rate``    constant rate ``a`` (ascent at a fixed rate; a negative rate descends).
``drag``    drag-limited descent ``-a * sqrt(rho0 / rho(z))`` with ``a`` the sea-level descent rate and rho the
            US Standard Atmosphere 1976 density.
``target``  follow a target altitude: ``clip((target - z) / tau, -max_descent, max_ascent)``.  A float or a drift
            is a target equal to the current altitude; an altitude-controlled balloon changes ``target`` between
            integration chunks (see :class:`stratotrack.engine.Integrator`).
``steer``, ``valve``  follow a controller's command (a target altitude; up / stay / down with a battery).

Terminators: ``above`` (altitude reaches a value from below), ``below`` (reaches it from above: the ground is
``below`` the landing altitude, sea level until terrain arrives), ``time`` (a stop time, in the direction of
integration) and ``none``.  Leaving the wind data and the run's maximum duration end any stage.

A backward profile is the forward chain reversed: each stage keeps its physics (the engine integrates with a
negative step) and ends where the forward stage began.

>>> p = standard(ascent_rate=5.0, burst_altitude=30000.0, descent_rate=5.0)
>>> [s.name for s in p.stages], p.event_names
(['ascent', 'descent'], ['launch', 'burst', 'landing'])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from . import models as _models

#: vertical-motion model name -> kernel code (declared by each model in stratotrack.flight.models)
MODELS = _models.CODES
TERMINATORS = {"none": 0, "above": 1, "below": 2, "time": 3}
#: time constant (s) with which a ``target`` stage closes on its altitude
TARGET_TAU = 60.0
#: highest burst altitude (m): the top of the US Standard Atmosphere 1976 whose density the drag descent uses
MAX_BURST_ALTITUDE = 86000.0


@dataclass
class Stage:
    """One stage: ``model`` with up to four parameters, ended by ``terminator`` at ``value``.

    Parameters may be scalars or per-trajectory arrays.  For ``target``: (target, tau, max_ascent,
    max_descent).  ``event`` names what happens when the terminator fires (``"burst"``, ``"landing"``...).
    ``value`` is metres for altitude terminators and seconds since 1970-01-01T00:00Z for ``time``.
    """

    name: str
    model: str
    params: tuple
    terminator: str
    value: object
    event: str

    def __post_init__(self):
        if self.model not in MODELS:
            raise InputError(f"vertical model {self.model!r} is unknown; expected one of {sorted(MODELS)}")
        if self.terminator not in TERMINATORS:
            raise InputError(f"terminator {self.terminator!r} is unknown; expected one of {sorted(TERMINATORS)}")
        declared = _models.MODELS[self.model].params
        if len(self.params) > len(declared):
            raise InputError(f"stage {self.name!r} has {len(self.params)} parameters; the {self.model} model takes "
                             f"{len(declared)} ({', '.join(declared)})")


@dataclass
class Profile:
    """A chain of stages plus the name of the starting event and the direction of time."""

    name: str
    stages: list[Stage]
    start_event: str = "launch"
    backward: bool = False
    parameters: dict = field(default_factory=dict)

    @property
    def stage_names(self) -> list[str]:
        return [s.name for s in self.stages]

    @property
    def event_names(self) -> list[str]:
        return [self.start_event] + [s.event for s in self.stages]

    def encode(self, n: int):
        """Per-trajectory kernel arrays: codes ``int64[n, S, 2]`` (model, terminator), values ``float64[n, S, 5]``."""
        S = len(self.stages)
        codes = np.zeros((n, S, 2), dtype=np.int64)
        vals = np.zeros((n, S, 5), dtype=np.float64)
        for k, st in enumerate(self.stages):
            codes[:, k, 0] = MODELS[st.model]
            codes[:, k, 1] = TERMINATORS[st.terminator]
            for j, p in enumerate(st.params):
                vals[:, k, j] = np.broadcast_to(np.asarray(p, dtype=float), (n,))
            if st.value is not None:
                vals[:, k, 4] = np.broadcast_to(np.asarray(st.value, dtype=float), (n,))
        return codes, vals


def _positive(name, value, unit="m/s"):
    arr = np.asarray(value, dtype=float)
    bad = ~(arr > 0) | ~np.isfinite(arr)
    if bad.any():
        raise InputError(f"{name} {float(arr[bad].ravel()[0])!r} {unit} is invalid; expected a positive finite number")
    return arr


def _finite(name, value, unit="m"):
    arr = np.asarray(value, dtype=float)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InputError(f"{name} {float(arr[bad].ravel()[0])!r} {unit} is invalid; expected a finite number")
    return arr


def _above(name_hi, hi, name_lo, lo):
    hi, lo = np.broadcast_arrays(hi, lo)
    bad = ~(hi > lo)
    if bad.any():
        raise InputError(
            f"{name_hi} {hi[bad].ravel()[0]:g} m is not above the {name_lo} {lo[bad].ravel()[0]:g} m; "
            f"expected {name_hi} > {name_lo}"
        )


def standard(ascent_rate=5.0, burst_altitude=30000.0, descent_rate=5.0, *, start_altitude=0.0,
             landing_altitude=0.0, launch_altitude=0.0, backward=False) -> Profile:
    """Constant-rate ascent to burst, then drag descent to the ground.

    Forward, ``start_altitude`` is the launch altitude and the flight ends at ``landing_altitude``.  Backward, the
    run starts on the descent (typically at the landing) and ends at ``launch_altitude``.
    """
    a = _positive("ascent rate", ascent_rate)
    d = _positive("descent rate", descent_rate)
    b = _finite("burst altitude", burst_altitude)
    if np.any(b > MAX_BURST_ALTITUDE):
        raise InputError(
            f"burst altitude {float(b[b > MAX_BURST_ALTITUDE].ravel()[0]):g} m is above the top of the standard "
            f"atmosphere that the descent law uses; expected at most {MAX_BURST_ALTITUDE:g} m"
        )
    z0 = _finite("start altitude", start_altitude)
    params = {"ascent_rate": a, "burst_altitude": b, "descent_rate": d}
    if not backward:
        land = _finite("landing altitude", landing_altitude)
        _above("burst altitude", b, "launch altitude", z0)
        _above("burst altitude", b, "landing altitude", land)
        params["landing_altitude"] = land
        return Profile("standard", [
            Stage("ascent", "rate", (a,), "above", b, "burst"),
            Stage("descent", "drag", (d,), "below", land, "landing"),
        ], "launch", False, params)
    launch = _finite("launch altitude", launch_altitude)
    _above("burst altitude", b, "start altitude", z0)
    _above("burst altitude", b, "launch altitude", launch)
    params["launch_altitude"] = launch
    return Profile("standard", [
        Stage("descent", "drag", (d,), "above", b, "burst"),
        Stage("ascent", "rate", (a,), "below", launch, "launch"),
    ], "landing", True, params)


def float_profile(ascent_rate=5.0, float_altitude=None, stop=None, *, start_altitude=0.0, launch_altitude=0.0,
                  backward=False) -> Profile:
    """Ascent to a float altitude, then float until ``stop`` (seconds since epoch, per trajectory).

    Backward, the run starts afloat, floats back to ``stop`` (when the float began) and then descends the
    ascent in reverse to ``launch_altitude``.
    """
    if float_altitude is None:
        raise InputError("the float profile needs a float altitude (float_altitude, in m)")
    if stop is None:
        raise InputError("the float profile needs a stop time or a duration")
    a = _positive("ascent rate", ascent_rate)
    f = _finite("float altitude", float_altitude)
    z0 = _finite("start altitude", start_altitude)
    params = {"ascent_rate": a, "float_altitude": f}
    hold = (f, TARGET_TAU, a, a)
    if not backward:
        _above("float altitude", f, "launch altitude", z0)
        return Profile("float", [
            Stage("ascent", "rate", (a,), "above", f, "float_start"),
            Stage("float", "target", hold, "time", stop, "end"),
        ], "launch", False, params)
    launch = _finite("launch altitude", launch_altitude)
    _above("float altitude", f, "launch altitude", launch)
    params["launch_altitude"] = launch
    return Profile("float", [
        Stage("float", "target", hold, "time", stop, "float_start"),
        Stage("ascent", "rate", (a,), "below", launch, "launch"),
    ], "start", True, params)


def drift(stop=None, *, start_altitude, max_rate=5.0, backward=False) -> Profile:
    """Start aloft and follow the wind at the start altitude until ``stop`` (the surveillance-balloon case)."""
    if stop is None:
        raise InputError("the drift profile needs a stop time or a duration")
    z0 = _finite("start altitude", start_altitude)
    r = _positive("maximum vertical rate", max_rate)
    return Profile("drift", [Stage("drift", "target", (z0, TARGET_TAU, r, r), "time", stop, "end")], "start",
                   bool(backward), {"altitude": z0})
