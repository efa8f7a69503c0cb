"""The bounds the command line puts on its numbers before any work starts, each with its physical reason.

The engine accepts any finite, well-ordered input; the command line is where a typo (``--ascent-rate 1e-6``,
``--step 86400``, ``--alt -1e9``) is caught, with a message that says why the value cannot be meant, instead of a
run that hangs, runs out of memory or answers nonsense.  Everything here raises
:class:`stratotrack.errors.InputError` (exit status 2).
"""

from __future__ import annotations

import math
import os

from ..errors import InputError

#: altitudes (m): the lowest dry land is the Dead Sea shore (-430 m); the drag law's standard atmosphere ends at
#: 86 km, above any balloon
MIN_ALT, MAX_ALT = -500.0, 86000.0
#: ground heights (launch, landing), m: Dead Sea to above Everest
MIN_GROUND, MAX_GROUND = -500.0, 9000.0
#: balloon ascent rates, m/s: slow zero-pressure balloons climb at ~1 m/s, the fastest sounding balloons ~10 m/s
MIN_ASCENT, MAX_ASCENT = 0.1, 50.0
#: sea-level descent rates under a parachute (or without), m/s
MIN_DESCENT, MAX_DESCENT = 0.5, 100.0
#: integration step, s: below 1 s nothing is gained (winds vary over hours and kilometres); above 10 min the step
#: is longer than the structure of the wind data and events can no longer be placed to the same precision
MIN_STEP, MAX_STEP = 1.0, 600.0
#: a stage must last at least this many steps, so that its end is located as precisely whatever the step
MIN_STEPS_PER_STAGE = 10
#: longest run: superpressure balloons have flown ~300 days
MAX_DURATION = 400 * 86400.0
#: budgets of one trajectory: integration steps (~seconds of compute) and output points (memory: 40 bytes each)
MAX_STEPS = 5_000_000
MAX_POINTS = 2_000_000
#: ensemble members: the members' parameters are drawn before the first batch (~100 bytes each); ten million
#: resolve a probability to +-0.0003, more only costs memory and hours
MAX_MEMBERS = 10_000_000
MAX_BATCH = 1_000_000
MAX_SEED = 2**63 - 1
#: particle filters and back-tracks: each particle is a trajectory of the engine at every step
MAX_PARTICLES = 1_000_000
PARTICLES_REASON = ("each particle is integrated at every step; below 100 the filter degenerates and a million "
                    "already take minutes per observation")
#: back-tracking window: a balloon that has flown longer than a year is beyond what the winds can trace back
MAX_ORIGIN_DAYS = 365.0
ORIGIN_REASON = ("the winds cannot trace a path back further than about a year (errors grow by hundreds of km a "
                 "day)")
#: forecast lengths of track
MAX_FORECAST = 30 * 86400.0


def check_forecast(text):
    return _seconds(text, "--forecast", MAX_FORECAST, "the spread after a month covers the hemisphere")


def _fmt(x) -> str:
    return f"{x:g}"


def check_range(what: str, value, lo, hi, unit: str, reason: str):
    """InputError unless ``lo <= value <= hi`` (and finite)."""
    if value is None:
        return None
    v = float(value)
    if not math.isfinite(v) or v < lo or v > hi:
        u = f" {unit}" if unit else ""
        raise InputError(f"{what} {_fmt(v)}{u} is outside {_fmt(lo)}..{_fmt(hi)}{u}; {reason}")
    return v


def check_seed(seed):
    if seed is not None and not (0 <= int(seed) <= MAX_SEED):
        raise InputError(f"seed {seed} is invalid; expected a whole number from 0 to {MAX_SEED} (random streams are "
                         "seeded with non-negative integers)")


def check_count(what: str, value, lo: int, hi: int, reason: str):
    if value is None:
        return None
    if not (lo <= int(value) <= hi):
        raise InputError(f"{what} {value} is outside {lo:,}..{hi:,}; {reason}")
    return int(value)


def _seconds(text, what, most=MAX_DURATION, reason="the longest balloon flights last about 300 days"):
    """A duration option's seconds, refused beyond ``most`` seconds with ``reason``."""
    if text is None:
        return None
    from ..timeutil import parse_duration

    s = parse_duration(text)
    if s > most:
        raise InputError(f"{what} {text!r} is {s / 86400:,.0f} days; expected at most {most / 86400:.0f} days ({reason})")
    return s


def check_time(text, what="time"):
    """A start time in the years 1900-2200 (None: now)."""
    if text is None:
        return None
    from ..timeutil import check_span

    return check_span(text, what)


def check_predict(*, alt, time, profile, backward, ascent_rate, burst_altitude, descent_rate, float_altitude,
                  duration, stop, landing_altitude, launch_altitude, step, output_interval, max_duration):
    """Bounds of ``stratotrack predict``'s numbers, and the step and memory budgets of the run they describe."""
    check_range("--alt", alt, MIN_ALT, MAX_ALT, "m", "expected an altitude between the lowest dry land (the Dead "
                "Sea, -430 m) and 86 km, the top of the standard atmosphere")
    check_time(time, "--time")
    check_time(stop, "--stop")
    for v in (ascent_rate, descent_rate, step, output_interval):
        if v is not None and not float(v) > 0:
            return  # zero, negative or NaN: the engine's own message says "expected a positive number"
    check_range("--ascent-rate", ascent_rate, MIN_ASCENT, MAX_ASCENT, "m/s", "balloons climb at about 1-10 m/s "
                "(a slower climb would take days, a faster one is not a balloon)")
    check_range("--descent-rate", descent_rate, MIN_DESCENT, MAX_DESCENT, "m/s", "a parachute lands at about "
                "3-10 m/s and a free fall reaches about 60 m/s at sea level")
    check_range("--burst-altitude", burst_altitude, MIN_ALT, MAX_ALT, "m", "balloons burst below 86 km, the top "
                "of the standard atmosphere the descent law uses")
    check_range("--float-altitude", float_altitude, MIN_ALT, MAX_ALT, "m", "balloons float below 86 km, the top "
                "of the standard atmosphere")
    for flag, v in (("--landing-altitude", landing_altitude), ("--launch-altitude", launch_altitude)):
        check_range(flag, v, MIN_GROUND, MAX_GROUND, "m", "the ground lies between the Dead Sea (-430 m) and "
                    "the top of Everest (8,849 m)")
    check_range("--step", step, MIN_STEP, MAX_STEP, "s", "a step under 1 s gains no accuracy (winds vary over "
                "hours and kilometres) and one over 10 minutes is longer than the wind data resolve")
    st = float(step) if step is not None else 60.0
    if output_interval is not None:
        oi = float(output_interval)
        if not math.isfinite(oi) or oi < st:
            raise InputError(f"--output-interval {_fmt(oi)} s is shorter than the step {_fmt(st)} s; expected at "
                             "least one step between output points")
    dur = _seconds(duration, "--duration")
    cap = _seconds(max_duration, "--max-duration")
    # the length of the run, for the step and memory budgets
    prof = getattr(profile, "value", profile)
    a = float(ascent_rate) if ascent_rate is not None else 5.0
    b = float(burst_altitude) if burst_altitude is not None else 30000.0
    z0 = float(alt) if alt is not None else 0.0
    if prof == "standard":
        climb = abs(b - z0) if not backward else abs(b - (float(launch_altitude or 0.0)))
        ascent_s = climb / a
        if ascent_s < MIN_STEPS_PER_STAGE * st and climb > 0:
            raise InputError(f"--step {_fmt(st)} s is too long for an ascent of {ascent_s / 60:.1f} min; expected at "
                             f"most {max(ascent_s / MIN_STEPS_PER_STAGE, MIN_STEP):.0f} s so that burst and landing "
                             "are located precisely (at least 10 steps per stage)")
        # the descent's length: the height over the drag-limited speed, integrated down the standard atmosphere
        import numpy as np

        from ..atmosphere import descent_speed

        d = float(descent_rate) if descent_rate is not None else 5.0
        top = min(max(b, 0.0), MAX_ALT)
        ground = float(landing_altitude or 0.0) if not backward else z0
        z = np.linspace(min(ground, top), top, 200)
        inv = 1.0 / np.abs(descent_speed(d, z))
        descent_s = float(np.sum((inv[1:] + inv[:-1]) / 2 * np.diff(z)))
        if 0 < descent_s < MIN_STEPS_PER_STAGE * st:
            raise InputError(f"--step {_fmt(st)} s is too long for a descent of about {descent_s / 60:.0f} min; "
                             f"expected at most {max(descent_s / MIN_STEPS_PER_STAGE, MIN_STEP):.0f} s so that the "
                             "landing is located precisely (at least 10 steps per stage; larger steps move it by "
                             "kilometres)")
        total = ascent_s + descent_s
    elif prof == "float" and float_altitude is not None and not backward:
        ascent_s = abs(float(float_altitude) - z0) / a
        if 0 < ascent_s < MIN_STEPS_PER_STAGE * st:
            raise InputError(f"--step {_fmt(st)} s is too long for an ascent of {ascent_s / 60:.1f} min; expected at "
                             f"most {max(ascent_s / MIN_STEPS_PER_STAGE, MIN_STEP):.0f} s (at least 10 steps per "
                             "stage)")
        total = (dur or 0.0)
    else:
        total = dur or 0.0
    if prof == "float" and backward and float_altitude is not None and abs(float(float_altitude) - z0) > 1.0:
        raise InputError(f"a backward float starts afloat: --alt {_fmt(z0)} m is not the float altitude "
                         f"{_fmt(float(float_altitude))} m; expected --alt {_fmt(float(float_altitude))} (or no "
                         "--float-altitude)")
    if cap is not None:
        total = min(total, cap) if total else cap
    if total > MAX_DURATION:
        raise InputError(f"this flight would last {total / 86400:,.0f} days at --ascent-rate {_fmt(a)} m/s; expected at "
                         f"most {MAX_DURATION / 86400:.0f} days (raise the rate or lower the altitudes)")
    steps = total / st
    if steps > MAX_STEPS:
        raise InputError(f"{total / 86400:,.1f} days at --step {_fmt(st)} s is {steps:,.0f} steps; expected at most "
                         f"{MAX_STEPS:,} (use a longer --step)")
    oi = float(output_interval) if output_interval is not None else st
    if total / oi > MAX_POINTS:
        raise InputError(f"{total / 86400:,.1f} days every {_fmt(oi)} s is {total / oi:,.0f} output points; expected at "
                         f"most {MAX_POINTS:,} (use a longer --output-interval)")


def check_spreads(spreads: dict, nominal: dict):
    """A spread of a rate or altitude must be smaller than the value it spreads (else most draws would be negative
    rates or altitudes below the launch, redrawn until the distribution is no longer what was asked)."""
    units = {"ascent_rate": "m/s", "descent_rate": "m/s", "burst_altitude": "m", "float_altitude": "m"}
    for name, text in spreads.items():
        kind, _, num = str(text).rpartition(":")
        try:
            value = float(num)
        except ValueError:
            continue  # launch_time=30m and other forms: the ensemble parses them
        if not math.isfinite(value) or value < 0:
            continue  # the ensemble's own message names the negative spread
        if name in units and nominal.get(name) is not None:
            base = float(nominal[name])
            limit = base if "rate" in name else base / 2
            if value >= limit:
                raise InputError(f"--spread {name}={text} is as large as the {name.replace('_', ' ')} itself "
                                 f"({_fmt(base)} {units[name]}): most members would need a negative or impossible "
                                 f"value; expected a spread below {_fmt(limit)} {units[name]}")


#: memory per member kept for the whole run: drawn parameters and bookkeeping (~100 bytes), and a row of the
#: members table when one is kept (~250 bytes)
BYTES_PER_MEMBER = 100
BYTES_PER_MEMBER_ROW = 250


def available_memory() -> int | None:
    """Bytes of memory available now (None where the system does not say)."""
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_members(members, batch_size, seed, keep_rows=False):
    if members is not None and int(members) < 1:
        return  # the ensemble's own message: "members 0 is invalid; expected at least 1 member"
    check_count("--members", members, 1, MAX_MEMBERS, "the members' parameters are drawn before the first batch "
                "(about 100 bytes each) and ten million members already resolve a probability to +-0.0003")
    check_count("--batch-size", batch_size, 1, MAX_BATCH, "a batch holds every point of its members in memory")
    check_seed(seed)
    need = int(members) * (BYTES_PER_MEMBER + (BYTES_PER_MEMBER_ROW if keep_rows else 0))
    have = available_memory()
    if have is not None and need > have // 2:
        raise InputError(f"--members {members} would need about {need / 2**30:,.1f} GiB for the members' "
                         f"parameters{' and table' if keep_rows else ''}, more than half of the "
                         f"{have / 2**30:,.1f} GiB available; expected fewer members"
                         + (" (or no .csv output, which keeps a row per member)" if keep_rows else ""))
