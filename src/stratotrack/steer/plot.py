"""The quick-look figure of a steered flight: distance to the target and altitude against time, the battery, the
payload's on-intervals and the actions flown."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["figure", "write"]


def figure(result):
    """A matplotlib Figure (no pyplot, no display needed) of a :class:`~.flight.SteerResult`."""
    from matplotlib.figure import Figure

    L = result.log
    h = (L["t"] - L["t"][0]) / 3600.0
    fig = Figure(figsize=(9, 8.5), constrained_layout=True)
    ax = fig.subplots(4, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2, 1.5, 1]})
    ax[0].plot(h, L["distance"] / 1000.0, color="tab:blue", lw=1.2, label="distance to target")
    radii = np.array([result.summary.get("radius_km", np.nan)])
    if np.isfinite(radii[0]):
        ax[0].axhline(radii[0], color="tab:red", lw=0.8, ls="--", label=f"radius {radii[0]:g} km")
    ax[0].set_ylabel("distance (km)")
    ax[0].legend(loc="upper left", fontsize=8)
    ax[0].grid(True, lw=0.3, alpha=0.5)
    ax[1].plot(h, L["alt"] / 1000.0, color="tab:green", lw=1.2)
    ax[1].set_ylabel("altitude (km)")
    ax[1].grid(True, lw=0.3, alpha=0.5)
    ax[2].plot(h, 100 * L["soc"], color="tab:orange", lw=1.2, label="battery")
    on = L["payload"].astype(bool)
    if on.any():
        ax[2].fill_between(h, 0, 100, where=on, step="post", color="tab:purple", alpha=0.25, label="payload on")
    day = L["elevation"] > -4.242
    ax[2].fill_between(h, 0, 100, where=~day, step="post", color="0.5", alpha=0.15, label="night")
    ax[2].set_ylim(0, 100)
    ax[2].set_ylabel("battery (%)")
    ax[2].legend(loc="lower left", fontsize=8, ncol=3)
    ax[3].step(h, L["action"], where="post", color="k", lw=0.8)
    ax[3].set_yticks([-1, 0, 1], ["down", "stay", "up"])
    ax[3].set_xlabel("hours since the start")
    s = result.summary
    fig.suptitle(f"steered {s['balloon']} balloon, controller {s['controller']}: "
                 f"{100 * s['fraction_within_radius']:.0f}% within the radius, payload {s['payload_hours']:.1f} h")
    return fig


def write(result, path) -> None:
    """Write the figure (.png, .svg, .pdf); nothing is left behind if it fails."""
    from ..io.plot import check

    check(path)
    path = Path(path)
    fig = figure(result)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent if str(path.parent) else ".")
    os.close(fd)
    try:
        fig.savefig(tmp, format=path.suffix.lower()[1:], dpi=110)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
