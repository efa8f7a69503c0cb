"""Ensemble options of ``stratotrack predict`` (``--members`` and perturbations) and ``stratotrack windows``.

Thin: parse, call :func:`stratotrack.ensemble` / :func:`stratotrack.windows`, print and write.  No science here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import InputError

ENSEMBLE_OUT_HELP = ("With --members: .nc (gridded probabilities, ellipses, passage), .geojson (50/90/99% contours, "
                     "ellipses, passage), .csv (one row per member, or every point with --keep trajectories), .json "
                     "(summary); trajectory formats (.kml, .gpx, .czml) need --keep trajectories.")


def parse_spreads(items) -> dict:
    """``NAME=VALUE`` or ``NAME=normal:VALUE`` / ``NAME=uniform:VALUE`` (repeatable)."""
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not value:
            raise InputError(f"--spread {item!r} is not NAME=VALUE; expected e.g. ascent_rate=0.5 or "
                             "burst_altitude=uniform:2000 or launch_time=normal:30m")
        out[name.strip().replace("-", "_")] = value.strip()
    return out


def parse_passages(items) -> list:
    out = []
    for item in items or []:
        parts = item.split(",")
        try:
            lat, lon, r = (float(p) for p in parts)
        except ValueError:
            raise InputError(f"--passage {item!r} is not LAT,LON,RADIUS_KM; expected e.g. 51.5,-0.1,25") from None
        out.append({"lat": lat, "lon": lon, "radius_km": r, "name": f"{lat:g},{lon:g},{r:g}km"})
    return out


def parse_levels(text):
    if text is None:
        return (0.5, 0.9, 0.99)
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"--levels {text!r} is not a list of numbers; expected e.g. 0.5,0.9,0.99") from None


def perturbation_kwargs(spread, wind_error, wind_error_scale, offsets) -> dict:
    from ..ensemble import Offsets, WindError

    kw = {"spread": parse_spreads(spread)}
    if wind_error or wind_error_scale is not None:
        kw["wind_error"] = WindError(scale=1.0 if wind_error_scale is None else wind_error_scale)
    if offsets:
        kw["offsets"] = Offsets()
    return kw


def check_outputs(outputs, keep):
    from ..ensemble.result import FORMATS
    from ..io import check_output
    from ..io._common import check_writable

    for path in outputs:
        ext = Path(path).suffix.lower().replace(".tiff", ".tif")
        if ext == ".tif":
            try:
                import rasterio  # noqa: F401
            except ImportError:
                raise InputError(f"{str(path)!r}: GeoTIFF output needs rasterio; install it with "
                                 "pip install 'stratotrack[raster]'") from None
        if ext in FORMATS:
            check_writable(path)
        elif keep == "trajectories":
            check_output(path)
        else:
            raise InputError(f"extension {ext or str(path)!r} is not an ensemble output; expected one of "
                             f"{', '.join(FORMATS)} (trajectory formats need --keep trajectories)")


def predict_ensemble(*, lat, lon, alt, time, profile, backward, wind, outside, kwargs, members, seed, spread,
                     wind_error, wind_error_scale, offsets, passage, at, levels, keep, batch_size, outputs, plot,
                     as_json, phase):
    """``stratotrack predict --members N``: run the ensemble, write its products, print its summary."""
    import stratotrack as st

    if plot is not None:
        raise InputError("--plot draws a single prediction; with --members write .geojson/.nc products instead")
    keep = keep or ("members" if any(Path(p).suffix.lower() == ".csv" for p in outputs) else "summary")
    check_outputs(outputs, keep)
    kw = perturbation_kwargs(spread, wind_error, wind_error_scale, offsets)
    kwargs = dict(kwargs)
    kwargs.pop("output_interval", None) if keep != "trajectories" else None
    with phase(f"Running {members} members..."):
        res = st.ensemble(lat, lon, alt, time, profile, members=members, seed=seed, backward=backward, wind=wind,
                          outside=outside, passages=parse_passages(passage), at=list(at) if at else None,
                          levels=parse_levels(levels), keep=keep, batch_size=batch_size, **kw, **kwargs)
    from ..ensemble.result import FORMATS as ENSEMBLE_FORMATS

    written = []
    for path in outputs:
        with phase(f"Writing {path}..."):
            if Path(path).suffix.lower().replace(".tiff", ".tif") in ENSEMBLE_FORMATS:
                res.write(path)
            else:
                import stratotrack.io as sio

                sio.write(res.trajectories, path)
        written.append(str(path))
    summary = res.summary()
    summary["files"] = written
    if as_json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        render_ensemble(summary)


def render_ensemble(summary):
    from rich.console import Console

    console = Console()
    e = summary["ensemble"]
    launch = e["launch"]
    console.print(f"[bold]stratotrack ensemble[/bold]: {e['members']} members, seed {e['seed']}, profile {e['profile']}")
    console.print(f"launch      {launch['latitude']:.4f}, {launch['longitude']:.4f}, {launch['altitude']:g} m at "
                  f"{launch['time']}")
    pert = e["perturbations"]
    lines = [f"{k} {v}" for k, v in pert["spread"].items()]
    lines += [v for k, v in pert.items() if k in ("balloon", "wind_error", "offsets") and v]
    console.print("perturb     " + ("; ".join(lines) if lines else "none (every member is the deterministic "
                                    "prediction)"))
    console.print(f"winds       {'; '.join(pert['winds'])}")
    for name, p in summary["products"].items():
        ell = {x["level"]: x for x in p["ellipses"]}
        e90 = ell.get(0.9) or p["ellipses"][-1]
        console.print(f"{name:<11} mean {p['mean_latitude']:.4f}, {p['mean_longitude']:.4f}; {e90['level']:.0%} "
                      f"ellipse {e90['semi_major_km']:.1f} x {e90['semi_minor_km']:.1f} km (semi-axes), azimuth "
                      f"{e90['azimuth_deg']:.0f} deg")
    for r in summary["passages"]:
        when = r["first_passage"]
        console.print(f"passage     {r['name']}: P = {r['probability']:.3f} +- {r['standard_error']:.3f}"
                      + (f", first passage median {when['median']}" if when else ""))
    for w in e.get("warnings", []):
        console.print(f"warning     {w}")
    console.print(f"time        {e['wall_seconds']:.1f} s ({e['engine_seconds']:.1f} s in the engine)")
    for f in summary.get("files", []):
        console.print(f"wrote       {f}")


def parse_every(text) -> float:
    from ..timeutil import parse_duration

    return parse_duration(text)


def register(app):
    """Add ``stratotrack windows`` to the app."""

    @app.command()
    def windows(
        lat: Annotated[float, typer.Option("--lat", help="Launch latitude, degrees north.")],
        lon: Annotated[float, typer.Option("--lon", help="Launch longitude, degrees east.")],
        alt: Annotated[float, typer.Option("--alt", help="Launch altitude, m.")] = 0.0,
        start: Annotated[Optional[str], typer.Option("--start", help="First launch, ISO 8601 [default: now].")] = None,
        end: Annotated[Optional[str], typer.Option("--end", help="Last launch at or before, ISO 8601 [default: "
                                                                 "start + 24 h].")] = None,
        every: Annotated[str, typer.Option("--every", help="Launch interval, e.g. 1h, 3h, 90m.")] = "1h",
        profile: Annotated[str, typer.Option("--profile", help="standard or float.")] = "standard",
        ascent_rate: Annotated[float, typer.Option("--ascent-rate", help="m/s.")] = 5.0,
        burst_altitude: Annotated[float, typer.Option("--burst-altitude", help="m.")] = 30000.0,
        descent_rate: Annotated[float, typer.Option("--descent-rate", help="m/s at sea level.")] = 5.0,
        float_altitude: Annotated[Optional[float], typer.Option("--float-altitude", help="m (float).")] = None,
        duration: Annotated[Optional[str], typer.Option("--duration", help="Float duration, e.g. 2d.")] = None,
        wind: Annotated[str, typer.Option("--wind", help="'climatology' or a wind file.")] = "climatology",
        members: Annotated[int, typer.Option("--members", help="Ensemble members per launch (0: none).")] = 0,
        seed: Annotated[Optional[int], typer.Option("--seed", help="Seed of the ensembles.")] = None,
        spread: Annotated[Optional[list[str]], typer.Option(
            "--spread", help="NAME=SD or NAME=uniform:HALFWIDTH (ascent_rate, burst_altitude, descent_rate, "
                             "float_altitude, launch_time); repeatable.")] = None,
        wind_error: Annotated[bool, typer.Option("--wind-error", help="Add the default forecast wind error.")] = False,
        out: Annotated[Optional[list[Path]], typer.Option(
            "--out", "-o", help="Table .csv, map .png/.svg/.pdf, trajectories .nc/.geojson/.kml/.gpx/.czml.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
    ):
        """Predict the same flight launched every --every from --start to --end: a table and a map of landings."""
        from ..ensemble.windows import FORMATS
        from ..io._common import check_writable

        outputs = list(out or [])
        for path in outputs:
            if Path(path).suffix.lower() not in FORMATS:
                raise InputError(f"extension {Path(path).suffix or str(path)!r} is not a windows output; expected "
                                 f"one of {', '.join(FORMATS)}")
            check_writable(path)
        from . import limits

        if members < 0:
            raise InputError(f"members {members} is invalid; expected 0 (no ensemble) or more")
        limits.check_count("--members", members, 0, 100_000, "0 is no ensemble; every launch runs this many "
                           "members")
        limits.check_seed(seed)
        limits.check_time(start, "--start")
        limits.check_time(end, "--end")
        limits.check_range("--alt", alt, limits.MIN_GROUND, limits.MAX_ALT, "m", "a launch altitude between the "
                           "Dead Sea and 86 km")
        limits.check_range("--ascent-rate", ascent_rate, limits.MIN_ASCENT, limits.MAX_ASCENT, "m/s",
                           "balloons climb at about 1-10 m/s")
        limits.check_range("--descent-rate", descent_rate, limits.MIN_DESCENT, limits.MAX_DESCENT, "m/s",
                           "a parachute lands at about 3-10 m/s")
        limits.check_range("--burst-altitude", burst_altitude, 0.0, limits.MAX_ALT, "m", "balloons burst below "
                           "86 km")
        limits.check_range("--float-altitude", float_altitude, 0.0, limits.MAX_ALT, "m", "balloons float below "
                           "86 km")
        limits._seconds(duration, "--duration")
        if parse_every(every) < 60.0:
            raise InputError(f"--every {every!r} is shorter than a minute; expected e.g. 30m or 3h")
        import stratotrack as st

        opts = {"ascent_rate": ascent_rate, "burst_altitude": burst_altitude, "descent_rate": descent_rate,
                "wind": wind}
        if float_altitude is not None:
            opts["float_altitude"] = float_altitude
        if duration is not None:
            opts["duration"] = duration
        ens = perturbation_kwargs(spread, wind_error, None, False) if members else None
        from .app import _phase

        with _phase("Predicting every launch of the window..."):
            res = st.windows(lat, lon, alt, start, end, every, profile, members=members, seed=seed,
                             ensemble_options=ens, **opts)
            for path in outputs:
                res.write(path)
        df = res.table
        if as_json:
            print(df.to_json(orient="records", date_format="iso", indent=1))
            return
        import numpy as np
        from rich.console import Console
        from rich.table import Table

        # short columns that fit 80 characters: launch (UTC), flight time, end point, distance, bearing, ellipse
        from rich import box

        t = Table(title=f"{len(df)} launches every {every} (UTC)", box=box.SIMPLE_HEAD, pad_edge=False)
        launch = df["launch_time"].to_numpy().astype("datetime64[s]")
        end_t = df["end_time"].to_numpy().astype("datetime64[s]")
        same_year = len({str(x)[:4] for x in launch}) == 1
        for name in ["launch", "flight", "end lat, lon", "km", "bearing"] + (["90% ellipse km"] if members else []):
            t.add_column(name, no_wrap=True, justify="left" if name in ("launch", "end lat, lon") else "right")
        for k, (_, row) in enumerate(df.iterrows()):
            minutes = int(round((end_t[k] - launch[k]) / np.timedelta64(60, "s")))
            cells = [str(launch[k])[5 if same_year else 0:16].replace("T", " "), f"{minutes // 60}h{minutes % 60:02d}",
                     f"{row['end_latitude']:.3f}, {row['end_longitude']:.3f}", f"{row['distance_km']:.1f}",
                     f"{row['bearing_deg']:.0f}"]
            if members:
                cells.append(f"{row['ellipse90_semi_major_km']:.1f} x {row['ellipse90_semi_minor_km']:.1f}")
            t.add_row(*cells)
        Console().print(t)
        attrs = getattr(res.trajectories, "attrs", {}) or {}
        if attrs.get("wind"):
            Console().print(f"winds: {attrs['wind']}", soft_wrap=True)
        for w in [x for x in str(attrs.get("warnings", "")).splitlines() if x.strip()]:
            Console().print(f"warning: {w}", soft_wrap=True)
        for path in outputs:
            Console().print(f"wrote {path}")

    return windows
