"""ECMWF open data (IFS/AIFS forecasts, 0.25 degrees) through ecmwf-opendata.

ecmwf-opendata reads the ``.index`` inventory of each step's file and downloads only the byte ranges of the
messages asked for (u, v, gh and t on the pressure levels inside the band).  ``mirror`` (or ``STRATOTRACK_MIRROR``)
is passed to it as its source URL, so any copy laid out like the open-data portal works.  The result is checked
(message count and structure) before it is stored.
"""

from __future__ import annotations

from ...errors import InputError, WindDataError
from . import _http

# the pressure levels (hPa) of the open-data "pl" files
LEVELS = (1000, 925, 850, 700, 600, 500, 400, 300, 250, 200, 150, 100, 70, 50, 30, 20, 10)
PARAMS = ("u", "v", "gh", "t")


def levels_in(band):
    hi, lo = band
    chosen = [p for p in LEVELS if lo - 1e-6 <= p <= hi + 1e-6]
    if not chosen:
        raise InputError(f"levels {hi:g}-{lo:g} hPa hold none of the ECMWF open-data levels "
                         f"({', '.join(map(str, LEVELS))} hPa)")
    return chosen


def request(cycle, hours, band, temperature=True, model="ifs"):
    """The ecmwf-opendata request for one cycle (a dict; also what the tests check)."""
    if cycle.hour not in (0, 6, 12, 18):
        raise InputError(f"cycle {cycle:%Y-%m-%dT%H} is not an ECMWF run; expected 00, 06, 12 or 18 UTC")
    return {"date": cycle.strftime("%Y-%m-%d"), "time": cycle.hour, "step": list(hours), "type": "fc",
            "stream": "oper" if cycle.hour in (0, 12) else "scda", "levtype": "pl",
            "levelist": levels_in(band), "param": [p for p in PARAMS if temperature or p != "t"], "model": model}


def fetch(cycle, hours, band, region, *, mirror=None, cache, stats, progress, temperature=True, resolution=0.25):
    import shutil

    import xarray as xr

    from . import _store

    if float(resolution) != 0.25:
        raise InputError(f"resolution {resolution!r} is not offered by ECMWF open data; expected 0.25")
    try:
        from ecmwf.opendata import Client
    except ImportError:
        raise WindDataError("ECMWF downloads need the ecmwf-opendata package; install it with "
                            "'pip install ecmwf-opendata'") from None
    req = request(cycle, hours, band, temperature)
    params = {"req": req, "region": region.text()}
    eid = _store.entry_id("ecmwf", f"{cycle:%Y%m%d%H}", dict(params, tag="0p25"))
    staging = cache.downloads / eid
    staging.mkdir(parents=True, exist_ok=True)
    target = staging / "ecmwf.grib2"
    part = staging / "ecmwf.grib2.part"
    progress.start(f"ecmwf {cycle:%Y-%m-%dT%HZ} (ecmwf-opendata)", None)
    import contextlib
    import io

    import requests

    try:
        # ecmwf-opendata prints its retries; they go nowhere (the error, if any, is one line below)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            client = Client(source=mirror or "ecmwf", model="ifs", resol="0p25", maximum_retries=3, retry_after=2)
            result = client.retrieve(request=req, target=str(part))
    except requests.RequestException as exc:
        part.unlink(missing_ok=True)
        raise _http.network_error(getattr(getattr(exc, "request", None), "url", None) or mirror or "ECMWF open data",
                                  exc) from None
    except Exception as exc:
        part.unlink(missing_ok=True)
        raise WindDataError(f"ECMWF open data {cycle:%Y-%m-%dT%HZ} could not be downloaded: "
                            f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}") from None
    expected = len(req["step"]) * len(req["levelist"]) * len(req["param"])
    try:
        _http.check_grib(part, expected)
    except WindDataError as exc:
        part.unlink(missing_ok=True)
        raise WindDataError(f"the ECMWF open-data download is corrupt and was discarded: {exc}") from None
    part.replace(target)
    stats.bytes += int(result.size or target.stat().st_size)
    stats.files += len(result.urls) if isinstance(result.urls, list) else 1
    ds = _store.cut_region(_store.open_grib(target, req["param"]), region).load()
    entry = _store.store(cache, ds.rename({"valid_time": "time"}), entry_id=eid, source="ecmwf",
                         label=f"ECMWF IFS 0.25 deg {cycle:%Y-%m-%dT%HZ}", kind="forecast", model="ifs",
                         product=req["stream"], cycle=cycle, region=region, downloaded=stats.bytes,
                         origin=f"ECMWF open data ({mirror or 'ecmwf'})")
    shutil.rmtree(staging, ignore_errors=True)
    return entry
