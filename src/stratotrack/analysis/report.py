"""``assess``: one mission-analysis report (JSON, and HTML with PNG figures) for a predicted or tracked flight."""

from __future__ import annotations

import base64
import html
import io
import json
import os
import time as _time
from pathlib import Path

import numpy as np

from ..errors import InputError
from . import _track as T
from .airspace import DEFAULT_BANDS, airspace
from .geometry import Sensor, horizon_distance, max_off_nadir, reach_radius
from .satellites import pattern_of_life
from .sites import Site, overflights, summarize_overflights
from .termination import LARGE_PAYLOAD, RCC321_EC, engagement_windows

__all__ = ["assess", "write_report"]


def assess(traj, sites=(), *, sensor=None, tles=None, min_elevation=10.0, bands=DEFAULT_BANDS, zones=(),
           pieces=LARGE_PAYLOAD, wind="climatology", every=3600.0, samples=20, threshold=RCC321_EC,
           criterion="either", population=None, termination=True, seed=0, pattern_sites=None) -> dict:
    """Sites, satellites, airspace and termination windows of a trajectory or an ensemble, as one dict.

    ``traj``: a CF trajectory Dataset (``predict``, ``io.read``; several trajectories = an ensemble) or an ensemble
    result kept with ``keep="trajectories"``.  ``pattern_sites``: the sites compared with satellites (default: all
    point sites, at most 5).  ``termination=False`` skips the falls (the slowest part).
    """
    wall = _time.perf_counter()
    tr = T.as_track(traj)
    sensor = sensor or Sensor()
    sites = list(sites)
    for s in sites:
        if not isinstance(s, Site):
            raise InputError(f"{s!r} is not a Site; build sites with Site.point, Site.area or load_sites")
    timings = {}
    t = _time.perf_counter()
    ov = overflights(tr, sites, sensor) if sites else []
    site_rows = summarize_overflights(ov, tr, sensor) if sites else []
    timings["sites"] = _time.perf_counter() - t
    alt = float(np.nanmedian(tr.alt))
    geom = {"median_altitude_m": round(alt, 1), "horizon_distance_km": round(float(horizon_distance(alt)) / 1000, 1),
            "reach_km": round(float(sensor.reach(alt)) / 1000, 1),
            "horizon_ground_range_km": round(float(reach_radius(alt)) / 1000, 1),
            "max_off_nadir_deg": round(float(max_off_nadir(alt, sensor.min_elevation)), 2),
            "sensor": sensor.describe()}
    if sensor.has_optics:
        g = sensor.gsd(alt)
        geom["gsd_nadir_m"] = round(g.cross, 4)
    t = _time.perf_counter()
    pol = []
    if tles:
        chosen = pattern_sites if pattern_sites is not None else [s for s in sites if s.kind == "point"][:5]
        for s in chosen:
            pol.append(pattern_of_life(tr if tr.n == 1 else T.Track(tr.t[:1], tr.lat[:1], tr.lon[:1], tr.alt[:1],
                                                                     tr.valid[:1]), s, tles,
                                       min_elevation=min_elevation))
    timings["satellites"] = _time.perf_counter() - t
    t = _time.perf_counter()
    air = airspace(tr, bands, zones)
    timings["airspace"] = _time.perf_counter() - t
    t = _time.perf_counter()
    term = None
    if termination:
        term = engagement_windows(tr, pieces, wind=wind, every=every, samples=samples, seed=seed,
                                  threshold=threshold, criterion=criterion, population=population)
    timings["termination"] = _time.perf_counter() - t
    out = {
        "kind": "ensemble" if tr.n > 1 else "flight", "members": tr.n, "start": T.iso(tr.start), "end": T.iso(tr.end),
        "geometry": geom, "sites": site_rows, "pattern_of_life": pol, "airspace": air, "termination": term,
        "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
        "notes": ["distances on a sphere of the engine's radius; no refraction",
                  "sites in reach: the ground point seen from the balloon within the sensor's limits"],
    }
    out["timings_seconds"]["total"] = round(_time.perf_counter() - wall, 3)
    out["_track"] = tr
    out["_sites"] = sites
    return out


def _jsonable(o):
    if isinstance(o, dict):
        return {k: _jsonable(v) for k, v in o.items() if not str(k).startswith("_")}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, (np.bool_,)):
        return bool(o)
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, (np.floating, float)):
        v = float(o)
        return v if np.isfinite(v) else None
    return o


def _figures(res) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..geo.coastlines import lines

    tr = res["_track"]
    figs = {}
    fig, ax = plt.subplots(figsize=(10, 6))
    lon0 = float(tr.lon[0][tr.valid[0]][0])

    def x(lon):
        return lon0 + (np.asarray(lon) - lon0 + 180.0) % 360.0 - 180.0

    allx, ally = [], []
    for m in range(min(tr.n, 200)):
        v = tr.valid[m]
        xx = lon0 + np.degrees(np.unwrap(np.radians(tr.lon[m][v] - lon0)))
        ax.plot(xx, tr.lat[m][v], color="tab:blue", lw=1.2 if tr.n == 1 else 0.3, alpha=1 if tr.n == 1 else 0.3)
        allx.append(xx)
        ally.append(tr.lat[m][v])
    allx, ally = np.concatenate(allx), np.concatenate(ally)
    for s in res["_sites"]:
        for ring in s.outline():
            ax.plot(x(ring[:, 0]), ring[:, 1], color="tab:red", lw=1)
        ax.plot(x(s.lon), s.lat, "r^", ms=4)
    term = res.get("termination")
    if term:
        for w, col in ((term.get("earliest"), "tab:green"), (term.get("longest"), "tab:olive")):
            if w:
                pts = np.array(w["footprint"]["impacts"])
                ax.scatter(x(pts[:, 0]), pts[:, 1], s=3, color=col, label=f"footprint at {w['start']}")
    pad = 5
    xlim = (allx.min() - pad, allx.max() + pad)
    ylim = (max(ally.min() - pad, -90), min(ally.max() + pad, 90))
    coast, borders = lines()
    for seg in coast + borders:
        xs = x(seg[:, 0])
        br = np.nonzero(np.abs(np.diff(xs)) > 180)[0] + 1
        for part_x, part_y in zip(np.split(xs, br), np.split(seg[:, 1], br)):
            ax.plot(part_x, part_y, color="0.6", lw=0.5)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title("path, sites and termination footprints")
    if term and (term.get("earliest") or term.get("longest")):
        ax.legend(loc="best", fontsize=8)
    figs["map"] = _png(fig)
    if term:
        fig, ax = plt.subplots(figsize=(10, 3.5))
        tt = np.array([np.datetime64(r["time"].rstrip("Z")) for r in term["timeline"]])
        ec = np.array([max(r["expected_casualties"], 1e-12) for r in term["timeline"]])
        ok = np.array([r["acceptable"] for r in term["timeline"]])
        ax.semilogy(tt, ec, "k.-", lw=0.8)
        ax.scatter(tt[ok], ec[ok], color="tab:green", zorder=3, label="acceptable release")
        ax.axhline(term["threshold"], color="tab:red", ls="--", label=f"E_c threshold {term['threshold']:g}")
        ax.set_ylabel("expected casualties")
        ax.set_title("termination risk along the path")
        ax.legend(fontsize=8)
        fig.autofmt_xdate()
        figs["termination"] = _png(fig)
    return figs


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _table(rows, cols):
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in cols) + "</tr>"
                   for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _html(res, figs) -> str:
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>stratotrack assessment</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse;"
             "font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}</style></head><body>",
             f"<h1>Mission assessment</h1><p>{res['kind']}, {res['members']} trajectories, {res['start']} to "
             f"{res['end']}</p>"]
    if res.get("winds"):  # which winds, and what to be wary of (added by the command line)
        parts.append(f"<p>Winds: {html.escape(str(res['winds']))}</p>")
    for w in res.get("warnings") or []:
        parts.append(f"<p><b>Warning:</b> {html.escape(str(w))}</p>")
    g = res["geometry"]
    parts.append(f"<p>Median altitude {g['median_altitude_m']} m: horizon {g['horizon_distance_km']} km, sensor reach "
                 f"{g['reach_km']} km ({html.escape(g['sensor'])}).</p>")
    for name, png in figs.items():
        parts.append(f"<h2>{name}</h2><img src='data:image/png;base64,{base64.b64encode(png).decode()}'>")
    if res["sites"]:
        parts.append("<h2>Sites</h2>")
        rows = []
        for r in res["sites"]:
            row = {"site": r["site"]["name"]}
            row.update({k: (v if not isinstance(v, (list, dict)) else json.dumps(_jsonable(v))[:120])
                        for k, v in r.items() if k not in ("site", "reach_passes")})
            rows.append(row)
        cols = list(dict.fromkeys(c for r in rows for c in r))
        parts.append(_table(rows, cols))
    for p in res["pattern_of_life"]:
        parts.append(f"<h2>Balloon vs satellites over {html.escape(p['site'])} (elevation >= "
                     f"{p['min_elevation_deg']} deg)</h2>")
        parts.append(_table(p["rows"], list(p["rows"][0].keys())))
    air = res["airspace"]
    parts.append("<h2>Airspace</h2>")
    if air["countries"]:
        parts.append(_table([{k: v for k, v in c.items() if k != "land_entry"} for c in air["countries"]],
                            [k for k in air["countries"][0].keys() if k != "land_entry"]))
    if air["bands"]:
        parts.append(_table(air["bands"], list(air["bands"][0].keys())))
    if air["zones"]:
        parts.append(_table(air["zones"], list(air["zones"][0].keys())))
    term = res.get("termination")
    if term:
        parts.append(f"<h2>Termination windows</h2><p>criterion: {term['criterion']}, E_c threshold "
                     f"{term['threshold']:g}; population: {html.escape(term['population'])}</p>")
        if term["windows"]:
            parts.append(_table([{k: v for k, v in w.items() if k != "footprint"} for w in term["windows"]],
                                ["start", "end", "hours", "releases", "all_water", "max_expected_casualties"]))
        else:
            parts.append("<p>No acceptable release time along the path.</p>")
        parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in term["notes"]) + "</ul>")
    parts.append("</body></html>")
    return "".join(parts)


def write_report(res, *paths) -> list[Path]:
    """Write ``.json`` and/or ``.html`` (figures embedded; ``.png`` files beside it too)."""
    written = []
    figs = None
    for p in paths:
        p = Path(p)
        suffix = p.suffix.lower()
        if suffix not in (".json", ".html", ".htm"):
            raise InputError(f"report file {str(p)!r} has an unknown extension; expected .json or .html")
        from ..io._common import atomic_path

        with atomic_path(p) as tmp:  # no partial report on a full disk or an interrupt
            if suffix == ".json":
                tmp.write_text(json.dumps(_jsonable(res), indent=1), encoding="utf-8")
            else:
                figs = figs or _figures(res)
                tmp.write_text(_html(res, figs), encoding="utf-8")
        if suffix != ".json":
            for name, png in figs.items():
                q = p.with_name(f"{p.stem}_{name}.png")
                with atomic_path(q) as tmp:
                    tmp.write_bytes(png)
                written.append(q)
        written.append(p)
    return written
