"""``stratotrack steer``: steered flights; ``stratotrack steer arena``: BLE's station-keeping benchmark."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

steer_app = typer.Typer(help="Steer a balloon by changing its altitude (station keeping, go-to), and score "
                             "controllers in BLE's arena.", no_args_is_help=False)


@steer_app.callback(invoke_without_command=True)
def _steer(ctx: typer.Context):
    """Steer a balloon by changing its altitude; see the subcommands."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


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
