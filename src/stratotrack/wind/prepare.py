"""Turn an xarray Dataset of winds into a :class:`WindField`: recognise, check, convert, reorganise once.

Variables are recognised by CF standard name, by the short names of the common layouts (GRIB/cfgrib ``u``/``v``/
``gh``, ERA5 ``u``/``v``/``z``, NCEP/NCAR reanalysis ``uwnd``/``vwnd``/``hgt``) or by an explicit mapping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import atmosphere
from ..errors import WindDataError
from .field import WindField
from ..geodesy import wrap_longitude

if TYPE_CHECKING:
    import xarray as xr

VARIABLES = {
    "u": {"standard_names": ("eastward_wind",), "names": ("u", "uwnd", "ugrd", "u_component_of_wind", "eastward_wind")},
    "v": {"standard_names": ("northward_wind",), "names": ("v", "vwnd", "vgrd", "v_component_of_wind", "northward_wind")},
    "height": {
        "standard_names": ("geopotential_height", "geopotential"),
        "names": ("gh", "hgt", "z", "geopotential_height", "geopotential", "zg"),
    },
    "w": {"standard_names": ("upward_air_velocity",), "names": ("upward_air_velocity", "wa")},
}
COORDS = {
    "time": {"standard_names": ("time",), "names": ("time", "valid_time", "month", "t")},
    "pressure": {"standard_names": ("air_pressure",), "names": ("isobaricinhpa", "level", "pressure_level", "plev", "lev", "pressure", "isobaric")},
    "altitude": {"standard_names": ("altitude", "height"), "names": ("altitude", "height", "alt")},
    "lat": {"standard_names": ("latitude",), "names": ("latitude", "lat")},
    "lon": {"standard_names": ("longitude",), "names": ("longitude", "lon")},
}
SPEED_UNITS = {
    "m s-1": 1.0, "m/s": 1.0, "m s**-1": 1.0, "m s^-1": 1.0, "m.s-1": 1.0, "meter second-1": 1.0,
    "meters/second": 1.0, "metre second-1": 1.0, "meter/second": 1.0, "ms-1": 1.0, "m sec-1": 1.0,
    "knots": 0.514444, "knot": 0.514444, "kt": 0.514444, "kts": 0.514444,
    "km h-1": 1 / 3.6, "km/h": 1 / 3.6, "kmh-1": 1 / 3.6,
}
PRESSURE_UNITS = {"pa": 1.0, "hpa": 100.0, "mbar": 100.0, "millibar": 100.0, "millibars": 100.0, "mb": 100.0}
LENGTH_UNITS = {"m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0, "km": 1000.0, "gpm": 1.0}
GEOPOTENTIAL_UNITS = ("m2 s-2", "m**2 s**-2", "m^2 s^-2", "m2/s2", "m2.s-2")
#: Dataset attribute in which readers leave notes on what they dropped or assumed (moved to WindField.notes)
READER_NOTES = "stratotrack_reader_notes"


def _find(ds_items, spec, what, mapping_name=None):
    """Name of the item matching a spec: explicit mapping first, then standard_name, then known names."""
    items = dict(ds_items)
    if mapping_name is not None:
        if mapping_name not in items:
            raise WindDataError(f"variable {mapping_name!r} given for {what} is not in the data; it has {sorted(items)}")
        return mapping_name
    for name, obj in items.items():
        if obj.attrs.get("standard_name") in spec["standard_names"]:
            return name
    lower = {str(n).lower(): n for n in items}
    for cand in spec["names"]:
        if cand in lower:
            return lower[cand]
    return None


def recognise(ds: xr.Dataset, variables=None) -> dict:
    """Which variable of ``ds`` plays each role (``u``, ``v``, ``height``, ``w``), as :func:`from_dataset` sees it."""
    variables = dict(variables or {})
    items = ds.data_vars.items()
    found = {role: _find(items, VARIABLES[role], role, variables.get(role)) for role in VARIABLES}
    return {role: name for role, name in found.items() if name is not None}


def _units(obj) -> str:
    return str(obj.attrs.get("units", obj.attrs.get("GRIB_units", ""))).strip()


def _speed_factor(name, da, notes):
    units = _units(da)
    if not units:
        notes.append(f"{name} has no units attribute; taken as m s-1")
        return 1.0
    factor = SPEED_UNITS.get(units.lower(), SPEED_UNITS.get(units))
    if factor is None:
        raise WindDataError(f"{name} has units {units!r}; expected a speed such as 'm s-1', 'knots' or 'km h-1'")
    return factor


def _show(value) -> str:
    """A coordinate value as a person writes it (no NumPy scalar reprs in messages)."""
    if isinstance(value, np.datetime64):
        return np.datetime_as_string(value, unit="s") + "Z"
    return repr(value.item()) if isinstance(value, np.generic) else repr(value)


def _check_axis(name, values, allow_descending=True):
    values = np.asarray(values)
    if values.ndim != 1:
        raise WindDataError(f"coordinate {name!r} must be one-dimensional, got shape {values.shape}")
    if values.size < 2:
        raise WindDataError(f"coordinate {name!r} needs at least two values, got {values.size}")
    if np.issubdtype(values.dtype, np.number) and not np.all(np.isfinite(values)):
        raise WindDataError(f"coordinate {name!r} contains NaN or infinite values")
    d = np.diff(values).astype(float) if np.issubdtype(values.dtype, np.number) else np.diff(values).astype("timedelta64[ns]").astype(float)
    if np.any(d == 0):
        k = int(np.nonzero(d == 0)[0][0])
        raise WindDataError(f"coordinate {name!r} has the duplicated value {_show(values[k])}; expected distinct values")
    if np.all(d > 0):
        return False
    if np.all(d < 0) and allow_descending:
        return True
    k = int(np.nonzero(np.sign(d) != np.sign(d[0]))[0][0])
    raise WindDataError(
        f"coordinate {name!r} is not sorted (at {_show(values[k + 1])} after {_show(values[k])}); expected ascending or descending values"
    )


def _mid_month_knots(first_year=1900, last_year=2200):
    """Mid-month (15th, 00:00 UTC) times in seconds and their month indices 0..11, for a range of years."""
    years = np.arange(first_year, last_year + 1)
    months = np.arange(12)
    dates = np.array(
        [np.datetime64(f"{y:04d}-{m + 1:02d}-15", "s") for y in years for m in months]
    )
    secs = (dates - np.datetime64(0, "s")).astype(np.int64).astype(float)
    return secs, np.tile(months, years.size)


def _time_axis(ds, tname, notes):
    """(knots, knot_index, time_mode, order, valid_time) for the time coordinate (or its absence)."""
    if tname is None or tname not in ds.dims or ds.sizes[tname] == 1:
        valid = None
        for cand in ("valid_time", "time"):
            if cand in ds.coords and np.issubdtype(ds[cand].dtype, np.datetime64) and ds[cand].size == 1:
                valid = np.datetime64(ds[cand].values.ravel()[0], "s")
                break
        notes.append("the wind data have a single time; the field is treated as steady")
        return np.array([0.0]), np.array([0]), "steady", None, valid
    values = ds[tname].values
    if tname.lower() == "month" or (np.issubdtype(values.dtype, np.integer) and values.size == 12):
        if sorted(values.tolist()) != list(range(1, 13)):
            raise WindDataError(f"monthly climatology must have months 1..12, got {values.tolist()}")
        order = np.argsort(values)
        knots, idx = _mid_month_knots()
        return knots, idx, "monthly", order, None
    if not np.issubdtype(values.dtype, np.datetime64):
        raise WindDataError(f"time coordinate {tname!r} has dtype {values.dtype}; expected datetimes or months 1..12")
    desc = _check_axis(tname, values)
    order = np.arange(values.size)[::-1] if desc else np.arange(values.size)
    secs = (values[order].astype("datetime64[ns]") - np.datetime64(0, "ns")).astype(np.int64) / 1e9
    return secs, np.arange(values.size), "series", order, None


def from_dataset(ds: xr.Dataset, *, source="dataset", kind=None, variables=None) -> WindField:
    """Prepare a wind Dataset for sampling.

    ``variables`` optionally maps ``u``, ``v``, ``height`` and ``w`` to the names used in ``ds``.
    """
    import xarray as xr

    if not isinstance(ds, xr.Dataset):
        raise WindDataError(f"expected an xarray Dataset of winds, got {type(ds).__name__}")
    variables = dict(variables or {})
    unknown = set(variables) - set(VARIABLES)
    if unknown:
        raise WindDataError(f"unknown variable role(s) {sorted(unknown)}; expected some of {sorted(VARIABLES)}")
    notes: list[str] = [str(n) for n in np.atleast_1d(ds.attrs.get(READER_NOTES, [])) if str(n)]
    data_vars = ds.data_vars.items()
    uname = _find(data_vars, VARIABLES["u"], "u", variables.get("u"))
    vname = _find(data_vars, VARIABLES["v"], "v", variables.get("v"))
    missing = [role for role, nm in (("eastward_wind (u)", uname), ("northward_wind (v)", vname)) if nm is None]
    if missing:
        raise WindDataError(
            f"no {' and no '.join(missing)} variable found among {sorted(map(str, ds.data_vars))}; "
            "expected CF standard names or the names u/v, uwnd/vwnd"
        )
    hname = _find(data_vars, VARIABLES["height"], "height", variables.get("height"))
    wname = _find(data_vars, VARIABLES["w"], "w", variables.get("w"))
    u, v = ds[uname], ds[vname]
    if u.dims != v.dims or u.shape != v.shape:
        raise WindDataError(f"{uname} has dims {u.dims} {u.shape} but {vname} has {v.dims} {v.shape}; expected the same grid")

    coords = {name: ds[name] for name in u.dims if name in ds.coords}
    for name in u.dims:
        if name not in coords:
            coords[name] = xr.DataArray(np.arange(ds.sizes[name]), dims=name)
    dim_items = list(coords.items())
    latn = _find(dim_items, COORDS["lat"], "latitude")
    lonn = _find(dim_items, COORDS["lon"], "longitude")
    presn = _find(dim_items, COORDS["pressure"], "pressure")
    altn = _find(dim_items, COORDS["altitude"], "altitude")
    timen = _find(dim_items, COORDS["time"], "time")
    if latn is None or lonn is None:
        raise WindDataError(f"{uname} has dims {u.dims}; expected latitude and longitude dimensions")
    if presn is None and altn is None:
        raise WindDataError(f"{uname} has dims {u.dims}; expected a pressure or altitude level dimension")
    vert = presn if presn is not None else altn
    extra = [d for d in u.dims if d not in (latn, lonn, vert, timen)]
    if extra:
        raise WindDataError(
            f"{uname} has the unexpected dimension {extra[0]!r}; select one value first (e.g. ds.isel({extra[0]}=0))"
        )

    # horizontal axes
    lat = np.asarray(ds[latn].values, dtype=float)
    lat_desc = _check_axis(latn, lat)
    if np.any(np.abs(lat) > 90):
        raise WindDataError(f"latitude {float(lat[np.abs(lat) > 90][0])!r} in the data is beyond ±90 degrees")
    lon = _unwrap_longitudes(np.asarray(ds[lonn].values, dtype=float), notes)
    lon_desc = _check_axis(lonn, lon)
    lon_order = np.arange(lon.size)[::-1] if lon_desc else np.arange(lon.size)
    lon_sorted = lon[lon_order]
    if lon_sorted[-1] - lon_sorted[0] >= 360.0 - 1e-9:
        if abs(lon_sorted[-1] - lon_sorted[0] - 360.0) < 1e-6:
            lon_order = lon_order[:-1]  # cyclic point repeated: keep one copy
            lon_sorted = lon[lon_order]
            notes.append("the repeated cyclic longitude was dropped")
        else:
            raise WindDataError(f"longitudes span {lon_sorted[-1] - lon_sorted[0]:g} degrees; expected at most 360")
    lat_order = np.arange(lat.size)[::-1] if lat_desc else np.arange(lat.size)

    # vertical axis
    levels_raw = np.asarray(ds[vert].values, dtype=float)
    _check_axis(vert, levels_raw)
    vunits = _units(ds[vert]).lower()
    if presn is not None:
        factor = PRESSURE_UNITS.get(vunits)
        if factor is None:
            if not vunits and str(vert).lower() in ("isobaricinhpa", "level", "pressure_level"):
                factor = 100.0
                notes.append(f"pressure levels {vert!r} have no units; taken as hPa")
            else:
                raise WindDataError(f"pressure coordinate {vert!r} has units {vunits!r}; expected 'hPa' or 'Pa'")
        levels = levels_raw * factor
        if np.any(levels <= 0):
            raise WindDataError(f"pressure level {float(levels_raw[levels <= 0][0])!r} is not positive")
        lev_order = np.argsort(-levels)  # increasing height
    else:
        factor = LENGTH_UNITS.get(vunits or "m")
        if factor is None:
            raise WindDataError(f"altitude coordinate {vert!r} has units {vunits!r}; expected 'm' or 'km'")
        levels = levels_raw * factor
        lev_order = np.argsort(levels)
    levels = levels[lev_order]

    knots, kidx, time_mode, t_order, valid = _time_axis(ds, timen, notes)
    nt = 1 if t_order is None else t_order.size

    # heights of the levels
    height_mode = None
    if presn is not None:
        if hname is not None:
            h = ds[hname]
            if h.dims != u.dims:
                raise WindDataError(f"{hname} has dims {h.dims}; expected the winds' dims {u.dims}")
            hunits = _units(h)
            sname = h.attrs.get("standard_name", "")
            if hunits.lower() in GEOPOTENTIAL_UNITS or (sname == "geopotential" and not hunits):
                height_mode = ("geopotential", 1.0 / atmosphere.G0)
            elif hunits.lower() in LENGTH_UNITS or hunits == "":
                if hunits == "":
                    notes.append(f"{hname} has no units attribute; taken as geopotential metres")
                height_mode = ("geopotential_height", LENGTH_UNITS.get(hunits.lower(), 1.0))
            else:
                raise WindDataError(
                    f"{hname} has units {hunits!r}; expected geopotential height in 'gpm'/'m' or geopotential in 'm2 s-2'"
                )
        else:
            notes.append("no geopotential height in the data: level heights from the US standard atmosphere")
    else:
        notes.append("levels are geometric altitudes")

    uf = _speed_factor(uname, u, notes)
    vf = _speed_factor(vname, v, notes)
    wf = None
    if wname is not None:
        if ds[wname].dims != u.dims:
            wname = None
        else:
            wf = _speed_factor(wname, ds[wname], notes)
    nvar = 4 if wname is not None else 3
    nlat, nlon, nlev = lat_order.size, lon_order.size, levels.size
    out = np.empty((nt, nlat, nlon, nlev, nvar), dtype=np.float32)

    def arranged(da, ti):
        if timen in da.dims:
            da = da.isel({timen: 0 if t_order is None else int(t_order[ti])})
        arr = da.transpose(latn, lonn, vert).values
        return arr[lat_order][:, lon_order][:, :, lev_order]

    std_heights = atmosphere.altitude_from_pressure(levels) if presn is not None and hname is None else levels
    for ti in range(nt):
        for var, name, f in ((1, uname, uf), (2, vname, vf), (3, wname, wf)):
            if name is None:
                continue
            arr = arranged(ds[name], ti)
            bad = ~np.isfinite(arr)
            if bad.any():
                _raise_nan(name, bad, lat[lat_order], lon[lon_order], levels, ti, ds, timen, t_order)
            out[ti, ..., var] = arr * f if f != 1.0 else arr
        if height_mode is None:
            out[ti, ..., 0] = std_heights.astype(np.float32)
        else:
            arr = arranged(ds[hname], ti).astype(float) * height_mode[1]
            bad = ~np.isfinite(arr)
            if bad.any():
                _raise_nan(hname, bad, lat[lat_order], lon[lon_order], levels, ti, ds, timen, t_order)
            out[ti, ..., 0] = atmosphere.geopotential_to_geometric(arr)
        dh = np.diff(out[ti, ..., 0], axis=-1)
        if np.any(dh <= 0):
            j, i, k = np.argwhere(dh <= 0)[0]
            raise WindDataError(
                f"level heights do not increase upwards at latitude {lat[lat_order][j]:g}, longitude "
                f"{lon[lon_order][i]:g} (between levels {levels[k]:g} and {levels[k + 1]:g}); expected height rising as pressure falls"
            )
    if kind is None:
        kind = "climatology" if time_mode == "monthly" else "data"
    return WindField(
        data=out,
        lat=lat[lat_order],
        lon=lon_sorted,
        knots=knots,
        knot_index=kidx,
        time_mode=time_mode,
        vertical="pressure" if presn is not None else "altitude",
        levels=levels,
        source=source,
        kind=kind,
        valid_time=valid,
        notes=notes,
        attrs={k: v for k, v in ds.attrs.items() if k != READER_NOTES},
    )


def _unwrap_longitudes(lon, notes):
    """Longitudes of a region that crosses the antimeridian (170..180, -180..-170) made continuous (170..190)."""
    if lon.ndim != 1 or lon.size < 3 or not np.all(np.isfinite(lon)):
        return lon
    d = np.diff(lon)
    jumps = np.nonzero(d < -180.0)[0]
    if jumps.size == 1 and np.all(np.delete(d, jumps) > 0):
        k = int(jumps[0]) + 1
        out = lon.copy()
        out[k:] += 360.0
        notes.append(f"longitudes cross the antimeridian; unwrapped to {out[0]:g}..{out[-1]:g}")
        return out
    return lon


def _same_axis(a, b, tol=1e-6) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=0, atol=tol))


def _axis_text(values, unit="", scale=1.0) -> str:
    return f"{values.size} ({values[0] * scale:g}..{values[-1] * scale:g}{unit})"


def combine(fields, *, sources=None) -> WindField:
    """One time-continuous :class:`WindField` from fields on the same grid and levels at different times.

    Each field is a time series or a single time (a forecast step) with a known valid time.  Grids and levels
    must agree; a time given twice must carry the same winds.  Uneven spacing (a missing forecast step or day) is
    reported in the notes: winds are interpolated linearly across the gap.
    """
    fields = list(fields)
    if not fields:
        raise WindDataError("no wind fields to combine; expected at least one")
    names = list(sources) if sources is not None else [f.source for f in fields]
    first, name0 = fields[0], names[0]
    pieces = []  # (time in s, field index, data index)
    for f, name in zip(fields, names):
        if f.time_mode == "monthly":
            raise WindDataError(f"{name!r} is a monthly climatology; only fields at real times can be combined")
        if f.time_mode == "steady":
            if f.valid_time is None:
                raise WindDataError(f"{name!r} has a single time but no valid time; cannot place it among other files")
            pieces.append((float((np.datetime64(f.valid_time, "s") - np.datetime64(0, "s")).astype(np.int64)), f, 0))
        else:
            pieces.extend((float(k), f, int(i)) for k, i in zip(f.knots, f.knot_index))
        if f.vertical != first.vertical:
            raise WindDataError(
                f"{name!r} has {f.vertical} levels but {name0!r} has {first.vertical} levels; expected the same kind of levels"
            )
        if not _same_axis(f.levels, first.levels, tol=1e-3):
            unit, scale = (" hPa", 0.01) if f.vertical == "pressure" else (" m", 1.0)
            raise WindDataError(
                f"{name!r} has {_axis_text(f.levels, unit, scale)} levels but {name0!r} has "
                f"{_axis_text(first.levels, unit, scale)}; expected the same levels in every file"
            )
        for axis, what in (("lat", "latitudes"), ("lon", "longitudes")):
            a, b = getattr(f, axis), getattr(first, axis)
            same = _same_axis(a, b) or (axis == "lon" and a.shape == b.shape
                                         and np.allclose(wrap_longitude(a - b), 0.0, atol=1e-6))
            if not same:
                raise WindDataError(
                    f"{name!r} has {_axis_text(a, ' deg')} {what} but {name0!r} has {_axis_text(b, ' deg')}; "
                    "expected the same grid in every file"
                )
    nvar = min(f.data.shape[-1] for f in fields)
    pieces.sort(key=lambda p: p[0])
    times, blocks, owners = [], [], []
    for t, f, i in pieces:
        block = f.data[i, ..., :nvar]
        if times and t == times[-1]:
            if not np.array_equal(block, blocks[-1]):
                when = np.datetime_as_string(np.datetime64(int(t), "s")) + "Z"
                raise WindDataError(
                    f"{owners[-1].source!r} and {f.source!r} both hold {when} with different winds; expected each time "
                    "once (files from different cycles or members mixed?)"
                )
            continue
        times.append(t)
        blocks.append(block)
        owners.append(f)
    notes = []
    for f in fields:
        for n in f.notes:
            if n not in notes and "single time" not in n:
                notes.append(n)
    if nvar < max(f.data.shape[-1] for f in fields):
        notes.append("vertical wind is missing from some files; it is not used")
    knots = np.array(times)
    if knots.size >= 3:
        d = np.diff(knots)
        spacings, counts = np.unique(d, return_counts=True)
        usual = float(spacings[np.argmax(counts)])  # the most common spacing (the smallest of a tie)
        for k in np.nonzero(d > 1.5 * usual)[0]:
            a = np.datetime_as_string(np.datetime64(int(knots[k]), "s")) + "Z"
            b = np.datetime_as_string(np.datetime64(int(knots[k + 1]), "s")) + "Z"
            notes.append(
                f"gap in the wind data: nothing between {a} and {b} ({d[k] / 3600:g} h, the other times are "
                f"{usual / 3600:g} h apart); winds are interpolated linearly across it"
            )
    if knots.size == 1:
        only = fields[0]
        return only
    kinds = {f.kind for f in fields}
    src = names[0] if len(set(names)) == 1 else f"{len(fields)} files: {names[0]} .. {names[-1]}"
    return WindField(
        data=np.ascontiguousarray(np.stack(blocks)),
        lat=first.lat,
        lon=first.lon,
        knots=knots,
        knot_index=np.arange(knots.size),
        time_mode="series",
        vertical=first.vertical,
        levels=first.levels,
        source=src,
        kind=kinds.pop() if len(kinds) == 1 else "data",
        notes=notes,
        attrs=dict(first.attrs),
    )


def _raise_nan(name, bad, lat, lon, levels, ti, ds, timen, t_order):
    j, i, k = np.argwhere(bad)[0]
    when = ""
    if t_order is not None and timen in ds.dims:
        when = f"time {ds[timen].values[int(t_order[ti])]!s}, "
    raise WindDataError(
        f"{name} has {int(bad.sum())} NaN or infinite values (first at {when}latitude {lat[j]:g}, longitude {lon[i]:g}, "
        f"level {levels[k]:g}); expected finite winds everywhere (fill or crop the gaps first)"
    )

