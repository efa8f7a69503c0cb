"""Printing summaries with Rich (text only: what to print is decided in stratotrack.io.summary)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

_NAMES = {"ascent_rate": "ascent rate", "burst_altitude": "burst altitude", "descent_rate": "descent rate (sea level)",
          "float_altitude": "float altitude", "landing_altitude": "landing altitude",
          "launch_altitude": "launch altitude", "altitude": "altitude"}
MAX_TRAJECTORIES = 10


def _console() -> Console:
    console = Console()
    if not console.is_terminal:  # piped or captured: do not wrap at 80 columns
        console.width = max(console.width, 140)
    return console


class _Rows:
    """'label  value' lines with the labels dimmed (no padding to the terminal's width)."""

    def __init__(self, console: Console, width: int = 12):
        self.console, self.width = console, width

    def add_row(self, label: str, value: str) -> None:
        line = Text(f"{label:<{self.width}}", style="dim")
        line.append(value)
        self.console.print(line, soft_wrap=True)


def _duration(seconds) -> str:
    if seconds is None:
        return "unknown"
    s = int(round(seconds))
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    parts = [f"{d} d"] if d else []
    parts += [f"{h} h"] if h or d else []
    parts += [f"{m} min", f"{s} s"] if not d else [f"{m} min"]
    return " ".join(parts)


def _num(x, fmt):
    return "-" if x is None else format(x, fmt)


def render(summary: dict, console: Console | None = None) -> None:
    console = console or _console()
    a = summary["assumptions"]
    console.print(Text(summary.get("title") or "stratotrack prediction", style="bold"))
    params = a.get("parameters", {})
    units = a.get("units", {})
    grid = _Rows(console)
    grid.add_row("profile", f"{a.get('profile')} ({a.get('direction', 'forward')})")
    grid.add_row("parameters", ", ".join(
        f"{_NAMES.get(k, k)} {v:g} {units.get(k, '')}".strip() if isinstance(v, (int, float)) else f"{k} {v}"
        for k, v in params.items()))
    grid.add_row("wind", str(a.get("wind")))
    step = a.get("step_seconds")
    every = a.get("output_interval_seconds")
    grid.add_row("step", f"{step:g} s, a point every {every:g} s; outside the wind data: {a.get('outside_data')}"
                 if step is not None and every is not None else str(step))
    shown = summary["trajectories"][:MAX_TRAJECTORIES]
    for t in shown:
        table = Table(title=None if len(shown) == 1 else f"trajectory {t['trajectory']}", title_justify="left",
                      show_edge=False, pad_edge=False)
        for col, just in (("event", "left"), ("time (UTC)", "left"), ("latitude", "right"),
                          ("longitude", "right"), ("altitude", "right"), ("near", "left")):
            table.add_column(col, justify=just, no_wrap=col != "near")
        for e in t["events"]:
            table.add_row(e["event"], e["time"] or "-", _num(e["latitude"], ".4f"), _num(e["longitude"], ".4f"),
                          f"{_num(e['altitude_m'], '.0f')} m", (e.get("near") or {}).get("text", ""))
        end = t.get("end")
        last = t["events"][-1] if t["events"] else None
        if end and not (last and last["time"] == end["time"] and last["latitude"] == end["latitude"]):
            table.add_row("end", end["time"] or "-", _num(end["latitude"], ".4f"), _num(end["longitude"], ".4f"),
                          f"{_num(end['altitude_m'], '.0f')} m", (end.get("near") or {}).get("text", ""))
        console.print(table)
        if end:
            console.print(
                f"ended: {end.get('reason')}; flight time {_duration(t.get('duration_s'))}; "
                f"distance travelled {_num(t.get('distance_travelled_km'), '.1f')} km over the ground "
                f"({_num(t.get('distance_start_to_end_km'), '.1f')} km from start to end); "
                f"maximum altitude {_num(t.get('max_altitude_m'), '.0f')} m", soft_wrap=True
            )
    hidden = summary["n_trajectories"] - len(shown)
    if hidden > 0:
        console.print(f"... and {hidden} more trajectories (see --json or the exports)")
    if summary.get("warnings"):
        console.print(Text("warnings", style="bold yellow"))
        for w in summary["warnings"]:
            console.print(Text(f"  ! {w}", style="yellow"))
    for f in summary.get("files", []):
        console.print(f"wrote {f}")
    if summary.get("attribution"):
        console.print(Text(summary["attribution"], style="dim"))


def render_wind(desc: dict, console: Console | None = None) -> None:
    console = console or _console()
    rows = _Rows(console, width=18)
    unit = "Pa" if desc.get("vertical") == "pressure" else "m"
    for key, value in desc.items():
        if value is None:
            value = "-"
        elif key == "levels":
            value = f"{len(value)}, {value[0]:g} .. {value[-1]:g} {unit}" if value else "none"
        elif key == "shape":
            value = " x ".join(str(v) for v in value) + " (time, lat, lon, level, variable)"
        elif key == "notes":
            value = "; ".join(value) or "-"
        elif isinstance(value, list):
            value = " .. ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        rows.add_row(key.replace("_", " "), str(value))
