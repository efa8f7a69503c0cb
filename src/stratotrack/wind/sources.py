"""Where winds come from: ``open_wind`` turns a name, a path or a Dataset into a :class:`WindField`."""

from __future__ import annotations

import functools
import glob
import os
from importlib import resources
from pathlib import Path

import sys
from typing import TYPE_CHECKING

import numpy as np

from ..errors import WindDataError
from .field import WindField
from .prepare import combine, from_dataset, recognise

if TYPE_CHECKING:  # (imported where used: the climatology's prepared copy needs no xarray)
    import xarray as xr

#: names ``open_wind`` accepts besides paths: the embedded climatology and the downloaded (cached) sources
DOWNLOADED_SOURCES = ("gfs", "gefs", "ecmwf", "era5", "ncep")

CLIMATOLOGY_FILE = "hwm14_monthly_winds_0-40km.nc"
NETCDF_SUFFIXES = (".nc", ".nc4", ".netcdf", ".cdf", ".h5")
GRIB_SUFFIXES = (".grib", ".grib2", ".grb", ".grb2", ".grib1", ".grb1")


def climatology_path() -> Path:
    """Path of the embedded HWM14 monthly climatology (0-40 km)."""
    return Path(str(resources.files("stratotrack.wind") / "data" / CLIMATOLOGY_FILE))


@functools.lru_cache(maxsize=1)
def _climatology() -> WindField:
    from . import _prepared

    path = climatology_path()
    field = _prepared.load(path)
    if field is None:
        import xarray as xr

        with xr.open_dataset(path, engine="netcdf4") as ds:
            field = from_dataset(ds.load(), source="climatology (HWM14 monthly means, 0-40 km)", kind="climatology")
        _prepared.save(path, field)
    return field


def _open_grib(path: Path) -> xr.Dataset:
    """The isobaric u, v, gh/z, t (and w) messages of a GRIB1/GRIB2 file in one pass, other messages skipped."""
    from .grib import read_grib

    return read_grib(path)


def _is_zarr(path: Path) -> bool:
    return path.suffix.lower() == ".zarr" or (
        path.is_dir() and any((path / name).exists() for name in (".zmetadata", ".zgroup", "zarr.json"))
    )


def _one_line(exc: Exception, limit: int = 240) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:limit]}{'...' if len(text) > limit else ''}"


def open_dataset(path) -> xr.Dataset:
    """Open a wind file (NetCDF, GRIB1/2, Zarr) as an xarray Dataset without preparing it.

    GRIB files are read in one pass keeping only the isobaric u, v, gh/z, t (and w) messages (see
    :func:`stratotrack.wind.grib.read_grib`); NetCDF and Zarr are opened lazily, with packed variables
    (``scale_factor``/``add_offset``) decoded.
    """
    import xarray as xr

    path = Path(path).expanduser()
    if not path.exists():
        raise WindDataError(f"wind file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    try:
        if _is_zarr(path):
            return xr.open_zarr(path)
        if path.is_dir():
            raise WindDataError(
                f"{str(path)!r} is a folder, not a Zarr store; expected a wind file, a Zarr store or a pattern such as "
                f"'{path}/*.grib2'"
            )
        if suffix in GRIB_SUFFIXES:
            return _open_grib(path)
        with open(path, "rb") as fh:
            magic = fh.read(8)
        if magic[:4] == b"GRIB":
            return _open_grib(path)
        if magic[:3] == b"CDF" or magic[:8] == b"\x89HDF\r\n\x1a\n":
            return xr.open_dataset(path, engine="netcdf4")
        if suffix in NETCDF_SUFFIXES:
            raise WindDataError(f"{str(path)!r} is not a NetCDF file (it does not start with a NetCDF/HDF5 signature)")
        raise WindDataError(
            f"{str(path)!r} is neither GRIB, NetCDF nor Zarr (unrecognised content); expected a GRIB1/GRIB2, NetCDF or "
            "Zarr wind file"
        )
    except WindDataError:
        raise
    except Exception as exc:
        raise WindDataError(f"cannot read wind file {str(path)!r}: {_one_line(exc)}") from None


def _expand_paths(sources) -> list[Path]:
    """Paths from a list of paths and glob patterns, each pattern's matches sorted by name."""
    out: list[Path] = []
    for item in sources:
        text = os.path.expanduser(os.fspath(item))
        if glob.has_magic(text) and not Path(text).exists():
            matches = sorted(glob.glob(text))
            if not matches:
                raise WindDataError(f"no wind files match {text!r}; expected a pattern such as 'winds/*.grib2'")
            out.extend(Path(m) for m in matches)
        else:
            out.append(Path(text))
    return out


def _open_path(path: Path, variables=None) -> WindField:
    with open_dataset(path) as ds:
        return from_dataset(ds, source=str(path), variables=variables)


def _open_many(paths: list[Path], variables=None) -> WindField:
    if not paths:
        raise WindDataError("an empty list of wind files was given; expected at least one path")
    if len(paths) == 1:
        return _open_path(paths[0], variables)
    fields = [_open_path(p, variables) for p in paths]
    return combine(fields)


def open_wind(source="climatology", *, variables=None, time=None) -> WindField:
    """Prepare winds for prediction.

    ``source`` is ``"climatology"`` (the embedded default), a path to a NetCDF, GRIB1/GRIB2 or Zarr wind file, a
    glob pattern or a list of paths (forecast steps, days: combined into one time-continuous field after checking
    that grids and levels agree; gaps between times are reported in the field's notes), an ``xarray.Dataset``, or an
    existing :class:`WindField` (returned as it is).  ``variables`` maps the roles
    ``u``, ``v``, ``height`` and ``w`` to variable names when they are not recognised.  ``"gfs"``, ``"gefs"``,
    ``"ecmwf"``, ``"era5"``, ``"ncep"`` or a cache entry id open winds fetched with :func:`stratotrack.fetch`
    (``time``: the times they must cover; the newest such cycle is used).

    >>> wind = open_wind("climatology")
    >>> wind.time_mode, wind.vertical
    ('monthly', 'altitude')
    """
    if isinstance(source, WindField):
        return source
    xarray = sys.modules.get("xarray")  # (a Dataset means xarray is imported already)
    if xarray is not None and isinstance(source, xarray.Dataset):
        return from_dataset(source, source=str(source.attrs.get("title", "dataset")), variables=variables)
    if isinstance(source, (list, tuple)):
        return _open_many(_expand_paths(source), variables)
    if isinstance(source, (str, os.PathLike)):
        text = str(source)
        if text == "climatology":
            return _climatology()
        from .cache import open_cached  # downloaded winds: "gfs", "era5"... (covering ``time``) or an entry id

        cached = open_cached(text, time)
        if cached is not None:
            return cached
        path = Path(text).expanduser()
        if path.exists():
            return _open_path(path, variables)
        if glob.has_magic(text):
            return _open_many(_expand_paths([text]), variables)
        names = ", ".join(f"'{name}'" for name in ("climatology",) + DOWNLOADED_SOURCES)
        if os.sep in text or "/" in text or path.suffix.lower() in GRIB_SUFFIXES + NETCDF_SUFFIXES + (".zarr",):
            raise WindDataError(
                f"wind file {text!r} does not exist; expected an existing GRIB/NetCDF/Zarr file or a source name ({names})"
            )
        raise WindDataError(
            f"unknown wind source {text!r}; expected one of 'climatology', "
            + ", ".join(f"'{name}'" for name in DOWNLOADED_SOURCES)
            + " (downloaded winds), a cache entry id, a path to a NetCDF/GRIB/Zarr file or a glob pattern of them"
        )
    raise WindDataError(
        f"wind source of type {type(source).__name__} is not understood; expected 'climatology', a downloaded source "
        f"name ({', '.join(DOWNLOADED_SOURCES)}), a path, a list of paths, an xarray Dataset or a WindField"
    )


def check_altitude(field: WindField, altitude, *, what="the requested altitude") -> None:
    """Raise a one-line :class:`WindDataError` if ``altitude`` (m, scalar or array) is above the field's top.

    The top is the highest top-level height anywhere in the field, so a flight that passes this check may still
    reach above the data in places (the engine clamps or stops there and reports it).
    """
    top = field.altitude_range[1]
    alt = np.asarray(altitude, dtype=float)
    if alt.size and np.nanmax(alt) > top:
        highest = float(np.nanmax(alt))
        level = ""
        if field.vertical == "pressure":
            level = f" (top level {field.levels[-1] / 100.0:g} hPa)"
        raise WindDataError(
            f"{what} of {highest / 1000.0:.1f} km is above the wind data '{field.source}', whose levels reach "
            f"{top / 1000.0:.1f} km{level}; expected winds with higher levels (e.g. GFS up to 1 hPa, about 48 km) "
            "or a lower altitude"
        )


def describe(source, *, variables=None) -> dict:
    """Describe a wind source (a file, several files, a name, a Dataset or a WindField) as a JSON-ready dict.

    Adds to :meth:`WindField.describe` what was read: the file format, the variable playing each role (with its
    units), the grid resolution, the region and the times.

    >>> d = describe("climatology")
    >>> d["time_mode"], d["vertical"]
    ('monthly', 'altitude')
    """
    info: dict = {}
    field = None
    if isinstance(source, (str, os.PathLike)) and Path(os.path.expanduser(str(source))).exists():
        path = Path(os.path.expanduser(str(source)))
        with open_dataset(path) as ds:
            field = from_dataset(ds, source=str(path), variables=variables)
            roles = recognise(ds, variables)
            info["format"] = _format_name(path, ds)
            info["variables"] = [
                f"{role}: {name} ({ds[name].attrs.get('standard_name', '-')}, "
                f"{ds[name].attrs.get('units', ds[name].attrs.get('GRIB_units', 'no units'))})"
                for role, name in roles.items()
                if role != "w" or field.data.shape[-1] == 4
            ]
            info["other_variables"] = sorted(str(n) for n in ds.data_vars if n not in roles.values())
            if path.is_file():
                info["file_size_bytes"] = path.stat().st_size
    else:
        field = open_wind(source, variables=variables)
    desc = field.describe()
    desc.update(info)
    lat, lon = field.lat, field.lon
    dlat = np.diff(lat)
    desc["resolution_deg"] = [float(np.round(np.median(np.abs(dlat)), 6)), float(np.round(abs(lon[1] - lon[0]), 6))]
    desc["grid_points"] = [int(lat.size), int(lon.size)]
    if field.vertical == "pressure":
        desc["levels_hPa"] = [float(np.round(p / 100.0, 4)) for p in field.levels]
    if field.time_mode == "series":
        times = [np.datetime_as_string(np.datetime64(int(round(k)), "s")) + "Z" for k in field.knots]
        desc["times"] = times if len(times) <= 60 else times[:3] + ["..."] + times[-3:]
        steps = np.diff(field.knots) / 3600.0
        desc["time_step_h"] = sorted({float(np.round(s, 4)) for s in steps})
    return desc


def _format_name(path: Path, ds: xr.Dataset) -> str:
    if "source_format" in ds.attrs:
        return str(ds.attrs["source_format"])
    if _is_zarr(path):
        return "Zarr"
    fmt = ds.encoding.get("format") if hasattr(ds, "encoding") else None
    return f"NetCDF ({fmt})" if fmt else "NetCDF"
