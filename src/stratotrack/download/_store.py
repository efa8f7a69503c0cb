"""From downloaded data to a cache entry: region cut, preparation, storing."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import xarray as xr

from ..errors import WindDataError
from ._parse import Region

TEMPERATURE_NAMES = ("t", "air", "tmp", "air_temperature")


def _name(ds, candidates):
    lower = {str(n).lower(): n for n in list(ds.coords) + list(ds.dims)}
    for c in candidates:
        if c in lower:
            return lower[c]
    return None


def cut_region(ds: xr.Dataset, region: Region) -> xr.Dataset:
    """The part of ``ds`` inside ``region`` plus one grid cell around it (longitudes relabelled to run from the
    region's west edge, so that a box across 0 or 180 degrees stays one increasing axis)."""
    if region.is_global:
        return ds
    latn = _name(ds, ("latitude", "lat"))
    lonn = _name(ds, ("longitude", "lon"))
    if latn is None or lonn is None:
        raise WindDataError("the downloaded data have no latitude/longitude coordinates")
    lat = ds[latn].values.astype(float)
    lon = ds[lonn].values.astype(float)
    dlat = float(np.abs(np.diff(lat)).min()) if lat.size > 1 else 0.0
    dlon = float(np.abs(np.diff(lon)).min()) if lon.size > 1 else 0.0
    keep_lat = (lat >= region.south - dlat - 1e-9) & (lat <= region.north + dlat + 1e-9)
    width = region.east - region.west
    if width + 2 * dlon >= 360.0 - 1e-9:
        out = ds.isel({latn: keep_lat})
    else:
        west = region.west - dlon
        shifted = ((lon - west) % 360.0) + west
        keep_lon = shifted <= region.east + dlon + 1e-9
        out = ds.isel({latn: keep_lat, lonn: keep_lon})
        out = out.assign_coords({lonn: shifted[keep_lon]}).sortby(lonn)
    if out.sizes[latn] < 2 or out.sizes[lonn] < 2:
        raise WindDataError(f"region {region.text()} holds fewer than two grid points of the data; "
                            "expected a larger box")
    return out


def entry_id(source: str, when: str, params: dict) -> str:
    """A readable, deterministic id: ``gfs-2023020100-0p25-3f9a1c2b``."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:8]
    tag = params.get("tag")
    return "-".join(p for p in (source, when, tag, digest) if p)


def store(cache, ds: xr.Dataset, *, entry_id: str, source: str, label: str, kind: str, model=None, product=None,
          member=None, cycle=None, region: Region | None = None, downloaded=None, origin=None):
    """Prepare ``ds`` (u, v, height [, temperature]) into a WindField and store it; returns the cache Entry."""
    from ..wind.prepare import from_dataset

    tname = next((n for n in ds.data_vars if str(n).lower() in TEMPERATURE_NAMES), None)
    temperature = ds[tname] if tname is not None else None
    winds = ds.drop_vars([tname]) if tname is not None else ds
    field = from_dataset(winds, source=label, kind=kind)
    field.notes.append(f"downloaded by stratotrack from {origin}" if origin else "downloaded by stratotrack")
    lat = field.lat
    res = float(abs(lat[1] - lat[0])) if lat.size > 1 else None
    levels_hpa = sorted({float(p) / 100.0 for p in np.asarray(field.levels)}, reverse=True) \
        if field.vertical == "pressure" else []

    def write_extra(folder):
        if temperature is not None:
            t = temperature.astype("float32")
            t.attrs.setdefault("standard_name", "air_temperature")
            t.to_dataset(name="air_temperature").to_netcdf(folder / "air_temperature.nc")

    return cache.store(field, entry_id=entry_id, source=source, model=model, product=product, member=member,
                       cycle=cycle, levels=levels_hpa, region=None if region is None else region.text(),
                       resolution=res, downloaded=downloaded, origin=origin, write_extra=write_extra)


def open_grib(path, shorts) -> xr.Dataset:
    """The isobaric fields ``shorts`` (cfgrib short names) of a downloaded GRIB file as one Dataset with a
    ``valid_time`` dimension (one file per step, or one file holding several steps)."""
    parts = []
    for short in shorts:
        try:
            ds = xr.open_dataset(path, engine="cfgrib", decode_timedelta=True, backend_kwargs={
                "filter_by_keys": {"typeOfLevel": "isobaricInhPa", "shortName": short}, "indexpath": ""})
        except Exception as exc:
            raise WindDataError(f"cannot decode the downloaded {path.name}: {type(exc).__name__}: {exc}") from None
        if short not in ds.data_vars:
            raise WindDataError(f"the downloaded {path.name} has no isobaric {short} messages")
        parts.append(ds[[short]])
    ds = xr.merge(parts, compat="override", join="inner")
    if "step" in ds.dims:
        ds = ds.swap_dims({"step": "valid_time"})
    drop = [c for c in ds.coords if c not in ("isobaricInhPa", "latitude", "longitude", "valid_time")]
    ds = ds.drop_vars(drop)
    if "valid_time" not in ds.dims:
        ds = ds.expand_dims("valid_time")
    return ds
