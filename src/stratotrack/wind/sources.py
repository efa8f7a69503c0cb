"""Where winds come from: ``open_wind`` turns a name, a path or a Dataset into a :class:`WindField`."""

from __future__ import annotations

import functools
import os
from importlib import resources
from pathlib import Path

import xarray as xr

from ..errors import WindDataError
from .field import WindField
from .prepare import from_dataset

CLIMATOLOGY_FILE = "hwm14_monthly_winds_0-40km.nc"
NETCDF_SUFFIXES = (".nc", ".nc4", ".netcdf", ".cdf", ".h5")
GRIB_SUFFIXES = (".grib", ".grib2", ".grb", ".grb2", ".grib1", ".grb1")
GRIB_SHORT_NAMES = ("u", "v", "gh", "z", "w")


def climatology_path() -> Path:
    """Path of the embedded HWM14 monthly climatology (0-40 km)."""
    return Path(str(resources.files("stratotrack.wind") / "data" / CLIMATOLOGY_FILE))


@functools.lru_cache(maxsize=1)
def _climatology() -> WindField:
    from . import _prepared

    path = climatology_path()
    field = _prepared.load(path)
    if field is None:
        with xr.open_dataset(path, engine="netcdf4") as ds:
            field = from_dataset(ds.load(), source="climatology (HWM14 monthly means, 0-40 km)", kind="climatology")
        _prepared.save(path, field)
    return field


def _open_grib(path: Path) -> xr.Dataset:
    """The isobaric wind, height (and vertical wind) messages of a GRIB file, other messages ignored."""
    parts = []
    for short in GRIB_SHORT_NAMES:
        try:
            part = xr.open_dataset(
                path,
                engine="cfgrib",
                backend_kwargs={"filter_by_keys": {"typeOfLevel": "isobaricInhPa", "shortName": short}, "indexpath": ""},
                decode_timedelta=True,
            )
        except Exception as exc:  # cfgrib raises many kinds on unreadable input
            raise WindDataError(f"cannot read {path} as GRIB: {exc}") from None
        if part.data_vars:
            parts.append(part)
    names = {short: p for p in parts for short in p.data_vars}
    if "u" not in names or "v" not in names:
        raise WindDataError(f"{path} has no isobaric u/v wind messages; expected GRIB with typeOfLevel=isobaricInhPa")
    core = [p for short, p in names.items() if short != "w"]
    merged = xr.merge(core, compat="override", join="inner")
    w = names.get("w")
    if w is not None and w["w"].attrs.get("GRIB_units", w["w"].attrs.get("units")) == "m s**-1" \
            and w.sizes == merged["u"].sizes:
        merged["w"] = w["w"]
    return merged


def open_dataset(path) -> xr.Dataset:
    """Open a wind file (NetCDF, GRIB1/2, Zarr) as an xarray Dataset without preparing it."""
    path = Path(path)
    if not path.exists():
        raise WindDataError(f"wind file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix in GRIB_SUFFIXES:
            return _open_grib(path)
        if suffix == ".zarr" or (path.is_dir() and (path / ".zmetadata").exists() or (path / "zarr.json").exists()):
            return xr.open_zarr(path)
        if suffix in NETCDF_SUFFIXES:
            return xr.open_dataset(path)
        with open(path, "rb") as fh:
            magic = fh.read(4)
        if magic == b"GRIB":
            return _open_grib(path)
        return xr.open_dataset(path)
    except WindDataError:
        raise
    except Exception as exc:
        raise WindDataError(f"cannot read wind file {str(path)!r}: {type(exc).__name__}: {exc}") from None


def open_wind(source="climatology", *, variables=None, time=None) -> WindField:
    """Prepare winds for prediction.

    ``source`` is ``"climatology"`` (the embedded default), a path to a NetCDF, GRIB or Zarr file, an
    ``xarray.Dataset``, or an existing :class:`WindField` (returned as it is).  ``variables`` maps the roles
    ``u``, ``v``, ``height`` and ``w`` to variable names when they are not recognised.  ``"gfs"``, ``"gefs"``,
    ``"ecmwf"``, ``"era5"``, ``"ncep"`` or a cache entry id open winds fetched with :func:`stratotrack.fetch`
    (``time``: the times they must cover; the newest such cycle is used).

    >>> wind = open_wind("climatology")
    >>> wind.time_mode, wind.vertical
    ('monthly', 'altitude')
    """
    if isinstance(source, WindField):
        return source
    if isinstance(source, xr.Dataset):
        return from_dataset(source, source=str(source.attrs.get("title", "dataset")), variables=variables)
    if isinstance(source, (str, os.PathLike)):
        text = str(source)
        if text == "climatology":
            return _climatology()
        from ..cache import open_cached  # downloaded winds: "gfs", "era5"... (covering ``time``) or an entry id

        cached = open_cached(text, time)
        if cached is not None:
            return cached
        path = Path(text).expanduser()
        if path.exists():
            with open_dataset(path) as ds:
                return from_dataset(ds, source=str(path), variables=variables)
        raise WindDataError(
            f"unknown wind source {text!r}; expected 'climatology', 'gfs', 'gefs', 'ecmwf', 'era5', 'ncep' "
            "(fetched winds), a cache entry id, a path to a NetCDF/GRIB/Zarr file, an xarray Dataset or a WindField"
        )
    raise WindDataError(
        f"wind source of type {type(source).__name__} is not understood; expected 'climatology', a path, "
        "an xarray Dataset or a WindField"
    )
