"""Pattern of life: a balloon's time in view of a site against satellite passes computed from TLEs (SGP4).

:func:`read_tles` reads two- or three-line element sets from a user's file and checks every line (length, line
numbers, the modulo-10 checksum, matching catalogue numbers).  :func:`passes` finds when each satellite rises above
and sets below an elevation mask at a site with skyfield (``EarthSatellite.find_events``: SGP4 with the WGS-72
constants the elements assume, TEME to Earth-fixed axes with skyfield's built-in UT1 tables, the site on the WGS-84
ellipsoid at sea level); nothing is downloaded.

:func:`pattern_of_life` compares, for one site and period, the balloon's time in view above the same mask (total
and longest continuous stretch) with each satellite's and the constellation's: passes, time in view, mean and
longest revisit gap (the gaps without any pass, the ends of the period included).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..geodesy import great_circle_distance
from . import _track as T
from .geometry import reach_radius

__all__ = ["TLE", "read_tles", "parse_tles", "passes", "Pass", "pattern_of_life"]

@dataclass
class TLE:
    name: str
    line1: str
    line2: str
    catalog: str
    epoch: float  # s since 1970

    def satellite(self, ts):
        """This element set as a skyfield ``EarthSatellite`` on the timescale ``ts``."""
        from skyfield.api import EarthSatellite

        return EarthSatellite(self.line1, self.line2, self.name, ts)

    @property
    def satrec(self):
        if not hasattr(self, "_satrec"):
            from sgp4.api import Satrec

            self._satrec = Satrec.twoline2rv(self.line1, self.line2)
        return self._satrec


def _checksum(line: str) -> int:
    return sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in line[:68]) % 10


def _check_line(line, which, where):
    if len(line) < 69:
        raise InputError(f"TLE line {which} at {where} has {len(line)} characters; expected 69")
    if line[0] != str(which) or line[1] != " ":
        raise InputError(f"TLE line at {where} starts {line[:2]!r}; expected line {which} to start '{which} '")
    if not line[68].isdigit():
        raise InputError(f"TLE line {which} at {where} ends in {line[68]!r}; expected a checksum digit")
    ck = _checksum(line)
    if ck != int(line[68]):
        raise InputError(f"TLE line {which} at {where} has checksum {line[68]} but its characters give {ck}; the line "
                         "is damaged or edited")


def parse_tles(text: str, source: str = "text") -> list[TLE]:
    """Element sets from text: optional name lines (``0 NAME`` or plain), then line 1 and line 2."""
    lines = [ln.rstrip() for ln in text.splitlines()]
    out, name = [], None
    i = 0
    while i < len(lines):
        ln = lines[i]
        if not ln.strip():
            i += 1
            continue
        if ln.startswith("1 ") and len(ln) >= 60:
            if i + 1 >= len(lines):
                raise InputError(f"TLE line 1 at {source} line {i + 1} has no line 2 after it")
            l1, l2 = ln, lines[i + 1]
            _check_line(l1, 1, f"{source} line {i + 1}")
            _check_line(l2, 2, f"{source} line {i + 2}")
            if l1[2:7] != l2[2:7]:
                raise InputError(f"TLE at {source} line {i + 1}: line 1 is catalogue number {l1[2:7].strip()} and line "
                                 f"2 is {l2[2:7].strip()}; expected the same satellite")
            yy = int(l1[18:20])
            year = 2000 + yy if yy < 57 else 1900 + yy
            doy = float(l1[20:32])
            epoch = (np.datetime64(f"{year}-01-01T00:00:00") - np.datetime64("1970-01-01T00:00:00")).astype(
                "timedelta64[s]").astype(float) + (doy - 1) * 86400.0
            tle = TLE(name or f"NORAD {l1[2:7].strip()}", l1[:69], l2[:69], l1[2:7].strip(), epoch)
            try:
                tle.satrec
            except (ValueError, RuntimeError) as exc:
                raise InputError(f"TLE {tle.name!r} at {source} line {i + 1} cannot be read by SGP4 ({exc})") from None
            out.append(tle)
            name = None
            i += 2
            continue
        if ln.startswith("2 ") and len(ln) >= 60:
            raise InputError(f"TLE line 2 at {source} line {i + 1} has no line 1 before it")
        name = ln[2:].strip() if ln.startswith("0 ") else ln.strip()
        i += 1
    if not out:
        raise InputError(f"{source} holds no two-line element sets; expected lines starting '1 ' and '2 '")
    return out


def read_tles(path) -> list[TLE]:
    """Element sets from a file (see :func:`parse_tles`)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"TLE file {str(path)!r} does not exist")
    try:
        text = p.read_text(encoding="ascii", errors="strict")
    except UnicodeDecodeError:
        raise InputError(f"TLE file {str(path)!r} is not plain ASCII text; expected two-line element sets") from None
    return parse_tles(text, p.name)


def _timescale():
    from skyfield.api import load

    global _TS
    if _TS is None:
        _TS = load.timescale(builtin=True)  # leap seconds and UT1 shipped with skyfield: nothing downloaded
    return _TS


_TS = None


def _times(ts, t):
    """skyfield Time of seconds since 1970 (UTC, as Unix time counts them: no leap seconds).  Given as calendar day
    and seconds of that day, so that skyfield does not count the leap seconds since 1970 into them (27 s in 2023)."""
    t = np.asarray(t, dtype=float)
    days = np.floor(t / 86400.0)
    date = np.datetime64("1970-01-01", "D") + days.astype("timedelta64[D]")
    year = date.astype("datetime64[Y]").astype(int) + 1970
    month = date.astype("datetime64[M]").astype(int) % 12 + 1
    day = (date - date.astype("datetime64[M]")).astype(int) + 1
    return ts.utc(year, month, day, 0, 0, t - days * 86400.0)


def _seconds(times) -> np.ndarray:
    """Seconds since 1970 (UTC) of a skyfield Time array."""
    return np.array([d.timestamp() for d in np.atleast_1d(times.utc_datetime())], dtype=float)


def elevation(tle: TLE, t, lat, lon):
    """Elevation (degrees) of a satellite seen from a site at times ``t`` (s since 1970)."""
    from skyfield.api import wgs84

    ts = _timescale()
    alt, _az, _d = (tle.satellite(ts) - wgs84.latlon(lat, lon)).at(_times(ts, np.atleast_1d(t))).altaz()
    return alt.degrees


@dataclass
class Pass:
    satellite: str
    rise: float  # s since 1970 (the period's start if already up)
    culmination: float
    set: float  # (the period's end if still up)
    max_elevation: float
    rise_clipped: bool = False
    set_clipped: bool = False

    @property
    def duration(self) -> float:
        return self.set - self.rise

    def to_dict(self) -> dict:
        return {"satellite": self.satellite, "rise": T.iso(self.rise), "culmination": T.iso(self.culmination),
                "set": T.iso(self.set), "minutes": round((self.set - self.rise) / 60, 2),
                "max_elevation_deg": round(self.max_elevation, 2), "rise_clipped": self.rise_clipped,
                "set_clipped": self.set_clipped}


def _check_site(lat, lon):
    for what, v, lim in (("latitude", lat, 90), ("longitude", lon, 360)):
        if not (isinstance(v, (int, float, np.floating)) and math.isfinite(v) and abs(v) <= lim):
            raise InputError(f"site {what} {v!r} is invalid; expected degrees within +-{lim}")


def passes(tles, lat, lon, start, end, min_elevation=10.0) -> list[Pass]:
    """Passes of each satellite above ``min_elevation`` degrees at (lat, lon) between ``start`` and ``end``.

    A satellite already up at ``start`` (still up at ``end``) has its pass clipped there (``rise_clipped``,
    ``set_clipped``); the culmination is the highest of skyfield's culminations inside the pass, or the clipped end
    when the highest point lies outside the period.
    """
    from skyfield.api import wgs84

    _check_site(lat, lon)
    t0 = T.seconds(start)
    t1 = T.seconds(end)
    if not t1 > t0:
        raise InputError("the period's end is not after its start")
    if not (math.isfinite(min_elevation) and -90 < min_elevation < 90):
        raise InputError(f"elevation mask {min_elevation!r} degrees is invalid; expected -90 < mask < 90")
    if isinstance(tles, TLE):
        tles = [tles]
    ts = _timescale()
    site = wgs84.latlon(lat, lon)
    out = []
    for tle in tles:
        sat = tle.satellite(ts)
        times, events = sat.find_events(site, _times(ts, t0), _times(ts, t1), altitude_degrees=min_elevation)
        secs = _seconds(times) if len(events) else np.zeros(0)
        up_at_start = bool(elevation(tle, t0, lat, lon)[0] >= min_elevation)
        rise, clip, culms = (t0, True, []) if up_at_start else (None, False, [])
        for when, ev in zip(secs, events):
            if ev == 0:
                rise, clip, culms = float(when), False, []
            elif ev == 1 and rise is not None:
                culms.append(float(when))
            elif ev == 2 and rise is not None:
                out.append(_pass(tle, rise, float(when), culms, clip, False, lat, lon))
                rise = None
        if rise is not None:
            out.append(_pass(tle, rise, t1, culms, clip, True, lat, lon))
    out.sort(key=lambda p: p.rise)
    return out


def _pass(tle, rise, set_, culms, rise_clipped, set_clipped, lat, lon) -> Pass:
    cand = list(culms) + [rise, set_]
    el = elevation(tle, np.array(cand), lat, lon)
    k = int(np.argmax(el))
    return Pass(tle.name, rise, cand[k], set_, float(el[k]), rise_clipped, set_clipped)


def _gaps(intervals, t0, t1):
    """Gaps without coverage in [t0, t1] given (start, end) intervals (merged first)."""
    if not intervals:
        return [t1 - t0]
    iv = sorted(intervals)
    merged = [list(iv[0])]
    for a, b in iv[1:]:
        if a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    gaps = []
    prev = t0
    for a, b in merged:
        if a > prev:
            gaps.append(a - prev)
        prev = max(prev, b)
    if t1 > prev:
        gaps.append(t1 - prev)
    return gaps, merged


def _coverage(intervals, t0, t1, label):
    res = _gaps(intervals, t0, t1)
    gaps, merged = (res, []) if isinstance(res, list) else res
    total = sum(b - a for a, b in merged)
    longest = max((b - a for a, b in merged), default=0.0)
    return {"observer": label, "passes": len(intervals), "hours_in_view": round(total / 3600, 4),
            "fraction_in_view": round(total / (t1 - t0), 5), "longest_stretch_hours": round(longest / 3600, 4),
            "mean_revisit_gap_hours": round(float(np.mean(gaps)) / 3600, 4) if gaps else 0.0,
            "longest_revisit_gap_hours": round(max(gaps) / 3600, 4) if gaps else 0.0}


def balloon_in_view(traj, lat, lon, min_elevation=10.0, start=None, end=None, member=0):
    """Intervals (s) when the balloon is seen from (lat, lon) at ``min_elevation`` degrees or more."""
    tr = T.as_track(traj)
    d = great_circle_distance(tr.lat, tr.lon, lat, lon)
    g = np.where(tr.valid, d - reach_radius(np.where(tr.valid, np.maximum(tr.alt, 0), 0), min_elevation), np.nan)
    rows, ts, te, _ = T.intervals(tr.t, g, tr.valid)
    sel = rows == member
    iv = [(float(a), float(b)) for a, b in zip(ts[sel], te[sel])]
    t0 = tr.start if start is None else start
    t1 = tr.end if end is None else end
    return [(max(a, t0), min(b, t1)) for a, b in iv if b > t0 and a < t1]


def pattern_of_life(traj, site, tles, start=None, end=None, min_elevation=10.0) -> dict:
    """The balloon against satellites over one site (``Site`` or (name, lat, lon)) for a period (default: the
    trajectory's span).  Returns rows for the balloon, each satellite and the satellites together, and the passes."""
    tr = T.as_track(traj)
    name, lat, lon = (site.name, site.lat, site.lon) if hasattr(site, "lat") else site
    t0 = tr.start if start is None else T.seconds(start)
    t1 = tr.end if end is None else T.seconds(end)
    if not t1 > t0:
        raise InputError("the pattern-of-life period is empty; expected an end after the start")
    biv = balloon_in_view(tr, lat, lon, min_elevation, t0, t1)
    rows = [_coverage(biv, t0, t1, "balloon")]
    rows[0]["passes"] = len(biv)
    ps = passes(tles, lat, lon, t0, t1, min_elevation) if tles else []
    names = []
    for tle in tles or []:
        if tle.name not in names:
            names.append(tle.name)
    for nm in names:
        rows.append(_coverage([(p.rise, p.set) for p in ps if p.satellite == nm], t0, t1, nm))
    if len(names) > 1:
        rows.append(_coverage([(p.rise, p.set) for p in ps], t0, t1, "all satellites"))
    return {"site": name, "latitude": lat, "longitude": lon, "start": T.iso(t0), "end": T.iso(t1),
            "min_elevation_deg": min_elevation, "rows": rows, "passes": [p.to_dict() for p in ps],
            "balloon_intervals": [{"start": T.iso(a), "end": T.iso(b)} for a, b in biv]}
