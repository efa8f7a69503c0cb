"""NCEP/NCAR reanalysis 1 (2.5 degrees, 6-hourly, 17 pressure levels, 1948 onwards) from NOAA PSL's OPeNDAP
service: no key; xarray opens the remote files lazily and only the subset (times, levels, region) is transferred.

``mirror`` (or ``STRATOTRACK_MIRROR``) replaces the base address; it may also be a local folder holding files
named like PSL's (``uwnd.2023.nc``, ``vwnd.2023.nc``, ``hgt.2023.nc``, ``air.2023.nc``).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from ...errors import InputError, WindDataError

BASE = "https://psl.noaa.gov/thredds/dodsC/Datasets/ncep.reanalysis/pressure"
FIRST = _dt.datetime(1948, 1, 1)
NAMES = {"uwnd": "uwnd", "vwnd": "vwnd", "hgt": "hgt", "air": "air"}


def urls_for(start, end, base=None, temperature=True):
    if end < start:
        raise InputError(f"end {end:%Y-%m-%dT%H} is before start {start:%Y-%m-%dT%H}")
    if start < FIRST:
        raise InputError(f"start {start:%Y-%m-%d} is before the NCEP/NCAR reanalysis begins (1948-01-01)")
    base = (base or BASE).rstrip("/")
    names = [n for n in NAMES if temperature or n != "air"]
    return {n: [f"{base}/{n}.{y}.nc" for y in range(start.year, end.year + 1)] for n in names}


def fetch(start, end, band, region, *, mirror=None, cache, stats, progress, temperature=True):
    import numpy as np
    import xarray as xr

    from . import _store

    urls = urls_for(start, end, mirror, temperature)
    hi, lo = band
    eid = _store.entry_id("ncep", f"{start:%Y%m%d%H}-{end:%Y%m%d%H}",
                          {"band": band, "region": region.text(), "t": temperature})
    progress.start("ncep reanalysis (OPeNDAP)", None)
    first = next(iter(urls.values()))[0]
    if "://" in first:
        # netCDF-C's OPeNDAP client has no timeout of its own: a server that accepts and never answers would hang
        # it forever, so the server is asked for the dataset description first, with the connect/read timeouts
        from ._http import probe

        probe(first + ".dds")
    arrays = {}
    for name, files in urls.items():
        pieces = []
        for url in files:
            progress.describe(f"ncep {Path(url).name}")
            try:
                remote = xr.open_dataset(url)
            except Exception as exc:
                raise WindDataError(f"cannot open {url}: {type(exc).__name__}: "
                                    f"{str(exc).strip().splitlines()[0] if str(exc) else ''}") from None
            with remote:
                var = remote[name]
                sub = var.sel(time=slice(np.datetime64(start), np.datetime64(end)))
                lev = sub["level"].values
                sub = sub.isel(level=(lev <= hi + 1e-6) & (lev >= lo - 1e-6))
                if sub.sizes["time"] == 0 or sub.sizes["level"] == 0:
                    continue
                sub = _store.cut_region(sub.to_dataset(), region)[name]
                try:
                    sub = sub.load()
                except Exception as exc:
                    raise WindDataError(f"the transfer from {url} failed: {type(exc).__name__}; nothing was "
                                        "cached") from None
                stats.bytes += int(sub.nbytes)
                stats.files += 1
                pieces.append(sub)
        if not pieces:
            raise WindDataError(f"{files[0]} has no {name} data between {start:%Y-%m-%dT%H} and {end:%Y-%m-%dT%H} "
                                f"on {hi:g}-{lo:g} hPa")
        arrays[name] = xr.concat(pieces, dim="time") if len(pieces) > 1 else pieces[0]
    ds = xr.Dataset(arrays)
    return _store.store(cache, ds, entry_id=eid, source="ncep", kind="analysis", model="ncep-ncar-r1",
                        label=f"NCEP/NCAR reanalysis {start:%Y-%m-%d} to {end:%Y-%m-%d}", product="pressure",
                        region=region, downloaded=stats.bytes, origin=(mirror or BASE))
