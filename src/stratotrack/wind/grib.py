"""Read the pressure-level winds of a GRIB1/GRIB2 file (GFS, GEFS, ECMWF open data, ERA5 GRIB) in one pass.

Only messages on isobaric levels (``typeOfLevel`` ``isobaricInhPa`` or ``isobaricInPa``, so that GFS levels above
1 hPa are kept) whose short name is one of ``u``, ``v``, ``gh``, ``z``, ``t`` and ``w`` are decoded; every other
message is skipped after reading its header.  Multi-field GRIB2 messages (NCEP packs u and v in one message) are
read field by field.  The result is an ``xarray.Dataset`` with CF attributes that
:func:`stratotrack.wind.prepare.from_dataset` recognises.

Grids: regular latitude/longitude and regular Gaussian grids, any scanning mode, global or regional (a region that
crosses the antimeridian gets unwrapped longitudes such as 170..190).  Projected grids (Lambert conformal as in
NAM, polar stereographic, rotated or reduced grids) are refused with an error naming the grid: their winds are
usually relative to the grid's own axes and need rotating as well as regridding, which is better done once with
a dedicated tool (``wgrib2 -new_grid_winds earth -new_grid latlon ...`` or ``cdo remapbil``) than silently here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import WindDataError

#: short names read, with the CF standard names they carry
WANTED = {
    "u": "eastward_wind",
    "v": "northward_wind",
    "gh": "geopotential_height",
    "z": "geopotential",
    "t": "air_temperature",
    "w": "lagrangian_tendency_of_air_pressure",  # omega (Pa/s) in GFS, ECMWF and ERA5; not used as upward wind
}
ISOBARIC = {"isobaricInhPa": 100.0, "isobaricInPa": 1.0}  # level value -> Pa
# Cheap integer keys that identify the wanted parameters, so that the slow shortName/typeOfLevel look-ups (about
# 2 ms each) are done only for messages that may be wanted.  GRIB2 (WMO table 4.2, discipline 0):
GRIB2_PARAMS = {(2, 2): "u", (2, 3): "v", (3, 5): "gh", (3, 4): "z", (0, 0): "t", (2, 8): "w", (2, 9): "w"}
# GRIB1: WMO/NCEP table 2 (versions 1-3 and NCEP's 2/3) and ECMWF table 128
GRIB1_WMO = {33: "u", 34: "v", 7: "gh", 6: "z", 11: "t", 39: "w", 40: "w"}
GRIB1_ECMWF = {131: "u", 132: "v", 156: "gh", 129: "z", 130: "t", 135: "w"}
GRID_WORDS = {
    "lambert": "Lambert conformal",
    "polar_stereographic": "polar stereographic",
    "rotated_ll": "rotated latitude/longitude",
    "reduced_gg": "reduced Gaussian",
    "reduced_ll": "reduced latitude/longitude",
    "mercator": "Mercator",
    "sh": "spherical harmonics",
    "space_view": "space view",
    "lambert_azimuthal_equal_area": "Lambert azimuthal equal-area",
    "unstructured_grid": "unstructured",
}
SUPPORTED_GRIDS = ("regular_ll", "regular_gg")


def _import_eccodes():
    try:
        import eccodes
    except Exception as exc:  # the Python package or its library is missing
        raise WindDataError(f"reading GRIB needs the eccodes package and library, which failed to load: {exc}") from None
    return eccodes


class _Grid:
    """Where each value of a message goes in a (lat, lon) array, computed once per grid."""

    def __init__(self, ec, h):
        lats = np.asarray(ec.codes_get_array(h, "latitudes"), dtype=float)
        lons = np.asarray(ec.codes_get_array(h, "longitudes"), dtype=float)
        self.lat, inv_lat = np.unique(np.round(lats, 6), return_inverse=True)
        lon360 = np.round(lons % 360.0, 6) % 360.0
        ulon = np.unique(lon360)
        gaps = np.diff(np.r_[ulon, ulon[0] + 360.0])
        if gaps.max() - gaps.min() < 1e-6:  # a full circle: start at 0 (or where the data start, if not on a grid line)
            west = ulon[0]
        else:
            west = ulon[(int(np.argmax(gaps)) + 1) % ulon.size]  # the first longitude east of the widest gap
        rel = np.round((lon360 - west) % 360.0, 6)
        urel, inv_lon = np.unique(rel, return_inverse=True)
        if west >= 180.0 and west + urel[-1] > 180.0 + 1e-9 and west - 360.0 + urel[-1] <= 180.0:
            west -= 360.0  # a region east of 180 W written 0..360: keep it in -180..180
        self.lon = west + urel
        if self.lat.size * self.lon.size != lats.size:
            raise WindDataError(
                f"GRIB grid of {lats.size} points is not a full {self.lat.size} x {self.lon.size} latitude/longitude grid"
            )
        self.flat = inv_lat.ravel() * self.lon.size + inv_lon.ravel()
        self.size = lats.size

    def place(self, values) -> np.ndarray:
        out = np.empty(self.lat.size * self.lon.size, dtype=np.float32)
        out[self.flat] = values
        return out.reshape(self.lat.size, self.lon.size)


def _grid_key(ec, h):
    get = ec.codes_get
    kind = get(h, "gridType")
    if kind not in SUPPORTED_GRIDS:
        return (kind,)
    return (kind, get(h, "Ni"), get(h, "Nj"), get(h, "latitudeOfFirstGridPointInDegrees"),
            get(h, "longitudeOfFirstGridPointInDegrees"), get(h, "latitudeOfLastGridPointInDegrees"),
            get(h, "longitudeOfLastGridPointInDegrees"), get(h, "scanningMode"))


def _identify(ec, h):
    """(short name, pressure in Pa) of a wanted isobaric message, or None; integer keys first, names if needed."""
    get = ec.codes_get
    edition = get(h, "edition", ktype=int)
    short = None
    if edition == 2:
        if get(h, "discipline", ktype=int) != 0 or get(h, "typeOfFirstFixedSurface", ktype=int) != 100:
            return None
        short = GRIB2_PARAMS.get((get(h, "parameterCategory", ktype=int), get(h, "parameterNumber", ktype=int)))
        if short is None:
            return None
        pa = get(h, "scaledValueOfFirstFixedSurface", ktype=float) / 10.0 ** get(h, "scaleFactorOfFirstFixedSurface", ktype=int)
        return short, pa
    if edition == 1:
        if get(h, "indicatorOfTypeOfLevel", ktype=int) != 100:
            return None
        table, param = get(h, "table2Version", ktype=int), get(h, "indicatorOfParameter", ktype=int)
        if table < 128:
            short = GRIB1_WMO.get(param)
        elif table == 128:
            short = GRIB1_ECMWF.get(param)
        if short is not None:
            return short, 100.0 * get(h, "level", ktype=float)
        if table <= 128:
            return None
    # another local parameter table: let eccodes' names decide (slow: about 2 ms a message)
    tol = get(h, "typeOfLevel")
    if tol not in ISOBARIC:
        return None
    short = get(h, "shortName")
    if short not in WANTED:
        return None
    return short, float(get(h, "level", ktype=float)) * ISOBARIC[tol]


def _time_of(ec, h):
    date, hhmm = int(ec.codes_get(h, "validityDate")), int(ec.codes_get(h, "validityTime"))
    return np.datetime64(f"{date // 10000:04d}-{date // 100 % 100:02d}-{date % 100:02d}T{hhmm // 100:02d}:{hhmm % 100:02d}", "s")


def _ref_of(ec, h):
    date, hhmm = int(ec.codes_get(h, "dataDate")), int(ec.codes_get(h, "dataTime"))
    return np.datetime64(f"{date // 10000:04d}-{date // 100 % 100:02d}-{date % 100:02d}T{hhmm // 100:02d}:{hhmm % 100:02d}", "s")


def _hpa(pa: float) -> str:
    return f"{pa / 100.0:g} hPa"


def read_grib(path) -> xr.Dataset:
    """The isobaric u, v, gh/z, t and w fields of a GRIB1 or GRIB2 file as an ``xarray.Dataset`` (values loaded).

    Dimensions: ``time`` (valid time), ``pressure`` (hPa, decreasing), ``latitude``, ``longitude`` and, for files
    holding several ensemble members, ``number``.  Levels are those that both u and v have at every time; other
    variables are kept where they cover the same levels.  Notes on what was dropped are in
    ``attrs["stratotrack_reader_notes"]``.
    """
    ec = _import_eccodes()
    path = Path(path)
    fields: dict = {}  # (short, member, time, pa) -> values (scan order)
    units: dict = {}
    grids: dict = {}  # grid key -> _Grid (built lazily)
    grid_of: dict = {}  # short -> grid key
    skipped_grids: dict = {}  # gridType -> count of wanted messages on it
    refs, centres, editions = set(), set(), set()
    n_messages = 0
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise WindDataError(f"cannot open {str(path)!r}: {exc.strerror or exc}") from None
    ec.codes_grib_multi_support_on()
    try:
        ec.codes_grib_multi_support_reset_file(fh)
        while True:
            try:
                h = ec.codes_grib_new_from_file(fh)
            except Exception as exc:
                raise WindDataError(
                    f"{str(path)!r} is not a readable GRIB file (message {n_messages + 1}: {type(exc).__name__}: {exc})"
                ) from None
            if h is None:
                break
            n_messages += 1
            try:
                found = _identify(ec, h)
                if found is None:
                    continue
                short, pa = found
                gkey = _grid_key(ec, h)
                if gkey[0] not in SUPPORTED_GRIDS:
                    skipped_grids[gkey[0]] = skipped_grids.get(gkey[0], 0) + 1
                    continue
                if short in grid_of and grid_of[short] != gkey:
                    raise WindDataError(
                        f"{str(path)!r} holds {short} on two different grids ({grid_of[short][1]} x {grid_of[short][2]} and "
                        f"{gkey[1]} x {gkey[2]} points); expected one grid per variable"
                    )
                grid_of[short] = gkey
                if gkey not in grids:
                    grids[gkey] = _Grid(ec, h)
                member = int(ec.codes_get(h, "number")) if ec.codes_is_defined(h, "number") else 0
                when = _time_of(ec, h)
                key = (short, member, when, pa)
                vals = ec.codes_get_values(h)
                if ec.codes_get(h, "bitmapPresent"):
                    vals = np.where(vals == ec.codes_get(h, "missingValue"), np.nan, vals)
                if key in fields:
                    if np.array_equal(fields[key], vals, equal_nan=True):
                        continue
                    raise WindDataError(
                        f"{str(path)!r} has two different {short} fields at {_hpa(pa)} valid "
                        f"{np.datetime_as_string(when)}Z; expected one (mixed cycles or analysis and forecast in one file?)"
                    )
                fields[key] = vals
                if short not in units:
                    units[short] = ec.codes_get(h, "units")
                refs.add(_ref_of(ec, h))
                centres.add(str(ec.codes_get(h, "centre")))
                editions.add(int(ec.codes_get(h, "edition")))
            finally:
                ec.codes_release(h)
    finally:
        ec.codes_grib_multi_support_off()
        fh.close()
    if n_messages == 0:
        raise WindDataError(f"{str(path)!r} contains no GRIB messages; expected a GRIB1 or GRIB2 file")
    have = {k[0] for k in fields}
    if not {"u", "v"} <= have:
        if skipped_grids:
            kinds = ", ".join(GRID_WORDS.get(g, g) for g in skipped_grids)
            raise WindDataError(
                f"{str(path)!r} has its pressure-level winds on a {kinds} grid (a projected grid, not latitude/longitude); "
                "stratotrack reads regular latitude/longitude or Gaussian grids only: regrid it first, with earth-relative "
                "winds (e.g. wgrib2 -new_grid_winds earth -new_grid latlon ...)"
            )
        found = ", ".join(sorted(have)) or "none of u, v, gh, z, t"
        raise WindDataError(
            f"{str(path)!r} has no isobaric u and v wind messages (pressure-level fields found: {found}); "
            "expected eastward and northward wind on pressure levels"
        )
    if grid_of["u"] != grid_of["v"]:
        raise WindDataError(f"{str(path)!r} has u and v on different grids; expected one grid")
    return _assemble(path, fields, units, grids, grid_of, refs, centres, editions, skipped_grids)


def _assemble(path, fields, units, grids, grid_of, refs, centres, editions, skipped_grids) -> xr.Dataset:
    notes = []
    grid = grids[grid_of["u"]]
    index: dict = {}
    for short, member, when, pa in fields:
        index.setdefault(short, set()).add((member, when, pa))
    members = sorted({m for m, _, _ in index["u"]})
    times = sorted({t for _, t, _ in index["u"]})
    lev_u = {p for _, _, p in index["u"]}
    lev_v = {p for _, _, p in index["v"]}
    levels = sorted(lev_u & lev_v, reverse=True)
    if len(levels) < len(lev_u | lev_v):
        notes.append(
            f"u is on {len(lev_u)} and v on {len(lev_v)} pressure levels in the GRIB file; the {len(levels)} levels both have are used"
        )
    # every (member, time) must have u and v at every level
    for short in ("u", "v"):
        for m in members:
            for t in times:
                miss = [p for p in levels if (m, t, p) not in index[short]]
                if miss:
                    who = f"member {m}, " if len(members) > 1 else ""
                    raise WindDataError(
                        f"{str(path)!r} lacks {short} at {', '.join(_hpa(p) for p in miss[:3])}"
                        f"{' and more' if len(miss) > 3 else ''} for {who}{np.datetime_as_string(t)}Z; "
                        "expected the same levels at every time (an incomplete download?)"
                    )
    hname = "gh" if "gh" in index else ("z" if "z" in index else None)
    if hname is not None:
        hlev = {p for m, t, p in index[hname] if m in members and t in times}
        complete = [p for p in levels if all((m, t, p) in index[hname] for m in members for t in times)]
        if len(complete) < len(levels):
            if len(complete) >= 2 and grid_of[hname] == grid_of["u"]:
                notes.append(
                    f"{hname} covers {len(complete)} of the {len(levels)} wind levels; only those are used"
                )
                levels = complete
            else:
                notes.append(f"{hname} does not cover the wind levels (it has {len(hlev)}); it is not used")
                hname = None
        elif grid_of[hname] != grid_of["u"]:
            notes.append(f"{hname} is on another grid than the winds; it is not used")
            hname = None
    if len(levels) < 2:
        raise WindDataError(
            f"{str(path)!r} has u and v on {len(levels)} common pressure level; expected at least two levels"
        )
    if skipped_grids:
        notes.append(f"{sum(skipped_grids.values())} pressure-level messages on other grids ({', '.join(skipped_grids)}) were ignored")

    lead = ("number",) if len(members) > 1 else ()
    dims = lead + ("time", "pressure", "latitude", "longitude")
    shape = ((len(members),) if lead else ()) + (len(times), len(levels), grid.lat.size, grid.lon.size)
    data_vars = {}
    for short in WANTED:
        if short not in index or (short in ("gh", "z") and short != hname):
            continue
        if short not in ("u", "v", "gh", "z"):
            if grid_of[short] != grid_of["u"] or any(
                (m, t, p) not in index[short] for m in members for t in times for p in levels
            ):
                continue  # optional (temperature, omega): kept only where complete
        arr = np.empty((len(members), len(times), len(levels), grid.lat.size, grid.lon.size), dtype=np.float32)
        for a, m in enumerate(members):
            for b, t in enumerate(times):
                for c, p in enumerate(levels):
                    arr[a, b, c] = grid.place(fields[(short, m, t, p)])
        std = WANTED[short]
        if short == "w" and units[short] in ("m s**-1", "m s-1"):
            std = "upward_air_velocity"
        attrs = {"standard_name": std, "units": units[short], "GRIB_shortName": short}
        data_vars[short] = (dims, arr.reshape(shape), attrs)
    coords = {
        "time": ("time", np.array(times, dtype="datetime64[ns]"), {"standard_name": "time", "long_name": "valid time"}),
        "pressure": ("pressure", np.array(levels) / 100.0, {"standard_name": "air_pressure", "units": "hPa", "positive": "down"}),
        "latitude": ("latitude", grid.lat, {"standard_name": "latitude", "units": "degrees_north"}),
        "longitude": ("longitude", grid.lon, {"standard_name": "longitude", "units": "degrees_east"}),
    }
    if lead:
        coords["number"] = ("number", np.array(members), {"long_name": "ensemble member"})
    attrs = {
        "source_format": "GRIB" + "/".join(str(e) for e in sorted(editions)),
        "GRIB_centre": ",".join(sorted(centres)),
        "reference_time": ", ".join(np.datetime_as_string(r) + "Z" for r in sorted(refs)),
        "grid": grid_of["u"][0],
        "stratotrack_reader_notes": notes,
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)
