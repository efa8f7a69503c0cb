"""Wind files written at test time from the real GFS field, so that every format holds known values.

The GFS GRIB2 file in ../shared (NOAA GFS, 2.5 degrees, 26 levels, valid 2011-01-15T12Z) is read once with the
GRIB reader; these helpers write the same numbers as GRIB1 (from eccodes' GRIB1 sample), as GRIB2 forecast steps
and a regional GRIB2 subset (clones of the real messages), as NetCDF in the ERA5 layouts (old: ``time``/``level``,
``z`` geopotential, packed int16; new CDS: ``valid_time``/``pressure_level``) and the NCEP/NCAR reanalysis layout
(``uwnd``/``vwnd``/``hgt``, ``level`` in millibar, packed with scale_factor/add_offset), as a CF NetCDF with
other names (only standard names identify the variables) and as Zarr.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

G0 = 9.80665
GFS_REF = np.datetime64("2011-01-10T12:00", "s")  # the file's cycle; its step is 120 h


def _messages(path):
    """Yield eccodes handles of every field of a GRIB file (multi-field messages split); caller releases."""
    import eccodes as ec

    ec.codes_grib_multi_support_on()
    try:
        with open(path, "rb") as fh:
            ec.codes_grib_multi_support_reset_file(fh)
            while True:
                h = ec.codes_grib_new_from_file(fh)
                if h is None:
                    break
                yield h
    finally:
        ec.codes_grib_multi_support_off()


_CACHE: dict = {}


def _isobaric(src):
    """[(shortName, level, message bytes, values)] of the isobaric u/v/gh/t fields of a GRIB file (read once)."""
    import eccodes as ec

    key = str(src)
    if key not in _CACHE:
        found = []
        for h in _messages(src):
            try:
                if ec.codes_get(h, "typeOfLevel") == "isobaricInhPa" and ec.codes_get(h, "shortName") in ("u", "v", "gh", "t"):
                    found.append((ec.codes_get(h, "shortName"), ec.codes_get(h, "level"), ec.codes_get_message(h),
                                  ec.codes_get_values(h)))
            finally:
                ec.codes_release(h)
        _CACHE[key] = found
    return _CACHE[key]


def _wanted(src, shorts, levels):
    """eccodes handles (fresh, caller releases) with the values of the wanted fields."""
    import eccodes as ec

    for short, level, message, values in _isobaric(src):
        if short in shorts and (levels is None or level in levels):
            yield short, ec.codes_new_from_message(message), values


def _simple_packing(ec, h):
    """Re-encoding NCEP's complex packing is lossy (up to 0.5 m/s here): rewrite with simple 24-bit packing."""
    ec.codes_set(h, "packingType", "grid_simple")
    ec.codes_set(h, "bitsPerValue", 24)


def write_grib2_steps(src, path, steps, factors, shorts=("u", "v", "gh"), levels=None):
    """Copies of the real GFS messages as forecast steps ``steps`` (hours) with winds scaled by ``factors``."""
    import eccodes as ec

    with open(path, "wb") as out:
        for short, h, vals in _wanted(src, shorts, levels):
            try:
                for step, factor in zip(steps, factors):
                    c = ec.codes_clone(h)
                    ec.codes_set(c, "forecastTime", int(step))
                    _simple_packing(ec, c)
                    ec.codes_set_values(c, vals * factor if short in ("u", "v") else vals)
                    out.write(ec.codes_get_message(c))
                    ec.codes_release(c)
            finally:
                ec.codes_release(h)


def write_grib2_region(src, path, lat_slice, lon_index, shorts=("u", "v", "gh"), levels=None):
    """A regional GRIB2 file: the real messages cut to rows ``lat_slice`` and columns ``lon_index`` (indices into
    the 73 x 144 grid that runs from 90 N and from 0 E; columns may run past 360 E, e.g. 170..190 E)."""
    import eccodes as ec

    cols = np.asarray(lon_index)
    rows = np.arange(73)[lat_slice]
    with open(path, "wb") as out:
        for _, h, vals in _wanted(src, shorts, levels):
            try:
                vals = vals.reshape(73, 144)
                sub = vals[rows][:, cols % 144]
                c = ec.codes_clone(h)
                ec.codes_set(c, "Ni", int(cols.size))
                ec.codes_set(c, "Nj", int(rows.size))
                ec.codes_set(c, "latitudeOfFirstGridPointInDegrees", 90.0 - 2.5 * rows[0])
                ec.codes_set(c, "latitudeOfLastGridPointInDegrees", 90.0 - 2.5 * rows[-1])
                ec.codes_set(c, "longitudeOfFirstGridPointInDegrees", 2.5 * cols[0])
                ec.codes_set(c, "longitudeOfLastGridPointInDegrees", 2.5 * cols[-1])
                _simple_packing(ec, c)
                ec.codes_set_values(c, sub.ravel())
                out.write(ec.codes_get_message(c))
                ec.codes_release(c)
            finally:
                ec.codes_release(h)


def write_grib1(ds, path, bits=16):
    """The u, v and gh of a GRIB-reader Dataset (dims time, pressure, latitude, longitude) as GRIB1 messages
    (NCEP table 2 parameters 33, 34, 7; simple packing with ``bits`` bits per value)."""
    import eccodes as ec

    params = {"u": 33, "v": 34, "gh": 7}
    lat = ds.latitude.values[::-1]  # GRIB1 scans from the north
    lon = ds.longitude.values
    with open(path, "wb") as out:
        for ti, t in enumerate(ds.time.values):
            step = int((np.datetime64(t, "s") - GFS_REF) / np.timedelta64(1, "h"))
            for short, param in params.items():
                for ki, p in enumerate(ds.pressure.values):
                    h = ec.codes_grib_new_from_samples("regular_ll_pl_grib1")
                    for key, value in (
                        ("centre", 7), ("table2Version", 2), ("indicatorOfParameter", param),
                        ("indicatorOfTypeOfLevel", 100), ("level", int(p)),
                        ("dataDate", 20110110), ("dataTime", 1200), ("stepUnits", 1), ("P1", step), ("timeRangeIndicator", 10),
                        ("Ni", lon.size), ("Nj", lat.size),
                        ("latitudeOfFirstGridPointInDegrees", float(lat[0])), ("latitudeOfLastGridPointInDegrees", float(lat[-1])),
                        ("longitudeOfFirstGridPointInDegrees", float(lon[0])), ("longitudeOfLastGridPointInDegrees", float(lon[-1])),
                        ("iDirectionIncrementInDegrees", float(lon[1] - lon[0])),
                        ("jDirectionIncrementInDegrees", float(abs(lat[1] - lat[0]))),
                        ("bitsPerValue", bits),
                    ):
                        ec.codes_set(h, key, value)
                    ec.codes_set_values(h, ds[short].values[ti, ki, ::-1, :].astype(float).ravel())
                    out.write(ec.codes_get_message(h))
                    ec.codes_release(h)


def _pack(values, scale, offset):
    return np.round((values - offset) / scale).astype(np.int16)


def write_era5_netcdf(ds, path, layout="old"):
    """ERA5 on pressure levels as the CDS delivered it: ``u``, ``v``, ``z`` (geopotential, m2 s-2), ``t``;
    latitude from 90 N down, longitudes 0..360.  ``layout="old"``: dims ``time``, ``level`` (millibars), values
    packed in int16 with scale_factor/add_offset; ``"new"``: dims ``valid_time``, ``pressure_level`` (hPa), float32,
    with ``number`` and ``expver`` coordinates."""
    lat = ds.latitude.values[::-1]
    levels = ds.pressure.values
    data = {
        "u": (ds.u.values[:, :, ::-1, :], "m s**-1", "eastward_wind", "U component of wind"),
        "v": (ds.v.values[:, :, ::-1, :], "m s**-1", "northward_wind", "V component of wind"),
        "z": (ds.gh.values[:, :, ::-1, :].astype(np.float64) * G0, "m**2 s**-2", "geopotential", "Geopotential"),
        "t": (ds.t.values[:, :, ::-1, :], "K", "air_temperature", "Temperature"),
    }
    if layout == "old":
        tname, lname = "time", "level"
        coords = {
            "longitude": ("longitude", ds.longitude.values.astype(np.float32), {"units": "degrees_east", "long_name": "longitude"}),
            "latitude": ("latitude", lat.astype(np.float32), {"units": "degrees_north", "long_name": "latitude"}),
            "level": ("level", levels.astype(np.int32), {"units": "millibars", "long_name": "pressure_level"}),
            "time": ("time", ds.time.values, {"long_name": "time"}),
        }
    else:
        tname, lname = "valid_time", "pressure_level"
        coords = {
            "number": ((), 0, {"long_name": "ensemble member numerical id", "units": "1"}),
            "valid_time": ("valid_time", ds.time.values, {"standard_name": "time", "long_name": "time"}),
            "pressure_level": ("pressure_level", levels, {"units": "hPa", "standard_name": "air_pressure", "long_name": "pressure"}),
            "latitude": ("latitude", lat, {"units": "degrees_north", "standard_name": "latitude"}),
            "longitude": ("longitude", ds.longitude.values, {"units": "degrees_east", "standard_name": "longitude"}),
            "expver": ("valid_time", np.array(["0001"] * ds.time.size), {"long_name": "experiment version"}),
        }
    out = xr.Dataset(coords=coords, attrs={"Conventions": "CF-1.6", "history": "written by stratotrack's tests"})
    encoding = {}
    for name, (values, units, std, long_name) in data.items():
        attrs = {"units": units, "long_name": long_name, "standard_name": std}
        out[name] = ((tname, lname, "latitude", "longitude"), values.astype(np.float32 if layout == "new" else np.float64), attrs)
        if layout == "old":
            lo, hi = float(values.min()), float(values.max())
            scale = (hi - lo) / 65000.0 or 1.0
            offset = (hi + lo) / 2.0
            encoding[name] = {"dtype": "int16", "scale_factor": scale, "add_offset": offset, "_FillValue": -32767}
    if layout == "old":
        encoding["time"] = {"units": "hours since 1900-01-01 00:00:00.0", "calendar": "gregorian", "dtype": "int32"}
    out.to_netcdf(path, encoding=encoding, engine="netcdf4")
    return out


def write_ncep_netcdf(ds, path):
    """NCEP/NCAR reanalysis layout (as NOAA PSL serves it): ``uwnd``, ``vwnd``, ``hgt`` (m), dims ``time``
    (hours since 1800), ``level`` (millibar), ``lat`` (90 N down), ``lon`` (0..357.5), int16 packed like PSL's
    files (uwnd: scale 0.01, offset 202.66; hgt: scale 1, offset 32066)."""
    lat = ds.latitude.values[::-1]
    spec = {
        "uwnd": (ds.u, "m/s", "eastward_wind", 0.01, 202.66),
        "vwnd": (ds.v, "m/s", "northward_wind", 0.01, 202.66),
        "hgt": (ds.gh, "m", "geopotential_height", 1.0, 32066.0),
    }
    out = xr.Dataset(
        coords={
            "level": ("level", ds.pressure.values.astype(np.float32), {"units": "millibar", "long_name": "Level", "positive": "down"}),
            "lat": ("lat", lat.astype(np.float32), {"units": "degrees_north", "long_name": "Latitude"}),
            "lon": ("lon", ds.longitude.values.astype(np.float32), {"units": "degrees_east", "long_name": "Longitude"}),
            "time": ("time", ds.time.values, {"long_name": "Time"}),
        },
        attrs={"title": "4x daily NMC reanalysis (layout only; values from GFS)", "Conventions": "COARDS"},
    )
    encoding = {"time": {"units": "hours since 1800-01-01 00:00:0.0", "dtype": "float64"}}
    for name, (da, units, std, scale, offset) in spec.items():
        out[name] = (("time", "level", "lat", "lon"), da.values[:, :, ::-1, :].astype(np.float32),
                     {"units": units, "var_desc": std, "actual_range": [float(da.min()), float(da.max())]})
        encoding[name] = {"dtype": "int16", "scale_factor": scale, "add_offset": offset, "_FillValue": 32766}
    out.to_netcdf(path, encoding=encoding, format="NETCDF4_CLASSIC")
    return out


def cf_dataset(ds, regional_lon=None):
    """A CF Dataset with unusual names (ua, va, zg, plev in Pa, longitudes -180..180): only standard names and
    units identify it.  ``regional_lon``: longitudes (-180..180) to keep, e.g. 170..180, -180..-170."""
    lon = ((ds.longitude.values + 180.0) % 360.0) - 180.0
    order = np.argsort(lon)
    lon = lon[order]
    sel = np.arange(lon.size)
    if regional_lon is not None:
        want = np.asarray(regional_lon, dtype=float)
        sel = np.array([int(np.argmin(np.abs(((lon - w + 180.0) % 360.0) - 180.0))) for w in want])
        lon = lon[sel]
    cols = order[sel]

    def arr(name):
        return ds[name].values[:, :, :, cols]

    return xr.Dataset(
        {
            "ua": (("time", "plev", "lat", "lon"), arr("u"), {"standard_name": "eastward_wind", "units": "m s-1"}),
            "va": (("time", "plev", "lat", "lon"), arr("v"), {"standard_name": "northward_wind", "units": "m s-1"}),
            "zg": (("time", "plev", "lat", "lon"), arr("gh"), {"standard_name": "geopotential_height", "units": "m"}),
        },
        coords={
            "time": ("time", ds.time.values, {"standard_name": "time"}),
            "plev": ("plev", ds.pressure.values * 100.0, {"standard_name": "air_pressure", "units": "Pa"}),
            "lat": ("lat", ds.latitude.values, {"standard_name": "latitude", "units": "degrees_north"}),
            "lon": ("lon", lon, {"standard_name": "longitude", "units": "degrees_east"}),
        },
        attrs={"Conventions": "CF-1.11"},
    )
