"""From downloaded data to a cache entry: region cut, preparation, storing."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import xarray as xr

from ...errors import WindDataError
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
    from ..prepare import from_dataset

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
    ``valid_time`` dimension (one file per step, or one file holding several steps).

    Downloaded subsets hold only those fields on regular latitude/longitude grids: they are decoded message by
    message with eccodes (about ten times faster than cfgrib's file index); anything else goes through cfgrib.
    """
    try:
        return _decode_regular(path, shorts)
    except _NotRegular:
        pass
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


class _NotRegular(Exception):
    pass


_UNITS = {"u": "m s**-1", "v": "m s**-1", "gh": "gpm", "t": "K"}


def _decode_regular(path, shorts) -> xr.Dataset:
    import eccodes

    wanted = set(shorts)
    fields, grid = {}, None
    with open(path, "rb") as fh:
        while True:
            h = eccodes.codes_grib_new_from_file(fh)
            if h is None:
                break
            try:
                if eccodes.codes_get(h, "gridType") != "regular_ll":
                    raise _NotRegular()
                short = eccodes.codes_get(h, "shortName")
                tol = eccodes.codes_get(h, "typeOfLevel")
                if short not in wanted or tol != "isobaricInhPa":
                    continue
                g = tuple(eccodes.codes_get(h, k) for k in (
                    "Ni", "Nj", "latitudeOfFirstGridPointInDegrees", "latitudeOfLastGridPointInDegrees",
                    "longitudeOfFirstGridPointInDegrees", "longitudeOfLastGridPointInDegrees"))
                if eccodes.codes_get(h, "jPointsAreConsecutive") or eccodes.codes_get(h, "iScansNegatively"):
                    raise _NotRegular()
                if grid is None:
                    grid = g
                elif g != grid:
                    raise _NotRegular()
                date = eccodes.codes_get(h, "validityDate")
                time = eccodes.codes_get(h, "validityTime")
                valid = np.datetime64(f"{date // 10000:04d}-{date // 100 % 100:02d}-{date % 100:02d}T"
                                      f"{time // 100:02d}:{time % 100:02d}", "ns")
                level = float(eccodes.codes_get(h, "level"))
                values = eccodes.codes_get_values(h).astype(np.float32).reshape(g[1], g[0])
                if eccodes.codes_get(h, "bitmapPresent"):
                    missing = eccodes.codes_get(h, "missingValue")
                    values[values == missing] = np.nan
                fields[(short, valid, level)] = values
            finally:
                eccodes.codes_release(h)
    if grid is None:
        raise WindDataError(f"the downloaded {path.name} has no isobaric {'/'.join(shorts)} messages")
    times = sorted({k[1] for k in fields})
    levels = sorted({k[2] for k in fields}, reverse=True)
    ni, nj, lat0, lat1, lon0, lon1 = grid
    lat = np.linspace(lat0, lat1, nj)
    if lon1 < lon0:
        lon1 += 360.0
    lon = np.linspace(lon0, lon1, ni)
    data = {}
    for short in shorts:
        cube = np.full((len(times), len(levels), nj, ni), np.nan, dtype=np.float32)
        for ti, t in enumerate(times):
            for li, lev in enumerate(levels):
                values = fields.get((short, t, lev))
                if values is None:
                    raise WindDataError(f"the downloaded {path.name} lacks {short} at {lev:g} hPa for {t}")
                cube[ti, li] = values
        data[short] = (("valid_time", "isobaricInhPa", "latitude", "longitude"), cube,
                       {"units": _UNITS.get(short, ""), "GRIB_shortName": short})
    return xr.Dataset(data, coords={
        "valid_time": np.array(times, dtype="datetime64[ns]"),
        "isobaricInhPa": ("isobaricInhPa", np.array(levels), {"units": "hPa", "standard_name": "air_pressure"}),
        "latitude": ("latitude", lat, {"units": "degrees_north", "standard_name": "latitude"}),
        "longitude": ("longitude", lon, {"units": "degrees_east", "standard_name": "longitude"}),
    })
