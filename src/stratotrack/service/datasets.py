"""The wind datasets a server offers.  Configured once at start-up (by whoever runs the server); a request names a
dataset (its name, or for API v1 its forecast time), never a file."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, WindDataError

_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
CACHED_SOURCES = ("gfs", "gefs", "ecmwf", "era5", "ncep")


class UnknownDataset(LookupError):
    """The request names a dataset this server does not have (HTTP 404)."""


class NotCovered(LookupError):
    """No configured dataset covers the launch time (HTTP 404 in v1, as Tawhiri's "No matching dataset found")."""


@dataclass
class Resolved:
    """A wind field chosen for one request, with its name, reference time (epoch s or None) and warnings."""

    field: object
    name: str
    reference: float | None
    warnings: list = field(default_factory=list)

    @property
    def climatology(self) -> bool:
        return getattr(self.field, "kind", "") == "climatology"


@dataclass
class _Entry:
    name: str
    source: str
    field: object = None  # a fixed WindField (climatology, a file, a cache entry id)
    dynamic: bool = False  # a downloaded source: the newest cached cycle covering the launch


def _reference(field) -> float | None:
    """The forecast cycle (epoch s) of a field if known, else its first valid time; None for a climatology."""
    if field.time_mode == "monthly":
        return None
    cyc = field.attrs.get("cycle") or field.attrs.get("reference_time")
    if cyc:
        try:
            from ..timeutil import to_epoch_seconds

            return float(to_epoch_seconds(str(cyc)))
        except (InputError, ValueError):
            pass
    if field.time_mode == "steady" and field.valid_time is not None:
        return float((np.datetime64(field.valid_time, "s") - np.datetime64(0, "s")).astype(np.int64))
    return float(field.knots[0])


def _covers(field, t: float) -> bool:
    return field.time_mode != "series" or (field.knots[0] <= t <= field.knots[-1])


class Datasets:
    """The configured datasets, in the order given (the first that covers a launch is the default)."""

    def __init__(self, specs):
        from ..wind import open_wind

        self.entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._memo: dict[str, object] = {}
        for spec in specs:
            spec = str(spec).strip()
            name, sep, source = spec.partition("=")
            if not sep:
                source = spec
                name = spec if (spec == "climatology" or spec.lower() in CACHED_SOURCES) else None
            if name is None:
                from pathlib import Path

                name = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(source.split("*")[0]).stem or "wind")[:64]
            if not _NAME.match(name):
                raise InputError(f"dataset name {name!r} is invalid; expected 1-64 letters, digits, '_', '.', "
                                 "':' or '-'")
            if name in self.entries:
                raise InputError(f"dataset name {name!r} is given twice; expected each --wind once")
            if source.lower() in CACHED_SOURCES:
                self.entries[name] = _Entry(name, source.lower(), dynamic=True)
            else:
                self.entries[name] = _Entry(name, source, open_wind(source))

    # -- listing (no paths) --------------------------------------------------------------------------------------
    def describe(self) -> list[dict]:
        out = []
        for e in self.entries.values():
            d = {"name": e.name}
            if e.dynamic:
                from ..wind.cache import Cache

                d.update(kind="forecast" if e.source in ("gfs", "gefs", "ecmwf") else "analysis", source=e.source,
                         cycles=[{"id": x.id, "cycle": x.describe()["cycle"], "start": x.describe()["start"],
                                  "end": x.describe()["end"]} for x in Cache().entries(e.source)[:20]])
            else:
                f = e.field
                info = f.describe()
                d.update(kind=f.kind, time_mode=f.time_mode, time_range=info["time_range"],
                         altitude_range_m=info["altitude_range_m"], latitude_range=info["latitude_range"],
                         longitude_range=info["longitude_range"], notes=info["notes"])
                ref = _reference(f)
                if ref is not None:
                    d["reference_time"] = _iso(ref)
            out.append(d)
        return out

    # -- choosing ------------------------------------------------------------------------------------------------
    def _dynamic(self, e: _Entry, t: float):
        from ..wind.cache import Cache

        with self._lock:
            f = self._memo.get(e.name)
            if f is not None and _covers(f, t):
                return f
        cache = Cache()
        try:
            entry = cache.find(e.source, np.array([t]))
        except WindDataError:
            return None
        with self._lock:
            f = self._memo.get(entry.id)
            if f is None:
                f = cache.open(entry)
                self._memo[entry.id] = f
            self._memo[e.name] = f
        return f

    def field_of(self, name: str, t: float):
        """The field of dataset ``name`` for launch time ``t`` (epoch s); UnknownDataset or NotCovered."""
        e = self.entries.get(name)
        if e is None:
            raise UnknownDataset(f"dataset {name!r} is not served here; expected one of {', '.join(self.entries)}")
        f = self._dynamic(e, t) if e.dynamic else e.field
        if f is None or not _covers(f, t):
            raise NotCovered(f"dataset {name!r} does not cover the launch time {_iso(t)}")
        return f

    def resolve(self, name: str | None, t: float) -> Resolved:
        """The dataset for a request: by name, or the first configured dataset covering ``t``."""
        if name is not None:
            f = self.field_of(name, t)
            return self._resolved(f, name)
        for e in self.entries.values():
            try:
                f = self.field_of(e.name, t)
            except NotCovered:
                continue
            return self._resolved(f, e.name)
        raise NotCovered(f"no dataset served here covers the launch time {_iso(t)}")

    def by_reference(self, ref: float, t: float) -> Resolved:
        """API v1's ``dataset=<RFC 3339 time>``: the configured forecast whose cycle is that time."""
        for e in self.entries.values():
            fields = []
            if e.dynamic:
                from ..wind.cache import Cache

                cache = Cache()
                for x in cache.entries(e.source):
                    if x.cycle is not None and abs(x.cycle - ref) < 1.0:
                        with self._lock:
                            f = self._memo.get(x.id)
                        if f is None:
                            f = cache.open(x)
                            with self._lock:
                                self._memo[x.id] = f
                        fields.append(f)
            elif _reference(e.field) is not None and abs(_reference(e.field) - ref) < 1.0:
                fields.append(e.field)
            for f in fields:
                if not _covers(f, t):
                    raise NotCovered(f"dataset {_iso(ref)} does not cover the launch time {_iso(t)}")
                return self._resolved(f, e.name, ref)
        raise UnknownDataset(f"no dataset with forecast time {_iso(ref)} is served here")

    def newest(self) -> tuple[str, float | None] | None:
        """(name, reference time) of the newest dataset served (a climatology has no time); None if none."""
        best = None
        for e in self.entries.values():
            if e.dynamic:
                from ..wind.cache import Cache

                refs = [x.cycle if x.cycle is not None else x.start for x in Cache().entries(e.source)]
                if refs:
                    cand = (e.name, max(refs))
                else:
                    continue
            else:
                cand = (e.name, _reference(e.field))
            if best is None or (cand[1] is not None and (best[1] is None or cand[1] > best[1])):
                best = cand
        return best

    @staticmethod
    def _resolved(f, name, ref=None) -> Resolved:
        ref = _reference(f) if ref is None else ref
        warnings = []
        if f.kind == "climatology":
            warnings.append("the winds are a monthly climatology, not a forecast: expect landing errors of "
                            "hundreds of km")
        return Resolved(f, name, ref, warnings)


def _iso(seconds) -> str:
    import datetime as _dt

    return _dt.datetime.fromtimestamp(float(seconds), _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
