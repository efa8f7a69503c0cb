"""Commands and options.  Heavy modules (xarray, numba, matplotlib) are imported only when a command needs them."""

from __future__ import annotations

import contextlib
import enum
import json
import os
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
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback of an error (may also follow "
                                                        "the command).")] = False,
):
    """stratotrack: balloon trajectory prediction."""


# -- progress --------------------------------------------------------------------------------------------------------
def _stderr():
    from rich.console import Console

    return Console(stderr=True)


#: where stderr is no terminal (piped, captured, a log), a step that takes longer than this says so in a plain line,
#: and again every HEARTBEAT seconds while it lasts
PIPED_DELAY = 2.0
HEARTBEAT = 30.0


@contextlib.contextmanager
def _phase(text: str, delay: float = 0.8):
    """Progress of a step that takes longer than ``delay`` seconds: a spinner on a terminal; where stderr is piped,
    a plain line after :data:`PIPED_DELAY` seconds and one every :data:`HEARTBEAT` seconds."""
    import time

    console = _stderr()
    lock = threading.Lock()
    state = {"started": False, "done": False}
    t0 = time.monotonic()
    if console.is_terminal:
        status = console.status(text, spinner="dots")

        def start():
            with lock:
                if not state["done"]:
                    status.start()
                    state["started"] = True

        first = delay
    else:
        status = None
        stop = threading.Event()

        def start():
            wait = 0.0
            while not stop.wait(wait):
                with lock:
                    if state["done"]:
                        return
                    elapsed = time.monotonic() - t0
                    line = text if not state["started"] else f"{text.rstrip('.')} (still running, {elapsed:.0f} s)"
                    print(f"{PROG}: {line}", file=sys.stderr, flush=True)
                    state["started"] = True
                wait = HEARTBEAT

        first = PIPED_DELAY
    timer = threading.Timer(first, start)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with lock:
            state["done"] = True
            if status is not None and state["started"]:
                status.stop()
        if status is None:
            stop.set()


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
    backend: Annotated[str, typer.Option(
        "--backend", help="Engine backend of a single prediction: auto, cpu, serial, gpu (a CUDA GPU) or python "
                          "(uncompiled).")] = "auto",
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

    from . import limits

    limits.check_predict(alt=alt, time=time, profile=profile, backward=backward, ascent_rate=ascent_rate,
                         burst_altitude=burst_altitude, descent_rate=descent_rate, float_altitude=float_altitude,
                         duration=duration, stop=stop, landing_altitude=landing_altitude,
                         launch_altitude=launch_altitude, step=step, output_interval=output_interval,
                         max_duration=max_duration)
    if members is not None:
        limits.check_members(members, batch_size, seed, keep_rows=keep == "members" or (
            keep is None and any(Path(o).suffix.lower() == ".csv" for o in (out or []))))
        from .ensemble import parse_spreads

        limits.check_spreads(parse_spreads(spread), {
            "ascent_rate": 5.0 if ascent_rate is None else ascent_rate,
            "descent_rate": 5.0 if descent_rate is None else descent_rate,
            "burst_altitude": (30000.0 if burst_altitude is None else burst_altitude) - alt,
            "float_altitude": None if float_altitude is None else float_altitude - alt})

    from ..engine.backends import before_compiled

    before_compiled(_skip_numba_blas_probe)  # (a single flight may run uncompiled and never load numba's kernels)

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
    with _phase("Computing the trajectory..."):
        import stratotrack as st

        # the summary alone reads the arrays; files and plots want the Dataset (xarray costs ~1 s to import)
        light = not outputs and plot is None
        ds = st.predict(lat, lon, alt, time, profile.value, backward=backward, wind=wind, outside=outside.value,
                        backend=backend, result="light" if light else "dataset", **kwargs)
        if light:
            ds = ds.view()
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


# -- serve (cli/serve.py) --------------------------------------------------------------------------------------------
from .serve import register as _register_serve  # noqa: E402

_register_serve(app)


# -- steer (cli/steer.py) --------------------------------------------------------------------------------------------
from .steer import register as _register_steer  # noqa: E402

_register_steer(app)


# -- running ---------------------------------------------------------------------------------------------------------
def _is_click(exc, name) -> bool:
    """Whether ``exc`` is click's (or Typer's bundled click's) exception class ``name``, without importing either."""
    return any(c.__name__ == name for c in type(exc).__mro__)


def _fail(message: str, code: int = 2) -> int:
    text = " ".join(str(message).split())  # one line, whatever the message
    print(f"{PROG}: error: {text}", file=sys.stderr)
    return code


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that every ``finally`` runs (temporary files are removed)."""


def _on_sigterm(signum, frame):
    raise Terminated()


def _one_line_warning(message, category, filename, lineno, line=None):
    return f"{PROG}: warning: {' '.join(str(message).split())}\n"


_DEBUG_ENV = "STRATOTRACK_DEBUG"


def _split_debug(args):
    """``--debug`` anywhere before ``--`` (or $STRATOTRACK_DEBUG=1): show tracebacks instead of one line."""
    debug = os.environ.get(_DEBUG_ENV, "") not in ("", "0")
    out = []
    for k, a in enumerate(args):
        if a == "--":
            out += args[k:]
            break
        if a == "--debug":
            debug = True
            continue
        out.append(a)
    return out, debug


def _os_error(exc: OSError) -> str:
    import errno

    what = exc.filename if exc.filename is not None else None
    where = f" '{what}'" if what else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return (f"cannot write{where}: the disk is full or the file is larger than allowed ({exc.strerror}); "
                "free some space or write elsewhere (nothing partial was kept)")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write or read{where}: {exc.strerror}; choose a folder you may write to"
    return f"{exc.strerror or type(exc).__name__}{where}; check the path, the disk and the permissions"


def _report(exc: BaseException) -> int:
    """The exit status of a command that raised ``exc``, after one line on stderr."""
    from ..errors import ResourceError

    cause = exc
    while cause is not None and not isinstance(cause, (KeyboardInterrupt, Terminated)):
        cause = cause.__cause__ or cause.__context__  # Typer turns Ctrl-C into Exit(130), click into Abort
    if cause is not None:
        exc = cause
    if isinstance(exc, KeyboardInterrupt) or _is_click(exc, "Abort"):
        return _fail("interrupted (Ctrl-C); no partial file was left", 130)
    if isinstance(exc, Terminated):
        return _fail("terminated (SIGTERM); no partial file was left", 143)
    if isinstance(exc, ResourceError):
        return _fail(exc, 1)
    if isinstance(exc, StratotrackError):
        return _fail(exc, 2)
    if isinstance(exc, MemoryError):
        return _fail("out of memory; ask for less (fewer --members or a smaller --batch-size, a shorter "
                     "--duration, a longer --output-interval)", 1)
    if isinstance(exc, OSError):
        return _fail(_os_error(exc), 1)
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else _fail(exc.code, 1))
    if _is_click(exc, "NoArgsIsHelpError"):
        print(exc.format_message() if hasattr(exc, "format_message") else "")
        return 0
    if _is_click(exc, "ClickException"):
        return _fail(exc.format_message(), getattr(exc, "exit_code", 2) or 2)
    if _is_click(exc, "Exit"):
        return getattr(exc, "exit_code", 0) or 0
    return _fail(f"internal error ({type(exc).__name__}: {exc}); rerun with --debug for the traceback and "
                 "please report it", 1)


def _tidy_help(command) -> None:
    """Help as written: '[default: 5]' in a help text is text, not Rich markup (which would swallow it), and a
    flag is shown as a flag ('--backward'), not as '--backward <bool>'."""
    for param in getattr(command, "params", []):
        if getattr(param, "is_flag", False):
            param.metavar = ""
        if getattr(param, "help", None) and "[" in param.help and "\\[" not in param.help:
            param.help = param.help.replace("[", "\\[")
    if getattr(command, "help", None) and "[" in command.help and "\\[" not in command.help:
        command.help = command.help.replace("[", "\\[")
    for sub in getattr(command, "commands", {}).values():
        _tidy_help(sub)


class _PlainCoercion:
    """What Typer does with an option's value, for the plain kinds of option stratotrack declares, without pydantic.

    Typer (0.2x) coerces every option's value through a pydantic ``TypeAdapter`` built on first use: for a plain
    ``stratotrack predict`` that imports pydantic and builds some 35 adapters, 0.1-0.2 s of a run that should take
    well under a second.  This takes the same values to the same results for the cases that are unambiguous (no
    value; an option with its own parser; a string; a choice of an Enum; an integer written in digits; a list of
    strings) and hands anything else, errors included, to Typer's own coercion, so messages stay Typer's."""

    __slots__ = ("descriptor", "_typer")

    def __init__(self, descriptor):
        self.descriptor = descriptor
        self._typer = None

    def typer(self):
        if self._typer is None:
            from typer._coercion import build_runtime_param

            self._typer = build_runtime_param(self.descriptor)
        return self._typer

    def coerce(self, value, param, ctx):
        multi = param.multiple or param.nargs == -1
        if value is None:
            return () if multi else None
        d = self.descriptor
        info, ann = d.parameter_info, d.annotation
        try:
            if multi:
                if ann == list[str] and isinstance(value, (list, tuple)) and all(type(v) is str for v in value):
                    return list(value)
            elif info.parser is not None:
                return info.parser(value)
            elif ann is str and type(value) is str or ann is bool and type(value) is bool:
                return value
            elif ann is int and (type(value) is int or (type(value) is str and value.isascii() and value.isdigit())):
                return int(value)
            elif isinstance(ann, type) and issubclass(ann, enum.Enum):
                from typer._param_types import coerce_cli_choice

                return coerce_cli_choice(value, choices=d.choices, case_sensitive=d.case_sensitive, ctx=ctx)
        except ValueError:  # Typer's coercion says it in its own words
            pass
        return self.typer().coerce(value, param=param, ctx=ctx)


def _plain_coercion(command) -> None:
    """Typer's pydantic coercion replaced by :class:`_PlainCoercion` on the parameters of ``command`` (and of its
    subcommands) that Typer has not coerced yet; nothing on a Typer without it (before 0.2x: click's types)."""
    def plain(param):
        if getattr(param, "_runtime_param", False) is None and hasattr(param, "type_descriptor"):
            param._runtime_param = _PlainCoercion(param.type_descriptor)
        return param

    for param in getattr(command, "params", []):
        plain(param)
    if hasattr(command, "get_help_option"):  # --help, made when a command is first parsed
        help_option = command.get_help_option
        command.get_help_option = lambda ctx: None if (opt := help_option(ctx)) is None else plain(opt)
    for sub in getattr(command, "commands", {}).values():
        _plain_coercion(sub)


def _click_command(args):
    """The click group to run ``args``.  Typer builds every command it is given (signatures read, annotations
    evaluated, parameter types made) when it makes the group, about a tenth of a second for all of stratotrack's;
    when ``args`` start with the name of a top-level command or group, only that one is built.  Help, ``--version``
    and unknown names get the whole app (its help lists every command; a typo is answered with the names)."""
    import copy

    def group_name(info):
        return info.name or info.typer_instance.info.name

    name = args[0] if args and not args[0].startswith("-") else None
    if name is not None and all(group_name(g) for g in app.registered_groups):
        commands = [c for c in app.registered_commands
                    if (c.name or typer.main.get_command_name(c.callback.__name__)) == name]
        groups = [g for g in app.registered_groups if group_name(g) == name]
        if len(commands) + len(groups) == 1:
            one = copy.copy(app)
            one.registered_commands, one.registered_groups = commands, groups
            return typer.main.get_command(one)
    return typer.main.get_command(app)


def run(argv=None) -> int:
    import signal
    import warnings

    args, debug = _split_debug(list(sys.argv[1:] if argv is None else argv))
    command = _click_command(args)
    _tidy_help(command)
    _plain_coercion(command)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    saved_format = warnings.formatwarning
    warnings.formatwarning = _one_line_warning
    try:
        result = command.main(args=args, prog_name=PROG, standalone_mode=False)
    except BaseException as exc:  # noqa: BLE001 - every path ends in one line (or a traceback with --debug)
        if debug and not isinstance(exc, SystemExit) and not _is_click(exc, "ClickException") \
                and not _is_click(exc, "Exit"):
            import traceback

            traceback.print_exc()
        return _report(exc)
    finally:
        warnings.formatwarning = saved_format
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if result == 130:  # Typer turns Ctrl-C into Exit(130) and, outside standalone mode, returns it silently
        return _fail("interrupted (Ctrl-C); no partial file was left", 130)
    return result if isinstance(result, int) else 0
