"""The one wind interface every part of stratotrack samples: :class:`WindField`."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError, WindDataError
from . import _sample
from ..timeutil import format_time, to_epoch_seconds

if TYPE_CHECKING:  # (xarray is imported where it is used: a prediction on a prepared field needs none)
    import xarray as xr


@dataclass(eq=False)
class WindField:
    """A wind field prepared once for fast sampling.

    Build one with :func:`stratotrack.open_wind`; pass it to :func:`stratotrack.predict` (``wind=``) so that
    repeated predictions reuse it.  The arrays are read-only views shared by every prediction: no prediction
    copies the field.

    Attributes
    ----------
    data : float32 array ``[time, lat, lon, level, var]``; var = (level height in m, u, v[, w]) in SI units.
    lat, lon : ascending coordinate arrays (degrees); longitudes in the data's own convention, unwrapped.
    knots, knot_index : times (s since 1970-01-01T00:00Z) at which ``data[knot_index[k]]`` is valid.
    time_mode : ``"series"`` (linear in time), ``"steady"`` (one time, used for all times) or ``"monthly"``
        (a climatology: values valid mid-month, interpolated linearly between months, every year).
    vertical : ``"pressure"`` (levels are isobaric; heights from the field's geopotential height) or
        ``"altitude"`` (levels are geometric altitudes).
    levels : the level values as stored in the source, in SI (Pa or m), ordered by increasing height.
    source : a short label of where the data came from (path, ``"climatology"``, ``"dataset"``).
    kind : ``"climatology"``, ``"forecast"``, ``"analysis"`` or ``"data"``: results computed on a climatology are
        labelled as such.
    notes : sentences describing assumptions taken while preparing (reported with every result).
    """

    data: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    knots: np.ndarray
    knot_index: np.ndarray
    time_mode: str
    vertical: str
    levels: np.ndarray
    source: str = "dataset"
    kind: str = "data"
    valid_time: np.datetime64 | None = None
    notes: list[str] = field(default_factory=list)
    attrs: dict = field(default_factory=dict)

    def __post_init__(self):
        lat = np.ascontiguousarray(self.lat, dtype=np.float64)
        lon = np.ascontiguousarray(self.lon, dtype=np.float64)
        dlat = np.diff(lat)
        dlon = np.diff(lon)
        lat_uniform = bool(np.allclose(dlat, dlat[0], rtol=1e-6, atol=1e-9))
        if not np.allclose(dlon, dlon[0], rtol=1e-6, atol=1e-9):
            raise WindDataError(
                f"longitudes must be evenly spaced, got spacings from {dlon.min():g} to {dlon.max():g} degrees"
            )
        span = lon[-1] - lon[0]
        periodic = bool(abs(span + dlon[0] - 360.0) < 1e-6 * 360.0)
        self.lat, self.lon = lat, lon
        self.lat_uniform, self.periodic = lat_uniform, periodic
        self._ip = np.array([int(lat_uniform), int(periodic), *self.data.shape], dtype=np.int64)
        self.knots = np.ascontiguousarray(self.knots, dtype=np.float64)
        # the kernels multiply by reciprocals (one division per spacing here instead of one per sample there)
        with np.errstate(divide="ignore"):
            kinv = 1.0 / np.diff(self.knots) if self.knots.size > 1 else np.zeros(0)
        self._fp = np.concatenate([[lat[0], dlat[0], lon[0], dlon[0], span, 1.0 / dlat[0], 1.0 / dlon[0]], kinv])
        self.knot_index = np.ascontiguousarray(self.knot_index, dtype=np.int64)
        self.data.flags.writeable = False

    # -- storage ------------------------------------------------------------------------------------------------
    def metadata(self) -> dict:
        """Everything but the data array, JSON-ready (attributes that JSON cannot hold become text)."""
        attrs = {}
        for k, v in dict(self.attrs).items():
            try:
                json.dumps(v)
                attrs[str(k)] = v
            except TypeError:
                attrs[str(k)] = str(v)
        return {
            "lat": self.lat.tolist(), "lon": self.lon.tolist(), "knots": self.knots.tolist(),
            "knot_index": self.knot_index.tolist(), "time_mode": self.time_mode, "vertical": self.vertical,
            "levels": np.asarray(self.levels, dtype=float).tolist(), "source": self.source, "kind": self.kind,
            "valid_time": None if self.valid_time is None else str(np.datetime64(self.valid_time, "s")),
            "notes": list(self.notes), "attrs": attrs,
        }

    @classmethod
    def from_metadata(cls, data, meta: dict, **override) -> "WindField":
        """The field of a data array and :meth:`metadata` (``override`` replaces fields, e.g. ``source``)."""
        valid = meta.get("valid_time")
        kw = dict(lat=np.asarray(meta["lat"], dtype=float), lon=np.asarray(meta["lon"], dtype=float),
                  knots=np.asarray(meta["knots"], dtype=float), knot_index=np.asarray(meta["knot_index"], dtype=np.int64),
                  time_mode=meta["time_mode"], vertical=meta["vertical"], levels=np.asarray(meta["levels"], dtype=float),
                  source=meta["source"], kind=meta["kind"],
                  valid_time=None if valid is None else np.datetime64(valid, "s"), notes=list(meta["notes"]),
                  attrs=dict(meta.get("attrs", {})))
        kw.update(override)
        return cls(data=data, **kw)

    # -- what the kernels need -------------------------------------------------------------------------------
    def kernel_args(self):
        """The arrays the compiled kernels take: (flat data, lat, knots, knot_index, fparams, iparams)."""
        return self.data.reshape(-1), self.lat, self.knots, self.knot_index, self._fp, self._ip

    # -- description -------------------------------------------------------------------------------------------
    @property
    def is_global(self) -> bool:
        return self.periodic

    @property
    def time_range(self):
        """(first, last) valid times as datetime64, or None for steady fields and climatologies."""
        if self.time_mode != "series":
            return None
        return (np.datetime64(int(round(self.knots[0])), "s"), np.datetime64(int(round(self.knots[-1])), "s"))

    @functools.cached_property
    def altitude_range(self):
        """(lowest, highest) level height in m anywhere in the field (computed once)."""
        h = self.data[..., 0]
        return float(h[..., 0].min()), float(h[..., -1].max())

    def label(self) -> str:
        """One line saying what the winds are, for summaries and result attributes."""
        if self.time_mode == "monthly":
            when = "monthly climatology"
        elif self.time_mode == "steady":
            when = f"steady, valid {format_time(self.valid_time)}" if self.valid_time is not None else "steady"
        else:
            a, b = self.time_range
            when = f"{format_time(a)} to {format_time(b)}"
        res = f"{abs(self._fp[1]):g}x{self._fp[3]:g} deg" if self.lat_uniform else f"{self.lat.size} lat x {self.lon.size} lon"
        return f"{self.kind} '{self.source}' ({res}, {self.levels.size} {self.vertical} levels, {when})"

    def __repr__(self) -> str:
        return f"<WindField {self.label()}>"

    def describe(self) -> dict:
        """A JSON-ready description of the field."""
        lo, hi = self.altitude_range
        tr = self.time_range
        return {
            "source": self.source,
            "kind": self.kind,
            "time_mode": self.time_mode,
            "time_range": None if tr is None else [format_time(tr[0]), format_time(tr[1])],
            "valid_time": None if self.valid_time is None else format_time(self.valid_time),
            "vertical": self.vertical,
            "levels": self.levels.tolist(),
            "altitude_range_m": [lo, hi],
            "latitude_range": [float(self.lat[0]), float(self.lat[-1])],
            "longitude_range": [float(self.lon[0]), float(self.lon[-1])],
            "global": self.is_global,
            "shape": list(self.data.shape),
            "notes": list(self.notes),
        }

    # -- checks ------------------------------------------------------------------------------------------------
    #: faster than any wind measured in the free atmosphere (jet streams reach about 120 m/s)
    MAX_PLAUSIBLE_SPEED = 150.0
    #: a single-time field used further than this (s) from its valid time describes other weather
    STEADY_GAP = 2 * 86400.0

    @functools.cached_property
    def max_speed(self) -> float:
        """The largest horizontal wind speed in the data (m/s; on a strided subset of very large fields)."""
        uv = self.data[..., 1:3]
        if uv.size > 50_000_000:  # memory-mapped forecasts of gigabytes: every 7th point is enough for units
            uv = uv.reshape(-1, 2)[::7]
        with np.errstate(invalid="ignore"):
            return float(np.nanmax(np.hypot(uv[..., 0], uv[..., 1]))) if uv.size else 0.0

    def warnings_for(self, seconds) -> list[str]:
        """What a flight starting at ``seconds`` (s since 1970) should be warned of about these winds: a
        climatology instead of a forecast, a single-time field far from the flight's dates, implausible speeds."""
        out = []
        if self.kind == "climatology":
            out.append("winds are a monthly climatology, not a forecast: expect errors of hundreds of km")
        t = ()
        if self.time_mode == "steady" and self.valid_time is not None:
            t = np.asarray(seconds, dtype=float).ravel()
            t = t[np.isfinite(t)]
        if len(t):
            valid = float((np.datetime64(self.valid_time, "s") - np.datetime64(0, "s")) / np.timedelta64(1, "s"))
            gap = float(np.max(np.abs(t - valid)))
            if gap > self.STEADY_GAP:
                days = gap / 86400.0
                span = f"{days / 365.25:,.1f} years" if days > 730 else f"{days:,.0f} days"
                out.append(f"the winds are a single time, valid {format_time(self.valid_time)}, {span} from the "
                           "flight: they describe other weather, not the flight's")
        if self.max_speed > self.MAX_PLAUSIBLE_SPEED:
            out.append(f"the wind data hold speeds up to {self.max_speed:,.0f} m/s, faster than any real wind (jet "
                       "streams reach about 120 m/s): check the file's units and values")
        return out

    def check_times(self, seconds) -> None:
        """Raise if any start time (s since epoch) lies outside a time-series field."""
        if self.time_mode != "series":
            return
        seconds = np.asarray(seconds, dtype=float)
        bad = (seconds < self.knots[0]) | (seconds > self.knots[-1])
        if bad.any():
            first = seconds[bad].ravel()[0]
            a, b = self.time_range
            raise InputError(
                f"time {format_time(np.datetime64(int(round(first)), 's'))} is outside the wind data, "
                f"which covers {format_time(a)} to {format_time(b)}"
            )

    # -- sampling ----------------------------------------------------------------------------------------------
    def sample(self, time, lat, lon, alt) -> xr.Dataset:
        """Wind at arrays of points (broadcast together).

        ``time`` is datetime64 (or ISO strings); positions in degrees and metres.  Returns a Dataset with
        ``eastward_wind``, ``northward_wind``, ``upward_air_velocity`` (m/s, zero where the data has none) and
        ``outside`` (bit flags: 1 above the data, 2 below, 4 outside its times, 8 outside its region; such
        samples are clamped to the nearest data).
        """
        t = to_epoch_seconds(time)
        t, la, lo, z = np.broadcast_arrays(t, np.asarray(lat, float), np.asarray(lon, float), np.asarray(alt, float))
        shape = t.shape
        if np.any(np.abs(la) > 90):
            raise InputError(f"latitude {float(la[np.abs(la) > 90].ravel()[0])!r} is beyond ±90 degrees")
        flat = [np.ascontiguousarray(a, dtype=np.float64).ravel() for a in (t, la, lo, z)]
        n = flat[0].size
        u, v, w = np.empty(n), np.empty(n), np.empty(n)
        flags = np.empty(n, dtype=np.int64)
        _sample.sample_many(*self.kernel_args(), *flat, u, v, w, flags)
        dims = tuple(f"dim_{i}" for i in range(len(shape)))
        import xarray as xr

        return xr.Dataset(
            {
                "eastward_wind": (dims, u.reshape(shape), {"standard_name": "eastward_wind", "units": "m s-1"}),
                "northward_wind": (dims, v.reshape(shape), {"standard_name": "northward_wind", "units": "m s-1"}),
                "upward_air_velocity": (dims, w.reshape(shape), {"standard_name": "upward_air_velocity", "units": "m s-1"}),
                "outside": (dims, flags.reshape(shape), {"flag_masks": [1, 2, 4, 8],
                                                         "flag_meanings": "above_data below_data outside_time outside_region"}),
            },
            attrs={"wind": self.label()},
        )
