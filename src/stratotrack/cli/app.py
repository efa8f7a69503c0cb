"""Commands and options.  Heavy modules (xarray, numba, matplotlib) are imported only when a command needs them."""

from __future__ import annotations

import contextlib
import enum
import json
import sys
import threading
from pathlib import Path
from typing import Annotated, Optional

import typer

from .. import __version__
from ..errors import InputError, StratotrackError

PROG = "stratotrack"

app = typer.Typer(
    name=PROG,
    help="Predict high-altitude balloon trajectories (offline on the embedded climatology, or on your wind files).",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class ProfileName(str, enum.Enum):
    standard = "standard"
    float = "float"
    drift = "drift"


class Outside(str, enum.Enum):
    clamp = "clamp"
    stop = "stop"


def _number(what: str, unit: str):
    """A parser of a float option whose error names the value and what was expected."""

    def parse(text) -> float:
        if isinstance(text, (int, float)):
            return float(text)
        try:
            return float(text)
        except ValueError:
            raise typer.BadParameter(f"{text!r} is not a number; expected {what} in {unit}") from None

    parse.__name__ = what.replace(" ", "_")
    return parse


def _version(value: bool):
    if value:
        print(f"{PROG} {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[Optional[bool], typer.Option("--version", callback=_version, is_eager=True,
                                                    help="Print the version and exit.")] = None,
):
    """stratotrack: balloon trajectory prediction."""


# -- progress --------------------------------------------------------------------------------------------------------
def _stderr():
    from rich.console import Console

    return Console(stderr=True)


@contextlib.contextmanager
def _phase(text: str, delay: float = 0.8):
    """A spinner on stderr for a step that takes longer than ``delay`` seconds (nothing when stderr is no terminal)."""
    console = _stderr()
    if not console.is_terminal:
        yield
        return
    status = console.status(text, spinner="dots")
    lock = threading.Lock()
    state = {"started": False, "done": False}

    def start():
        with lock:
            if not state["done"]:
                status.start()
                state["started"] = True

    timer = threading.Timer(delay, start)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with lock:
            state["done"] = True
            if state["started"]:
                status.stop()


# -- predict ---------------------------------------------------------------------------------------------------------
def _skip_numba_blas_probe() -> None:
    """Load numba's array library without its BLAS probe.

    When numba loads its first kernel it checks for BLAS by importing ``scipy.linalg`` (about 0.3 s, SciPy being
    installed for the place-name search).  stratotrack's kernels use no BLAS, and a command is a process of its own,
    so the command line lets numba conclude there is none; ``scipy.linalg`` stays importable afterwards.
    """
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return
    sys.modules["scipy.linalg.cython_blas"] = None  # makes that import raise ImportError
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        del sys.modules["scipy.linalg.cython_blas"]


def _num(flag: str, what: str, unit: str, text: str):
    """A float option that names the bad value and what was expected when it is not a number."""
    return typer.Option(flag, parser=_number(what, unit), help=text)


_OptNum = Optional[float]
_OUT_HELP = "Export to a file; the extension picks the format: .csv .geojson .kml .kmz .czml .gpx .nc (repeatable)."


@app.command()
def predict(
    lat: Annotated[float, _num("--lat", "latitude", "degrees north", "Start latitude, degrees north (-90..90).")],
    lon: Annotated[float, _num("--lon", "longitude", "degrees east",
                               "Start longitude, degrees east (-180..180 or 0..360).")],
    alt: Annotated[float, _num("--alt", "altitude", "m",
                               "Start altitude, m above mean sea level (drift: the altitude aloft).")] = 0.0,
    time: Annotated[Optional[str], typer.Option(
        "--time", help="Start time, ISO 8601 (e.g. 2023-01-17T11:00:00Z); default now, UTC.")] = None,
    profile: Annotated[ProfileName, typer.Option(
        "--profile", help="standard (ascent, burst, descent), float (ascent, then float) or drift (follow the wind "
                          "at --alt).")] = ProfileName.standard,
    ascent_rate: Annotated[_OptNum, _num("--ascent-rate", "an ascent rate", "m/s",
                                         "Ascent rate, m/s [default: 5].")] = None,
    burst_altitude: Annotated[_OptNum, _num("--burst-altitude", "a burst altitude", "m",
                                            "Burst altitude, m [default: 30000].")] = None,
    descent_rate: Annotated[_OptNum, _num("--descent-rate", "a descent rate", "m/s",
                                          "Descent rate at sea level, m/s [default: 5].")] = None,
    float_altitude: Annotated[_OptNum, _num("--float-altitude", "a float altitude", "m",
                                            "Float altitude, m (float profile).")] = None,
    duration: Annotated[Optional[str], typer.Option(
        "--duration", help="How long to fly from the start (float, drift): seconds or e.g. 36h, 3d.")] = None,
    stop: Annotated[Optional[str], typer.Option("--stop", help="Stop time, ISO 8601 (float, drift).")] = None,
    landing_altitude: Annotated[_OptNum, _num("--landing-altitude", "a landing altitude", "m",
                                              "Ground height at landing, m [default: 0].")] = None,
    launch_altitude: Annotated[_OptNum, _num("--launch-altitude", "a launch altitude", "m",
                                             "Launch site height for --backward, m [default: 0].")] = None,
    backward: Annotated[bool, typer.Option(
        "--backward", help="Run back in time: from a landing (standard) or a position aloft to where it came "
                           "from.")] = False,
    step: Annotated[_OptNum, _num("--step", "a step", "seconds", "Integration step, s [default: 60].")] = None,
    output_interval: Annotated[_OptNum, _num("--output-interval", "an output interval", "seconds",
                                             "Seconds between output points [default: the step].")] = None,
    wind: Annotated[str, typer.Option(
        "--wind", help="'climatology' (embedded, offline); a fetched source: gfs, gefs, ecmwf, era5, ncep (the "
                       "newest cached cycle covering the launch) or a cache entry id; or GRIB/NetCDF/Zarr file(s): "
                       "a path or a quoted glob.")] = "climatology",
    outside: Annotated[Outside, typer.Option(
        "--outside", help="Outside the wind data: clamp (use the nearest data, counted and reported) or "
                          "stop.")] = Outside.clamp,
    max_duration: Annotated[Optional[str], typer.Option(
        "--max-duration", help="Cap on any run: seconds or e.g. 10d.")] = None,
    out: Annotated[Optional[list[Path]], typer.Option("--out", "-o", help=_OUT_HELP)] = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Write a quick-look figure (.png, .svg, "
                                                                ".pdf).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    members: Annotated[Optional[int], typer.Option(
        "--members", help="Run an ensemble of this many members (see --spread, --wind-error, --offsets).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Ensemble seed (same seed, same result).")] = None,
    spread: Annotated[Optional[list[str]], typer.Option(
        "--spread", help="Ensemble spread NAME=SD or NAME=uniform:HALFWIDTH of ascent_rate, burst_altitude, "
                         "descent_rate, float_altitude (m/s, m) or launch_time (e.g. 30m); repeatable.")] = None,
    wind_error: Annotated[bool, typer.Option(
        "--wind-error", help="Ensemble: add stochastic forecast wind error (OU, growing with lead time).")] = False,
    wind_error_scale: Annotated[_OptNum, _num("--wind-error-scale", "a wind error scale", "(factor)",
                                              "Ensemble: scale the default wind error (implies --wind-error).")] = None,
    offsets: Annotated[bool, typer.Option(
        "--offsets", help="Ensemble: HYSPLIT grid offsets (+-1 cell, +-250 m; 27 combinations).")] = False,
    passage: Annotated[Optional[list[str]], typer.Option(
        "--passage", help="Ensemble: probability of passing within RADIUS_KM of LAT,LON,RADIUS_KM; repeatable.")] = None,
    at: Annotated[Optional[list[str]], typer.Option(
        "--at", help="Ensemble: position density at this time (ISO 8601); repeatable.")] = None,
    levels: Annotated[Optional[str], typer.Option(
        "--levels", help="Ensemble: contour probabilities [default: 0.5,0.9,0.99].")] = None,
    keep: Annotated[Optional[str], typer.Option(
        "--keep", help="Ensemble: summary, members (a row per member) or trajectories (every point).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Ensemble: members run at once.")] = 25000,
    scheduler: Annotated[Optional[str], typer.Option(
        "--scheduler", help="Ensemble: run the batches on this Dask scheduler (e.g. tcp://10.0.0.5:8786).")] = None,
):
    """Predict a flight and print a summary; export it with --out, draw it with --plot; --members: an ensemble."""
    import stratotrack.io as sio

    _skip_numba_blas_probe()

    outputs = list(out or [])
    if members is not None:
        from . import ensemble as ens_cli

        engine = {"ascent_rate": ascent_rate, "burst_altitude": burst_altitude, "descent_rate": descent_rate,
                  "float_altitude": float_altitude, "duration": duration, "stop": stop,
                  "landing_altitude": landing_altitude, "launch_altitude": launch_altitude, "step": step,
                  "output_interval": output_interval, "max_duration": max_duration}
        return ens_cli.predict_ensemble(
            lat=lat, lon=lon, alt=alt, time=time, profile=profile.value, backward=backward, wind=wind,
            outside=outside.value, kwargs={k: v for k, v in engine.items() if v is not None}, members=members,
            seed=seed, spread=spread, wind_error=wind_error, wind_error_scale=wind_error_scale, offsets=offsets,
            passage=passage, at=at, levels=levels, keep=keep, batch_size=batch_size, outputs=outputs, plot=plot,
            as_json=as_json, phase=_phase, scheduler=scheduler)
    if scheduler is not None:
        raise InputError("--scheduler runs ensembles on a Dask cluster; expected --members with it")
    for path in outputs:  # fail before any work: unknown formats and unwritable paths
        sio.check_output(path)
    if plot is not None:
        from ..io import plot as plot_mod
        from ..io._common import check_writable

        plot_mod.check(plot)
        check_writable(plot)

    engine = {"ascent_rate": ascent_rate, "burst_altitude": burst_altitude, "descent_rate": descent_rate,
              "float_altitude": float_altitude, "duration": duration, "stop": stop,
              "landing_altitude": landing_altitude, "launch_altitude": launch_altitude, "step": step,
              "output_interval": output_interval, "max_duration": max_duration}
    kwargs = {k: v for k, v in engine.items() if v is not None}
    with _phase("Computing the trajectory (the first run in a new installation compiles, ~15 s)..."):
        import stratotrack as st

        ds = st.predict(lat, lon, alt, time, profile.value, backward=backward, wind=wind, outside=outside.value,
                        **kwargs)
    written = []
    for path in outputs:
        with _phase(f"Writing {path}..."):
            sio.write(ds, path)
        written.append(str(path))
    if plot is not None:
        with _phase(f"Drawing {plot}..."):
            plot_mod.write(ds, plot)
        written.append(str(plot))

    from ..io.summary import summarize

    summary = summarize(ds)
    summary["files"] = written
    if as_json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        from .render import render

        render(summary)


# -- inspect ---------------------------------------------------------------------------------------------------------
@app.command()
def inspect(
    source: Annotated[str, typer.Argument(help="'climatology', a GRIB/NetCDF/Zarr wind file or a quoted glob of files.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the description as JSON.")] = False,
):
    """Describe a wind source: format, variables, coverage in space, height and time, levels, resolution, and the
    assumptions taken.  SOURCE is a wind file (GRIB1/GRIB2, NetCDF, Zarr), a glob pattern of files (quote it),
    'climatology', a downloaded source name or a cache entry id."""
    with _phase(f"Reading {source}..."):
        from ..wind import describe

        desc = describe(source)
    if as_json:
        print(json.dumps(desc, indent=2, ensure_ascii=False))
    else:
        from .render import render_wind

        text = dict(desc)  # lists that read better as one line than as "a .. b" ranges
        for key, sep in (("variables", "; "), ("other_variables", ", "), ("levels_hPa", ", "), ("times", ", "),
                         ("time_step_h", ", ")):
            if isinstance(text.get(key), list):
                text[key] = sep.join(f"{v:g}" if isinstance(v, float) else str(v) for v in text[key]) or "-"
        if "resolution_deg" in text:
            text["resolution_deg"] = "{:g} x {:g} (lat x lon)".format(*text["resolution_deg"])
        if "grid_points" in text:
            text["grid_points"] = "{} x {} (lat x lon)".format(*text["grid_points"])
        render_wind(text)


# -- fetch, cache (cli/data.py) ---------------------------------------------------------------------------------------
from .data import register as _register_data  # noqa: E402

_register_data(app)


# -- windows (cli/ensemble.py) ---------------------------------------------------------------------------------------
from .ensemble import register as _register_ensemble  # noqa: E402

_register_ensemble(app)


# -- track, origin (cli/track.py) ------------------------------------------------------------------------------------
from .track import register as _register_track  # noqa: E402

_register_track(app)


# -- assess (cli/assess.py) ------------------------------------------------------------------------------------------
from .assess import register as _register_assess  # noqa: E402

_register_assess(app)


# -- running ---------------------------------------------------------------------------------------------------------
def _is_click(exc, name) -> bool:
    """Whether ``exc`` is click's (or Typer's bundled click's) exception class ``name``, without importing either."""
    return any(c.__name__ == name for c in type(exc).__mro__)


def _fail(message: str, code: int = 2) -> int:
    text = " ".join(str(message).split())  # one line, whatever the message
    print(f"{PROG}: error: {text}", file=sys.stderr)
    return code


def run(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name=PROG, standalone_mode=False)
    except StratotrackError as exc:
        return _fail(exc)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except Exception as exc:
        if _is_click(exc, "NoArgsIsHelpError"):
            print(exc.format_message() if hasattr(exc, "format_message") else "")
            return 0
        if _is_click(exc, "Abort"):
            return _fail("interrupted", 130)
        if _is_click(exc, "ClickException"):
            return _fail(exc.format_message(), getattr(exc, "exit_code", 2) or 2)
        raise
    return result if isinstance(result, int) else 0
