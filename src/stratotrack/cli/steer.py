"""``stratotrack steer``: steered flights; ``stratotrack steer arena``: BLE's station-keeping benchmark."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

steer_app = typer.Typer(help="Steer a balloon by changing its altitude (station keeping, go-to), and score "
                             "controllers in BLE's arena.", no_args_is_help=False)


def _pair(text, what, n=(2,)):
    from ..errors import InputError

    parts = [p.strip() for p in str(text).split(",")]
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        vals = []
    if len(vals) not in n:
        want = {2: "LAT,LON", 3: "LAT,LON,ALT"}
        raise InputError(f"{what} {text!r} is not understood; expected {' or '.join(want.get(k, str(k)) for k in n)}"
                         " in degrees (and metres)")
    return vals


@steer_app.callback(invoke_without_command=True)
def _steer(
    ctx: typer.Context,
    wind: Annotated[str, typer.Option("--wind", help="Forecast winds the controller sees: climatology, a "
                                                     "GRIB/NetCDF/Zarr file, a fetched name or a cache entry.")]
    = "climatology",
    truth: Annotated[Optional[str], typer.Option("--truth", help="Winds that move the balloon [default: the "
                                                                 "forecast itself].")] = None,
    forecast_error: Annotated[bool, typer.Option("--forecast-error", help="Move the balloon on the forecast plus "
                                                 "the engine's forecast-error process (OU, growing with lead "
                                                 "time).")] = False,
    start: Annotated[Optional[str], typer.Option("--start", help="Start LAT,LON[,ALT m] [default altitude: "
                                                                 "17 km superpressure, 30 km zero-pressure, 0 "
                                                                 "latex].")] = None,
    time: Annotated[Optional[str], typer.Option("--time", help="Start, ISO 8601 [default: now].")] = None,
    target: Annotated[Optional[str], typer.Option("--target", help="Keep station at LAT,LON.")] = None,
    radius: Annotated[str, typer.Option("--radius", help="Radius of the target, e.g. 50km.")] = "50km",
    waypoint: Annotated[Optional[list[str]], typer.Option(
        "--waypoint", help="Go to LAT,LON[,RADIUS[,LOITER]] (e.g. 10,-150,50km,12h) in turn; repeat.")] = None,
    balloon: Annotated[str, typer.Option("--balloon", help="superpressure, zero-pressure or latex.")]
    = "superpressure",
    controller: Annotated[str, typer.Option("--controller", help="seeker, planner, greedy, stay, random.")]
    = "seeker",
    duration: Annotated[str, typer.Option("--duration", help="Flight duration, e.g. 5d, 36h.")] = "5d",
    band: Annotated[Optional[str], typer.Option("--band", help="Allowed altitudes LOW,HIGH in m [default: "
                                                               "15000,18500 superpressure; zero-pressure: 1 km "
                                                               "below the start to its float without ballast].")]
    = None,
    payload_power: Annotated[float, typer.Option("--payload-power", help="Payload power when on, W.")] = 0.0,
    payload_site: Annotated[Optional[list[str]], typer.Option(
        "--payload-site", help="Run the payload within NAME,LAT,LON[,RADIUS_KM] (default 100 km); repeat "
                               "[default: always, battery allowing].")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the forecast error and random controllers.")] = 0,
    out: Annotated[Optional[list[Path]], typer.Option("--out", "-o", help="Write the path (.csv .geojson .kml "
                                                                          ".kmz .czml .gpx .nc); repeat.")] = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Figure: distance, altitude, battery, payload "
                                                                "(.png .svg .pdf).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
):
    """Steer a balloon on real winds toward --target (station keeping within --radius) or along --waypoint's, or
    score controllers with 'steer arena'."""
    if ctx.invoked_subcommand is not None:
        return
    if target is None and not waypoint:
        typer.echo(ctx.get_help())
        return
    import stratotrack as st
    import stratotrack.io as sio

    from ..errors import InputError
    from ..steer.goto import parse_distance

    for path in out or []:
        sio.check_output(path)
    if plot is not None:
        from ..io.plot import check

        check(plot)
    if start is None:
        raise InputError("no start given; expected --start LAT,LON[,ALT]")
    s = _pair(start, "start", (2, 3))
    t = _pair(target, "target") if target is not None else None
    b = None
    if band is not None:
        bad = InputError(f"band {band!r} is not understood; expected LOW,HIGH in metres (e.g. 15000,20000)")
        parts = band.split(",")
        if len(parts) != 2:
            raise bad
        try:
            b = tuple(parse_distance(p) for p in parts)
        except InputError:
            raise bad from None
    r = st.steer(s[0], s[1], s[2] if len(s) == 3 else None, time, target=t, radius=parse_distance(radius),
                 waypoints=list(waypoint or []) or None, wind=wind, truth=truth, forecast_error=forecast_error,
                 balloon=balloon, controller=controller, duration=duration, band=b, payload_power=payload_power,
                 payload_sites=list(payload_site or []), seed=seed)
    written = []
    for path in out or []:
        sio.write(r.trajectories, path)
        written.append(str(path))
    if plot is not None:
        from ..steer.plot import write

        write(r, plot)
        written.append(str(plot))
    summary = dict(r.summary, files=written)
    if as_json:
        typer.echo(json.dumps(summary, default=float))
        return
    e = summary["energy"]
    typer.echo(f"{summary['balloon']} balloon, controller {summary['controller']}, {summary['duration_h']:.0f} h "
               f"from {summary['start']}")
    typer.echo(f"  within the radius {summary['time_within_radius_h']:.1f} h "
               f"({100 * summary['fraction_within_radius']:.0f}%); final distance "
               f"{summary['final_distance_km']:.0f} km; waypoints reached {summary['waypoints_reached']}")
    typer.echo(f"  energy: solar {e['solar_wh']:.0f} Wh, hotel {e['hotel_wh']:.0f} Wh, compressor "
               f"{e['compressor_wh']:.0f} Wh, payload {e['payload_wh']:.0f} Wh ({summary['payload_hours']:.1f} h on);"
               f" battery min {100 * summary['battery_min_soc']:.0f}%")
    typer.echo(f"  end: {summary['end_state']} at {summary['end_altitude_m']:.0f} m; events: "
               f"{', '.join(summary['events']) or 'none'}; safety overrides: "
               + ", ".join(f"{k} {v}" for k, v in summary["safety_overrides"].items()))
    typer.echo(f"  forecast: {summary['forecast_wind']}; truth: {summary['truth_wind']}")
    for f in written:
        typer.echo(f"  wrote {f}")


@steer_app.command("arena")
def arena(
    scenarios: Annotated[Path, typer.Argument(help="Scenario file in BLE's layout (e.g. scenarios_seeds_0-99.json).")],
    controller: Annotated[str, typer.Option("--controller", "-c", help="Controller: seeker, stay, random, "
                                                                          "planner...")] = "seeker",
    seeds: Annotated[Optional[str], typer.Option("--seeds", help="Seeds to fly: 0-99, 3 or 0,2,5-7 (default: all "
                                                                  "in the file).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    weights: Annotated[Optional[Path], typer.Option("--weights", help="BLE's offlineskies22_decoder.msgpack "
                                                                      "(default: beside the scenario file).")] = None,
    paths: Annotated[bool, typer.Option("--paths", help="With --json: each episode's path every 3 minutes (x, y "
                                                        "in m, pressure, superpressure, battery, actions).")] = False,
):
    """Fly BLE's station-keeping episodes with a controller: per-seed TWR50, pump energy and end state, and the
    mean TWR50 with its standard error."""
    from ..steer.arena import run_arena

    def show(r):
        if not as_json:
            typer.echo(f"seed {r.seed:3d}  TWR50 {100 * r.twr50:5.1f}%  pump {r.pump_wh:7.1f} Wh "
                       f"({r.pump_wh_per_day:6.1f} Wh/day)  end {r.end_state:<13s} {r.wall_s:5.1f} s")

    out = run_arena(scenarios, controller, seeds=seeds, weights=weights, progress=show, paths=paths and as_json)
    s = out["summary"]
    if as_json:
        typer.echo(json.dumps(out))
        return
    se = s["twr50_se"]
    se_text = f" +- {100 * se:.1f}" if se == se else ""
    ends = ", ".join(f"{k} {v}" for k, v in sorted(s["end_states"].items()))
    typer.echo(f"{controller}: mean TWR50 {100 * s['twr50_mean']:.1f}%{se_text} (standard error) over "
               f"{s['episodes']} episodes; pump {s['pump_wh_per_day_mean']:.0f} Wh/day; end states: {ends}")


def register(app: typer.Typer) -> None:
    """Add ``steer`` to the command line."""
    app.add_typer(steer_app, name="steer")
