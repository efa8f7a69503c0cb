"""Downloads of real winds into the local cache: ``stratotrack.fetch`` and ``stratotrack fetch``.

==========  ===================================================  ==========================================
source      what                                                 through
==========  ===================================================  ==========================================
``gfs``     NCEP GFS forecasts/analyses (f000), 0.25/0.5/1.0 deg  herbie-data (model/mirror registry, .idx)
``gefs``    NCEP GEFS members (c00, p01..p30, avg), 0.5/0.25 deg  herbie-data
``ecmwf``   ECMWF IFS open data, 0.25 deg                        ecmwf-opendata (.index byte ranges)
``era5``    ERA5 reanalysis on pressure levels                   cdsapi (key in ~/.cdsapirc)
``ncep``    NCEP/NCAR reanalysis 1, 2.5 deg, 1948 onwards        NOAA PSL OPeNDAP (no key)
==========  ===================================================  ==========================================

Only u, v, geopotential height and temperature are transferred, on the pressure levels asked for (default all
down to 1 hPa; ``levels="150-10"`` for the stratosphere), for the forecast hours asked for; the region cut is
applied when storing.  Nothing is imported from the download libraries until a fetch runs.
"""

from __future__ import annotations

import datetime as _dt
import os

from ...errors import InputError, WindDataError
from ._parse import (FORECASTS, REANALYSES, SOURCES, check_source, parse_cycle, parse_hours, parse_levels,
                     parse_region)

__all__ = ["fetch", "SOURCES", "MIRROR_ENV"]

MIRROR_ENV = "STRATOTRACK_MIRROR"


def _when(value, what) -> _dt.datetime:
    from ...timeutil import parse_time

    if value is None:
        raise InputError(f"{what} is missing; expected a date such as 2023-02-01 or 2023-02-01T06:00Z")
    t = parse_time(value)
    return _dt.datetime.fromisoformat(str(t.astype("datetime64[s]")))


def fetch(source, *, cycle=None, hours="0-120", levels=None, region=None, resolution=0.25, member=None,
          start=None, end=None, mirror=None, temperature=True, progress=None, cache=None):
    """Download winds and store them in the cache; returns the cache :class:`~stratotrack.wind.cache.Entry`.

    Forecasts (``"gfs"``, ``"gefs"``, ``"ecmwf"``): ``cycle`` (model run, e.g. ``"2023-02-01T00"``; default the
    newest run found, looking back up to a day), ``hours`` (``"0-120"`` every 3 h, ``"0-120/6"``, ``"0,3,6"``; use
    ``"0"`` for the analysis), ``resolution`` in degrees, ``member`` (GEFS: 0 = control, 1..30, ``"avg"``).
    Reanalyses (``"era5"``, ``"ncep"``): ``start`` and ``end`` times.
    All: ``levels`` a pressure band in hPa (``"150-10"``; default all down to 1 hPa), ``region`` ``"W,S,E,N"`` in
    degrees (default global), ``mirror`` another archive's base URL (default ``$STRATOTRACK_MIRROR`` or the public
    archives), ``temperature=False`` to skip air temperature, ``progress`` a bar on stderr (default: when stderr
    is a terminal).

    Use the result with ``open_wind("gfs")`` (the newest cycle covering the flight) or ``open_wind(entry.id)``.
    """
    from ..cache import Cache
    from ._http import Progress, Stats

    name = check_source(source)
    band = parse_levels(levels)
    box = parse_region(region)
    mirror = mirror or os.environ.get(MIRROR_ENV) or None
    cache = cache if isinstance(cache, Cache) else Cache(cache)
    cache.check_writable()  # before any transfer: a read-only or full cache is found now, not after the download
    stats = Stats()
    import requests

    from ._http import default_timeouts, network_error

    try:
        with default_timeouts(), Progress(enabled=True if progress is None else bool(progress)) as bar:
            return _fetch(name, cycle, hours, band, box, resolution, member, start, end, mirror, temperature,
                          cache, stats, bar)
    except requests.RequestException as exc:  # herbie's and cdsapi's own requests: one line, not a traceback
        where = getattr(getattr(exc, "request", None), "url", None) or mirror or f"the {name} archive"
        raise network_error(where, exc) from None


def _fetch(name, cycle, hours, band, box, resolution, member, start, end, mirror, temperature, cache, stats, bar):
    if name in FORECASTS:
        step = 3
        hrs = parse_hours(hours, step=step, maximum=840 if name == "gefs" else 384)
        if cycle is None:
            return _latest(name, hrs, band, box, resolution, member, mirror, temperature, cache, stats, bar)
        run = parse_cycle(cycle)
        return _forecast(name, run, hrs, band, box, resolution, member, mirror, temperature, cache, stats, bar)
    t0, t1 = _when(start, "start"), _when(end if end is not None else start, "end")
    if name == "era5":
        from . import era5

        return era5.fetch(t0, t1, band, box, cache=cache, stats=stats, progress=bar, temperature=temperature)
    from . import ncep

    return ncep.fetch(t0, t1, band, box, mirror=mirror, cache=cache, stats=stats, progress=bar,
                      temperature=temperature)


def _forecast(name, run, hrs, band, box, resolution, member, mirror, temperature, cache, stats, bar):
    if name == "ecmwf":
        from . import ecmwf

        return ecmwf.fetch(run, hrs, band, box, mirror=mirror, cache=cache, stats=stats, progress=bar,
                           temperature=temperature, resolution=resolution)
    from . import noaa

    return noaa.fetch(name, run, hrs, band, box, resolution, member=member, mirror=mirror, cache=cache,
                      stats=stats, progress=bar, temperature=temperature)


def _latest(name, hrs, band, box, resolution, member, mirror, temperature, cache, stats, bar):
    now = _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    run = now.replace(hour=now.hour - now.hour % 6) - _dt.timedelta(hours=6)
    last = None
    for _ in range(4):
        try:
            return _forecast(name, run, hrs, band, box, resolution, member, mirror, temperature, cache, stats, bar)
        except WindDataError as exc:
            if "is not on" not in str(exc) and "could not be downloaded" not in str(exc):
                raise
            last = exc
            run -= _dt.timedelta(hours=6)
    raise WindDataError(f"no {name} run of the last day was found: {last}")
