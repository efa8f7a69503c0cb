"""Live re-prediction of a sounding (ascending or descending) balloon from its telemetry so far.

What a careful chaser does by hand, on the engine, with its uncertainty:

* **measured winds first**: the sonde's own horizontal velocity (displacement over about a minute, so that the
  pendulum under the balloon averages out) in 250 m altitude layers, per pass (ascent, descent).  Where the balloon
  measured a layer, that measurement is the wind; where it did not (below the lowest or above the highest fix, in
  gaps) the nearest measurement and the model are weighted by their error variances: a measurement's error grows
  with its age at the time the balloon will meet the layer again and with the height it is carried to, the model's
  is fixed for a climatology (10 m/s per component) and grows with the lead time of a forecast.  When the descent
  has re-measured upper layers, their differences from the ascent winds over the lowest 4 km re-measured (the
  weather changed, the balloon moved) correct the ascent winds below by optimal interpolation with the change's
  two-scale covariance in height (the short part just below, the deep part, which does not average out over a
  fall, all the way down).
* the **ascent rate** is the median observed climb rate of the last ten minutes of ascent;
* **burst** is where the climb ends: the last climbing fix, and when reception was lost before burst (the next fix
  is already falling) the altitude where a climb at the ascent rate and a drag fall meet both fixes;
* the **fall law** v = v0 (rho0/rho) ** beta is fitted jointly to the observed fall (rates over time spans of a
  minute or more, so that fixes a second apart weigh by the time they cover; pieces fallen far above the latest
  weigh less, :data:`LAW_DRIFT`: the train settles after burst) and a prior per payload class (:class:`FallPrior`:
  an amateur payload under a parachute, :data:`PAYLOAD_PRIOR`, 5 m/s +- 50% and exponent 0.5 +- 0.12; a
  radiosonde, :data:`RADIOSONDE_PRIOR`, 10 m/s +- 50% and 0.33 +- 0.12, calibrated on six Oakland descents; a given
  rate +- 20%), and checked against what parachutes and bare balloons do (2-15 m/s): outside that it is a warning
  and the prior is used with a wider spread;
* the **landing ensemble** draws each member's wind profile (the profile's own error, correlated on two scales in
  height: 1 km, and a deep quarter over 15 km, :func:`error_correlation`), fall rate, and before burst ascent rate
  and burst altitude; the members' landings give the 50/90% radii.
  The profile is horizontally uniform and steady, so a member's perturbed wind moves its landing by exactly the
  integral of the perturbation along its own path: members are flown through the engine with their rates, and
  their wind perturbation is integrated along their paths.

The profile becomes a steady, horizontally uniform wind field around the flight (a sounding stays within a few
hundred km) and :func:`stratotrack.predict` flies the rest of the flight on it.  A ground model (a constant landing
altitude or a digital elevation model) ends the descent at the ground.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from .. import atmosphere as atm
from ..errors import InputError
from ..geodesy import great_circle_distance, wrap_longitude
from ..timeutil import from_epoch_seconds
from . import geometry as G
from .observations import collect, screen, where

#: thickness of the altitude layers in which measured winds are averaged (m)
LAYER = 250.0
#: error of a measured layer wind (m/s per component): GPS over about a minute, pendulum residue
MEASURED_SD = 0.7
#: how a measured wind ages (m/s per component): representativeness at no delay (the descent passes 30-60 km from
#: where the ascent measured), and growth per hour of age.  Against the winds actually met on the way down, ascent
#: winds are off by about 2.8 m/s RMS 1-2 h later (issue 16's 32 flights) and 3.2 m/s on the six Oakland flights
#: (0.6-2 h): sqrt(0.7^2 + 1.7^2 + (1.5 * 1.5 h)^2) = 2.9
CHANGE_SD0 = 1.7
CHANGE_GROWTH = 1.5 / 3600.0
#: error of a wind carried up or down from the nearest measured layer (m/s per component per metre): about the
#: shear of the stratosphere's winds; a first guess of 2 m/s per km gave the climatology a weight that made the
#: Oakland forecasts from the ascent worse in all six flights (by 0.1-1.2 km)
EXTRAPOLATION_GROWTH = 1.0 / 1000.0
#: vertical correlation of the profile's errors (the ensemble's perturbations and the descent's corrections), on
#: two scales: how the ascent winds differ from the winds the descent met (descent minus ascent, per 250 m layer,
#: the six Oakland flights: RMS 3.2 m/s per component; correlation 0.51 at 1 km apart, 0.29 at 2 km, 0.22 at 3 km,
#: 0.20 at 4 km, 0.13 at 6 and 8 km) is a short-scale part (gravity waves, the pendulum, mesoscale structure: 1 km)
#: and a deep part (the synoptic change over 1-2 h and 30-60 km: a quarter of the variance, correlated over 15 km).
#: The deep part does not average out over a fall: it sets most of a landing's wind error, and it is what the
#: descent's re-measured upper winds can tell about the layers below.  Calibrated on the six Oakland flights.
ERROR_CORRELATION = 1000.0
DEEP_CORRELATION = 15000.0
DEEP_FRACTION = 0.25


def error_correlation(dz):
    """Correlation of wind errors (and of the weather's change) ``dz`` metres apart in height: the two scales."""
    dz = np.abs(np.asarray(dz, float))
    return (1.0 - DEEP_FRACTION) * np.exp(-dz / ERROR_CORRELATION) + DEEP_FRACTION * np.exp(-dz / DEEP_CORRELATION)


#: sea-level fall rates that parachutes and bare burst balloons give (m/s)
FALL_RATE_RANGE = (2.0, 15.0)
#: the sea-level descent rate assumed when none is given or observed (m/s)
DEFAULT_DESCENT = 5.0
#: prior of the sea-level fall rate, ln v0 ~ N(ln 5 m/s, 0.5): parachutes and bare burst balloons fall at 2-15 m/s
#: at sea level (FALL_RATE_RANGE, the prior's 95% range: 1.9-13.6 m/s); amateur payloads aim at about 5 m/s.  A
#: rate given by the user is trusted to 20%
V0_LOG_SD = 0.5
V0_GIVEN_LOG_SD = 0.2
#: prior of the fall law's exponent for an amateur payload under a parachute: a fixed drag area gives 0.5 (the drag
#: law of every balloon predictor); the spread covers a parachute not fully open high up and the remnants of the
#: balloon above it; an observed descent updates it
BETA_PRIOR = (0.5, 0.12)


@dataclass(frozen=True)
class FallPrior:
    """Prior of the fall law v = v0 (rho0/rho) ** beta: ln v0 ~ N(ln ``v0``, ``v0_log_sd``), beta ~ N(``beta``,
    ``beta_sd``), independent; ``source`` says where it comes from (printed in the forecast's notes)."""

    kind: str
    v0: float
    v0_log_sd: float
    beta: float
    beta_sd: float
    source: str

    def given(self, v0: float) -> "FallPrior":
        """The same class with a sea-level rate given by the user (trusted to :data:`V0_GIVEN_LOG_SD`)."""
        return FallPrior(self.kind, float(v0), V0_GIVEN_LOG_SD, self.beta, self.beta_sd,
                         f"the given sea-level rate {float(v0):g} m/s (+- {V0_GIVEN_LOG_SD:.0%}); exponent of the "
                         f"{self.kind} prior")

    def describe(self) -> str:
        return (f"{self.v0:g} m/s at sea level +- {self.v0_log_sd:.0%} (log), exponent {self.beta:g} +- "
                f"{self.beta_sd:g} ({self.source})")


#: an amateur payload (0.3-3 kg) under a parachute chosen for about 5 m/s at the ground: the parachute's drag
#: dominates the falling train, so the fixed-drag-area law (exponent 0.5) with the chosen rate, each with its spread
PAYLOAD_PRIOR = FallPrior("payload", DEFAULT_DESCENT, V0_LOG_SD, BETA_PRIOR[0], BETA_PRIOR[1],
                          "amateur payload under a parachute: the usual drag law and the usual 5 m/s landing")
#: an operational radiosonde (about 0.1 kg) falls with the remnants of its 0.2-0.6 kg balloon, 30-50 m of unwinder
#: string and a small parachute (or none): the train is mostly balloon remnants, whose drag area is not fixed; the
#: six Oakland sondes fell about twice as fast near the ground as an amateur payload but no faster at 30 km (their
#: rate grows with height as rho^-1/3, not rho^-1/2). Fall rates vary widely between stations, with and without
#: parachutes (Ingleby et al. 2022, "On the quality of RS41 radiosonde descent data", AMT 15, 165). No published fit
#: of the law was found: the centre and spread are CALIBRATED ON THE SIX OAKLAND RS41 DESCENTS in shared/
#: (whole-descent fits: v0 5.6-16.4 m/s, geometric mean 10.2, log sd 0.36; beta 0.18-0.47, mean 0.33, sd 0.10),
#: widened for a sample of six and for other stations' parachutes (v0 log sd 0.5, beta sd 0.12).
#: validation/track_oakland.py evaluates it leave-one-out (each flight with the prior of the other five).
RADIOSONDE_PRIOR = FallPrior("radiosonde", 10.0, 0.5, 0.33, 0.12,
                             "radiosonde train: calibrated on six Oakland RS41 descents, see RADIOSONDE_PRIOR")
FALL_PRIORS = {"payload": PAYLOAD_PRIOR, "radiosonde": RADIOSONDE_PRIOR}


#: words that name a radiosonde in a telemetry source (file names of sonde receivers, SondeHub frames' type)
SONDE_WORDS = {"rs41", "rs92", "rs41sg", "rs41sgp", "dfm", "dfm09", "dfm17", "m10", "m20", "lms6", "imet", "imet4",
               "ims100", "rs11g", "mrz", "meisei", "sonde", "radiosonde", "sondehub"}


def payload_kind(fixes) -> tuple[str, str]:
    """('radiosonde' or 'payload', why) from what the telemetry's source says: a radiosonde's type or a sonde
    receiver's file name (e.g. ``..._RS41_..._sonde.kmz``, SondeHub frames) make it a radiosonde; anything else is
    an amateur payload under a parachute."""
    for o in fixes[:1] + fixes[-1:]:
        text = " ".join([o.source or "", o.label or ""] + [str(o.extra.get(k, "")) for k in ("type", "subtype")])
        words = set(re.split(r"[^a-z0-9]+", text.lower()))
        hit = sorted(words & SONDE_WORDS)
        if hit and not o.extra.get("payload_callsign"):
            return "radiosonde", f"the telemetry's source names a radiosonde ('{hit[0]}')"
    return "payload", "nothing in the telemetry's source names a radiosonde"


#: a descent longer than this is said as a warning (s)
LONG_DESCENT = 3 * 3600.0


def model_error(field_, at_time) -> tuple[float, str]:
    """Error (m/s per component) of the wind field's winds at ``at_time`` and a sentence saying why."""
    if field_.kind == "climatology":
        return 10.0, "a monthly climatology is off by about 10 m/s per component on a given day"
    if field_.kind == "forecast":
        lead = max(float(np.max(at_time)) - float(field_.knots[0]), 0.0) / 86400.0
        return 2.5 + 1.2 * lead, f"a forecast {lead:.1f} days after its first time: 2.5 m/s + 1.2 m/s per day"
    if field_.kind == "analysis":
        return 2.0, "an analysis/reanalysis: about 2 m/s per component"
    return 3.0, "wind data of unstated kind: 3 m/s per component assumed"


@dataclass
class SoundingState:
    t: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    alt: np.ndarray
    phase: str  # "ascent", "descent" or "landed"
    burst_index: int | None  # the last fix of the climb (None while climbing)
    ascent_rate: float
    descent_rate_sea_level: float | None
    burst_altitude: float | None = None  # estimated burst altitude (m) once falling
    descent_rate_sd: float = 0.1  # relative spread of the fitted fall rate
    descent_fixes: np.ndarray | None = None  # indices of the fixes used as the descent (a rise left out)
    notes: list[str] = field(default_factory=list)
    #: the fall law fitted to the descent, v(z) = v0 (rho0 / rho(z)) ** beta: v0 (m/s), beta and their spreads
    fall_v0: float | None = None
    fall_beta: float = 0.5  # BETA_PRIOR until a fall is seen
    fall_beta_sd: float = 0.12
    fall_pivot: float | None = None  # altitude (m) at which the fall rate was observed (the fit's tail)
    #: the fall law's posterior: mean of (ln v0, beta) and their covariance (:func:`fall_law_posterior`)
    fall_posterior: tuple | None = None


@dataclass
class Telemetry:
    t: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    alt: np.ndarray
    fixes: list
    notes: list[str]
    rejected: list[str]


def telemetry(observations) -> Telemetry:
    """Screened timed fixes with altitudes as arrays, in time order (see :func:`~.observations.screen`)."""
    obs = screen(collect(observations))
    fx = [o for o in obs if o.kind == "fix" and o.has_altitude]
    if len(fx) < 2:
        raise InputError(f"a sounding needs at least two timed fixes with altitudes at different times; got {len(fx)}"
                         " (use --mode float for positions without altitudes)")
    a = [np.array([getattr(o, k) for o in fx]) for k in ("time", "lat", "lon", "alt")]
    return Telemetry(*a, fx, list(obs.notes), list(obs.rejected))


def telemetry_arrays(observations):
    """Timed fixes with altitudes as arrays (t, lat, lon, alt), screened and sorted."""
    tm = telemetry(observations)
    return tm.t, tm.lat, tm.lon, tm.alt


def fall_time(z_top, z_bottom, v0, beta=0.5):
    """Seconds to fall from ``z_top`` to ``z_bottom`` (m) at sea-level rate ``v0``, v = v0 (rho0/rho) ** beta."""
    if z_top <= z_bottom:
        return 0.0
    z = np.linspace(z_bottom, z_top, 200)
    rate = v0 * (atm.RHO0 / atm.density(z)) ** beta
    return float(np.trapezoid(1.0 / rate, z)) if hasattr(np, "trapezoid") else float(np.trapz(1.0 / rate, z))


def _rates(t, z, span=30.0):
    """Vertical rates over about ``span`` seconds (i -> first j with t_j >= t_i + span), at their mid altitudes.

    Spans shorter than half of ``span`` (the last fixes of a series: their rate over a second or two is mostly the
    altitude's noise, 30 m per fix for GPS) are left out, unless the whole series is that short."""
    i = np.arange(t.size)
    j = np.minimum(np.searchsorted(t, t + span), t.size - 1)
    ok = j > i
    if t.size >= 2:
        ok &= t[j] - t[i] >= 0.5 * min(span, float(t[-1] - t[0]))
    i, j = i[ok], j[ok]
    return (z[j] - z[i]) / (t[j] - t[i]), 0.5 * (z[i] + z[j]), i, j


def analyse(t, lat, lon, alt, *, window=600.0, default_descent=5.0, fixes=None,
            prior_log_sd=V0_LOG_SD, prior: FallPrior | None = None) -> SoundingState:
    """Phase, burst, ascent rate and (if falling) sea-level descent rate of a sounding so far.  ``prior``: the fall
    law's prior (:class:`FallPrior`); without it, ``default_descent`` with ``prior_log_sd`` in log and
    :data:`BETA_PRIOR`."""
    if prior is None:
        prior = FallPrior("payload", float(default_descent), float(prior_log_sd), BETA_PRIOR[0], BETA_PRIOR[1],
                          "given to analyse")
    default_descent = prior.v0
    notes: list[str] = []
    name = (lambda k: where(fixes[k])) if fixes is not None else (lambda k: f"fix {k + 1}")
    k_top = int(np.argmax(alt))
    falling = alt[k_top] - alt[-1] > 300.0 and k_top < alt.size - 1
    rate, zm, ri, rj = _rates(t, alt)
    up = (t[rj] <= t[k_top]) & (t[ri] >= t[k_top] - window) & (rate > 0)
    if not up.any():
        up = (t[rj] <= t[k_top]) & (rate > 0)
    ascent = float(np.median(rate[up])) if up.any() else 5.0
    if not up.any():
        notes.append("no climb observed: an ascent rate of 5 m/s is assumed")
    if not falling:
        return SoundingState(t, lat, lon, alt, "ascent", None, ascent, None, notes=notes, fall_beta=prior.beta,
                             fall_beta_sd=prior.beta_sd)
    # the descent: fixes after the climb that do not rise again (a rise is said and left out)
    after = np.arange(k_top + 1, alt.size)
    low = np.minimum.accumulate(alt[after])
    rises = after[alt[after] > low + 300.0]
    if rises.size:
        names = "; ".join(name(k) for k in rises[:6]) + (f" and {rises.size - 6} more" if rises.size > 6 else "")
        notes.append(f"warning: the descent rises again at {rises.size} fixes ({names}); they are left out of the "
                     "descent rate and the winds")
    desc = np.setdiff1d(after, rises)
    # landed: the fall has stopped (the last fixes, over 30 s or more, no longer fall) low down
    still = desc[t[desc] >= t[desc[-1]] - 60.0]
    stopped = (still.size >= 2 and t[still[-1]] - t[still[0]] >= 30.0
               and abs(alt[still[-1]] - alt[still[0]]) / (t[still[-1]] - t[still[0]]) < 1.0)
    phase = "landed" if stopped and alt[desc[-1]] < 6000.0 else "descent"
    d0, dsd = None, 0.1
    if desc.size >= 2:
        d0, dsd, _ = sea_level_rate(t[desc], alt[desc], 0.5, window)
    fv0, beta, beta_sd, pivot, post = _fit_fall_law(t[desc], alt[desc], window, prior) \
        if desc.size >= 2 else (None, prior.beta, prior.beta_sd, None, None)
    # where the climb ended: the last climbing fix, and above it if the next fix already falls (reception lost)
    burst = float(alt[k_top])
    k1 = int(desc[0]) if desc.size else k_top + 1
    gap = float(t[k1] - t[k_top])
    climbed = k_top > 0 and alt[k_top] > alt[k_top - 1]
    if gap > 30.0 and ascent > 0.5 and climbed:
        ok = fv0 is not None and FALL_RATE_RANGE[0] <= fv0 <= FALL_RATE_RANGE[1]
        v, b = (math.exp(post[0][0]), beta) if ok else (default_descent, prior.beta)
        lo, hi = 0.0, gap
        for _ in range(50):  # climb for tau at the ascent rate, then fall to the next fix in the rest of the gap
            tau = 0.5 * (lo + hi)
            if tau + fall_time(alt[k_top] + ascent * tau, alt[k1], v, b) > gap:
                hi = tau
            else:
                lo = tau
        burst = float(alt[k_top] + ascent * lo)
        notes.append(f"reception was lost {gap / 60:.1f} min before the first falling fix while still climbing at "
                     f"{ascent:.1f} m/s at {alt[k_top]:.0f} m: burst estimated at {burst:.0f} m (climb at the ascent "
                     "rate, then a drag fall, meeting both fixes)")
    return SoundingState(t, lat, lon, alt, phase, k_top, ascent, d0, burst, dsd, desc, notes, fv0, beta, beta_sd,
                         pivot, post)


#: a minute's fall rate departs from any power law by about 5% (the pendulum, turbulence, vertical air motion)
PIECE_LOG_SD = 0.05
#: how far the fall departs from one power law, per unit of ln(rho0/rho) between a piece and the latest piece (about
#: 8 km of height low down, 6.5 km in the stratosphere)
LAW_DRIFT = 0.1
#: the law's misfit is correlated in height: at most one independent piece per this many metres fallen
PIECE_HEIGHT = 1000.0


def fall_pieces(td, zd, *, span=60.0):
    """The fall cut into consecutive, non-overlapping pieces of at least ``span`` s (or fix to fix when the fixes
    are sparser): (x = ln(rho0/rho) at each piece's middle, y = ln of its mean fall rate, metres fallen)."""
    td, zd = np.asarray(td, float), np.asarray(zd, float)
    ends = [0]
    while True:
        j = int(np.searchsorted(td, td[ends[-1]] + span))
        if j >= td.size:
            break
        ends.append(j)
    if ends[-1] != td.size - 1:
        if len(ends) > 1 and td[-1] - td[ends[-1]] < 0.5 * span:
            ends[-1] = td.size - 1  # a short remainder joins the last piece
        else:
            ends.append(td.size - 1)
    i, j = np.array(ends[:-1]), np.array(ends[1:])
    dz, dt = zd[i] - zd[j], td[j] - td[i]
    ok = (dz > 0) & (dt > 0)
    i, j, dz, dt = i[ok], j[ok], dz[ok], dt[ok]
    x = np.log(atm.RHO0 / atm.density(0.5 * (zd[i] + zd[j])))
    return x, np.log(dz / dt), dz


def fall_law_posterior(td, zd, *, prior_v0=DEFAULT_DESCENT, prior_log_sd=V0_LOG_SD, sigma_z=30.0,
                       prior: FallPrior | None = None):
    """The fall law v = v0 (rho0/rho) ** beta from a descent and a prior: (ln v0, beta) posterior mean (2,) and
    covariance (2, 2), or None without a fall.

    Bayesian linear regression of each piece's ln(rate) on x = ln(rho0/rho) (:func:`fall_pieces`), with the prior
    ln v0 ~ N(ln ``prior_v0``, ``prior_log_sd``) and beta ~ :data:`BETA_PRIOR` (or ``prior``, a
    :class:`FallPrior`, for both): a fall seen only high up says
    little about the rate near the ground (x near 0), and how much of a fast fall up there is a fast parachute
    (v0) and how much a slowly growing drag (beta) is shared by the two priors.  Each piece's noise: its two end
    altitudes (``sigma_z``) over the height fallen and :data:`PIECE_LOG_SD`; pieces count at most one per
    :data:`PIECE_HEIGHT` fallen; a scatter larger than that noise widens the posterior."""
    x, y, dz = fall_pieces(td, zd)
    if x.size == 0:
        return None
    # the law is a local description: a piece fallen far above the latest one says less about the fall still to
    # come (the train settles after burst: the parachute opens, remnants tangle and free themselves)
    var = (math.sqrt(2.0) * sigma_z / dz) ** 2 + PIECE_LOG_SD ** 2 + (LAW_DRIFT * (x - x[-1])) ** 2
    w = 1.0 / var
    cap = max(float(dz.sum()) / PIECE_HEIGHT, 1.0)
    if x.size > cap:
        w *= cap / x.size
    X = np.stack([np.ones_like(x), x], 1)
    if prior is None:
        prior = FallPrior("payload", float(prior_v0), float(prior_log_sd), BETA_PRIOR[0], BETA_PRIOR[1], "given")
    m0 = np.array([math.log(prior.v0), prior.beta])
    P0 = np.diag([1.0 / prior.v0_log_sd ** 2, 1.0 / prior.beta_sd ** 2])

    def solve(wt):
        A = P0 + (X * wt[:, None]).T @ X
        cov = np.linalg.inv(A)
        return cov @ (P0 @ m0 + X.T @ (wt * y)), cov
    m, cov = solve(w)
    if x.size >= 3:
        chi2 = float(np.sum(w * (y - X @ m) ** 2) / max(np.sum(w) / np.max(w) - 2.0, 1.0))
        if chi2 > 1.0:
            m, cov = solve(w / chi2)
    return m, cov


def _fit_fall_law(td, zd, window, prior: FallPrior):
    """(v0 m/s at sea level from the last ``window`` s at the fitted exponent: the data alone, for the physics
    check; beta, its sd; the altitude observed; the posterior (ln v0, beta) mean and covariance)."""
    post = fall_law_posterior(td, zd, prior=prior)
    if post is None:
        return None, prior.beta, prior.beta_sd, None, None
    m, cov = post
    beta = float(m[1])
    v0, _, pivot = sea_level_rate(td, zd, beta, window)
    return v0, beta, float(math.sqrt(cov[1, 1])), pivot, post


#: altitude error of one fix (m) in the fall rate's spread: GPS altitudes
FIX_SIGMA_Z = 15.0


def sea_level_rate(td, zd, beta, window=600.0):
    """The sea-level fall rate v0 of the law v = v0 (rho0/rho) ** beta over the last ``window`` s of a descent,
    its relative spread and the altitude (m) at the middle of that time (None, 0.1, None without a fall).

    v0 is the fall's time-integral: the time the law takes over the altitude fallen, set equal to the time the
    fixes took, ``v0 = integral (rho/rho0) ** beta dz / (t_last - t_first)``; it uses the span's two ends only,
    so closely spaced fixes (a second apart: their rate is mostly the altitude's noise) weigh by the time they
    cover, not by their number.  The spread: the two end altitudes' error over the height fallen, the scatter of
    the 30 s rates within the span around the law (the fall law's own misfit and the pendulum), and 8% besides."""
    td, zd = np.asarray(td, float), np.asarray(zd, float)
    tail = td >= td[-1] - min(window, td[-1] - td[0])
    if tail.sum() < 2:
        tail[-2:] = True
    t, z = td[tail], zd[tail]
    fallen, span = float(z[0] - z[-1]), float(t[-1] - t[0])
    if fallen <= 0.0 or span <= 0.0:
        return None, 0.1, None
    zz = np.linspace(z[-1], z[0], 200)
    f = (atm.density(zz) / atm.RHO0) ** beta
    integral = float(np.sum(0.5 * (f[1:] + f[:-1]) * np.diff(zz)))
    v0 = integral / span
    sd2 = (math.sqrt(2.0) * FIX_SIGMA_Z / fallen) ** 2 + 0.08 ** 2
    r, zm, ri, rj = _rates(t, z)
    ok = r < 0
    if ok.sum() >= 3:
        each = -r[ok] * (atm.density(zm[ok]) / atm.RHO0) ** beta
        dev = np.abs(np.log(each / v0))
        n_eff = max(span / 60.0, 1.0)
        sd2 += (1.4826 * float(np.median(dev))) ** 2 / n_eff
    pivot = float(np.interp(0.5 * (t[0] + t[-1]), t, z))
    return float(v0), float(np.clip(math.sqrt(sd2), 0.1, 0.5)), pivot


def fall_stages(z_top, z_end, v0, beta, *, band=500.0):
    """The descent as rate stages, each at the fall law's rate v0 (rho0/rho) ** beta at its middle (``z_top``,
    ``v0``, ``beta``: scalars or per-member arrays).  Every member gets the same number of stages, of at most
    ``band`` m, from its own ``z_top`` down to ``z_end``; the last ends at ``z_end`` with the event 'landing'."""
    from ..flight import Stage

    top = np.asarray(z_top, float)
    k = max(int(math.ceil(float(np.max(top - z_end)) / band)), 1)
    frac = np.arange(k + 1) / k
    edges = top[..., None] - (top[..., None] - z_end) * frac  # [..., k + 1]
    stages = []
    for j in range(k):
        a, b = edges[..., j], edges[..., j + 1]
        mid = 0.5 * (a + b)
        rate = -np.asarray(v0, float) * (atm.RHO0 / atm.density(mid)) ** np.asarray(beta, float)
        last = j == k - 1
        stages.append(Stage("descent" if last else f"descent {j + 1}/{k}", "rate", (rate,), "below",
                            z_end if last else b, "landing" if last else "band"))
    return stages


def measured_winds(t, lat, lon, alt, *, layer=LAYER, smooth=60.0):
    """Winds (u, v m/s), their mean time and the measured length per altitude layer, from the track's displacements.

    Velocities are taken over about ``smooth`` seconds (i -> first j with t_j >= t_i + smooth; consecutive fixes
    when they are sparser), and each one is spread over the layers its altitude span covers, weighted by the
    overlap.  Returns (layer centres m, u, v, time s, metres of track in the layer) for the layers holding data.
    """
    if t.size < 2:
        return (np.zeros(0),) * 5
    i = np.arange(t.size)
    j = np.minimum(np.searchsorted(t, t + smooth), t.size - 1)
    ok = j > i
    i, j = i[ok], j[ok]
    if i.size == 0:
        return (np.zeros(0),) * 5
    dt = t[j] - t[i]
    x, y = G.local_offsets(lat[j], lon[j], lat[i], lon[i])
    u, v = x / dt, y / dt
    z0 = np.minimum(alt[i], alt[j])
    z1 = np.maximum(alt[i], alt[j])
    tm = 0.5 * (t[i] + t[j])
    edges = np.arange(math.floor(max(z0.min(), 0.0) / layer) * layer, z1.max() + layer, layer)
    lo, hi = edges[:-1], edges[1:]
    # overlap of each velocity's altitude span with each layer; a span thinner than 10 m counts as 10 m around it
    pad = np.maximum(0.0, 10.0 - (z1 - z0)) / 2
    a, b = (z0 - pad)[:, None], (z1 + pad)[:, None]
    w = np.clip(np.minimum(b, hi) - np.maximum(a, lo), 0.0, None)
    w /= np.maximum((b - a), 1e-9)
    tot = w.sum(0)
    keep = tot > 0.05
    if not keep.any():
        return (np.zeros(0),) * 5
    wk = w[:, keep]
    s = wk.sum(0)
    centres = 0.5 * (lo + hi)[keep]
    return centres, (wk * u[:, None]).sum(0) / s, (wk * v[:, None]).sum(0) / s, (wk * tm[:, None]).sum(0) / s, \
        (wk * (b - a)).sum(0)


@dataclass
class WindProfile:
    """The winds the balloon will meet (levels m, u/v m/s), the error sd per component and where each came from."""

    levels: np.ndarray
    u: np.ndarray
    v: np.ndarray
    sd: np.ndarray
    measured: np.ndarray  # bool: the balloon measured this layer
    weight: np.ndarray  # weight of the measurements (1 where measured, 0 where the model alone)
    notes: list[str] = field(default_factory=list)


def _pass_winds(t, lat, lon, alt, idx, levels, meet):
    """One pass's winds on ``levels``: values, error variance at the meeting times, distance to the nearest
    measured layer (m)."""
    zc, uo, vo, to, _ = measured_winds(t[idx], lat[idx], lon[idx], alt[idx])
    if zc.size == 0:
        return None
    ui, vi, ti = (np.interp(levels, zc, a) for a in (uo, vo, to))
    dz = np.abs(levels[:, None] - zc[None, :]).min(1)
    age = np.abs(meet - ti)
    var = MEASURED_SD ** 2 + CHANGE_SD0 ** 2 + (CHANGE_GROWTH * age) ** 2 + (EXTRAPOLATION_GROWTH * dz) ** 2
    return {"u": ui, "v": vi, "t": ti, "dz": dz, "var": var, "zmin": zc.min(), "zmax": zc.max(), "zc": zc,
            "uo": uo, "vo": vo, "to": to}


def wind_profile(field_, st: SoundingState, meet, *, top, layer=LAYER, lat0=None, lon0=None) -> WindProfile:
    """The winds the balloon will meet: measured first, the model only where nothing was measured.

    ``meet(levels)`` gives the time (s) at which the balloon will be at each level.  See the module docstring.
    """
    from .motion import wind_at

    t, lat, lon, alt = st.t, st.lat, st.lon, st.alt
    levels = np.arange(0.0, top + layer, layer)
    tm = meet(levels)
    la0 = float(lat[-1]) if lat0 is None else lat0
    lo0 = float(lon[-1]) if lon0 is None else lon0
    um, vm = wind_at(field_, tm, np.full(levels.size, la0), np.full(levels.size, lo0), levels)
    sm, why = model_error(field_, tm)
    notes = []
    asc_idx = np.arange(0, (st.burst_index + 1) if st.burst_index is not None else t.size)
    passes = {"ascent": _pass_winds(t, lat, lon, alt, asc_idx, levels, tm)}
    if st.descent_fixes is not None and st.descent_fixes.size >= 2:
        passes["descent"] = _pass_winds(t, lat, lon, alt, st.descent_fixes, levels, tm)
    passes = {k: p for k, p in passes.items() if p is not None}
    asc, dsc = passes.get("ascent"), passes.get("descent")
    if asc is not None and dsc is not None:
        # the descent re-measured upper layers: their difference from the ascent corrects the ascent winds below
        both = (levels >= max(asc["zmin"], dsc["zmin"])) & (levels <= min(asc["zmax"], dsc["zmax"])) \
            & (asc["dz"] < layer) & (dsc["dz"] < layer)
        if both.sum() >= 2:
            zb = levels[both]
            near = zb <= zb.min() + 4000.0  # the lowest 4 km re-measured
            zref = float(zb[near].mean())
            du = float(np.mean((dsc["u"] - asc["u"])[both][near]))
            dv = float(np.mean((dsc["v"] - asc["v"])[both][near]))
            # optimal interpolation of the change: every re-measured layer of the lowest 4 km an observation of it,
            # the change's covariance two-scale, each layer's difference noisy by both passes' measurement error
            zo = zb[near]
            io = np.flatnonzero(both)[near]
            c_o = np.sqrt(CHANGE_SD0 ** 2 + (CHANGE_GROWTH * np.abs(dsc["t"] - asc["t"])[io]) ** 2)
            c_z = np.sqrt(np.maximum(asc["var"] - MEASURED_SD ** 2 - (EXTRAPOLATION_GROWTH * asc["dz"]) ** 2, 0.0))
            B = c_o[:, None] * c_o[None, :] * error_correlation(zo[:, None] - zo[None, :])
            B[np.diag_indices_from(B)] += 2 * MEASURED_SD ** 2
            cross = c_z[:, None] * c_o[None, :] * error_correlation(levels[:, None] - zo[None, :])
            Kt = np.linalg.solve(B, cross.T)  # the gains, one column per level
            below = levels < dsc["zmin"]
            asc["u"] = np.where(below, asc["u"] + Kt.T @ (dsc["u"] - asc["u"])[io], asc["u"])
            asc["v"] = np.where(below, asc["v"] + Kt.T @ (dsc["v"] - asc["v"])[io], asc["v"])
            red = np.minimum(np.sum(cross * Kt.T, axis=1), 0.95 * c_z ** 2)
            asc["var"] = np.where(below, asc["var"] - red, asc["var"])
            notes.append(f"the descent re-measured {both.sum() * layer / 1000:.1f} km of the ascent's layers; its "
                         f"winds differ there by ({du:+.1f}, {dv:+.1f}) m/s (east, north) near {zref / 1000:.1f} km: "
                         "the ascent winds below are corrected by optimal interpolation with the change's covariance "
                         "in height "
                         f"({DEEP_FRACTION:.0%} of the change correlated over {DEEP_CORRELATION / 1000:g} km, the "
                         f"rest over {ERROR_CORRELATION / 1000:g} km)")
    measured = np.zeros(levels.size, bool)
    for p in passes.values():
        measured |= p["dz"] < layer
    num_u, num_v, den = np.zeros(levels.size), np.zeros(levels.size), np.zeros(levels.size)
    for p in passes.values():
        use = (p["dz"] < layer) | ~measured  # where measured, only the passes that measured it
        w = np.where(use, 1.0 / p["var"], 0.0)
        num_u += w * p["u"]
        num_v += w * p["v"]
        den += w
    wm = np.where(measured, 0.0, 1.0 / sm ** 2)
    u = (num_u + wm * um) / (den + wm)
    v = (num_v + wm * vm) / (den + wm)
    sd = np.sqrt(1.0 / (den + wm))
    weight = den / (den + wm)
    if passes:
        lo_m = min(p["zmin"] for p in passes.values())
        hi_m = max(p["zmax"] for p in passes.values())
        notes.insert(0, f"winds measured by the balloon used as measured from {lo_m:,.0f} to {hi_m:,.0f} m "
                        f"({measured.sum() * layer / 1000:.1f} km of layers); outside them the nearest measurement "
                        f"and '{field_.source}' ({field_.kind}, {sm:.1f} m/s: {why}) weighted by their errors; "
                        f"model weight above {hi_m:,.0f} m reaches {1 - weight[-1]:.0%} at {levels[-1]:,.0f} m")
    else:
        notes.insert(0, f"no winds measured yet: '{field_.source}' ({field_.kind}) alone, {sm:.1f} m/s ({why})")
    return WindProfile(levels, u, v, sd, measured, weight, notes)


def measured_field(observations, wind="climatology"):
    """The sounding's own wind profile (measured first, the model where nothing was measured; all layers as of the
    last fix) as a wind field around the flight: the particle filter's motion model in sounding mode."""
    from ..wind import open_wind

    tm = telemetry(observations)
    st = analyse(tm.t, tm.lat, tm.lon, tm.alt, fixes=tm.fixes)
    field_ = open_wind(wind, time=tm.t[-1])
    p = wind_profile(field_, st, lambda z: np.full(np.size(z), float(tm.t[-1])), top=float(tm.alt.max()) + 2000.0)
    lat0 = 0.5 * (float(tm.lat.min()) + float(tm.lat.max()))
    lon0 = 0.5 * (float(tm.lon.min()) + float(tm.lon.max()))
    return open_wind(profile_field(p.levels, p.u, p.v, lat0, lon0, half_width=8.0,
                                   title="winds measured by the balloon"))


def blended_profile(field_, t, lat, lon, alt, at_time, *, top, layer=LAYER, **_):
    """(levels m, u, v, weight of the measurement) of :func:`wind_profile` for telemetry arrays, all layers met at
    ``at_time`` (kept for callers of the first version)."""
    st = analyse(t, lat, lon, alt)
    p = wind_profile(field_, st, lambda z: np.full(np.size(z), float(at_time)), top=top, layer=layer)
    return p.levels, p.u, p.v, p.weight


def profile_field(levels, u, v, lat0, lon0, *, half_width=8.0, resolution=0.5, title="blended profile"):
    """A steady CF wind Dataset, horizontally uniform within ``half_width`` degrees of (lat0, lon0)."""
    lat = np.arange(max(-89.5, lat0 - half_width), min(89.5, lat0 + half_width) + 1e-9, resolution)
    lon = np.arange(lon0 - half_width / max(math.cos(math.radians(lat0)), 0.2),
                    lon0 + half_width / max(math.cos(math.radians(lat0)), 0.2) + 1e-9, resolution)
    shape = (levels.size, lat.size, lon.size)
    return xr.Dataset(
        {"eastward_wind": (("altitude", "latitude", "longitude"),
                           np.broadcast_to(u[:, None, None], shape).astype(np.float32),
                           {"standard_name": "eastward_wind", "units": "m s-1"}),
         "northward_wind": (("altitude", "latitude", "longitude"),
                            np.broadcast_to(v[:, None, None], shape).astype(np.float32),
                            {"standard_name": "northward_wind", "units": "m s-1"})},
        coords={"altitude": ("altitude", levels, {"standard_name": "altitude", "units": "m", "positive": "up"}),
                "latitude": ("latitude", lat, {"standard_name": "latitude", "units": "degrees_north"}),
                "longitude": ("longitude", lon, {"standard_name": "longitude", "units": "degrees_east"})},
        attrs={"title": title, "Conventions": "CF-1.11"},
    )


# -- the ground --------------------------------------------------------------------------------------------------------
class Ground:
    """Where the descent ends: a constant altitude (m) or a digital elevation model (a GeoTIFF in metres, any CRS
    that rasterio can transform from EPSG:4326; read through the optional ``raster`` extra)."""

    def __init__(self, altitude=0.0, dem=None):
        self.altitude = float(altitude)
        if not math.isfinite(self.altitude) or not -500.0 <= self.altitude <= 50000.0:
            raise InputError(f"landing altitude {float(altitude)!r} m is impossible; expected the ground's height "
                             "(or an altitude at which to stop), -500..50000 m")
        self.dem = None
        self.label = f"{self.altitude:,.0f} m"
        if dem is not None:
            self._open(dem)

    def _open(self, path):
        from pathlib import Path

        path = Path(path)
        if not path.is_file():
            raise InputError(f"elevation model '{path}' does not exist; expected a GeoTIFF of ground heights in m")
        try:
            import rasterio
        except ImportError:
            raise InputError("reading an elevation model needs rasterio: pip install 'stratotrack[raster]'") from None
        try:
            with rasterio.open(path) as src:
                band = src.read(1, masked=True).astype(float)
                self._crs = src.crs
                self._transform = src.transform
        except rasterio.errors.RasterioError as exc:
            raise InputError(f"elevation model '{path}' could not be read as a raster ({exc})") from None
        self.dem = np.ma.filled(band, np.nan)
        if not np.isfinite(self.dem).any():
            raise InputError(f"elevation model '{path}' holds no valid height")
        self.label = f"the elevation model {path.name}"
        self.path = path

    @property
    def lowest(self) -> float:
        if self.dem is None:
            return self.altitude
        return float(np.nanmin(self.dem))

    def height(self, lat, lon):
        """Ground height (m) under points; outside the model (or where it has no data) the constant altitude."""
        lat = np.asarray(lat, float)
        lon = np.asarray(lon, float)
        if self.dem is None:
            return np.full(lat.shape, self.altitude)
        from rasterio.transform import rowcol
        from rasterio.warp import transform as warp

        x, y = lon.ravel(), lat.ravel()
        if self._crs is not None and not self._crs.is_geographic:
            x, y = warp("EPSG:4326", self._crs, x.tolist(), y.tolist())
        r, c = rowcol(self._transform, np.asarray(x), np.asarray(y))
        r, c = np.asarray(r), np.asarray(c)
        ok = (r >= 0) & (r < self.dem.shape[0]) & (c >= 0) & (c < self.dem.shape[1])
        out = np.full(r.shape, self.altitude)
        vals = self.dem[np.where(ok, r, 0), np.where(ok, c, 0)]
        out = np.where(ok & np.isfinite(vals), vals, out)
        return out.reshape(lat.shape)


def _ground_crossing(ds, ground: Ground, t_from):
    """Per trajectory: the first output point at or below the ground after ``t_from`` (interpolated), its index
    range, and the time.  Returns (lat, lon, alt, time s, mask of outputs used[k, j])."""
    t = (ds.time.values - np.datetime64(0, "ns")) / np.timedelta64(1, "s")
    la, lo, z = ds.latitude.values, ds.longitude.values, ds.altitude.values
    n, m = la.shape
    g = ground.height(np.nan_to_num(la), np.nan_to_num(lo))
    valid = np.isfinite(z) & np.isfinite(t)
    falling = np.zeros_like(valid)
    falling[:, 1:] = z[:, 1:] < z[:, :-1]
    below = valid & (z <= g + 1e-6) & (t > t_from) & falling
    first = np.where(below.any(1), below.argmax(1), valid.sum(1) - 1)
    rows = np.arange(n)
    k = np.maximum(first, 1)
    z1, z0 = z[rows, k], z[rows, k - 1]
    g1, g0 = g[rows, k], g[rows, k - 1]
    d0, d1 = z0 - g0, z1 - g1
    f = np.where(below.any(1) & (d0 > d1), np.clip(d0 / np.maximum(d0 - d1, 1e-9), 0, 1), 1.0)
    lat = la[rows, k - 1] + f * (la[rows, k] - la[rows, k - 1])
    dlon = wrap_longitude(lo[rows, k] - lo[rows, k - 1])
    lon = lo[rows, k - 1] + f * dlon
    alt = z0 + f * (z1 - z0)
    tt = t[rows, k - 1] + f * (t[rows, k] - t[rows, k - 1])
    return lat, wrap_longitude(lon), alt, tt, k, f


@dataclass
class LandingForecast:
    time: float
    lat: float
    lon: float
    alt: float
    state: SoundingState
    ascent_rate: float
    burst_altitude: float
    descent_rate: float
    trajectory: xr.Dataset
    members: dict = field(default_factory=dict)  # landing spread: lat, lon arrays
    notes: list[str] = field(default_factory=list)
    profile: WindProfile | None = None
    rejected: list[str] = field(default_factory=list)

    def radii(self):
        """(r50, r90) km of the members' landings around the forecast landing."""
        la, lo = self.members["lat"], self.members["lon"]
        x, y = G.local_offsets(la, lo, self.lat, self.lon)
        r = np.hypot(x, y) / 1000.0
        return float(np.percentile(r, 50)), float(np.percentile(r, 90))

    def to_dict(self) -> dict:
        d = {"phase": self.state.phase, "landing_time": str(from_epoch_seconds(self.time))[:19] + "Z",
             "landing_latitude": self.lat, "landing_longitude": self.lon, "landing_altitude_m": self.alt,
             "ascent_rate_m_s": self.ascent_rate, "burst_altitude_m": self.burst_altitude,
             "descent_rate_sea_level_m_s": self.descent_rate, "notes": self.notes}
        if self.members and np.size(self.members["lat"]) > 1:
            d["landing_r50_km"], d["landing_r90_km"] = self.radii()
            d["members"] = int(np.size(self.members["lat"]))
        if self.state.fall_v0 is not None:
            d["fall_law"] = {"v0_m_s": self.state.fall_v0, "beta": self.state.fall_beta,
                             "beta_sd": self.state.fall_beta_sd, "observed_at_m": self.state.fall_pivot}
        if self.profile is not None:
            p = self.profile
            d["winds"] = {"measured_layers_km": float(p.measured.sum() * (p.levels[1] - p.levels[0]) / 1000.0),
                          "measured_from_m": float(p.levels[p.measured].min()) if p.measured.any() else None,
                          "measured_to_m": float(p.levels[p.measured].max()) if p.measured.any() else None,
                          "model_weight_max": float(1.0 - p.weight.min())}
        if self.rejected:
            d["rejected"] = list(self.rejected)
        return d


def _meet_function(now, alt_now, burst, ascent, v0, beta, phase):
    """Time (s) at which the balloon will be at each level: climbing to burst (ascent phase), then falling."""
    top = burst if phase == "ascent" else alt_now
    t_burst = now + (max(burst - alt_now, 0.0) / max(ascent, 0.1) if phase == "ascent" else 0.0)
    zz = np.linspace(0.0, max(top, 1.0), 400)
    rate = v0 * (atm.RHO0 / atm.density(zz)) ** beta
    inv = 1.0 / rate
    # time to fall from the top to each level
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (inv[1:] + inv[:-1]) * np.diff(zz))])
    fall_from_top = cum[-1] - cum

    def meet(z):
        z = np.asarray(z, float)
        falling = t_burst + np.interp(z, zz, fall_from_top)
        if phase == "ascent":
            climbing = now + (z - alt_now) / max(ascent, 0.1)
            return np.where((z >= alt_now) & (z <= burst), climbing, np.where(z > top, t_burst, falling))
        return np.where(z > top, t_burst, falling)
    return meet


def two_scale_normal(rng, m, levels):
    """``m`` standard normal profiles on ``levels`` with the two-scale correlation :func:`error_correlation`."""
    return (math.sqrt(1.0 - DEEP_FRACTION) * _correlated_normal(rng, m, levels, ERROR_CORRELATION)
            + math.sqrt(DEEP_FRACTION) * _correlated_normal(rng, m, levels, DEEP_CORRELATION))


def _correlated_normal(rng, m, levels, length):
    """``m`` standard normal profiles on ``levels`` with correlation exp(-dz/length) (AR(1) in height)."""
    x = np.empty((m, levels.size))
    x[:, 0] = rng.standard_normal(m)
    rho = np.exp(-np.diff(levels) / length)
    for k in range(1, levels.size):
        x[:, k] = rho[k - 1] * x[:, k - 1] + math.sqrt(1 - rho[k - 1] ** 2) * rng.standard_normal(m)
    return x


def predict_landing(observations, wind="climatology", *, burst_altitude=None, descent_rate=None,
                    landing_altitude=None, dem=None, members=200, seed=0, step=10.0,
                    payload="auto", fall_prior: FallPrior | None = None) -> LandingForecast:
    """Re-predict the landing of a sounding from its telemetry so far (see the module docstring).

    ``burst_altitude``: used while the balloon still climbs (default 30 km, or 500 m above the current altitude if
    that is higher; spread 1.5 km when given, 3 km when assumed); ``descent_rate``: the sea-level descent rate used
    until a fall has been observed (spread 20% when given; the payload class's prior when not).
    ``landing_altitude`` (m) or ``dem`` (a GeoTIFF of ground heights) end the descent.
    ``members``: the landing ensemble (member 0 is the unperturbed forecast).  ``payload``: what falls, which sets
    the fall law's prior: 'payload' (an amateur payload under a parachute, :data:`PAYLOAD_PRIOR`), 'radiosonde'
    (:data:`RADIOSONDE_PRIOR`) or 'auto' (:func:`payload_kind`, said in the notes); ``fall_prior`` (a
    :class:`FallPrior`) replaces the class's prior (e.g. a station's own, or leave-one-out in the validation).
    """
    from ..api import predict
    from ..flight import Profile, Stage
    from ..wind import open_wind

    given = descent_rate is not None
    descent_rate = float(descent_rate) if given else DEFAULT_DESCENT
    if not (math.isfinite(descent_rate) and 0.5 <= descent_rate <= 50.0):
        raise InputError(f"descent rate {descent_rate!r} m/s is invalid; expected a sea-level rate of 0.5-50 m/s")
    tm = telemetry(observations)
    t, lat, lon, alt = tm.t, tm.lat, tm.lon, tm.alt
    if payload not in ("auto", "payload", "radiosonde"):
        raise InputError(f"payload {payload!r} is unknown; expected 'auto', 'payload' or 'radiosonde'")
    kind, why_kind = payload_kind(tm.fixes) if payload == "auto" else (payload, "given")
    prior = fall_prior if fall_prior is not None else FALL_PRIORS[kind]
    if given:
        prior = prior.given(descent_rate)
    descent_rate = prior.v0
    prior_sd = prior.v0_log_sd
    st = analyse(t, lat, lon, alt, fixes=tm.fixes, prior=prior)
    field_ = open_wind(wind, time=t[-1])
    ground = Ground(0.0 if landing_altitude is None else landing_altitude, dem)
    notes = [n for n in tm.notes if n.startswith("warning")] + list(st.notes)
    if landing_altitude is None and dem is None:
        notes.append("the ground's height was not given: the descent ends at sea level (give --landing-altitude or "
                     "--dem; a landing on higher ground comes sooner and nearer)")
    g_last = float(ground.height(lat[-1], lon[-1]))
    if st.phase == "landed" or (st.phase == "descent" and alt[-1] <= g_last + 50.0):
        notes.append("the telemetry ends on the ground: the landing is the last fix")
        st.phase = "landed"
        return LandingForecast(float(t[-1]), float(lat[-1]), float(lon[-1]), float(alt[-1]), st, st.ascent_rate,
                               st.burst_altitude or float(alt.max()), st.fall_v0 or descent_rate,
                               xr.Dataset(), {}, notes, None, tm.rejected)
    d_sd = prior_sd
    notes.append(f"fall-rate prior: {'the given rate' if given else kind} ({why_kind}): {prior.describe()}")
    beta, beta_sd = st.fall_beta, st.fall_beta_sd
    post = None  # the fall law's posterior (ln v0, beta) once a plausible fall is seen
    why_d = "given" if given else f"from the {kind} prior"
    if st.phase == "ascent":
        burst = float(burst_altitude) if burst_altitude is not None else max(30000.0, float(alt[-1]) + 500.0)
        b_sd = 1500.0 if burst_altitude is not None else 3000.0
        if burst <= alt[-1]:
            burst = float(alt[-1]) + 100.0
            notes.append(f"the given burst altitude is below the balloon; burst assumed at {burst:.0f} m")
        d0 = descent_rate
        notes.append(f"ascending at {st.ascent_rate:.2f} m/s (median of the last 10 min); burst "
                     f"{'given' if burst_altitude is not None else 'assumed'} at {burst:,.0f} +- {b_sd:,.0f} m; "
                     f"sea-level descent rate {d0:g} m/s {why_d}")
    else:
        burst = float(st.burst_altitude)
        b_sd = 0.0
        d0 = st.fall_v0
        lo_r, hi_r = FALL_RATE_RANGE
        if d0 is None:
            d0 = descent_rate
            notes.append(f"falling, but too few descent fixes to fit a fall rate: {d0:g} m/s +- {d_sd:.0%} {why_d}")
        elif not lo_r <= d0 <= hi_r:
            notes.append(f"warning: the observed fall fits a sea-level rate of {d0:.2f} m/s, outside what parachutes "
                         f"and bare balloons do ({lo_r:g}-{hi_r:g} m/s): the fixes' altitudes or times are suspect; "
                         f"the prior ({descent_rate:g} m/s) is used with at least a 50% spread instead")
            d0, d_sd, beta, beta_sd = descent_rate, max(prior_sd, 0.5), prior.beta, prior.beta_sd
        else:
            post = st.fall_posterior
            d0, beta = float(math.exp(post[0][0])), float(post[0][1])
            d_sd, beta_sd = float(math.sqrt(post[1][0, 0])), float(math.sqrt(post[1][1, 1]))
            k0 = st.descent_fixes[0]
            notes.append(f"falling: the observed descent ({(st.t[-1] - st.t[k0]) / 60:.0f} min, {st.alt[k0]:,.0f} to "
                         f"{st.alt[-1]:,.0f} m) and the prior give v = {d0:.2f} m/s x (rho0/rho)^{beta:.2f} (+- "
                         f"{d_sd:.0%}, exponent +- {beta_sd:.2f}, correlated {post[1][0, 1] / (d_sd * beta_sd):+.2f})")
    now, alt_now = float(t[-1]), float(alt[-1])
    top = max(burst + 3 * b_sd, float(alt.max())) + 1000.0
    meet = _meet_function(now, alt_now, burst, st.ascent_rate, d0, beta, st.phase)
    prof = wind_profile(field_, st, meet, top=top)
    notes.extend(prof.notes)
    wf = open_wind(profile_field(prof.levels, prof.u, prof.v, float(lat[-1]), float(lon[-1])))
    rng = np.random.default_rng(seed)
    m = max(int(members), 1)
    if post is not None:
        # the fall law's posterior, drawn jointly: a fall seen high up ties v0 to beta (members keep the observed
        # rate there and differ in how it changes below)
        draw = rng.multivariate_normal(post[0], post[1], size=m, method="cholesky")
        dr, be = np.exp(draw[:, 0]), np.clip(draw[:, 1], 0.0, 0.8)
    else:
        be = np.clip(beta + beta_sd * rng.standard_normal(m), 0.0, 0.8)
        if d_sd >= 1.0:  # a vague prior and no fall seen: any rate that parachutes and bare balloons give
            dr = np.exp(rng.uniform(math.log(FALL_RATE_RANGE[0]), math.log(FALL_RATE_RANGE[1]), m))
        else:
            dr = d0 * np.exp(d_sd * rng.standard_normal(m))
    dr = np.clip(dr, 0.5 * FALL_RATE_RANGE[0], 2.0 * FALL_RATE_RANGE[1])  # a vague posterior's tails: still physical
    ar = st.ascent_rate * np.exp(0.1 * rng.standard_normal(m))
    bu = burst + (b_sd * rng.standard_normal(m) if st.phase == "ascent" else np.zeros(m))
    bu = np.maximum(bu, alt_now + 50.0)
    dr[0], be[0], ar[0], bu[0] = d0, beta, st.ascent_rate, burst
    land = min(ground.lowest, alt_now - 1.0)
    when = from_epoch_seconds(t[-1])
    if st.phase == "ascent":
        stages = [Stage("ascent", "rate", (ar,), "above", bu, "burst")] + fall_stages(bu, land, dr, be)
        profile = Profile("standard", stages, "start", False, {"ascent_rate": ar, "burst_altitude": bu,
                                                                "descent_rate": dr})
    else:
        profile = Profile("descent", fall_stages(alt_now, land, dr, be), "start", False, {"descent_rate": dr})
    ds = predict(np.full(m, lat[-1]), lon[-1], alt_now, when, profile, wind=wf, step=step,
                 output_interval=max(step, 10.0))
    elat, elon, ealt, etime, kend, frac = _ground_crossing(ds, ground, now)
    # each member's own wind error, integrated along its own path (exact on the uniform profile)
    if m > 1:
        xi_u = two_scale_normal(rng, m, prof.levels)
        xi_v = two_scale_normal(rng, m, prof.levels)
        xi_u[0] = xi_v[0] = 0.0
        z = ds.altitude.values
        tt = (ds.time.values - np.datetime64(0, "ns")) / np.timedelta64(1, "s")
        zc = np.nan_to_num(0.5 * (z[:, 1:] + z[:, :-1]))
        dt = np.nan_to_num(np.diff(tt, axis=1))
        j = np.arange(dt.shape[1])[None, :]
        dt = np.where(j < (kend - 1)[:, None], dt, 0.0) + np.where(j == (kend - 1)[:, None], frac[:, None] * dt, 0.0)
        li = np.clip(np.searchsorted(prof.levels, zc) - 1, 0, prof.levels.size - 2)
        wz = np.clip((zc - prof.levels[li]) / (prof.levels[li + 1] - prof.levels[li]), 0, 1)
        rows = np.arange(m)[:, None]
        sd = prof.sd
        du = ((1 - wz) * sd[li] * xi_u[rows, li] + wz * sd[li + 1] * xi_u[rows, li + 1])
        dv = ((1 - wz) * sd[li] * xi_v[rows, li] + wz * sd[li + 1] * xi_v[rows, li + 1])
        de, dn = (du * dt).sum(1), (dv * dt).sum(1)
        x, y = G.local_offsets(elat, elon, elat[0], elon[0])
        mlat, mlon = G.offset_points(float(elat[0]), float(elon[0]), x + de, y + dn)
        mlat, mlon = np.array(mlat, float), np.array(mlon, float)
        mlat[0], mlon[0] = elat[0], elon[0]
    else:
        mlat, mlon = elat, elon
    dur = float(etime[0] - now)
    if dur > LONG_DESCENT:
        notes.append(f"warning: the forecast has the balloon aloft for {dur / 3600:.1f} h more; check the descent rate "
                     f"({d0:.2f} m/s at sea level) and the burst altitude")
    notes.append(f"the descent ends at the ground: {ground.label} ({float(ealt[0]):,.0f} m at the landing)")
    traj = ds.isel(trajectory=[0])
    return LandingForecast(float(etime[0]), float(elat[0]), float(elon[0]), float(ealt[0]), st, float(st.ascent_rate),
                           burst, float(d0), traj, {"lat": mlat, "lon": mlon}, notes, prof, tm.rejected)


def ascent_wind_replay(observations, *, burst_altitude=None, descent_rate=5.0, landing_altitude=0.0, step=10.0):
    """The careful chaser's baseline: the rest of the flight re-flown through the winds the balloon measured on its
    way up (the nearest measured layer above the highest and below the lowest), with the same phase, burst and fall
    rate analysis as :func:`predict_landing` and no model at all.  Returns (lat, lon, time s)."""
    from ..api import predict
    from ..flight import Profile, Stage
    from ..wind import open_wind

    tm = telemetry(observations)
    t, lat, lon, alt = tm.t, tm.lat, tm.lon, tm.alt
    st = analyse(t, lat, lon, alt, default_descent=float(descent_rate), fixes=tm.fixes)
    if st.phase == "landed":
        return float(lat[-1]), float(lon[-1]), float(t[-1])
    k = (st.burst_index + 1) if st.burst_index is not None else t.size
    zc, uo, vo, _, _ = measured_winds(t[:k], lat[:k], lon[:k], alt[:k])
    if zc.size == 0:
        raise InputError("the ascent measured no wind to replay")
    if st.phase == "ascent":
        burst = float(burst_altitude) if burst_altitude is not None else max(30000.0, float(alt[-1]) + 500.0)
        burst = max(burst, float(alt[-1]) + 100.0)
        d0 = float(descent_rate)
    else:
        burst = float(st.burst_altitude)
        d0 = st.descent_rate_sea_level
        if d0 is None or not FALL_RATE_RANGE[0] <= d0 <= FALL_RATE_RANGE[1]:
            d0 = float(descent_rate)
    levels = np.arange(0.0, max(burst, alt.max()) + 2000.0, LAYER)
    wf = open_wind(profile_field(levels, np.interp(levels, zc, uo), np.interp(levels, zc, vo), float(lat[-1]),
                                 float(lon[-1]), title="ascent winds"))
    land = min(float(landing_altitude), float(alt[-1]) - 1.0)
    if st.phase == "ascent":
        prof = Profile("standard", [Stage("ascent", "rate", (st.ascent_rate,), "above", burst, "burst"),
                                    Stage("descent", "drag", (d0,), "below", land, "landing")], "start", False, {})
    else:
        prof = Profile("descent", [Stage("descent", "drag", (d0,), "below", land, "landing")], "start", False, {})
    ds = predict(np.array([lat[-1]]), lon[-1], float(alt[-1]), from_epoch_seconds(t[-1]), prof, wind=wf, step=step,
                 output_interval=step)
    return (float(ds.end_latitude.values[0]), float(ds.end_longitude.values[0]),
            float((ds.end_time.values[0] - np.datetime64(0, "ns")) / np.timedelta64(1, "s")))


def straight_line_baseline(observations, until, *, window=300.0):
    """Naive baseline: carry on at the last ascent's mean horizontal velocity (last ``window`` s) until ``until``."""
    t, lat, lon, alt = telemetry_arrays(observations)
    k = int(np.argmax(alt))
    m = (t <= t[k]) & (t >= t[k] - window)
    i0 = int(np.argmax(m))
    x, y = G.local_offsets(lat[k], lon[k], lat[i0], lon[i0])
    dt = max(t[k] - t[i0], 1.0)
    u, v = x / dt, y / dt
    span = float(until) - t[k]
    la, lo = G.offset_points(lat[k], lon[k], u * span, v * span)
    return float(la), float(lo)


def distance_km(lat1, lon1, lat2, lon2) -> float:
    return float(great_circle_distance(lat1, lon1, lat2, lon2)) / 1000.0
