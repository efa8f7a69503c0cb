"""Observations of a balloon, each with its uncertainty: telemetry fixes and sightings.

Two kinds, one class:

* a **fix**: a position at a time (telemetry, a reported position, a town a video was taken from) with a horizontal
  standard deviation ``sigma_h`` (m) and, when the altitude is known or guessed, ``alt`` with ``sigma_z`` (m);
* a **sighting**: an observer's position at a time and the direction in which the balloon was seen (``azimuth``
  clockwise from true north, ``elevation`` above the horizon, degrees) with ``sigma_angle`` (degrees); optionally the
  angular diameter ``angular_size`` (degrees) of an object of known diameter ``size`` (m), which gives the range.

Readers (:func:`read_observations`) take CSV (telemetry, reports or sightings, by column names), KML/KMZ (a
``gx:Track`` or a radiosonde receiver's timed placemarks), GPX, GeoJSON, APRS-style JSON (``{"entries": [{"time",
"lat", "lng", "altitude"}]}``) and SondeHub-style JSON (a list of telemetry frames with ``datetime``, ``lat``,
``lon``, ``alt``, or the API's ``{serial: {datetime: frame}}``).

>>> o = Observation.fix("2023-02-01T21:21:00Z", 45.71, -109.54, sigma_h=50e3)
>>> o.kind, o.has_altitude
('fix', False)
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..timeutil import format_time, from_epoch_seconds, to_epoch_seconds
from ..geodesy import wrap_longitude

#: default uncertainties by source
TELEMETRY_SIGMA_H = 30.0  # m, GPS telemetry
TELEMETRY_SIGMA_Z = 30.0
REPORT_SIGMA_H = 10e3  # m, a reported position without a stated uncertainty
SIGHTING_SIGMA_ANGLE = 3.0  # degrees, an estimate by eye or from a phone video
#: ``position_precision`` words of report tables (the incident checkpoints) -> sigma (m)
PRECISION_WORDS = {"gps": 30.0, "exact": 100.0, "city": 50e3, "town": 50e3, "region": None}
#: ``time_precision`` words -> sigma (s)
TIME_WORDS = {"second": 1.0, "minute": 60.0, "hour": 1800.0, "day": 43200.0}


@dataclass
class Observation:
    """One observation (see the module docstring).  ``time`` is seconds since 1970-01-01T00:00Z."""

    kind: str
    time: float
    lat: float
    lon: float
    alt: float = math.nan
    sigma_h: float = REPORT_SIGMA_H
    sigma_z: float = math.nan
    azimuth: float = math.nan
    elevation: float = math.nan
    sigma_angle: float = SIGHTING_SIGMA_ANGLE
    angular_size: float = math.nan
    size: float = math.nan
    sigma_t: float = 0.0
    source: str = ""
    label: str = ""
    extra: dict = field(default_factory=dict)

    @classmethod
    def fix(cls, time, lat, lon, alt=math.nan, *, sigma_h=REPORT_SIGMA_H, sigma_z=None, sigma_t=0.0, source="",
            label=""):
        """A position (and optionally an altitude) at a time; ``sigma_z`` defaults to 10% of the altitude."""
        alt = float(alt) if alt is not None else math.nan
        if sigma_z is None:
            sigma_z = max(0.1 * abs(alt), 100.0) if math.isfinite(alt) else math.nan
        obs = cls("fix", float(to_epoch_seconds(time)), float(lat), float(lon), alt, float(sigma_h), float(sigma_z),
                  sigma_t=float(sigma_t), source=source, label=label)
        return obs.checked()

    @classmethod
    def sighting(cls, time, lat, lon, azimuth, elevation, *, observer_alt=0.0, sigma_angle=SIGHTING_SIGMA_ANGLE,
                 angular_size=None, size=None, sigma_t=0.0, source="", label=""):
        """An observer at (lat, lon, observer_alt) saw the balloon at (azimuth, elevation) degrees."""
        obs = cls("sighting", float(to_epoch_seconds(time)), float(lat), float(lon), float(observer_alt),
                  azimuth=float(azimuth), elevation=float(elevation), sigma_angle=float(sigma_angle),
                  angular_size=math.nan if angular_size is None else float(angular_size),
                  size=math.nan if size is None else float(size), sigma_t=float(sigma_t), source=source, label=label)
        return obs.checked()

    @property
    def has_altitude(self) -> bool:
        return self.kind == "fix" and math.isfinite(self.alt) and math.isfinite(self.sigma_z)

    @property
    def when(self) -> str:
        return format_time(from_epoch_seconds(self.time))

    def describe(self) -> str:
        what = self.label or self.source or self.kind
        if self.kind == "fix":
            z = f", {self.alt:.0f} m" if self.has_altitude else ""
            return f"{what} at {self.when}: {self.lat:.4f}, {self.lon:.4f}{z} (+-{self.sigma_h / 1000:.3g} km)"
        return (f"{what} at {self.when}: seen from {self.lat:.4f}, {self.lon:.4f} at azimuth {self.azimuth:.1f}, "
                f"elevation {self.elevation:.1f} deg (+-{self.sigma_angle:g} deg)")

    def checked(self) -> "Observation":
        """This observation if every value is possible; a one-line InputError naming the first bad value."""
        where = f" ({self.label or self.source})" if (self.label or self.source) else ""
        if not math.isfinite(self.time):
            raise InputError(f"observation time {self.time!r} is invalid{where}; expected a date and time")
        if not (math.isfinite(self.lat) and -90.0 <= self.lat <= 90.0):
            raise InputError(f"latitude {self.lat!r}{where} is invalid; expected degrees within -90..90")
        if not (math.isfinite(self.lon) and -180.0 <= self.lon <= 360.0):
            raise InputError(f"longitude {self.lon!r}{where} is invalid; expected degrees within -180..360")
        self.lon = float(wrap_longitude(self.lon)) if self.lon > 180.0 else self.lon
        if self.kind == "fix":
            if not (math.isfinite(self.sigma_h) and self.sigma_h > 0):
                raise InputError(f"position uncertainty {self.sigma_h!r} m{where} is invalid; expected a positive "
                                 "number of metres")
            if math.isfinite(self.alt) and not (-500.0 <= self.alt <= 100e3):
                raise InputError(f"altitude {self.alt!r} m{where} is impossible for a balloon; expected -500..100000 m")
            if math.isfinite(self.alt) and not (math.isfinite(self.sigma_z) and self.sigma_z > 0):
                raise InputError(f"altitude uncertainty {self.sigma_z!r} m{where} is invalid; expected a positive number")
        elif self.kind == "sighting":
            if not (math.isfinite(self.azimuth) and 0.0 <= self.azimuth <= 360.0):
                raise InputError(f"azimuth {self.azimuth!r} degrees{where} is impossible; expected 0..360 degrees "
                                 "clockwise from north")
            if not (math.isfinite(self.elevation) and -5.0 <= self.elevation <= 90.0):
                raise InputError(f"elevation {self.elevation!r} degrees{where} is impossible; expected -5..90 degrees "
                                 "above the horizon")
            if not (math.isfinite(self.sigma_angle) and 0 < self.sigma_angle <= 45.0):
                raise InputError(f"angle uncertainty {self.sigma_angle!r} degrees{where} is invalid; expected 0..45")
            if math.isfinite(self.angular_size) and not (0 < self.angular_size < 10.0):
                raise InputError(f"angular size {self.angular_size!r} degrees{where} is impossible; expected 0..10 "
                                 "degrees")
            if math.isfinite(self.angular_size) and not (math.isfinite(self.size) and self.size > 0):
                raise InputError(f"an angular size{where} needs the object's diameter (size, m) to give a range")
            if not math.isfinite(self.alt):
                self.alt = 0.0
        else:
            raise InputError(f"observation kind {self.kind!r} is unknown; expected 'fix' or 'sighting'")
        if not (math.isfinite(self.sigma_t) and self.sigma_t >= 0):
            raise InputError(f"time uncertainty {self.sigma_t!r} s{where} is invalid; expected a number >= 0")
        return self


@dataclass
class Observations:
    """Observations in time order, with the notes taken while reading them."""

    items: list[Observation]
    notes: list[str] = field(default_factory=list)
    #: observations left out by :func:`screen` ("what, where: why"), listed in every summary
    rejected: list[str] = field(default_factory=list)

    def __len__(self):
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    def __getitem__(self, k):
        return self.items[k]

    @property
    def times(self) -> np.ndarray:
        return np.array([o.time for o in self.items])

    @property
    def fixes(self) -> list[Observation]:
        return [o for o in self.items if o.kind == "fix"]

    @property
    def sightings(self) -> list[Observation]:
        return [o for o in self.items if o.kind == "sighting"]


def collect(observations, notes=None) -> Observations:
    """Observations (an :class:`Observations`, a list of them or of files) checked and put in time order.

    Out-of-order observations are sorted and counted in the notes; an empty set is an InputError.
    """
    if isinstance(observations, Observations):
        items, notes = list(observations.items), list(observations.notes) + list(notes or [])
    else:
        if isinstance(observations, (Observation, str, Path)):
            observations = [observations]
        items, notes = [], list(notes or [])
        for o in observations:
            if isinstance(o, Observation):
                items.append(o.checked())
            elif isinstance(o, Observations):
                items.extend(o.items)
                notes.extend(o.notes)
            elif isinstance(o, (str, Path)):
                got = read_observations(o)
                items.extend(got.items)
                notes.extend(got.notes)
            else:
                raise InputError(f"observation of type {type(o).__name__} is not understood; expected an "
                                 "Observation or a file of observations")
    if not items:
        raise InputError("no observations given; expected at least one fix or sighting with a time")
    t = np.array([o.time for o in items])
    late = _out_of_order(t)
    if late.size:
        notes.append(f"{late.size} observations were out of time order and were sorted by time: "
                     + _refs([items[k] for k in late]))
    order = np.argsort(t, kind="stable")
    rejected = list(observations.rejected) if isinstance(observations, Observations) else []
    return Observations([items[k] for k in order], notes, rejected)


def _out_of_order(t) -> np.ndarray:
    """Indices of the fewest observations that break the time order (those outside a longest non-decreasing
    subsequence)."""
    import bisect

    if t.size < 2 or np.all(np.diff(t) >= 0):
        return np.zeros(0, int)
    tails, tail_idx, prev = [], [], np.full(t.size, -1)
    for i, x in enumerate(t):
        k = bisect.bisect_right(tails, x)
        if k == len(tails):
            tails.append(x)
            tail_idx.append(i)
        else:
            tails[k] = x
            tail_idx[k] = i
        prev[i] = tail_idx[k - 1] if k > 0 else -1
    keep = np.zeros(t.size, bool)
    i = tail_idx[-1]
    while i >= 0:
        keep[i] = True
        i = prev[i]
    return np.flatnonzero(~keep)


def where(o: Observation) -> str:
    """Where an observation came from, for messages: 'row 12 of a.csv' or its time."""
    if "row" in o.extra:
        src = o.source.split(" ", 1)[-1] if o.source else ""
        return f"{o.extra.get('row_kind', 'row')} {o.extra['row']}" + (f" of {src}" if src else "")
    return f"{o.label + ' ' if o.label else ''}at {o.when}"


def _refs(items, most=6) -> str:
    names = [where(o) for o in items[:most]]
    return "; ".join(names) + (f" and {len(items) - most} more" if len(items) > most else "")


#: the fastest a balloon moves: 250 m/s horizontally is beyond any jet stream (a fix implying more is impossible),
#: 250 m/s vertically beyond a burst balloon's fall at 40 km
MAX_SPEED_H = 250.0
MAX_SPEED_Z = 250.0


def _consistency(items):
    """A function (i, j) -> whether fixes ``items[i]`` and ``items[j]`` (index arrays) agree with a balloon's top
    speeds, given both fixes' uncertainties."""
    from ..geodesy import great_circle_distance

    def col(name):
        return np.array([getattr(o, name) for o in items], float)

    t, la, lo, z, sh, sz, st = (col(k) for k in ("time", "lat", "lon", "alt", "sigma_h", "sigma_z", "sigma_t"))
    has_z = np.isfinite(z) & np.isfinite(sz)

    def consistent(i, j):
        i, j = np.asarray(i, int), np.asarray(j, int)
        dt = np.abs(t[j] - t[i]) + 3.0 * (st[i] + st[j])
        d = np.asarray(great_circle_distance(la[i], lo[i], la[j], lo[j]), float)
        ok = d <= MAX_SPEED_H * dt + 5.0 * np.hypot(sh[i], sh[j]) + 100.0
        both = has_z[i] & has_z[j]
        dz = np.abs(np.where(both, z[j] - z[i], 0.0))
        return ok & (dz <= MAX_SPEED_Z * dt + 5.0 * np.hypot(np.where(both, sz[i], 0), np.where(both, sz[j], 0))
                     + 50.0)
    return consistent


def screen(observations) -> Observations:
    """Observations checked against each other, with what was left out said by name.

    * identical fixes (same time and position) are kept once;
    * fixes at the same time at different places: the first is kept, the others are left out (one clock cannot
      put a balloon in two places);
    * a fix that implies an impossible speed (more than 250 m/s horizontally or vertically, beyond its stated
      uncertainty) from its neighbours is left out: of two fixes that disagree, the one that disagrees with more of
      its neighbours goes (the later on a tie).

    Every left-out observation is listed in ``rejected`` and summarised in ``notes`` with its row number.
    """
    obs = collect(observations)
    notes, rejected = list(obs.notes), list(obs.rejected)
    fixes = [o for o in obs.items if o.kind == "fix"]
    others = [o for o in obs.items if o.kind != "fix"]
    kept: list[Observation] = []
    same, clash = [], []
    for o in fixes:
        if kept and abs(o.time - kept[-1].time) < 1e-3:
            p = kept[-1]
            if (abs(o.lat - p.lat) < 1e-7 and abs(o.lon - p.lon) < 1e-7
                    and (o.alt == p.alt or not (o.has_altitude or p.has_altitude))):
                same.append(o)
            else:
                clash.append(o)
                rejected.append(f"{where(o)}: same time as {where(p)} at another place (the first is kept)")
            continue
        kept.append(o)
    if same:
        notes.append(f"{len(same)} identical fixes (same time and position) were used once: {_refs(same)}")
    if clash:
        notes.append(f"warning: {len(clash)} fixes share a time with an earlier fix at another place and were left "
                     f"out: {_refs(clash)}")
    bad = []
    consistent = _consistency(kept)
    alive = np.arange(len(kept))  # indices into kept of the fixes still in
    for _ in range(len(kept)):
        if alive.size < 2:
            break
        pairs = np.flatnonzero(~consistent(alive[:-1], alive[1:]))
        if not pairs.size:
            break

        def score(p):
            near = np.array([q for q in range(max(0, p - 2), min(alive.size, p + 3)) if q != p])
            return int((~consistent(np.full(near.size, alive[p]), alive[near])).sum())

        k = int(pairs[0])
        drop = k if score(k) > score(k + 1) else k + 1
        o = kept[alive[drop]]
        alive = np.delete(alive, drop)
        bad.append(o)
        rejected.append(f"{where(o)}: {o.lat:.4f}, {o.lon:.4f}"
                        + (f", {o.alt:.0f} m" if o.has_altitude else "")
                        + f" implies a speed above {MAX_SPEED_H:g} m/s from its neighbours")
    kept = [kept[k] for k in alive]
    if bad:
        notes.append(f"warning: {len(bad)} fixes imply impossible speeds (over {MAX_SPEED_H:g} m/s) and were left out: "
                     + _refs(bad))
    items = sorted(kept + others, key=lambda o: o.time)
    if not items:
        raise InputError("no usable observation is left after screening; expected fixes that agree with each other")
    return Observations(items, notes, rejected)


# -- readers ---------------------------------------------------------------------------------------------------------
def read_observations(path, *, sigma_h=None, sigma_z=None) -> Observations:
    """Observations from a file; the format comes from the extension (and, for .json, from the content)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"observation file '{path}' does not exist")
    ext = path.suffix.lower()
    if ext == ".csv":
        obs = _read_csv(path)
    elif ext in (".kml", ".kmz"):
        obs = _read_kml(path)
    elif ext in (".json", ".geojson"):
        obs = _read_json(path)
    elif ext in (".gpx", ".nc", ".nc4"):
        obs = _from_dataset(path, "telemetry")
    else:
        raise InputError(f"observation file '{path}' has extension {ext or '(none)'!r}; expected .csv, .kml, .kmz, "
                         ".gpx, .json, .geojson or .nc")
    if sigma_h is not None or sigma_z is not None:
        for o in obs.items:
            if o.kind == "fix":
                o.sigma_h = float(sigma_h) if sigma_h is not None else o.sigma_h
                if sigma_z is not None and o.has_altitude:
                    o.sigma_z = float(sigma_z)
    if not obs.items:
        raise InputError(f"observation file '{path}' holds no usable observation (each needs a time and a position)")
    return collect(obs)


def _telemetry(times, lat, lon, alt, source, extra=None) -> list[Observation]:
    out = []
    for k in range(len(lat)):
        t = times[k]
        if np.isnat(t) if isinstance(t, np.datetime64) else not np.isfinite(t):
            continue
        secs = float(to_epoch_seconds(t)) if isinstance(t, np.datetime64) else float(t)
        z = float(alt[k]) if alt is not None and np.isfinite(alt[k]) else math.nan
        o = Observation("fix", secs, float(lat[k]), float(lon[k]), z, TELEMETRY_SIGMA_H,
                        TELEMETRY_SIGMA_Z if math.isfinite(z) else math.nan, source=source)
        if extra is not None:
            o.extra = extra[k]
        out.append(o.checked())
    return out


def _from_dataset(path, source) -> Observations:
    import stratotrack.io as sio

    ds = sio.read(path)
    t = ds["time"].values.ravel()
    lat, lon, alt = (np.asarray(ds[k].values, float).ravel() for k in ("latitude", "longitude", "altitude"))
    ok = np.isfinite(lat) & np.isfinite(lon)
    items = _telemetry(t[ok], lat[ok], lon[ok], alt[ok], f"{source} {path.name}")
    if not items and ok.any():
        raise InputError(f"track file '{path}' has positions but no times; expected timed points (a track for "
                         "tracking must say when each position was received)")
    return Observations(items)


_NUM = r"([-+]?\d+(?:\.\d+)?)"


def _read_kml(path) -> Observations:
    """A ``gx:Track`` (timed), or a radiosonde receiver's placemarks whose descriptions carry 'UTC Time: ...'."""
    import xml.etree.ElementTree as ET

    from ..io.kml import read_tree

    root = read_tree(path)
    items: list[Observation] = []
    for pm in root.iter():
        if not pm.tag.endswith("Placemark"):
            continue
        desc = "".join(pm.itertext())
        m = re.search(r"UTC Time:\s*(\d\d)/(\d\d)/(\d\d)\s+(\d\d:\d\d:\d\d)", desc)
        if not m:
            continue
        mo, da, yy, hms = m.groups()
        coords = None
        for el in pm.iter():
            if el.tag.endswith("coordinates") and el.text:
                coords = [float(v) for v in el.text.strip().split()[0].split(",")]
                break
        if coords is None:
            continue
        z = coords[2] if len(coords) > 2 else math.nan
        ma = re.search(r"Altitude:\s*" + _NUM, desc)
        z = float(ma.group(1)) if ma else z
        extra = {}
        for key, pat in (("vertical_speed", r"Vertical:\s*" + _NUM), ("horizontal_speed", r"Horizontal:\s*" + _NUM),
                         ("heading", r"Heading:\s*" + _NUM), ("frame", r"Frame:\s*" + _NUM)):
            mm = re.search(pat, desc)
            if mm:
                extra[key] = float(mm.group(1))
        t = f"20{yy}-{mo}-{da}T{hms}Z"
        name = (pm.findtext("{http://www.opengis.net/kml/2.2}name") or "").strip()
        o = Observation("fix", float(to_epoch_seconds(t)), coords[1], coords[0], z, TELEMETRY_SIGMA_H,
                        TELEMETRY_SIGMA_Z, source=f"telemetry {path.name}", label=name, extra=extra)
        items.append(o.checked())
    if items:
        line = _line_points(root, items)
        if line is not None:
            return Observations(line, [f"{path.name}: {len(line)} received positions, timed from the "
                                       f"{len(items)} timed placemarks (1 s per frame between them; lost frames "
                                       "where the track jumps)"])
        return Observations(items, [f"{path.name}: {len(items)} timed receiver placemarks (the untimed line "
                                    "points are not used)"])
    del ET
    return _from_dataset(path, "telemetry")


def _running_median(x, width):
    """Median of ``x`` over ``width`` samples centred on each (fewer at the ends)."""
    from numpy.lib.stride_tricks import sliding_window_view

    h = width // 2
    if x.size == 0:
        return x.copy()
    pad = np.concatenate([np.full(h, np.nan), x, np.full(h, np.nan)])
    return np.nanmedian(sliding_window_view(pad, width), axis=1)


def _line_points(root, placemarks) -> list[Observation] | None:
    """The receiver's untimed line (one point per received packet) timed from its timed placemarks ('Packet: #N'
    with 'Frame' and 'UTC Time'): between two placemarks each step is one frame (1 s) where the track is continuous,
    and the frames lost in between are given to the steps where it jumps, in proportion to the jump.  None when the
    line does not match the placemarks (then the placemarks alone are used)."""
    from ..geodesy import great_circle_distance

    best = None
    for el in root.iter():
        if el.tag.endswith("LineString"):
            for c in el.iter():
                if c.tag.endswith("coordinates") and c.text:
                    pts = c.text.split()
                    if best is None or len(pts) > len(best):
                        best = pts
    if best is None or len(best) <= len(placemarks):
        return None
    try:
        xyz = np.array([[float(v) for v in p.split(",")[:3]] for p in best])
    except ValueError:
        return None
    anchors = []
    for o in placemarks:
        m = re.match(r"Packet:\s*#(\d+)", o.label or "")
        if not m or "frame" not in o.extra:
            return None
        k = int(m.group(1))
        if k >= len(xyz) or abs(xyz[k, 1] - o.lat) > 1e-4 or abs(xyz[k, 0] - o.lon) > 1e-4:
            return None
        anchors.append((k, o.time, o.extra["frame"]))
    anchors.sort()
    if len(anchors) < 2 or any(b[1] < a[1] or b[0] <= a[0] for a, b in zip(anchors[:-1], anchors[1:])):
        return None
    t = np.full(len(xyz), np.nan)
    # each step's length against the typical step around it (61 steps, whatever the placemarks: a segment of two
    # steps holding the jump over a loss of reception has no typical step of its own)
    step_len = np.hypot(np.asarray(great_circle_distance(xyz[:-1, 1], xyz[:-1, 0], xyz[1:, 1], xyz[1:, 0]), float),
                        np.diff(xyz[:, 2]))
    around = _running_median(step_len, 61)
    for (ka, ta, _), (kb, tb, _) in zip(anchors[:-1], anchors[1:]):
        d = step_len[ka:kb]
        typical = np.maximum(around[ka:kb], 1e-3)
        jump = d > 5.0 * typical
        steps = np.ones(d.size)
        spare = (tb - ta) - d.size
        if jump.any() and spare > 0:
            steps[jump] += spare * d[jump] / d[jump].sum()
        else:
            steps *= (tb - ta) / max(d.size, 1)
        t[ka:kb + 1] = ta + np.concatenate([[0.0], np.cumsum(steps)])
    k0, k1 = anchors[0][0], anchors[-1][0]
    out = []
    for k in range(k0, k1 + 1):
        out.append(Observation("fix", float(t[k]), float(xyz[k, 1]), float(xyz[k, 0]), float(xyz[k, 2]),
                               TELEMETRY_SIGMA_H, TELEMETRY_SIGMA_Z, sigma_t=1.0, source=placemarks[0].source,
                               extra={"row": k, "row_kind": "line point"}).checked())
    return out


def _read_json(path) -> Observations:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"JSON file '{path}' is not valid JSON: {exc}") from None
    if isinstance(data, dict) and data.get("type") in ("FeatureCollection", "Feature"):
        return _from_dataset(path.with_suffix(path.suffix) if path.suffix.lower() == ".geojson" else path, "track")
    frames = None
    if isinstance(data, dict) and isinstance(data.get("entries"), list):  # APRS (aprs.fi API layout)
        frames = data["entries"]
        kind = "APRS"
    elif isinstance(data, list):
        frames, kind = data, "SondeHub"
    elif isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        frames, kind = [], "SondeHub"  # {serial: {datetime: frame}}
        for serial, by_time in data.items():
            for when, frame in by_time.items():
                if isinstance(frame, dict):
                    frames.append({"datetime": when, "serial": serial, **frame})
    if frames is None:
        raise InputError(f"JSON file '{path}' is neither GeoJSON, APRS ({{'entries': [...]}}) nor SondeHub telemetry "
                         "(a list of frames with datetime, lat, lon, alt)")
    items = []
    for k, f in enumerate(frames):
        if not isinstance(f, dict):
            raise InputError(f"JSON file '{path}': entry {k} is not an object; expected time, lat, lon, alt fields")
        try:
            if "time" in f and kind == "APRS":
                t = float(f["time"])
            else:
                when = f.get("datetime", f.get("time_received", f.get("time")))
                t = float(when) if isinstance(when, (int, float)) else float(to_epoch_seconds(str(when)))
            lat = float(f["lat"])
            lon = float(f.get("lon", f.get("lng")))
            alt = f.get("alt", f.get("altitude"))
            alt = float(alt) if alt is not None else math.nan
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"JSON file '{path}': entry {k} lacks a usable time/lat/lon ({exc}); expected "
                             f"{'time, lat, lng, altitude' if kind == 'APRS' else 'datetime, lat, lon, alt'}") from None
        extra = {key: f[key] for key in ("vel_v", "vel_h", "heading", "serial", "name", "frame", "type", "subtype",
                                         "payload_callsign") if key in f}
        extra.update(row=k + 1, row_kind="entry")
        items.append(Observation("fix", t, lat, lon, alt, TELEMETRY_SIGMA_H,
                                 TELEMETRY_SIGMA_Z if math.isfinite(alt) else math.nan,
                                 source=f"{kind} {path.name}", extra=extra).checked())
    return Observations(items)


_COLS = {
    "time": ("time", "datetime", "time_utc", "timestamp", "date"),
    "lat": ("latitude", "lat"),
    "lon": ("longitude", "lon", "lng", "long"),
    "alt": ("altitude", "alt", "altitude_m", "height", "ele"),
    "alt_ft": ("altitude_ft", "alt_ft"),
    "sigma_h": ("sigma_h", "uncertainty_m", "sigma_m", "radius_m", "error_m"),
    "sigma_km": ("uncertainty_km", "radius_km", "sigma_km"),
    "sigma_z": ("sigma_z", "altitude_sigma", "alt_sigma", "altitude_uncertainty_m"),
    "azimuth": ("azimuth", "az", "bearing"),
    "elevation": ("elevation", "el", "elevation_angle"),
    "obs_alt": ("observer_altitude", "observer_alt"),
    "sigma_angle": ("sigma_angle", "angle_sigma", "angle_uncertainty"),
    "angular_size": ("angular_size", "angular_diameter"),
    "size": ("size", "size_m", "diameter_m"),
    "time_precision": ("time_precision",),
    "position_precision": ("position_precision",),
    "label": ("event", "label", "name", "description"),
}


def _precision_m(word) -> float | None:
    word = (word or "").strip().lower()
    if not word:
        return None
    m = re.match(r"(?:about\s+)?(\d+(?:\.\d+)?)\s*(km|m)\b", word)
    if m:
        return float(m.group(1)) * (1000.0 if m.group(2) == "km" else 1.0)
    if word in PRECISION_WORDS:
        return PRECISION_WORDS[word]
    raise InputError(f"position precision {word!r} is not understood; expected a distance such as '5 km' or one of "
                     f"{', '.join(PRECISION_WORDS)}")


def _precision_s(word) -> float:
    word = (word or "").strip().lower()
    if not word:
        return 0.0
    m = re.match(r"(\d+(?:\.\d+)?)\s*(second|minute|hour|day)s?", word)
    if m:
        return float(m.group(1)) * TIME_WORDS[m.group(2)] / 2.0
    if word in TIME_WORDS:
        return TIME_WORDS[word] / 2.0 if word != "day" else TIME_WORDS[word]
    raise InputError(f"time precision {word!r} is not understood; expected e.g. 'minute', '30 minutes', 'day'")


def _csv_is_telemetry(col) -> tuple[bool, str]:
    """Is a CSV with these columns a telemetry log (GPS fixes) rather than reports?  And why, in words."""
    stated = [r for r in ("sigma_h", "sigma_km", "position_precision") if r in col]
    if stated:
        return False, "the file states each row's position accuracy"
    if "azimuth" in col or "elevation" in col:
        return False, "the file holds sightings (azimuth/elevation)"
    if "alt" in col or "alt_ft" in col:
        return True, (f"it has time, position and altitude columns and states no accuracy: read as GPS telemetry "
                      f"(+-{TELEMETRY_SIGMA_H:g} m per fix)")
    return False, (f"it has no altitude and states no accuracy: read as position reports (+-{REPORT_SIGMA_H / 1e3:g} "
                   "km each; add a sigma_h or position_precision column to say otherwise)")


def _read_csv(path) -> Observations:
    import csv as _csv

    from ..io.csv import read_table

    try:
        rows, col = read_table(path, _COLS, "time, latitude and longitude")
    except (UnicodeDecodeError, _csv.Error) as exc:
        raise InputError(f"CSV file '{path}' is not a text table ({type(exc).__name__}: {str(exc)[:80]}); expected "
                         "a header such as time,latitude,longitude,altitude and one row per observation") from None
    if not rows or not any(c.strip() for c in rows[0]):
        raise InputError(f"CSV file '{path}' has no header; expected time,latitude,longitude[,altitude]")
    telemetry, why = _csv_is_telemetry(col)
    missing = [r for r in ("time", "lat", "lon") if r not in col]
    if missing:
        raise InputError(f"CSV file '{path}' has columns {rows[0]}; expected at least time, latitude and longitude "
                         "(plus azimuth and elevation for sightings)")
    items, skipped = [], 0
    for line, r in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in r):
            continue

        def get(role, r=r):
            k = col.get(role)
            return r[k].strip() if k is not None and k < len(r) else ""

        def num(role, line=line):
            text = get(role)
            if not text:
                return math.nan
            try:
                return float(text)
            except ValueError:
                raise InputError(f"CSV file '{path}' line {line}: {role} {text!r} is not a number") from None

        if not get("lat") or not get("lon"):
            skipped += 1  # a report without coordinates (kept in the table for its description)
            continue
        if not get("time"):
            raise InputError(f"CSV file '{path}' line {line} has no time; expected ISO 8601 such as 2023-02-01T21:21Z")
        t = float(to_epoch_seconds(get("time")))
        sigma_t = _precision_s(get("time_precision"))
        label = get("label")
        if math.isfinite(num("azimuth")) or math.isfinite(num("elevation")):
            oa = num("obs_alt")
            sa = num("sigma_angle")
            o = Observation("sighting", t, num("lat"), num("lon"), oa if math.isfinite(oa) else 0.0,
                            azimuth=num("azimuth"), elevation=num("elevation"),
                            sigma_angle=sa if math.isfinite(sa) else SIGHTING_SIGMA_ANGLE,
                            angular_size=num("angular_size"), size=num("size"), sigma_t=sigma_t,
                            source=f"sighting {path.name}", label=label)
        else:
            z = num("alt")
            if not math.isfinite(z) and math.isfinite(num("alt_ft")):
                z = num("alt_ft") * 0.3048
            sh = num("sigma_h")
            if not math.isfinite(sh) and math.isfinite(num("sigma_km")):
                sh = num("sigma_km") * 1000.0
            if not math.isfinite(sh):
                prec = _precision_m(get("position_precision"))
                if prec is None and "position_precision" in col:
                    skipped += 1
                    continue
                sh = prec if prec is not None else (TELEMETRY_SIGMA_H if telemetry else REPORT_SIGMA_H)
            sz = num("sigma_z")
            if math.isfinite(z) and not math.isfinite(sz):
                sz = TELEMETRY_SIGMA_Z if sh <= 100.0 else max(0.1 * abs(z), 300.0)
            o = Observation("fix", t, num("lat"), num("lon"), z, sh, sz if math.isfinite(z) else math.nan,
                            sigma_t=sigma_t, source=f"{'telemetry' if telemetry else 'report'} {path.name}",
                            label=label)
        o.extra["row"] = line
        try:
            items.append(o.checked())
        except InputError as exc:
            raise InputError(f"CSV file '{path}' line {line}: {exc}") from None
    notes = [f"{path.name}: {skipped} rows without usable coordinates were skipped"] if skipped else []
    if items and any(o.kind == "fix" for o in items):
        notes.insert(0, f"{path.name}: {'telemetry' if telemetry else 'reports'}, because {why}")
    return Observations(items, notes)


def without_altitudes(obs: Observations) -> Observations:
    """The same observations with every reported altitude removed (to infer altitude from drift alone)."""
    return Observations([replace(o, alt=math.nan, sigma_z=math.nan) if o.kind == "fix" else o for o in obs.items],
                        list(obs.notes))
