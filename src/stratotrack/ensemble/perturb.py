"""Perturbations of an ensemble, each a documented model with its parameters.

Flight parameters
    :class:`Normal` (``nominal + sd * N(0, 1)``) and :class:`Uniform` (``nominal + U(-half_width, half_width)``)
    spreads of ``ascent_rate``, ``burst_altitude``, ``descent_rate``, ``float_altitude`` (m, m/s) and
    ``launch_time`` (s).  A draw that leaves the valid range (a rate <= 0, a burst or float altitude not above the
    launch) is drawn again: the distributions are truncated to the valid range and the result counts the redraws.
    :class:`Balloon` replaces the nominal ascent rate and burst altitude by a latex-balloon model (mass, payload,
    gas fill) with spreads of the fill and of the burst diameter.

Wind error
    :class:`WindError`: a per-member Ornstein-Uhlenbeck velocity error added to the forecast wind, applied as a
    displacement between short integration chunks.  Its RMS grows with forecast lead time.

Offsets
    :class:`Offsets`: the HYSPLIT ensemble: the wind grid shifted by a fraction of a cell north/south, east/west and
    by a height up/down (27 combinations); members are assigned to the combinations in turn.

Real weather ensembles are lists of wind sources (``winds=`` of :func:`stratotrack.ensemble`), one per member
group, combined with everything above.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..geodesy import move

#: flight parameters that a spread may perturb, with their units
PARAMETERS = {"ascent_rate": "m/s", "burst_altitude": "m", "descent_rate": "m/s", "float_altitude": "m",
              "launch_time": "s"}


# -- distributions ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Normal:
    """``nominal + sd * N(0, 1)``, truncated to the parameter's valid range (by redrawing)."""

    sd: float

    def __post_init__(self):
        _check_spread("standard deviation", self.sd)

    def draw(self, rng, n):
        return self.sd * rng.standard_normal(n) if self.sd > 0 else np.zeros(n)

    def describe(self, unit):
        return f"normal, standard deviation {self.sd:g} {unit}"


@dataclass(frozen=True)
class Uniform:
    """``nominal + U(-half_width, +half_width)``, truncated to the parameter's valid range (by redrawing)."""

    half_width: float

    def __post_init__(self):
        _check_spread("half width", self.half_width)

    def draw(self, rng, n):
        return rng.uniform(-self.half_width, self.half_width, n) if self.half_width > 0 else np.zeros(n)

    def describe(self, unit):
        return f"uniform, +-{self.half_width:g} {unit}"


def _check_spread(what, value):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"spread {value!r} is not a number; expected a {what} >= 0") from None
    if not (math.isfinite(v) and v >= 0):
        raise InputError(f"spread {what} {v!r} is invalid; expected a finite number >= 0")


def distribution(name, spec):
    """A distribution from ``Normal``/``Uniform``, a number (normal standard deviation), ``("normal", sd)``,
    ``("uniform", half_width)`` or the text ``"normal:0.5"`` / ``"uniform:2000"`` / ``"0.5"``."""
    if name not in PARAMETERS:
        raise InputError(f"cannot spread {name!r}; expected one of {', '.join(PARAMETERS)}")
    if isinstance(spec, (Normal, Uniform)):
        return spec
    kind, value = "normal", spec
    if isinstance(spec, str):
        kind, _, value = spec.rpartition(":")
        kind = kind or "normal"
        if name == "launch_time":
            from ..timeutil import parse_duration

            try:
                value = parse_duration(value)
            except InputError:
                raise InputError(f"launch time spread {spec!r} is invalid; expected seconds or e.g. 30m, "
                                 "optionally as normal:30m or uniform:1h") from None
    elif isinstance(spec, (tuple, list)) and len(spec) == 2:
        kind, value = spec
    kinds = {"normal": Normal, "uniform": Uniform}
    if kind not in kinds:
        raise InputError(f"distribution {kind!r} for {name} is unknown; expected normal or uniform")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputError(f"spread of {name} {value!r} is not a number; expected a {kind} spread in "
                         f"{PARAMETERS[name]}") from None
    if not (math.isfinite(value) and value >= 0):
        raise InputError(f"spread of {name} {value!r} {PARAMETERS[name]} is invalid; expected a number >= 0")
    return kinds[kind](value)


def draw_truncated(rng, nominal, dist, valid, name, unit, max_rounds=50):
    """``nominal + dist`` with draws outside ``valid`` drawn again; returns (values, number of redraws)."""
    nominal = np.asarray(nominal, dtype=float)
    n = nominal.size
    x = nominal + dist.draw(rng, n)
    redraws = 0
    for _ in range(max_rounds):
        bad = ~valid(x)
        if not bad.any():
            return x, redraws
        redraws += int(bad.sum())
        x[bad] = nominal[bad] + dist.draw(rng, int(bad.sum()))
    raise InputError(f"the spread of {name} ({dist.describe(unit)}) leaves the valid range too often around "
                     f"{float(nominal.ravel()[0]):g} {unit}; expected a smaller spread")


# -- balloon burst model ---------------------------------------------------------------------------------------------
#: latex sounding balloons: mass (g) -> (nominal burst diameter m, drag coefficient).  Manufacturer figures as
#: tabulated by the CUSF burst calculator (Cambridge University Spaceflight; Kaymont/Totex "k" and Hwoyee "h").
BALLOONS = {
    "k200": (3.00, 0.25), "k300": (3.78, 0.25), "k350": (4.12, 0.25), "k450": (4.72, 0.25), "k500": (4.99, 0.25),
    "k600": (6.02, 0.30), "k700": (6.53, 0.30), "k800": (7.00, 0.30), "k1000": (7.86, 0.30), "k1200": (8.63, 0.25),
    "k1500": (9.44, 0.25), "k2000": (10.54, 0.25), "k3000": (13.00, 0.25),
    "h100": (2.00, 0.25), "h200": (3.00, 0.25), "h300": (3.80, 0.25), "h350": (4.10, 0.25), "h400": (4.50, 0.25),
    "h500": (5.00, 0.25), "h600": (5.80, 0.30), "h750": (6.50, 0.30), "h800": (6.80, 0.30), "h950": (7.20, 0.30),
    "h1000": (7.50, 0.30), "h1200": (8.50, 0.25), "h1500": (9.50, 0.25), "h1600": (10.50, 0.25),
    "h2000": (11.00, 0.25), "h3000": (12.50, 0.25),
}
GAS_DENSITY = {"helium": 0.1786, "hydrogen": 0.0899}  # kg/m3 at 0 C, 101.325 kPa (as the CUSF calculator)


@dataclass(frozen=True)
class Balloon:
    """A latex balloon filled with ``neck_lift`` kg of lift (measured at the neck, i.e. payload + free lift).

    Model (the CUSF burst calculator's, with the US Standard Atmosphere 1976 instead of its exponential air):
    launch volume ``V0 = (m_balloon + neck_lift) / (rho_air - rho_gas)``; ascent rate from the free lift
    ``(neck_lift - payload) g = 0.5 Cd rho_air A v^2`` with ``A`` the launch cross-section; the gas expands at
    ambient pressure and temperature, so the volume at height z is ``V0 rho_air(0) / rho_air(z)`` and the balloon
    bursts where that reaches the burst volume ``pi d^3 / 6``.  ``rho_air`` at launch is the standard atmosphere's
    1.225 kg/m3.  Spreads: ``neck_lift_sd`` (kg, the fill's uncertainty) and ``burst_diameter_sd`` (a fraction of
    the nominal diameter, the balloon's manufacturing scatter), both normal.
    """

    balloon: str
    payload: float
    neck_lift: float
    gas: str = "helium"
    neck_lift_sd: float = 0.0
    burst_diameter_sd: float = 0.0

    def __post_init__(self):
        if self.balloon not in BALLOONS:
            raise InputError(f"balloon {self.balloon!r} is unknown; expected one of {', '.join(BALLOONS)}")
        if self.gas not in GAS_DENSITY:
            raise InputError(f"gas {self.gas!r} is unknown; expected helium or hydrogen")
        for name in ("payload", "neck_lift"):
            v = float(getattr(self, name))
            if not (math.isfinite(v) and v > 0):
                raise InputError(f"{name.replace('_', ' ')} {v!r} kg is invalid; expected a positive mass in kg")
        _check_spread("neck lift standard deviation (kg)", self.neck_lift_sd)
        _check_spread("burst diameter standard deviation (fraction)", self.burst_diameter_sd)
        if self.neck_lift <= self.payload:
            raise InputError(f"neck lift {self.neck_lift:g} kg does not exceed the payload {self.payload:g} kg; "
                             "expected a neck lift above the payload mass so that the balloon rises")

    @property
    def mass(self) -> float:
        return float(self.balloon[1:]) / 1000.0

    def predict(self, neck_lift=None, burst_diameter=None):
        """(ascent rate m/s, burst altitude m) for the nominal fill or arrays of fills and burst diameters."""
        from .. import atmosphere

        d_nom, cd = BALLOONS[self.balloon]
        lift = np.asarray(self.neck_lift if neck_lift is None else neck_lift, dtype=float)
        d_b = np.asarray(d_nom if burst_diameter is None else burst_diameter, dtype=float)
        rho0 = float(atmosphere.density(0.0))
        v0 = (self.mass + lift) / (rho0 - GAS_DENSITY[self.gas])
        r0 = (3 * v0 / (4 * np.pi)) ** (1 / 3)
        free = np.maximum(lift - self.payload, 0.0) * 9.80665
        ascent = np.sqrt(free / (0.5 * cd * rho0 * np.pi * r0 ** 2))
        vb = np.pi * d_b ** 3 / 6.0
        target = rho0 * v0 / vb  # the air density at burst
        burst = _altitude_of_density(target)
        return ascent, burst

    def draw(self, rng, n):
        """Per-member (ascent rate, burst altitude) with the fill and burst-diameter spreads; redraws counted."""
        d_nom = BALLOONS[self.balloon][0]
        lift, r1 = draw_truncated(rng, np.full(n, self.neck_lift), Normal(self.neck_lift_sd),
                                  lambda x: x > self.payload * 1.001, "neck lift", "kg")
        diam, r2 = draw_truncated(rng, np.full(n, d_nom), Normal(self.burst_diameter_sd * d_nom),
                                  lambda x: x > 0.5 * d_nom, "burst diameter", "m")
        a, b = self.predict(lift, diam)
        return a, b, r1 + r2

    def describe(self):
        a, b = self.predict()
        return (f"{self.balloon} balloon ({self.mass * 1000:.0f} g, burst diameter {BALLOONS[self.balloon][0]} m, "
                f"Cd {BALLOONS[self.balloon][1]}), payload {self.payload:g} kg, neck lift {self.neck_lift:g} kg "
                f"{self.gas}: ascent {float(a):.2f} m/s, burst {float(b):.0f} m; spreads: neck lift sd "
                f"{self.neck_lift_sd:g} kg, burst diameter sd {self.burst_diameter_sd:g} x nominal")


def _altitude_of_density(rho):
    """Geometric altitude (m) where the standard atmosphere has density ``rho`` (bisection, vectorised)."""
    from .. import atmosphere

    rho = np.asarray(rho, dtype=float)
    lo = np.zeros(rho.shape)
    hi = np.full(rho.shape, 86000.0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        above = atmosphere.density(mid) > rho
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    z = 0.5 * (lo + hi)
    if np.any(z >= 85999.0):
        raise InputError("the balloon would not burst below 86 km; expected a larger fill or a smaller balloon")
    return z


# -- wind error ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WindError:
    """Forecast wind error seen by a balloon: an Ornstein-Uhlenbeck process per member.

    Each member carries ``e(t) = sigma(lead) * z(t)``, with ``z`` a pair (east, north) of independent unit OU
    processes of correlation time ``correlation_time`` (s): ``z(t + dt) = rho z(t) + sqrt(1 - rho^2) xi``,
    ``rho = exp(-dt / tau)``, started in equilibrium.  So ``e`` has the RMS ``sigma(lead)`` per component at every
    lead time, and ``sigma(lead) = rms_vector_error(lead) / sqrt(2)`` with the RMS *vector* error

        ``rms_vector_error(lead) = min(initial + growth * lead_days, maximum)``  (m/s).

    The member's position is displaced by the time integral of ``e`` after every chunk of ``interval`` s.

    Defaults: ``initial`` 2.5 m/s, ``growth`` 0.8 m/s per day, ``maximum`` 9 m/s: about 2.5, 3.3, 4.9 and 6.5 m/s at
    analysis time and days 1, 3 and 5.  These follow the size of the RMS vector wind errors of global forecasts
    (ECMWF, GFS) in the lower stratosphere (100-50 hPa, extratropics) verified against radiosondes and analyses, as
    shown in the centres' routine verification (WMO lead-centre scores) and in comparisons with superpressure
    balloons (Loon: Friedrich et al. 2017, ACP 17, 855-866; Coy et al. 2019, JGR 124; Concordiasi: Podglajen et
    al. 2014, QJRMS): errors of 2-3 m/s per component at analysis, roughly doubling by day 5.  They are rounded
    figures for a default, not a fit: set them for your model, season and region.  ``correlation_time`` 12 h is an
    assumption: the along-track decorrelation of synoptic-scale errors (about 1,000 km) for a balloon moving
    relative to the error pattern at 10-20 m/s, and the errors' own evolution over about a day.

    ``lead`` is counted from ``reference_time`` (s since 1970; default: the first time of a forecast field, else each
    member's launch).
    """

    initial: float = 2.5
    growth: float = 0.8
    maximum: float = 9.0
    correlation_time: float = 12 * 3600.0
    interval: float = 600.0
    reference_time: float | None = None
    scale: float = 1.0

    def __post_init__(self):
        for name in ("initial", "growth", "maximum", "scale"):
            v = float(getattr(self, name))
            if not (math.isfinite(v) and v >= 0):
                raise InputError(f"wind error {name} {v!r} is invalid; expected a finite number >= 0")
        for name in ("correlation_time", "interval"):
            v = float(getattr(self, name))
            if not (math.isfinite(v) and v > 0):
                raise InputError(f"wind error {name.replace('_', ' ')} {v!r} s is invalid; expected a positive "
                                 "number of seconds")

    def rms_vector(self, lead_seconds):
        lead = np.maximum(np.asarray(lead_seconds, dtype=float), 0.0) / 86400.0
        return self.scale * np.minimum(self.initial + self.growth * lead, self.maximum)

    def describe(self):
        return (f"Ornstein-Uhlenbeck wind error, RMS vector error min({self.initial:g} + {self.growth:g}/day x "
                f"lead, {self.maximum:g}) m/s x {self.scale:g}, correlation time {self.correlation_time / 3600:g} h, "
                f"applied every {self.interval:g} s")


class _WindErrorState:
    """The OU state of a batch of members and the displacement it causes over each chunk."""

    def __init__(self, model: WindError, rng, n, reference):
        self.m = model
        self.rng = rng
        self.z = rng.standard_normal((2, n))  # equilibrium start
        self.reference = reference  # per member, s

    def displace(self, integ, t_before, running_before):
        from ..geodesy import EARTH_RADIUS

        dt = integ.t - t_before
        moved = running_before & (dt != 0)
        if not moved.any():
            return
        idx = np.nonzero(moved)[0]
        dti = np.abs(dt[idx])
        tau = self.m.correlation_time
        rho = np.exp(-dti / tau)
        z0 = self.z[:, idx]
        xi = self.rng.standard_normal((2, idx.size))
        z1 = rho * z0 + np.sqrt(1.0 - rho * rho) * xi
        self.z[:, idx] = z1
        # integral of the OU path over the chunk, approximated by the trapezoid of its ends (dt << tau)
        sig0 = self.m.rms_vector(t_before[idx] - self.reference[idx]) / math.sqrt(2.0)
        sig1 = self.m.rms_vector(integ.t[idx] - self.reference[idx]) / math.sqrt(2.0)
        de = 0.5 * (sig0 * z0[0] + sig1 * z1[0]) * dt[idx]
        dn = 0.5 * (sig0 * z0[1] + sig1 * z1[1]) * dt[idx]
        r = EARTH_RADIUS + integ.alt[idx]
        lat, lon = displace_on_sphere(integ.lat[idx], integ.lon[idx], de / r, dn / r)
        integ.lat[idx] = lat
        integ.lon[idx] = lon


def displace_on_sphere(lat, lon, east_rad, north_rad):
    """Move points by small angles east/north along great circles (:func:`stratotrack.geodesy.move`)."""
    return move(lat, lon, east_rad, north_rad, radius=1.0)


# -- HYSPLIT offsets -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Offsets:
    """The HYSPLIT meteorological-grid ensemble: 27 members from shifting the wind field.

    Each combination of a shift of ``-f, 0, +f`` grid cells in latitude and in longitude and ``-dz, 0, +dz`` m in
    height (HYSPLIT: Draxler & Hess 1998, Aust. Meteor. Mag. 47; HYSPLIT User's Guide, "ensemble": one grid point
    horizontally and 0.01 sigma, about 250 m, vertically).  Default ``cells`` 1.0, ``height`` 250 m.  A horizontal
    shift is a field with a shifted grid origin that shares the data array (no copy); a height shift is a copy of
    the field with its level heights raised or lowered (memory: one copy of the field per shifted height).
    """

    cells: float = 1.0
    height: float = 250.0

    def __post_init__(self):
        for name, unit in (("cells", "grid cells"), ("height", "m")):
            v = float(getattr(self, name))
            if not (math.isfinite(v) and v >= 0):
                raise InputError(f"offset {name} {v!r} {unit} is invalid; expected a finite number >= 0")

    def combinations(self):
        return [(a, b, c) for c in (0, -1, 1) for a in (0, -1, 1) for b in (0, -1, 1)]

    def describe(self):
        return f"HYSPLIT grid offsets: +-{self.cells:g} cells in latitude and longitude, +-{self.height:g} m in height"


def shifted_field(field, dlat_cells, dlon_cells, dz, cache):
    """The field with its grid shifted by whole/fractional cells and by ``dz`` m in height (cached per dz)."""
    if dlat_cells == 0 and dlon_cells == 0 and dz == 0:
        return field
    base = field
    if dz:
        key = ("dz", id(field), dz)
        if key not in cache:
            data = np.array(field.data)  # a writable copy
            data[..., 0] += np.float32(dz)
            cache[key] = dataclasses.replace(field, data=data, notes=list(field.notes) + [f"level heights shifted by {dz:+g} m"])
        base = cache[key]
    if dlat_cells == 0 and dlon_cells == 0:
        return base
    dlat = dlat_cells * (field.lat[1] - field.lat[0]) if field.lat.size > 1 else 0.0
    dlon = dlon_cells * (field.lon[1] - field.lon[0]) if field.lon.size > 1 else 0.0
    # the same data array, a grid origin moved by a fraction of a cell
    return dataclasses.replace(base, lat=field.lat + dlat, lon=field.lon + dlon,
                               notes=list(base.notes) + [f"grid shifted by {dlat_cells:+g}, {dlon_cells:+g} cells"])
