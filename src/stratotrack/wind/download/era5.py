"""ERA5 on pressure levels from the Copernicus Climate Data Store through cdsapi.

The user's key is read by cdsapi from ``~/.cdsapirc`` (or ``CDSAPI_URL``/``CDSAPI_KEY``, or the file named by
``CDSAPI_RC``); without one the fetch stops at once with one line saying so.  Requests wait in the CDS queue: each
change of state (accepted, queued, running, successful) is shown on stderr.  One request per calendar month of the
span; each result is checked (it must open as NetCDF with u, v, z) before anything is stored.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

from ...errors import InputError, WindDataError

DATASET = "reanalysis-era5-pressure-levels"
LEVELS = (1, 2, 3, 5, 7, 10, 20, 30, 50, 70, 100, 125, 150, 175, 200, 225, 250, 300, 350, 400, 450, 500, 550, 600,
          650, 700, 750, 775, 800, 825, 850, 875, 900, 925, 950, 975, 1000)
VARIABLES = {"u": "u_component_of_wind", "v": "v_component_of_wind", "z": "geopotential", "t": "temperature"}
FIRST = _dt.datetime(1940, 1, 1)


def key_file() -> Path:
    return Path(os.environ.get("CDSAPI_RC", os.path.expanduser("~/.cdsapirc")))


def check_key() -> None:
    """Raise a one-line error when no CDS API key is configured."""
    if os.environ.get("CDSAPI_URL") and os.environ.get("CDSAPI_KEY"):
        return
    rc = key_file()
    text = rc.read_text() if rc.is_file() else ""
    if not any(line.strip().startswith("key:") and line.split(":", 1)[1].strip() for line in text.splitlines()):
        raise InputError(f"ERA5 needs a Climate Data Store API key: {rc} is missing or has no 'key:' line; create it "
                         "with the 'url:' and 'key:' lines from your CDS profile page (or set CDSAPI_URL and "
                         "CDSAPI_KEY)")


def requests_for(start: _dt.datetime, end: _dt.datetime, band, region, step_hours=1, temperature=True):
    """The CDS requests (one per month) for ``start..end``: a list of (label, request dict)."""
    if end < start:
        raise InputError(f"end {end:%Y-%m-%dT%H} is before start {start:%Y-%m-%dT%H}")
    if start < FIRST:
        raise InputError(f"start {start:%Y-%m-%d} is before ERA5 begins (1940-01-01)")
    hi, lo = band
    levels = [p for p in LEVELS if lo - 1e-6 <= p <= hi + 1e-6]
    if not levels:
        raise InputError(f"levels {hi:g}-{lo:g} hPa hold none of the ERA5 pressure levels")
    variables = [v for k, v in VARIABLES.items() if temperature or k != "t"]
    times = [f"{h:02d}:00" for h in range(0, 24, int(step_hours))]
    area = None if region.is_global else [region.north, region.west, region.south, region.east]
    out = []
    day = _dt.datetime(start.year, start.month, start.day)
    while day <= end:
        month_days = []
        m = (day.year, day.month)
        while day <= end and (day.year, day.month) == m:
            month_days.append(day.day)
            day += _dt.timedelta(days=1)
        req = {"product_type": ["reanalysis"], "variable": variables, "pressure_level": [str(p) for p in levels],
               "year": [f"{m[0]:04d}"], "month": [f"{m[1]:02d}"], "day": [f"{d:02d}" for d in month_days],
               "time": times, "data_format": "netcdf", "download_format": "unarchived"}
        if area is not None:
            req["area"] = area
        out.append((f"{m[0]:04d}-{m[1]:02d}", req))
    return out


def fetch(start, end, band, region, *, cache, stats, progress, temperature=True, step_hours=1):
    import shutil

    import xarray as xr

    from . import _store

    check_key()
    reqs = requests_for(start, end, band, region, step_hours, temperature)
    try:
        import cdsapi
    except ImportError:
        raise WindDataError("ERA5 downloads need the cdsapi package; install it with 'pip install cdsapi'") from None
    eid = _store.entry_id("era5", f"{start:%Y%m%d%H}-{end:%Y%m%d%H}", {"reqs": reqs})
    staging = cache.downloads / eid
    staging.mkdir(parents=True, exist_ok=True)
    progress.start("era5: submitting", None)

    def info(*args, **kwargs):
        text = (args[0] % args[1:]) if args and len(args) > 1 else (str(args[0]) if args else "")
        if "Request" in text or "status" in text.lower() or "state" in text.lower():
            progress.describe(f"era5 {label}: {text}")
            progress.log(f"era5 {label}: {text}")

    from ._http import BACKOFF_MAX, RETRIES, probe, timeouts

    url = os.environ.get("CDSAPI_URL")
    if url:
        probe(url.rstrip("/") + "/")  # a silent server: one line after the read timeout, not cdsapi's 500 retries

    def warn(*args, **kwargs):
        text = (args[0] % args[1:]) if args and len(args) > 1 else (str(args[0]) if args else "")
        progress.log(f"era5: {text}")

    try:
        client = cdsapi.Client(quiet=True, progress=False, info_callback=info, warning_callback=warn,
                               timeout=timeouts()[1], retry_max=RETRIES, sleep_max=BACKOFF_MAX)
    except Exception as exc:
        raise WindDataError(f"cannot start the CDS client: {str(exc).strip().splitlines()[0]}") from None
    files = []
    for label, req in reqs:
        target = staging / f"era5-{label}.nc"
        if not target.exists():
            part = target.with_suffix(".nc.part")
            try:
                client.retrieve(DATASET, req, str(part))
            except Exception as exc:
                part.unlink(missing_ok=True)
                raise WindDataError(f"the ERA5 request for {label} failed: "
                                    f"{str(exc).strip().splitlines()[0] if str(exc) else type(exc).__name__}") \
                    from None
            try:
                with xr.open_dataset(part) as probe:
                    missing = [v for v in ("u", "v", "z") if v not in probe.data_vars]
            except Exception as exc:
                part.unlink(missing_ok=True)
                raise WindDataError(f"the ERA5 download for {label} is not readable NetCDF ({type(exc).__name__}) "
                                    "and was discarded") from None
            if missing:
                part.unlink(missing_ok=True)
                raise WindDataError(f"the ERA5 download for {label} lacks {', '.join(missing)} and was discarded")
            stats.bytes += part.stat().st_size
            stats.files += 1
            part.replace(target)
        files.append(target)
    parts = [xr.open_dataset(f).load() for f in files]
    ds = xr.concat(parts, dim="valid_time" if "valid_time" in parts[0].dims else "time") if len(parts) > 1 \
        else parts[0]
    ds = ds.drop_vars([c for c in ("number", "expver") if c in ds.variables])
    tname = "valid_time" if "valid_time" in ds.dims else "time"
    ds = ds.sel({tname: slice(start, end)})
    entry = _store.store(cache, ds, entry_id=eid, source="era5", label=f"ERA5 {start:%Y-%m-%d} to {end:%Y-%m-%d}",
                         kind="analysis", model="era5", product=DATASET, region=region, downloaded=stats.bytes,
                         origin="Copernicus Climate Data Store (cdsapi)")
    shutil.rmtree(staging, ignore_errors=True)
    return entry
