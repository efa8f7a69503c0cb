"""GFS and GEFS through herbie-data: its model templates find the files and their ``.idx`` inventories on the
archives (in its priority order), its inventory search picks the messages; stratotrack fetches only those byte
ranges (resumable, checked) and stores the result in the cache.

Pointing at another archive (a mirror, or a test server on 127.0.0.1): ``mirror="http://host/base"`` (or the
``STRATOTRACK_MIRROR`` environment variable).  Herbie resolves files by calling ``<model>.template()``; a mirror
registers a small template ``stratotrack_<model>_mirror`` that runs herbie's own template and replaces its SOURCES
with one source, ``mirror``: the base URL + the path of herbie's first source (the public cloud archive's layout,
e.g. ``gfs.20230201/00/atmos/gfs.t00z.pgrb2.0p25.f000``).  Herbie then searches only that source.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from ...errors import InputError, WindDataError
from . import _http

VARIABLES = {"UGRD": "u", "VGRD": "v", "HGT": "gh", "TMP": "t"}
LEVEL = re.compile(r"^(\d+(?:\.\d+)?) mb$")

_herbie_mod = None


def herbie():
    """Import herbie without its side effects on the user's home and on stdout.

    Herbie reads (and on first use writes) a config file at import; it is pointed at the stratotrack cache's own
    folder, pre-written, and whatever it prints goes nowhere.
    """
    global _herbie_mod
    if _herbie_mod is not None:
        return _herbie_mod
    from ..cache import cache_dir

    conf = cache_dir() / "herbie"
    conf.mkdir(parents=True, exist_ok=True)
    toml = conf / "config.toml"
    if not toml.exists():
        toml.write_text(f'[default]\nmodel = "gfs"\nfxx = 0\nsave_dir = "{(conf / "data").as_posix()}"\n'
                        "overwrite = false\nverbose = false\n")
    saved = os.environ.get("HERBIE_CONFIG_PATH")
    os.environ["HERBIE_CONFIG_PATH"] = str(conf)
    try:
        _isolated_pyproj()
        with _http.quiet_stdout():
            try:
                import herbie as mod
                import herbie.models  # noqa: F401
            except ImportError:
                raise WindDataError("GFS/GEFS downloads need the herbie-data package; install it with "
                                    "'pip install herbie-data'") from None
    finally:
        if saved is None:
            os.environ.pop("HERBIE_CONFIG_PATH", None)
        else:
            os.environ["HERBIE_CONFIG_PATH"] = saved
    _herbie_mod = mod
    return mod


def _isolated_pyproj():
    """Import pyproj's compiled modules so that they bind to pyproj's own PROJ library.

    Herbie imports pyproj.  The eccodes wheels load eckit, which bundles another PROJ (and SQLite) into the global
    symbol scope; a pyproj imported after eccodes then calls the wrong PROJ ("no database context") and the
    process crashes at exit.  Loading pyproj's extensions with RTLD_DEEPBIND makes them prefer their own libraries.
    """
    import importlib
    import sys
    import warnings

    if "pyproj" in sys.modules or not hasattr(os, "RTLD_DEEPBIND"):
        return
    try:
        spec = importlib.util.find_spec("pyproj")
    except (ImportError, ValueError):
        return
    if spec is None or not spec.submodule_search_locations:
        return
    folder = Path(next(iter(spec.submodule_search_locations)))
    flags = sys.getdlopenflags()
    sys.setdlopenflags(os.RTLD_NOW | os.RTLD_DEEPBIND)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pyproj  # noqa: F401

            for so in sorted(folder.glob("*.so")):
                try:
                    importlib.import_module("pyproj." + so.name.split(".", 1)[0])
                except ImportError:
                    pass
    finally:
        sys.setdlopenflags(flags)


def mirror_model(model: str, base_url: str) -> str:
    """Register (once) a herbie template that serves ``model`` from ``base_url``; returns its name."""
    models = herbie().models
    name = f"stratotrack_{model}_mirror_{abs(hash(base_url)) % 10**8}"
    if hasattr(models, name):
        return name
    base = getattr(models, model)
    root = base_url.rstrip("/")

    def template(self):
        base.template(self)
        if not getattr(self, "SOURCES", None):
            return
        first = next(iter(self.SOURCES.values()))
        path = urlparse(first).path if "://" in first else "/" + first.lstrip("/")
        self.SOURCES = {"mirror": root + path}

    cls = type(name, (), {"template": template, "__doc__": f"{model} served from {root} (stratotrack mirror)"})
    setattr(models, name, cls)
    return name


def product_for(model: str, resolution: float, cycle: _dt.datetime) -> str:
    res = float(resolution)
    if model == "gfs":
        if cycle >= _dt.datetime(2021, 1, 1):
            table = {0.25: "pgrb2.0p25", 0.5: "pgrb2.0p50", 1.0: "pgrb2.1p00"}
        else:
            table = {0.5: "0.5-degree", 1.0: "1.0-degree"}
    else:
        table = {0.5: "atmos.5", 0.25: "atmos.25"}
    if res not in table:
        raise InputError(f"resolution {resolution!r} is not offered for {model} at {cycle:%Y-%m-%dT%H}; expected "
                         f"one of {', '.join(f'{r:g}' for r in table)} degrees")
    return table[res]


def member_for(member) -> str | None:
    if member is None:
        return "c00"
    text = str(member).strip().lower()
    if text.isdigit():
        n = int(text)
        return "c00" if n == 0 else f"p{n:02d}"
    if re.fullmatch(r"(c00|p\d\d|avg|spr|mean|spread)", text):
        return text
    raise InputError(f"GEFS member {member!r} is not understood; expected 0 (control), 1..30, c00, p01..p30 or avg")


def search_for(index, band, variables) -> tuple[str, list[float]]:
    """Herbie's regular expression for the wanted variables on the isobaric levels inside ``band`` (hPa)."""
    hi, lo = band
    levels = set()
    for var, lev in zip(index["variable"], index["level"]):
        m = LEVEL.match(str(lev))
        if m and var in variables and lo - 1e-6 <= float(m.group(1)) <= hi + 1e-6:
            levels.add(m.group(1))
    if not levels:
        raise WindDataError(f"the inventory has no {'/'.join(variables)} messages between {hi:g} and {lo:g} hPa")
    ordered = sorted(levels, key=float, reverse=True)
    search = f":(?:{'|'.join(variables)}):(?:{'|'.join(re.escape(v) for v in ordered)}) mb:"
    return search, [float(v) for v in ordered]


def find(model, cycle, fxx, *, product, member=None, mirror=None, staging: Path):
    """The herbie object for one file (raises when the file or its inventory is not found)."""
    mod = herbie()
    name = mirror_model(model, mirror) if mirror else model
    kwargs = {"member": member} if model == "gefs" else {}
    with _http.quiet_stdout():
        try:
            H = mod.Herbie(cycle, model=name, product=product, fxx=fxx, priority=["mirror"] if mirror else None,
                           save_dir=staging / "herbie", overwrite=True, verbose=False, **kwargs)
        except (AssertionError, ValueError) as exc:
            raise WindDataError(f"herbie cannot look up {model} {cycle:%Y-%m-%dT%H} f{fxx:03d}: "
                                f"{str(exc).strip().splitlines()[0]}") from None
    where = mirror or "the archives herbie knows"
    if H.grib is None:
        raise WindDataError(f"{model} {product} {cycle:%Y-%m-%dT%HZ} f{fxx:03d} is not on {where}")
    if H.idx is None:
        raise WindDataError(f"{model} {cycle:%Y-%m-%dT%HZ} f{fxx:03d} has no .idx inventory on {where}, so it cannot "
                            "be subset; refusing to download the whole file")
    return H


def fetch(model, cycle, hours, band, region, resolution, *, member=None, mirror=None, cache, stats, progress,
          temperature=True):
    """Download and store one cycle of GFS (``model="gfs"``) or one GEFS member; returns the cache Entry."""
    import xarray as xr

    from . import _store

    product = product_for(model, resolution, cycle)
    member = member_for(member) if model == "gefs" else None
    variables = [k for k, v in VARIABLES.items() if temperature or v != "t"]
    params = {"model": model, "product": product, "member": member, "cycle": cycle.isoformat(),
              "hours": hours, "band": band, "region": region.text(), "vars": variables, "mirror": mirror}
    tag = (product.replace("pgrb2.", "").replace("atmos.", "a") + (f"-{member}" if member else ""))
    eid = _store.entry_id(model, f"{cycle:%Y%m%d%H}", dict(params, tag=tag, mirror=None))
    staging = cache.downloads / eid
    staging.mkdir(parents=True, exist_ok=True)
    sess = _http.session()
    files, levels_all = [], None
    progress.start(f"{model} {cycle:%Y-%m-%dT%HZ}", 0)
    for fxx in hours:
        progress.describe(f"{model} {cycle:%Y-%m-%dT%HZ} f{fxx:03d}")
        dest = staging / f"f{fxx:03d}.grib2"
        H = find(model, cycle, fxx, product=product, member=member, mirror=mirror, staging=staging)
        with _http.quiet_stdout():
            try:
                index = H.index_as_dataframe
            except Exception as exc:
                raise WindDataError(f"cannot read the inventory {H.idx}: {str(exc).strip().splitlines()[0]}") \
                    from None
        search, levels = search_for(index, band, variables)
        levels_all = levels if levels_all is None else levels_all
        rows = H.inventory(search)
        msgs = rows["grib_message"].to_numpy()
        starts = rows["start_byte"].to_numpy()
        ends = rows["end_byte"].to_numpy(dtype=float)
        if np.isnan(ends).any():  # the last message of the file: its end is the file's end
            ends = np.where(np.isnan(ends), _http.remote_size(sess, H.grib) - 1, ends)
        # consecutive messages become one range, like herbie's own download groups
        ranges = []
        for m, a, b in zip(msgs, starts, ends):
            if ranges and m == ranges[-1][2] + 1:
                ranges[-1] = (ranges[-1][0], int(b), m)
            else:
                ranges.append((int(a), int(b), m))
        ranges = [(a, b) for a, b, _ in ranges]
        if not dest.exists():
            progress.add_total(sum(b - a + 1 for a, b in ranges))
            _http.download_ranges(sess, H.grib, ranges, dest, stats=stats, progress=progress,
                                  grib_messages=len(rows))
        files.append((fxx, dest, H.grib))
    progress.describe(f"{model} {cycle:%Y-%m-%dT%HZ}: storing")
    parts = []
    for fxx, path, url in files:
        ds = _store.open_grib(path, [VARIABLES[v] for v in variables])
        ds = _store.cut_region(ds, region).load()
        parts.append(ds)
    data = xr.concat(parts, dim="valid_time", coords="minimal", compat="override", join="override")
    data = data.rename({"valid_time": "time"})
    res = float(resolution)
    label = f"{model.upper()} {res:g} deg {cycle:%Y-%m-%dT%HZ}" + (f" member {member}" if member else "")
    origin = files[0][2].rsplit("/", 1)[0] + "/ (" + f"{len(files)} files, byte ranges of u, v, gh" + \
        (", t" if temperature else "") + ")"
    entry = _store.store(cache, data, entry_id=eid, source=model, label=label, kind="forecast", model=model,
                         product=product, member=member, cycle=cycle, region=region, downloaded=stats.bytes,
                         origin=origin)
    import shutil

    shutil.rmtree(staging, ignore_errors=True)
    return entry
