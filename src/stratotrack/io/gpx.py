"""GPX 1.1: one ``trk`` per trajectory (points with ``ele`` and ``time``), the events as ``wpt`` waypoints.

Elevations are metres above mean sea level.  A waypoint's ``desc`` names its trajectory ("trajectory 3") so that an
ensemble reads back with each event on its own path.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np

from .. import __version__
from ..errors import InputError
from ._common import ALT_DECIMALS, LATLON_DECIMALS, Event, Track, atomic_open, describe, iso, parse_times, \
    to_dataset, tracks, xml_sub

GPX_NS = "http://www.topografix.com/GPX/1/1"
_N = "{%s}" % GPX_NS


def _sub(parent, tag, text=None):
    return xml_sub(parent, tag, text)  # written unqualified under the root's xmlns (see document)


def _point(parent, tag, lat, lon, alt, time, name=None, desc=None, kind=None):
    el = _sub(parent, tag)
    el.set("lat", f"{lat:.{LATLON_DECIMALS}f}")
    el.set("lon", f"{lon:.{LATLON_DECIMALS}f}")
    if np.isfinite(alt):
        _sub(el, "ele", f"{alt:.{ALT_DECIMALS}f}")
    if time:
        _sub(el, "time", time)
    if name is not None:  # GPX 1.1 order: ele, time, ..., name, cmt, desc, src, link, sym, type
        _sub(el, "name", name)
    if desc is not None:
        _sub(el, "desc", desc)
    if kind is not None:
        _sub(el, "type", kind)
    return el


def document(ds) -> bytes:
    # the namespace is declared on the root as an attribute, never registered with ElementTree (a global table that
    # the KML writer shares: registering "" there for both made one of them write ns0: prefixes)
    root = ET.Element("gpx", {"xmlns": GPX_NS, "version": "1.1", "creator": f"stratotrack {__version__}"})
    meta = _sub(root, "metadata")
    _sub(meta, "name", ds.attrs.get("title", "stratotrack trajectories"))
    _sub(meta, "desc", describe(ds))
    items = tracks(ds)
    for t in items:  # waypoints come before tracks in GPX 1.1
        for e in t.events:
            _point(root, "wpt", e.lat, e.lon, e.alt, iso(e.time), name=e.name, desc=f"trajectory {t.index}",
                   kind="event")
    for t in items:
        trk = _sub(root, "trk")
        _sub(trk, "name", f"trajectory {t.index}")
        _sub(trk, "number", t.index)
        seg = _sub(trk, "trkseg")
        for k, when in enumerate(iso(t.time)):
            _point(seg, "trkpt", t.lat[k], t.lon[k], t.alt[k], when)
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


def write(ds, path) -> None:
    data = document(ds)
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def _pt(el):
    ele = el.findtext(_ns(el) + "ele")
    return float(el.get("lat")), float(el.get("lon")), float(ele) if ele else np.nan, el.findtext(_ns(el) + "time")


def _ns(el):
    return el.tag[: el.tag.index("}") + 1] if el.tag.startswith("{") else ""


def read(path):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise InputError(f"GPX file '{path}' is not well-formed XML: {exc}") from None
    ns = _ns(root)
    items = []
    for trk in [*root.findall(ns + "trk"), *root.findall(ns + "rte")]:
        pts = [_pt(p) for p in trk.iter() if p.tag in (ns + "trkpt", ns + "rtept")]
        if not pts:
            continue
        number = trk.findtext(ns + "number")
        idx = int(number) if number and number.strip().isdigit() else len(items)
        lat, lon, alt = (np.array([p[i] for p in pts], dtype=float) for i in range(3))
        items.append(Track(idx, parse_times([p[3] for p in pts]), lat, lon, alt))
    if not items:
        raise InputError(f"GPX file '{path}' holds no track or route; expected trk/trkpt elements")
    by_index = {t.index: t for t in items}
    for w in root.findall(ns + "wpt"):
        lat, lon, alt, when = _pt(w)
        m = re.fullmatch(r"trajectory (\d+)", (w.findtext(ns + "desc") or "").strip())
        owner = by_index.get(int(m.group(1))) if m else None
        (owner or items[0]).events.append(Event(w.findtext(ns + "name") or "waypoint", parse_times([when])[0],
                                                lat, lon, alt))
    return to_dataset(items, f"GPX file {path}")
