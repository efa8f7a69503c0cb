"""``stratotrack fetch`` and ``stratotrack cache list|clear``: thin wrappers of :func:`stratotrack.fetch` and
:class:`stratotrack.wind.cache.Cache`.  Nothing heavy is imported until a command runs."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from ..errors import InputError

cache_app = typer.Typer(name="cache", help="List, verify or clear the downloaded winds kept in the local cache.",
                        no_args_is_help=True, add_completion=False)


def _mb(n) -> str:
    if n is None:
        return "-"
    return f"{n / 1e6:,.1f} MB" if n >= 1e5 else f"{n / 1e3:,.1f} kB"


def fetch(
    source: Annotated[str, typer.Argument(help="gfs, gefs, ecmwf (forecasts), era5 or ncep (reanalyses).")],
    cycle: Annotated[Optional[str], typer.Option(
        "--cycle", help="Forecast run, e.g. 2023-02-01T00 (UTC) [default: the newest run found].")] = None,
    hours: Annotated[str, typer.Option(
        "--hours", help="Forecast hours: 0-120 (every 3 h), 0-120/6 or 0,3,6; 0 alone is the analysis.")] = "0-120",
    levels: Annotated[Optional[str], typer.Option(
        "--levels", help="Pressure band in hPa, e.g. 150-10 [default: all levels down to 1 hPa].")] = None,
    region: Annotated[Optional[str], typer.Option(
        "--region", help="W,S,E,N in degrees, e.g. -130,20,-60,55 (W > E crosses 180) [default: global].")] = None,
    resolution: Annotated[float, typer.Option(
        "--resolution", help="Grid spacing in degrees: 0.25, 0.5 (GFS, GEFS) or 1.0 (GFS).")] = 0.25,
    member: Annotated[Optional[str], typer.Option(
        "--member", help="GEFS member: 0 (control), 1..30 or avg [default: 0].")] = None,
    start: Annotated[Optional[str], typer.Option("--start", help="Reanalyses: first time, e.g. 2023-02-01.")] = None,
    end: Annotated[Optional[str], typer.Option("--end", help="Reanalyses: last time, e.g. 2023-02-05T18:00Z.")] = None,
    mirror: Annotated[Optional[str], typer.Option(
        "--mirror", help="Base URL of another archive with the same layout (or $STRATOTRACK_MIRROR).")] = None,
    no_temperature: Annotated[bool, typer.Option("--no-temperature", help="Skip air temperature.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stored entry as JSON.")] = False,
):
    """Download winds (only the variables, levels and hours needed) into the local cache; use them with
    --wind gfs (the newest cycle covering the flight) or --wind <entry id>."""
    from ..wind.download import fetch as do_fetch

    entry = do_fetch(source, cycle=cycle, hours=hours, levels=levels, region=region, resolution=resolution,
                     member=member, start=start, end=end, mirror=mirror, temperature=not no_temperature)
    desc = entry.describe()
    if as_json:
        print(json.dumps(desc, indent=2))
        return
    print(f"stored {entry.id}")
    print(f"  valid {desc['start']} to {desc['end']} ({desc['shape'][0]} times), "
          f"{len(desc['levels_hPa'])} levels {desc['levels_hPa'][0]:g}-{desc['levels_hPa'][-1]:g} hPa, "
          f"region {desc['region']}, {desc['resolution_deg']:g} deg")
    print(f"  downloaded {_mb(desc['downloaded_bytes'])}, stored {_mb(desc['bytes'])}")
    print(f"  use it with: --wind {entry.source}  (or --wind {entry.id})")


@cache_app.command("list")
def cache_list(
    source: Annotated[Optional[str], typer.Option("--source", help="Only this source (gfs, era5...).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the entries as JSON.")] = False,
):
    """List the cached winds, newest cycle first."""
    from ..wind.cache import Cache

    cache = Cache()
    entries = cache.entries(source.lower() if source else None)
    if as_json:
        print(json.dumps({"cache": str(cache.root), "entries": [e.describe() for e in entries]}, indent=2))
        return
    if not entries:
        print(f"no cached winds in {cache.root}; fetch some with 'stratotrack fetch gfs ...'")
        return
    # two short lines per entry rather than a ten-column table that wraps into unreadable lines at 80 columns
    print(f"cached winds in {cache.root}")
    total = 0
    damaged = []
    for e in entries:
        d = e.describe()
        total += e.nbytes
        lv = d["levels_hPa"]
        try:  # cheap: presence and size (the checksum is 'cache verify')
            ok = (e.path / "field.npy").stat().st_size == e.nbytes and (e.path / "meta.json").is_file()
        except OSError:
            ok = False
        if not ok:
            damaged.append(e.id)
        size = _mb(e.nbytes) if ok else "DAMAGED"
        print(f"{e.id}  {size}")
        details = [f"valid {_short(d['start'])} to {_short(d['end'])}",
                   f"{lv[0]:g}-{lv[-1]:g} hPa" if lv else None, d["region"] or "global",
                   f"{e.resolution:g} deg" if e.resolution else None,
                   f"downloaded {_mb(e.downloaded)}" if e.downloaded else None]
        print("  " + ", ".join(x for x in details if x))
    print(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, {_mb(total)}")
    if damaged:
        print(f"damaged: {', '.join(damaged)}; run 'stratotrack cache verify' to remove them, then fetch them "
              "again")


def _short(iso) -> str:
    return (iso or "-").replace(":00:00Z", "Z")


@cache_app.command("clear")
def cache_clear(
    ids: Annotated[Optional[list[str]], typer.Argument(help="Entry ids to remove [default: all].")] = None,
    older_than: Annotated[Optional[str], typer.Option(
        "--older-than", help="Only entries stored longer ago than this: e.g. 30d, 12h.")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Only this source (gfs, era5...).")] = None,
):
    """Remove cached winds (all, some ids, one source, or those older than an age)."""
    from ..wind.cache import Cache, parse_age

    cache = Cache()
    age = parse_age(older_than) if older_than is not None else None
    if ids:
        chosen = []
        for i in ids:
            entry = cache.get(i)
            if entry is None:
                raise InputError(f"cache entry {i!r} does not exist; see 'stratotrack cache list'")
            chosen.append(entry)
        removed = cache.remove(chosen)
    else:
        removed = cache.clear(older_than=age, source=source.lower() if source else None)
    freed = sum(e.nbytes for e in removed)
    print(f"removed {len(removed)} entr{'y' if len(removed) == 1 else 'ies'} ({_mb(freed)}) from {cache.root}")


@cache_app.command("verify")
def cache_verify(
    ids: Annotated[Optional[list[str]], typer.Argument(help="Entry ids to check [default: all].")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only report; remove nothing (exit 1 when an entry is "
                                                            "damaged).")] = False,
):
    """Check every entry's files and checksum; remove the damaged ones (fetch them again) and stray folders."""
    from ..wind.cache import Cache

    cache = Cache()
    chosen = None
    if ids:
        chosen = []
        for i in ids:
            entry = cache.get(i)
            if entry is None:
                raise InputError(f"cache entry {i!r} does not exist; see 'stratotrack cache list'")
            chosen.append(entry)
    results = cache.repair(chosen, remove=not dry_run)
    bad = [(e, problem) for e, problem in results if problem]
    for e, problem in results:
        if problem:
            print(f"{e.id}: damaged ({problem})" + ("" if dry_run else "; removed, fetch it again"))
        else:
            print(f"{e.id}: ok")
    print(f"{len(results)} entr{'y' if len(results) == 1 else 'ies'} checked, {len(bad)} damaged"
          + ("" if dry_run or not bad else " and removed") + f" ({cache.root})")
    return 1 if bad and dry_run else 0


def register(app: typer.Typer) -> None:
    """Add ``fetch`` and ``cache`` to the main command line."""
    app.command("fetch")(fetch)
    app.add_typer(cache_app, name="cache")
