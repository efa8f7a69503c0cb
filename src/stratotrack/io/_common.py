"""What every format shares: safe writing, the valid points of each trajectory, time text, the imported layout."""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..geodesy import wrap_longitude

if TYPE_CHECKING:
    import xarray as xr

#: decimals written for latitude/longitude (1e-6 degree ~ 0.1 m) and altitude (0.1 m)
LATLON_DECIMALS = 6
ALT_DECIMALS = 1


@dataclass
class Track:
    """The valid points of one trajectory (times may be NaT where a format carries none)."""

    index: int
    time: np.ndarray  # datetime64[ns]
    lat: np.ndarray
    lon: np.ndarray
    alt: np.ndarray
    events: list = field(default_factory=list)  # [Event]


@dataclass
class Event:
    name: str
    time: np.datetime64
    lat: float
    lon: float
    alt: float


# -- writing safely ------------------------------------------------------------------------------------------------
def check_writable(path) -> Path:
    """Raise unless ``path`` can be created or replaced: InputError when the name is wrong (a directory, a missing
    folder), ResourceError when the folder cannot be written (permissions, a read-only or special file system).

    The folder is probed by creating and removing an empty temporary file in it, which is the only test that holds
    for every file system (``os.access`` says yes to root on a read-only mount and to ``/proc``).
    """
    from ..errors import ResourceError

    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(f"output path '{path}' is a directory; expected a file name")
    if not parent.exists():
        raise InputError(f"cannot write '{path}': folder '{parent}' does not exist; create it first")
    if not parent.is_dir():
        raise InputError(f"cannot write '{path}': '{parent}' is not a folder")
    if path.exists() and not path.is_file():
        raise InputError(f"cannot write '{path}': it exists and is not a regular file")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ResourceError(f"cannot write '{path}': folder '{parent}' does not accept new files "
                            f"({exc.strerror or type(exc).__name__}); choose a folder you may write to") from None
    return path


def _write_error(path, exc: OSError):
    import errno

    from ..errors import ResourceError

    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return ResourceError(f"cannot write '{path}': the disk is full or the file is larger than allowed "
                             f"({exc.strerror}); nothing was written, free some space or write elsewhere")
    return ResourceError(f"cannot write '{path}': {exc.strerror or exc}; nothing was written")


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on failure it is removed.

    A reader never sees a half-written file, a failed or interrupted export (Ctrl-C, SIGTERM, a full disk) leaves
    nothing behind, and an existing file at ``path`` is kept whole until the new one replaces it.
    """
    path = check_writable(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part",
                                   dir=path.parent if str(path.parent) else ".")
        os.close(fd)
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:  # on disk before the rename, so a crash cannot leave an empty file
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        with contextlib.suppress(OSError):  # mkstemp makes 0600; give the file the usual permissions
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(path, 0o666 & ~umask)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _write_error(path, exc) from None
        if type(exc) is RuntimeError:  # netCDF4/HDF5 report a full disk or an I/O failure as RuntimeError
            from ..errors import ResourceError

            raise ResourceError(f"cannot write '{path}': {' '.join(str(exc).split())}; nothing was written "
                                "(check the free space of the disk)") from exc
        raise


@contextlib.contextmanager
def atomic_open(path, mode="w"):
    """Open a temporary file beside ``path`` for writing; see :func:`atomic_path`."""
    kwargs = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as fh:
        yield fh


def xml_sub(parent, tag: str, text=None):
    """A child element with a namespaced tag ('{ns}name') and optional text."""
    import xml.etree.ElementTree as ET

    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = str(text)
    return el


# -- reading the prediction Dataset ----------------------------------------------------------------------------------
def wrap_lon(lon):
    """Longitudes in -180..180."""
    lon = np.asarray(lon, dtype=float)
    return np.where((lon >= -180.0) & (lon <= 180.0), lon, wrap_longitude(lon))


def tracks(ds: xr.Dataset) -> list[Track]:
    """The valid points and the events of every trajectory of a trajectory Dataset."""
    time = ds["time"].values.astype("datetime64[ns]")
    lat, lon, alt = (np.asarray(ds[k].values, dtype=float) for k in ("latitude", "longitude", "altitude"))
    if lat.ndim == 1:
        time, lat, lon, alt = time[None], lat[None], lon[None], alt[None]
    n_obs = ds["n_obs"].values if "n_obs" in ds else np.isfinite(lat).sum(axis=1)
    names = [str(e) for e in ds["event"].values] if "event" in ds.coords else []
    out = []
    for i in range(lat.shape[0]):
        k = int(n_obs[i])
        ok = np.isfinite(lat[i, :k]) & np.isfinite(lon[i, :k])
        tr = Track(i, time[i, :k][ok], lat[i, :k][ok], wrap_lon(lon[i, :k][ok]), alt[i, :k][ok])
        for j, name in enumerate(names):
            la, lo = float(ds["event_latitude"].values[i, j]), float(ds["event_longitude"].values[i, j])
            if np.isfinite(la) and np.isfinite(lo):
                tr.events.append(Event(name, ds["event_time"].values[i, j].astype("datetime64[ns]"), la,
                                       float(wrap_lon(lo)), float(ds["event_altitude"].values[i, j])))
        out.append(tr)
    return out


def iso(times) -> np.ndarray | str:
    """ISO 8601 text with Z; NaT becomes ''.

    One format for the whole array, so that a column parses with one pattern: whole seconds where every time is a
    whole second, else milliseconds throughout.
    """
    t = np.asarray(times, dtype="datetime64[ns]")
    nat = np.isnat(t)
    ns = np.where(nat, 0, t.astype(np.int64))
    ms = (ns + 500_000) // 1_000_000
    unit = "s" if np.all(ms % 1000 == 0) else "ms"
    text = np.datetime_as_string(ms.astype("datetime64[ms]"), unit=unit)
    out = np.where(nat, "", np.char.add(text, "Z")).astype(object)
    return str(out) if out.ndim == 0 else out


def parse_times(texts) -> np.ndarray:
    """datetime64[ns] from ISO 8601 text (Z or offsets); '' and None become NaT."""
    from ..timeutil import parse_time

    out = np.full(len(texts), np.datetime64("NaT"), dtype="datetime64[ns]")
    for k, text in enumerate(texts):
        if text is not None and str(text).strip():
            out[k] = parse_time(str(text).strip())
    return out


def describe(ds: xr.Dataset) -> str:
    """One paragraph of the assumptions behind a prediction, for the description fields of the exports."""
    a = ds.attrs
    parts = [a.get("title", "trajectory")]
    if a.get("parameters"):
        parts.append(f"parameters {a['parameters']}")
    if a.get("wind"):
        parts.append(f"wind: {a['wind']}")
    if a.get("step_seconds"):
        parts.append(f"step {float(a['step_seconds']):g} s")
    if a.get("warnings"):
        parts.append("warnings: " + "; ".join(str(a["warnings"]).splitlines()))
    return ". ".join(parts)


# -- building a Dataset from imported tracks -------------------------------------------------------------------------
def to_dataset(items: list[Track], source: str, attrs: dict | None = None) -> xr.Dataset:
    """The CF trajectory layout of stratotrack (dims trajectory, obs and event) from imported tracks."""
    if not items:
        raise InputError(f"{source} holds no track; expected at least one line of positions")
    n = len(items)
    width = max(1, max(len(t.lat) for t in items))
    time = np.full((n, width), np.datetime64("NaT"), dtype="datetime64[ns]")
    lat, lon, alt = (np.full((n, width), np.nan) for _ in range(3))
    for i, t in enumerate(items):
        k = len(t.lat)
        time[i, :k], lat[i, :k], lon[i, :k], alt[i, :k] = t.time, t.lat, t.lon, t.alt
    names: list[str] = []
    for t in items:
        for e in t.events:
            if e.name not in names:
                names.append(e.name)
    ev_t = np.full((n, len(names)), np.datetime64("NaT"), dtype="datetime64[ns]")
    ev = {k: np.full((n, len(names)), np.nan) for k in ("lat", "lon", "alt")}
    for i, t in enumerate(items):
        for e in t.events:
            j = names.index(e.name)
            if np.isnan(ev["lat"][i, j]):  # the first of a repeated name wins
                ev_t[i, j], ev["lat"][i, j], ev["lon"][i, j], ev["alt"][i, j] = e.time, e.lat, e.lon, e.alt
    obs = ("trajectory", "obs")
    import xarray as xr

    ds = xr.Dataset(
        {
            "n_obs": ("trajectory", np.array([len(t.lat) for t in items]),
                      {"long_name": "number of valid points of each trajectory"}),
            "event_time": (("trajectory", "event"), ev_t, {"long_name": "time of each event (UTC)"}),
            "event_latitude": (("trajectory", "event"), ev["lat"], {"units": "degrees_north"}),
            "event_longitude": (("trajectory", "event"), ev["lon"], {"units": "degrees_east"}),
            "event_altitude": (("trajectory", "event"), ev["alt"], {"units": "m"}),
        },
        coords={
            "trajectory": ("trajectory", np.array([t.index for t in items]),
                           {"cf_role": "trajectory_id", "long_name": "trajectory number"}),
            "event": ("event", np.array(names, dtype=str)),
            "time": (obs, time, {"standard_name": "time", "long_name": "time (UTC)"}),
            "latitude": (obs, lat, {"standard_name": "latitude", "units": "degrees_north"}),
            "longitude": (obs, lon, {"standard_name": "longitude", "units": "degrees_east"}),
            "altitude": (obs, alt, {"standard_name": "altitude", "units": "m", "positive": "up"}),
        },
        attrs={"Conventions": "CF-1.11", "featureType": "trajectory", "source": source, **(attrs or {})},
    )
    return ds
