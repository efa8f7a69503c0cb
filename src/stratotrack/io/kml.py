"""KML 2.2 and KMZ: the path with absolute altitudes, a time-tagged track, and the events as placemarks.

Each trajectory is a Folder holding
- a Placemark with the path as a ``LineString`` (``altitudeMode`` absolute: metres above mean sea level), which
  every KML viewer draws,
- a hidden Placemark with the same points as a ``gx:Track`` (``when`` + ``gx:coord``), which gives Google Earth's
  time slider and lets the file be read back with its times,
- a Placemark per event (launch, burst, landing...) with a ``TimeStamp``.

KMZ is the same document zipped as ``doc.kml``.  The reader takes any KML/KMZ: every ``gx:Track`` and ``LineString``
becomes a trajectory (a LineString that repeats a gx:Track's points is dropped), every ``Point`` an event of the
trajectory in the same folder.
"""

from __future__ import annotations

import io
import zipfile
import xml.etree.ElementTree as ET

import numpy as np

from ..errors import InputError
from ._common import ALT_DECIMALS, LATLON_DECIMALS, Event, Track, atomic_open, describe, iso, parse_times, \
    to_dataset, tracks, xml_sub

KML_NS = "http://www.opengis.net/kml/2.2"
GX_NS = "http://www.google.com/kml/ext/2.2"
# the writer declares both namespaces on the root element and writes unqualified (and gx:) tags; nothing is
# registered with ElementTree's global table, where two modules that both register "" (KML, GPX) made one of them
# write ns0: prefixes.  The reader parses qualified names as usual.
_K = "{%s}" % KML_NS
_G = "{%s}" % GX_NS

_PATH_COLOR = "ff1e90ff"  # aabbggrr: orange
_EVENT_ICON = "http://maps.google.com/mapfiles/kml/shapes/placemark_circle.png"


def _sub(parent, tag, text=None, ns=""):
    return xml_sub(parent, ns + tag, text)


def _coord(lon, lat, alt, sep=","):
    return sep.join((f"{lon:.{LATLON_DECIMALS}f}", f"{lat:.{LATLON_DECIMALS}f}", f"{alt:.{ALT_DECIMALS}f}"))


def document(ds) -> bytes:
    """The KML document of a trajectory Dataset, as UTF-8 bytes."""
    root = ET.Element("kml", {"xmlns": KML_NS, "xmlns:gx": GX_NS})
    doc = _sub(root, "Document")
    _sub(doc, "name", ds.attrs.get("title", "stratotrack trajectories"))
    _sub(doc, "open", 1)
    _sub(doc, "description", describe(ds))
    style = _sub(doc, "Style")
    style.set("id", "path")
    line = _sub(style, "LineStyle")
    _sub(line, "color", _PATH_COLOR)
    _sub(line, "width", 3)
    style = _sub(doc, "Style")
    style.set("id", "event")
    icon = _sub(style, "IconStyle")
    _sub(icon, "scale", 1.1)
    _sub(_sub(icon, "Icon"), "href", _EVENT_ICON)
    for t in tracks(ds):
        folder = _sub(doc, "Folder")
        folder.set("id", f"trajectory-{t.index}")
        _sub(folder, "name", f"trajectory {t.index}")
        if "end_reason" in ds:
            _sub(folder, "description", f"ended: {ds['end_reason'].values[t.index]}")
        pm = _sub(folder, "Placemark")
        _sub(pm, "name", "flight path")
        _sub(pm, "styleUrl", "#path")
        ls = _sub(pm, "LineString")
        _sub(ls, "altitudeMode", "absolute")
        _sub(ls, "coordinates", " ".join(_coord(*p) for p in zip(t.lon, t.lat, t.alt)))
        if not np.isnat(t.time).any():
            pm = _sub(folder, "Placemark")
            _sub(pm, "name", "timed track")
            _sub(pm, "visibility", 0)
            _sub(pm, "styleUrl", "#path")
            tr = _sub(pm, "Track", ns="gx:")
            _sub(tr, "altitudeMode", "absolute")
            for w in iso(t.time):
                _sub(tr, "when", w)
            for p in zip(t.lon, t.lat, t.alt):
                _sub(tr, "coord", _coord(*p, sep=" "), ns="gx:")
        for e in t.events:
            pm = _sub(folder, "Placemark")
            _sub(pm, "name", e.name)
            _sub(pm, "description", f"{e.name} at {iso(e.time)}, {e.alt:.0f} m")
            if not np.isnat(e.time):
                _sub(_sub(pm, "TimeStamp"), "when", iso(e.time))
            _sub(pm, "styleUrl", "#event")
            pt = _sub(pm, "Point")
            _sub(pt, "altitudeMode", "absolute")
            _sub(pt, "coordinates", _coord(e.lon, e.lat, e.alt))
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


def write(ds, path) -> None:
    data = document(ds)
    with atomic_open(path, "wb") as fh:
        if str(path).lower().endswith(".kmz"):
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as z:
                z.writestr("doc.kml", data)
        else:
            fh.write(data)


# -- reading ---------------------------------------------------------------------------------------------------------
#: the most a KMZ's document may expand to (a radiosonde's flight is ~1 MB; a zip bomb is refused, not unpacked)
MAX_KML_BYTES = 256 * 1024 * 1024


def _read_member(z: zipfile.ZipFile, name: str, path) -> bytes:
    """A member of a KMZ, read in pieces and refused once it passes :data:`MAX_KML_BYTES` (whatever its header
    claims), so that a small archive that expands to gigabytes never reaches memory."""
    limit = MAX_KML_BYTES
    if z.getinfo(name).file_size > limit:
        raise InputError(f"KMZ file '{path}' holds a {z.getinfo(name).file_size / 2**20:,.0f} MiB document; expected "
                         f"at most {limit / 2**20:,.0f} MiB (refusing to unpack it)")
    out, total = [], 0
    with z.open(name) as fh:
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise InputError(f"KMZ file '{path}' expands to more than {limit / 2**20:,.0f} MiB; expected a "
                                 "smaller document (refusing to unpack it)")
            out.append(chunk)
    return b"".join(out)


def read_tree(path) -> ET.Element:
    """The root element of a KML or KMZ file (its first .kml member), with one clear error if unreadable."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = [n for n in z.namelist() if n.lower().endswith(".kml")]
                if not names:
                    raise InputError(f"KMZ file '{path}' holds no .kml document")
                data = _read_member(z, "doc.kml" if "doc.kml" in names else names[0], path)
        except zipfile.BadZipFile as exc:
            raise InputError(f"KMZ file '{path}' is not a valid zip archive: {exc}") from None
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise InputError(f"KML file '{path}' is not well-formed XML: {exc}") from None


def _tag(el):
    return el.tag.rsplit("}", 1)[-1]


def _numbers(text, n_fields=3):
    rows = []
    for tup in (text or "").split():
        vals = [float(v) for v in tup.split(",")]
        rows.append(vals + [np.nan] * (n_fields - len(vals)))
    return np.array(rows, dtype=float).reshape(-1, n_fields)


def _placemark(pm):
    """(kind, name, data) for the first geometry of a Placemark."""
    name = (pm.findtext(_K + "name") or "").strip()
    for el in pm.iter():
        tag = _tag(el)
        if tag == "Track":
            when = [w.text for w in el.iter(_K + "when")]
            coords = np.array([[float(v) for v in (c.text or "").split()] for c in el.iter(_G + "coord")],
                              dtype=float).reshape(-1, 3)
            times = parse_times(when) if len(when) == len(coords) else \
                np.full(len(coords), np.datetime64("NaT"), dtype="datetime64[ns]")
            return "track", name, (times, coords)
        if tag == "LineString":
            return "line", name, _numbers(el.findtext(_K + "coordinates"))
        if tag == "Point":
            xyz = _numbers(el.findtext(_K + "coordinates"))[0]
            when = pm.findtext(f"{_K}TimeStamp/{_K}when")
            return "point", name or "point", (parse_times([when])[0], xyz)
    return None, name, None


def read(path):
    root = read_tree(path)
    containers = [el for el in root.iter() if _tag(el) in ("Document", "Folder")] or [root]
    items: list[Track] = []
    orphans: list[Event] = []
    for box in containers:
        found = [_placemark(pm) for pm in box.findall(_K + "Placemark")]
        timed = [d[1] for kind, _, d in found if kind == "track"]
        mine = []
        for kind, name, data in found:
            if kind == "track":
                times, c = data
            elif kind == "line":
                c = data
                if any(len(tc) == len(c) and np.allclose(tc, c, atol=1e-5, equal_nan=True) for tc in timed):
                    continue  # the drawable twin of a gx:Track
                times = np.full(len(c), np.datetime64("NaT"), dtype="datetime64[ns]")
            else:
                continue
            mine.append(Track(len(items) + len(mine), times, c[:, 1], c[:, 0], c[:, 2]))
        points = [Event(name, d[0], float(d[1][1]), float(d[1][0]), float(d[1][2]))
                  for kind, name, d in found if kind == "point"]
        (mine[0].events if mine else orphans).extend(points)
        items.extend(mine)
    if not items:
        raise InputError(f"KML file '{path}' holds no LineString or gx:Track; expected a path")
    items[0].events.extend(orphans)
    return to_dataset(items, f"KML file {path}")
