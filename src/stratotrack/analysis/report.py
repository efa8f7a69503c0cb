"""``assess``: one mission-analysis report for a predicted or tracked flight: JSON, and one self-contained HTML file.

The HTML report opens offline: it inlines the map component of the map page (``service/static/map.js``, Leaflet and
topojson-client, vendored) and the country borders stratotrack ships, so its map is interactive (path, sites with
their names, termination footprints, airspace entries) without a network.  Its numbers are the JSON report's.
"""

from __future__ import annotations

import html
import io
import json
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
           criterion="either", population=None, termination=True, seed=0, pattern_sites=None, client=None) -> dict:
    """Sites, satellites, airspace and termination windows of a trajectory or an ensemble, as one dict.

    ``traj``: a CF trajectory Dataset (``predict``, ``io.read``; several trajectories = an ensemble) or an ensemble
    result kept with ``keep="trajectories"``.  ``pattern_sites``: the sites compared with satellites (default: all
    point sites, at most 5).  ``termination=False`` skips the falls (the slowest part).  ``client``: a
    ``distributed.Client`` (or a scheduler address) runs the falls' batches as tasks on that Dask cluster (see
    :func:`~stratotrack.analysis.engagement_windows`; the same result as without it, bit for bit).
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
                                  threshold=threshold, criterion=criterion, population=population, client=client)
    timings["termination"] = _time.perf_counter() - t
    out = {
        "kind": "ensemble" if tr.n > 1 else "flight", "members": tr.n, "start": T.iso(tr.start), "end": T.iso(tr.end),
        "geometry": geom, "sites": site_rows, "pattern_of_life": pol, "airspace": air, "termination": term,
        "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
        "notes": ["distances on a sphere of the engine's radius; no refraction",
                  "sites in reach: the ground point seen from the balloon within the sensor's limits"],
    }
    out["timings_seconds"]["total"] = round(_time.perf_counter() - wall, 3)
    out["winds"] = _winds_used(traj, wind, tr.start)
    out["_track"] = tr
    out["_sites"] = sites
    out["_zones"] = list(zones)
    return out


def _winds_used(traj, wind, start) -> dict:
    """What winds moved the path (from the trajectory's attributes) and the falls, with their warnings: the path's
    own, then how far the falls' winds are from the flight's dates (``start``, s since 1970)."""
    ds = traj.trajectories if hasattr(traj, "trajectories") and not hasattr(traj, "data_vars") else traj
    attrs = dict(getattr(ds, "attrs", None) or {})
    fall = wind if isinstance(wind, str) else (wind.label() if hasattr(wind, "label") else str(wind))
    notes = [n.strip() for n in str(attrs.get("wind_notes") or "").split(";") if n.strip()]
    if not isinstance(wind, str) and hasattr(wind, "notes"):
        notes += [n for n in wind.notes if n not in notes]
    warnings = [w for w in str(attrs.get("warnings") or "").splitlines() if w.strip()]
    if hasattr(wind, "warnings_for"):
        warnings = list(dict.fromkeys(warnings + list(wind.warnings_for(start))))
    return {"path": attrs.get("wind") or "not recorded in the trajectory (a flight file?)",
            "path_kind": attrs.get("wind_kind"), "falls": fall, "notes": notes, "warnings": warnings}


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


# -- the HTML report ---------------------------------------------------------------------------------------------

_STATIC = ("service", "static")  # the map page's files: one map component for the page and the report
_MAP_ASSETS_JS = ("vendor/leaflet/leaflet.js", "vendor/topojson-client/topojson-client.min.js", "map.js")
_MAP_ASSETS_CSS = ("vendor/leaflet/leaflet.css", "map.css")
MAX_MEMBERS_DRAWN = 200
MAX_POINTS_PER_PATH = 400


def _asset(name: str) -> str:
    """A file of the map page, read as package data (the report inlines it; nothing of the service is imported)."""
    from importlib import resources

    return resources.files("stratotrack").joinpath(*_STATIC, *name.split("/")).read_text(encoding="utf-8")


def _borders_topology() -> str:
    from importlib import resources

    from ..geo.coastlines import DATA_FILE

    return resources.files("stratotrack.geo").joinpath("data", DATA_FILE).read_text(encoding="utf-8")


def _script_json(obj) -> str:
    """JSON safe inside a <script> element."""
    text = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _map_data(res) -> dict:
    """What the report's map draws: paths (decimated), sites, zones, footprints and airspace entries."""
    tr = res["_track"]
    paths = []
    for m in range(min(tr.n, MAX_MEMBERS_DRAWN)):
        v = tr.valid[m]
        la, lo = tr.lat[m][v], tr.lon[m][v]
        step = max(1, int(np.ceil(la.size / MAX_POINTS_PER_PATH)))
        idx = np.unique(np.r_[np.arange(0, la.size, step), la.size - 1]) if la.size else np.array([], dtype=int)
        paths.append([[round(float(la[i]), 4), round(float(lo[i]), 4)] for i in idx])
    sites = []
    for s, row in zip(res["_sites"], res["sites"]):
        sites.append({"name": s.name, "lat": s.lat, "lon": s.lon, "kind": s.kind,
                      "rings": [np.round(r, 4).tolist() for r in s.outline()], "popup": _site_popup(row)})
    zones = []
    for z, row in zip(res.get("_zones", []), res["airspace"]["zones"]):
        site = getattr(z, "site", z)
        zones.append({"name": site.name, "rings": [np.round(r, 4).tolist() for r in site.outline()]})
    entries = [{"name": c["name"], "lat": c["latitude"], "lon": c["longitude"], "time": c["time"],
                "inside": c.get("started_inside", False)}
               for c in res["airspace"]["countries"] if "latitude" in c]
    entries += [{"name": z["zone"], "lat": z["latitude"], "lon": z["longitude"], "time": z["first_entry"],
                 "inside": False} for z in res["airspace"]["zones"] if "latitude" in z]
    footprints = []
    term = res.get("termination")
    if term:
        for row, fp in zip(term["timeline"], term.get("_footprints", [])):
            footprints.append({"time": row["time"], "acceptable": row["acceptable"],
                               "release": [row["latitude"], row["longitude"]],
                               "impacts": [[round(float(a), 3), round(float(b), 3)] for a, b in zip(fp.lat, fp.lon)]})
    return {"kind": res["kind"], "paths": paths, "sites": sites, "zones": zones, "entries": entries,
            "footprints": footprints}


def _site_popup(row) -> str:
    name = html.escape(row["site"]["name"])
    if "p_overhead" in row:
        return f"<b>{name}</b><br>P(overhead) {row['p_overhead']:.3f}, P(in reach) {row['p_in_reach']:.3f}"
    return (f"<b>{name}</b><br>closest approach {row['closest_approach_km']} km at {_when(row['closest_time'])}"
            f"<br>in reach {row['hours_in_reach']} h")


def _when(iso) -> str:
    """An ISO time as '2023-02-01 21:21 UTC' (seconds kept when not zero)."""
    if not iso:
        return "—"
    s = str(iso).replace("T", " ").rstrip("Z")
    if s.endswith(":00") and s.count(":") == 2:
        s = s[:-3]
    return s + " UTC"


def _cell(v, kind=None) -> str:
    """One table cell's text: yes/no, times in UTC, lists joined, nothing shown as a dash."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "—"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if kind == "time":
        return _when(v)
    if kind == "pct":
        return f"{100 * float(v):.1f}"
    if kind == "prob":
        return f"{float(v):.3f}"
    if kind == "sci":
        return f"{float(v):.2e}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_cell(x) for x in v) if v else "none"
    if isinstance(v, dict):
        return "; ".join(f"{k} {_cell(x)}" for k, x in v.items())
    if isinstance(v, (np.floating, float)):
        return f"{float(v):g}" if abs(float(v)) < 1e6 else f"{float(v):.0f}"
    return str(v)


def _table(rows, cols, table_id=None) -> str:
    """A table from dict rows; ``cols`` = [(key or function, header, kind)].  Wraps, never runs off the page."""
    ident = f" id='{table_id}'" if table_id else ""
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h, _ in cols)
    body = []
    for r in rows:
        cells = []
        for key, _, kind in cols:
            v = key(r) if callable(key) else r.get(key)
            num = " class='num'" if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) else ""
            attr = f" data-key='{key}'" if isinstance(key, str) else ""
            cells.append(f"<td{num}{attr}>{html.escape(_cell(v, kind))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<div class='table'><table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"


def _explain(text: str) -> str:
    return f"<p class='explain'>{text}</p>"


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;max-width:1100px;margin:0 auto;
padding:0 16px 40px}
h1{font-size:24px;margin:18px 0 4px}h2{font-size:18px;margin:28px 0 6px;border-bottom:1px solid #ddd;
padding-bottom:3px}h3{font-size:15px;margin:16px 0 4px}
.sub{color:#555;margin:0 0 10px}.explain{color:#444;font-size:13px;max-width:900px}
.key{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:8px 0}.key dt{color:#555}
.key dd{margin:0}
#map{height:520px;border:1px solid #bbb;border-radius:4px}
.table{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-size:13px;margin:6px 0}td,th{border:1px solid #d4d4d4;padding:3px 7px;
text-align:left;vertical-align:top}th{background:#f2f4f6;font-weight:600}td.num{text-align:right;
font-variant-numeric:tabular-nums}td{overflow-wrap:anywhere;max-width:320px}
.warn{background:#fff6e0;border:1px solid #e8c66b;padding:6px 10px;border-radius:4px}
.ok{color:#2a7a2a}.figure svg{max-width:100%;height:auto}
footer{margin-top:30px;color:#666;font-size:12px}
"""

_MAP_SCRIPT = """
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var topo = JSON.parse(document.getElementById('borders').textContent);
  var m = new StratoMap(document.getElementById('map'));
  m.setBorders(topo);
  var ens = data.paths.length > 1, legend = [];
  data.paths.forEach(function (p, i) {
    m.path('paths', p, ens ? {color: '#1f77b4', weight: 1, opacity: 0.35} : {color: '#1f77b4', weight: 3});
  });
  legend.push({label: ens ? 'member paths' : 'path', color: '#1f77b4', kind: 'line'});
  if (data.paths.length && data.paths[0].length) {
    var p0 = data.paths[0], a = p0[0];
    m.point('ends', a[0], a[1], {color: '#ffffff', label: 'start', direction: 'left', className: 'start'});
    if (!ens) {
      var b = p0[p0.length - 1];
      m.point('ends', b[0], b[1], {color: '#222222', label: 'end', className: 'end'});
    }
    legend.push({label: ens ? 'start' : 'start / end', color: '#ffffff', kind: 'dot'});
  }
  data.footprints.forEach(function (f) {
    var col = f.acceptable ? '#2ca02c' : '#ff7f0e';
    f.impacts.forEach(function (q) { m.point('footprints', q[0], q[1], {radius: 2, color: col, stroke: col}); });
    legend.push({label: f.acceptable ? 'debris footprint, acceptable release' :
                 'debris footprint, release not acceptable', color: col, kind: 'dot'});
  });
  data.zones.forEach(function (z) {
    m.polygon('zones', z.rings, {color: '#9467bd', title: 'zone ' + z.name});
    legend.push({label: 'airspace zone', color: '#9467bd', kind: 'area'});
  });
  data.sites.forEach(function (s) {
    if (s.rings.length && s.rings[0].length > 2) { m.polygon('sites', s.rings, {color: '#d62728'}); }
    m.point('sites', s.lat, s.lon, {color: '#d62728', label: s.name, title: s.popup, className: 'site'});
    legend.push({label: 'site (outline: its radius or area)', color: '#d62728', kind: 'area'});
  });
  data.entries.forEach(function (e) {
    if (e.inside) { return; }
    m.point('entries', e.lat, e.lon, {color: '#ffd92f', radius: 5, className: 'entry',
             label: 'enters ' + e.name, direction: 'left', title: 'enters ' + e.name + ' at ' + e.time});
    legend.push({label: 'airspace entry', color: '#ffd92f', kind: 'dot'});
  });
  m.legend(legend);
  m.fit(['paths', 'sites', 'zones']);
  window.reportMap = m;
})();
"""


def _map_caption(res) -> str:
    """What the map shows, naming only what is drawn."""
    parts = ["the balloon's path" + (" (every member of the ensemble, thin lines)" if res["kind"] != "flight" else "")]
    if res["sites"]:
        parts.append("the sites with their names (the outline is the site's radius or area; click one for its figures)")
    if res.get("termination") and res["termination"].get("timeline"):
        parts.append("the ground points where debris would fall if the flight were ended at each release time "
                     "(green: acceptable, orange: not)")
    if res["airspace"]["zones"]:
        parts.append("the airspace zones")
    if any("latitude" in c and not c.get("started_inside") for c in res["airspace"]["countries"]) or any(
            "latitude" in z for z in res["airspace"]["zones"]):
        parts.append("the points where the path enters a country's airspace or a zone")
    text = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return "The map shows " + text + ". Borders: Natural Earth 1:50m; the map needs no network."


def _reach_vs_view(res, p) -> str:
    """This site's own numbers for 'in reach for hours, in view for none' (one flight), or nothing."""
    site = next((r for r in res["sites"] if r["site"]["name"] == p["site"] and "hours_in_reach" in r
                 and not isinstance(r["hours_in_reach"], dict)), None)
    balloon = next((r for r in p["rows"] if r.get("observer") == "balloon"), None)
    if site is None or balloon is None or not site["hours_in_reach"] or balloon["hours_in_view"]:
        return ""
    return (f" Here: {html.escape(p['site'])} is in reach for {site['hours_in_reach']:g} h and in view for "
            f"{balloon['hours_in_view']:g} h because at the closest approach ({site['closest_approach_km']:g} km) "
            f"the balloon stood {site['elevation_at_closest_deg']:g}° above the site's horizon, below "
            f"{p['min_elevation_deg']:g}°.")


def _termination_figure(term) -> str:
    """The expected casualties at each release time, as inline SVG (no external file)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 3.2))
    tt = np.array([np.datetime64(r["time"].rstrip("Z")) for r in term["timeline"]])
    ec = np.array([max(r["expected_casualties"], 1e-12) for r in term["timeline"]])
    ok = np.array([r["acceptable"] for r in term["timeline"]], dtype=bool)
    ax.semilogy(tt, ec, "-", color="0.4", lw=0.8)
    ax.scatter(tt[ok], ec[ok], color="tab:green", zorder=3, s=18, label="acceptable release")
    ax.scatter(tt[~ok], ec[~ok], color="tab:orange", zorder=3, s=18, label="release not acceptable")
    ax.axhline(term["threshold"], color="tab:red", ls="--", lw=1, label=f"threshold {term['threshold']:g}")
    ax.set_ylabel("expected casualties")
    ax.set_xlabel("release time (UTC)")
    ax.legend(fontsize=8, loc="best")
    ax.grid(True, which="major", alpha=0.3)
    fig.autofmt_xdate()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]


def _html(res) -> str:
    g = res["geometry"]
    winds = res.get("winds") or {}
    hours = None
    try:
        hours = (np.datetime64(res["end"].rstrip("Z")) - np.datetime64(res["start"].rstrip("Z"))) / np.timedelta64(1, "h")
    except (ValueError, TypeError, AttributeError):
        pass
    what = "one flight" if res["kind"] == "flight" else f"an ensemble of {res['members']} trajectories"
    P = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
         "<meta name='viewport' content='width=device-width, initial-scale=1'>",
         f"<title>stratotrack assessment {html.escape(_when(res['start']))}</title>"]
    for name in _MAP_ASSETS_CSS:
        P.append(f"<style>{_asset(name)}</style>")
    P.append(f"<style>{_CSS}</style></head><body>")
    P.append("<h1>Mission assessment</h1>")
    span = f"{hours:g} h" if hours is not None else ""
    P.append(f"<p class='sub'>{html.escape(what)}, {span} from {html.escape(_when(res['start']))} to "
             f"{html.escape(_when(res['end']))}. Generated by stratotrack.</p>")

    # key figures
    P.append("<dl class='key' id='key-figures'>")
    P.append(f"<dt>Median altitude</dt><dd>{g['median_altitude_m']:g} m</dd>")
    P.append(f"<dt>Distance to the horizon</dt><dd>{g['horizon_distance_km']:g} km</dd>")
    P.append(f"<dt>Sensor reach on the ground</dt><dd>{g['reach_km']:g} km ({html.escape(g['sensor'])})</dd>")
    for r in res["sites"]:
        name = html.escape(r["site"]["name"])
        if "p_overhead" in r:
            P.append(f"<dt>{name}</dt><dd>overhead with probability {r['p_overhead']:.3f}, in reach "
                     f"{r['p_in_reach']:.3f}</dd>")
        else:
            P.append(f"<dt>{name}</dt><dd>{'passes overhead' if r['overhead'] else 'not overhead'}; closest "
                     f"{r['closest_approach_km']} km; in reach {r['hours_in_reach']} h</dd>")
    term = res.get("termination")
    if term:
        e = term.get("earliest")
        P.append("<dt>Termination</dt><dd>" + ("no acceptable release time" if e is None else
                 f"first acceptable window {html.escape(_when(e['start']))} to {html.escape(_when(e['end']))}")
                 + "</dd>")
    P.append(f"<dt>Winds</dt><dd>{html.escape(str(winds.get('path', '—')))}</dd>")
    P.append("</dl>")

    # warnings first, where an analyst sees them
    if winds.get("warnings"):
        P.append("<div class='warn' id='wind-warnings'><b>Warnings about the winds:</b><ul>" +
                 "".join(f"<li>{html.escape(w)}</li>" for w in winds["warnings"]) + "</ul></div>")

    # the map
    P.append("<h2>Map</h2>")
    P.append("<div id='map'></div>")
    P.append(_explain(
        _map_caption(res)))

    # winds
    P.append("<h2>Winds used</h2>")
    P.append("<dl class='key' id='winds'>")
    P.append(f"<dt>Path</dt><dd>{html.escape(str(winds.get('path', '—')))}</dd>")
    P.append(f"<dt>Falling debris</dt><dd>{html.escape(str(winds.get('falls', '—')))}</dd>")
    P.append("</dl>")
    if winds.get("notes"):
        P.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in winds["notes"]) + "</ul>")
    if not winds.get("warnings"):
        P.append("<p class='ok'>No warnings about the winds.</p>")
    else:
        P.append("<p>Warnings: see the box at the top.</p>")

    # sites
    if res["sites"]:
        P.append("<h2>Sites</h2>")
        if "p_overhead" in res["sites"][0]:
            cols = [(lambda r: r["site"]["name"], "Site", None),
                    ("p_overhead", "Probability overhead", "prob"), ("p_in_reach", "Probability in reach", "prob"),
                    (lambda r: (r.get("first_entry") or {}).get("median"), "Median first entry (UTC)", "time"),
                    (lambda r: r["hours_in_reach"]["median"], "Median time in reach (h)", None),
                    (lambda r: r["closest_approach_km"]["min"], "Closest approach, any member (km)", None),
                    (lambda r: r["closest_approach_km"]["median"], "Closest approach, median (km)", None)]
        else:
            cols = [(lambda r: r["site"]["name"], "Site", None),
                    (lambda r: r["site"].get("radius_km"), "Radius (km)", None),
                    ("overhead", "Passes overhead", None),
                    ("closest_approach_km", "Closest approach (km)", None), ("closest_time", "Closest at (UTC)", "time"),
                    ("closest_altitude_m", "Balloon altitude then (m)", None),
                    ("elevation_at_closest_deg", "Elevation seen from the site (°)", None),
                    ("in_reach", "In the sensor's reach", None), ("hours_in_reach", "Time in reach (h)", None),
                    ("first_in_reach", "First in reach (UTC)", "time")]
        P.append(_table(res["sites"], cols, "sites-table"))
        P.append(_explain(
            "<b>Overhead</b>: the point under the balloon enters the site's radius or area. <b>In reach</b>: the "
            "site can be seen from the balloon by the sensor (" + html.escape(g["sensor"]) + "), here up to "
            f"{g['reach_km']:g} km away at {g['median_altitude_m']:g} m. Distances are to the site's edge."))

    # satellites
    for p in res["pattern_of_life"]:
        P.append(f"<h2>Balloon and satellites seen from {html.escape(p['site'])}</h2>")
        cols = [("observer", "Observer", None), ("passes", "Passes", None),
                ("hours_in_view", "Time in view (h)", None), ("fraction_in_view", "Share of the time in view (%)", "pct"),
                ("longest_stretch_hours", "Longest stretch in view (h)", None),
                ("mean_revisit_gap_hours", "Mean gap between passes (h)", None),
                ("longest_revisit_gap_hours", "Longest gap (h)", None)]
        P.append(_table(p["rows"], cols, "pattern-table"))
        P.append(_explain(
            f"<b>In view</b>: the observer stands at least {p['min_elevation_deg']:g}° above the site's horizon. "
            "This is stricter than <b>in reach</b> above, which only asks that the site be visible from the "
            "balloon: a site a few hundred km away sees a balloon at 18 km only a few degrees above its horizon, "
            "so it can be in reach for hours and in view for none of them." + _reach_vs_view(res, p)))

    # airspace
    air = res["airspace"]
    P.append("<h2>Airspace</h2>")
    if air["countries"]:
        if "probability" in air["countries"][0]:
            cols = [("name", "Country", None), ("probability", "Probability of entering", "prob"),
                    (lambda c: c["first_entry"]["earliest"], "Earliest entry (UTC)", "time"),
                    (lambda c: c["first_entry"]["median"], "Median entry (UTC)", "time")]
        else:
            cols = [("name", "Country", None), ("kind", "Counted as", None),
                    (lambda c: "starts inside" if c["started_inside"] else _when(c["time"]), "Entry (UTC)", None),
                    (lambda c: f"{c['latitude']:.3f}, {c['longitude']:.3f}", "Entry point (lat, lon)", None),
                    (lambda c: None if not c.get("land_entry") else ("starts over land" if
                     c["land_entry"]["started_inside"] else _when(c["land_entry"]["time"])), "Over land from (UTC)", None),
                    ("hours_inside", "Time inside (h)", None)]
        P.append(_table(air["countries"], cols, "countries-table"))
    if air["bands"]:
        if "p_in_band" in air["bands"][0]:
            cols = [("band", "Airspace band", None), ("region", "Over", None),
                    (lambda b: f"{b['floor_m']:g} m (FL{b['floor_fl']}) to {b['ceiling_m']:g} m (FL{b['ceiling_fl']})",
                     "Altitudes", None),
                    ("p_in_band", "Probability in the band", "prob"),
                    ("p_above_ceiling", "Probability above it", "prob")]
        else:
            cols = [("band", "Airspace band", None), ("region", "Over", None),
                    (lambda b: f"{b['floor_m']:g} m (FL{b['floor_fl']}) to {b['ceiling_m']:g} m (FL{b['ceiling_fl']})",
                     "Altitudes", None),
                    ("hours_over_region", "Time over the region (h)", None), ("hours_in_band", "Time in the band (h)", None),
                    ("hours_above_ceiling", "Time above it (h)", None), ("first_in_band", "First in the band (UTC)", "time"),
                    ("max_altitude_m", "Highest altitude (m)", None), ("verdict", "Verdict", None)]
        P.append(_table(air["bands"], cols, "bands-table"))
    if air["zones"]:
        cols = [("zone", "Zone", None), ("floor_m", "Floor (m)", None), ("ceiling_m", "Ceiling (m)", None)]
        if "probability" in air["zones"][0]:
            cols.append(("probability", "Probability of entering", "prob"))
        else:
            cols += [("entered", "Entered", None), ("first_entry", "First entry (UTC)", "time"),
                     ("hours_inside", "Time inside (h)", None)]
        P.append(_table(air["zones"], cols, "zones-table"))
    P.append(_explain("A country's airspace here is its land and a 12-nautical-mile sea around it. "
                      + " ".join(html.escape(n) for n in air.get("notes", []))))

    # termination
    if term:
        P.append("<h2>Termination windows</h2>")
        crit = {"water": "every piece falls in water", "ec": f"expected casualties below {term['threshold']:g}",
                "either": f"every piece falls in water, or expected casualties below {term['threshold']:g}"}
        P.append(_explain(
            f"If the flight were ended at a release time, its pieces would fall where the map's dots show. A release "
            f"is acceptable when {crit.get(term['criterion'], html.escape(term['criterion']))}; release times every "
            f"{term['every_seconds'] / 3600:g} h, {term['samples_per_piece']} falls per piece. Population: "
            f"{html.escape(str(term['population']))}."))
        P.append("<div class='figure'>" + _termination_figure(term) + "</div>")
        if term["windows"]:
            cols = [("start", "From (UTC)", "time"), ("end", "To (UTC)", "time"), ("hours", "Length (h)", None),
                    ("releases", "Release times", None), ("all_water", "All in water", None),
                    ("max_expected_casualties", "Highest expected casualties", "sci")]
            P.append(_table(term["windows"], cols, "windows-table"))
        else:
            P.append("<p id='no-window'>No acceptable release time along the path.</p>")
        cols = [("name", "Piece", None), ("mass_kg", "Mass (kg)", None), ("area_m2", "Area (m²)", None),
                ("count", "Count", None), ("sea_level_speed_m_s", "Speed at sea level (m/s)", None),
                ("casualty_area_m2", "Casualty area (m²)", None)]
        P.append("<h3>Pieces</h3>" + _table(term["pieces"], cols, "pieces-table"))
        P.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in term["notes"]) + "</ul>")

    P.append("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in res["notes"]) + "</ul>")
    t = res.get("timings_seconds", {})
    P.append(f"<footer>Computed in {t.get('total', 0):g} s. Map: Leaflet (BSD-2-Clause), topojson-client (ISC), "
             "Natural Earth (public domain).</footer>")
    P.append(f"<script type='application/json' id='report-data'>{_script_json(_map_data(res))}</script>")
    P.append(f"<script type='application/json' id='borders'>{_script_json(_borders_topology())}</script>")
    for name in _MAP_ASSETS_JS:
        P.append(f"<script>{_asset(name)}</script>")
    P.append(f"<script>{_MAP_SCRIPT}</script>")
    P.append("</body></html>")
    return "\n".join(P)


def write_report(res, *paths) -> list[Path]:
    """Write ``.json`` and/or ``.html`` (one self-contained file that opens offline)."""
    from ..io._common import atomic_path, check_writable

    written = []
    for p in paths:  # every path checked before anything is written
        p = Path(p)
        suffix = p.suffix.lower()
        if suffix not in (".json", ".html", ".htm"):
            raise InputError(f"report file {str(p)!r} has an unknown extension; expected .json or .html")
        check_writable(p)
    for p in paths:
        p = Path(p)
        text = json.dumps(_jsonable(res), indent=1) if p.suffix.lower() == ".json" else _html(res)
        with atomic_path(p) as tmp:  # no partial report on a full disk or an interrupt
            tmp.write_text(text, encoding="utf-8")
        written.append(p)
    return written
