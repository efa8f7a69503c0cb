"""A quick-look figure: the path over coastlines and borders, and altitude against time.

Offline: coastlines and borders come from the Natural Earth file that stratotrack ships.  The map is an
equirectangular view with the aspect of the mid latitude; a path that crosses the antimeridian is drawn in 0..360.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ._common import atomic_path, tracks

__all__ = ["write", "figure", "map_extent", "map_axes", "FORMATS"]

FORMATS = (".png", ".svg", ".pdf")
_EVENT_STYLE = {"launch": ("^", "tab:green"), "burst": ("*", "tab:red"), "landing": ("v", "tab:blue"),
                "float_start": ("s", "tab:purple"), "end": ("X", "black"), "start": ("o", "tab:green")}


def check(path) -> None:
    if Path(path).suffix.lower() not in FORMATS:
        raise InputError(f"figure extension {Path(path).suffix or str(path)!r} is not supported; expected "
                         f"{', '.join(FORMATS)}")


def map_extent(lons, lats):
    """(lon0, lon1, lat0, lat1, cos of the mid latitude) of a padded map around points, not a sliver."""
    lo0, lo1, la0, la1 = np.min(lons), np.max(lons), np.min(lats), np.max(lats)
    pad = max(0.5, 0.15 * max(lo1 - lo0, la1 - la0))
    la0, la1 = max(-90.0, la0 - pad), min(90.0, la1 + pad)
    coslat = max(0.2, np.cos(np.deg2rad(0.5 * (la0 + la1))))
    lo0, lo1 = lo0 - pad / coslat, lo1 + pad / coslat
    # widen the shorter side so the map is not a sliver
    w, h = (lo1 - lo0) * coslat, la1 - la0
    if w < 1.3 * h:
        c, half = 0.5 * (lo0 + lo1), 0.65 * h / coslat
        lo0, lo1 = c - half, c + half
    elif h < w / 1.6:
        c, half = 0.5 * (la0 + la1), 0.5 * w / 1.6
        la0, la1 = max(-90.0, c - half), min(90.0, c + half)
    return lo0, lo1, la0, la1, coslat


def map_axes(ax, extent, shift):
    """Limits, aspect, labels and grid of a lon/lat map panel (``extent`` as :func:`map_extent` returns it)."""
    lo0, lo1, la0, la1, coslat = extent
    ax.set_xlim(lo0, lo1)
    ax.set_ylim(la0, la1)
    ax.set_aspect(1.0 / coslat)
    ax.set_xlabel("longitude (degrees east)" + (", 0..360" if shift else ""))
    ax.set_ylabel("latitude (degrees north)")
    ax.grid(True, lw=0.3, alpha=0.5)


def figure(ds, title=None):
    """A matplotlib Figure (no pyplot, no display needed)."""
    from matplotlib.figure import Figure

    from ..geo.coastlines import lines

    items = [t for t in tracks(ds) if len(t.lat)]
    if not items:
        raise InputError("the prediction holds no points to plot")
    all_lon = np.concatenate([t.lon for t in items])
    shift = np.ptp(all_lon) > 180.0  # crosses the antimeridian: draw in 0..360
    fix = (lambda x: np.mod(x, 360.0)) if shift else (lambda x: x)
    lons = np.concatenate([fix(t.lon) for t in items])
    lats = np.concatenate([t.lat for t in items])
    lo0, lo1, la0, la1, coslat = map_extent(lons, lats)

    fig = Figure(figsize=(11, 5), layout="constrained")
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1.3, 1])
    coast, borders = lines()
    for group, color, width in ((borders, "0.6", 0.6), (coast, "0.25", 0.8)):
        for arc in group:
            for off in (-360.0, 0.0, 360.0):
                x = arc[:, 0] + off
                if x.max() < lo0 or x.min() > lo1:
                    continue
                y = arc[:, 1]
                if y.max() < la0 or y.min() > la1:
                    continue
                ax.plot(x, y, color=color, lw=width, zorder=1)
    many = len(items) > 1
    for t in items:
        x = fix(t.lon)
        ax.plot(x, t.lat, color="tab:orange", lw=1.0 if many else 2.0, alpha=0.5 if many else 1.0, zorder=2)
        ok = ~np.isnat(t.time)
        if ok.any():
            ax2.plot(t.time[ok].astype("datetime64[ms]").astype(object), t.alt[ok] / 1000.0, color="tab:orange",
                     lw=1.0 if many else 2.0, alpha=0.5 if many else 1.0)
        for e in t.events:
            marker, color = _EVENT_STYLE.get(e.name, ("o", "black"))
            label = None if many else e.name
            ax.plot(fix(e.lon), e.lat, marker=marker, color=color, ms=9, ls="none", zorder=3, label=label)
            if not np.isnat(e.time):
                ax2.plot(np.datetime64(e.time, "ms").astype(object), e.alt / 1000.0, marker=marker, color=color,
                         ms=9, ls="none", label=label)
    map_axes(ax, (lo0, lo1, la0, la1, coslat), shift)
    ax2.set_xlabel("time (UTC)")
    ax2.set_ylabel("altitude (km above mean sea level)")
    ax2.grid(True, lw=0.3, alpha=0.5)
    for label in ax2.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")
    if not many:
        ax.legend(loc="best", fontsize=8)
    fig.suptitle(title or ds.attrs.get("title", "stratotrack trajectories"))
    fig.text(0.005, 0.005, "coastlines: Natural Earth", fontsize=6, color="0.5")
    return fig


def write(ds, path, title=None) -> None:
    check(path)
    fig = figure(ds, title)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=Path(path).suffix.lower()[1:], dpi=110)
