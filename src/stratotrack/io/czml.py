"""CZML for Cesium: a document packet with a clock, a time-tagged position and path per trajectory, events as points.

Positions are ``cartographicDegrees`` [seconds since the trajectory's epoch, longitude, latitude, height in metres]
with linear interpolation.  (Cesium takes heights above the WGS 84 ellipsoid; stratotrack's altitudes are above
mean sea level, a difference of tens of metres that is below a prediction's error.)  Write only: CZML is a display
format, not a track exchange format.
"""

from __future__ import annotations

import json

import numpy as np

from ._common import ALT_DECIMALS, LATLON_DECIMALS, atomic_open, describe, iso, tracks

CZML_VERSION = "1.0"
_PATH_RGBA = [255, 140, 0, 255]
_EVENT_RGBA = {"launch": [40, 160, 40, 255], "burst": [220, 40, 40, 255], "landing": [30, 90, 220, 255]}


def packets(ds) -> list[dict]:
    """The CZML document (a list of packets) of a trajectory Dataset."""
    items = tracks(ds)
    valid = [t for t in items if len(t.time) and not np.isnat(t.time).any()]
    if valid:
        lo = min(t.time.min() for t in valid)
        hi = max(t.time.max() for t in valid)
        start, stop = (lo, hi) if lo <= hi else (hi, lo)
    doc = {"id": "document", "name": ds.attrs.get("title", "stratotrack trajectories"), "version": CZML_VERSION,
           "description": describe(ds)}
    if valid:
        doc["clock"] = {"interval": f"{iso(start)}/{iso(stop)}", "currentTime": iso(start), "multiplier": 60,
                        "range": "LOOP_STOP", "step": "SYSTEM_CLOCK_MULTIPLIER"}
    out = [doc]
    for t in items:
        pid = f"trajectory-{t.index}"
        pkt = {"id": pid, "name": f"trajectory {t.index}"}
        if len(t.time) and not np.isnat(t.time).any():
            order = np.argsort(t.time, kind="stable")  # a backward prediction runs back in time
            epoch = t.time[order[0]]
            secs = (t.time[order] - epoch) / np.timedelta64(1, "s")
            flat = []
            for k, s in zip(order, secs):
                flat += [round(float(s), 3), round(float(t.lon[k]), LATLON_DECIMALS),
                         round(float(t.lat[k]), LATLON_DECIMALS), round(float(t.alt[k]), ALT_DECIMALS)]
            pkt["availability"] = f"{iso(epoch)}/{iso(t.time[order[-1]])}"
            pkt["position"] = {"epoch": iso(epoch), "cartographicDegrees": flat, "interpolationAlgorithm": "LINEAR"}
            pkt["path"] = {"material": {"solidColor": {"color": {"rgba": _PATH_RGBA}}}, "width": 3,
                           "leadTime": 0, "trailTime": float(secs[-1]) + 1.0, "resolution": 60}
            pkt["point"] = {"pixelSize": 8, "color": {"rgba": _PATH_RGBA}}
        else:  # no times: a static polyline
            flat = []
            for p in zip(t.lon, t.lat, t.alt):
                flat += [round(float(p[0]), LATLON_DECIMALS), round(float(p[1]), LATLON_DECIMALS),
                         round(float(p[2]), ALT_DECIMALS)]
            pkt["polyline"] = {"positions": {"cartographicDegrees": flat}, "width": 3,
                               "material": {"solidColor": {"color": {"rgba": _PATH_RGBA}}}}
        out.append(pkt)
        for e in t.events:
            ev = {"id": f"{pid}/{e.name}", "name": e.name, "parent": pid,
                  "position": {"cartographicDegrees": [round(e.lon, LATLON_DECIMALS), round(e.lat, LATLON_DECIMALS),
                                                       round(e.alt, ALT_DECIMALS)]},
                  "point": {"pixelSize": 10, "color": {"rgba": _EVENT_RGBA.get(e.name, [255, 255, 255, 255])}},
                  "label": {"text": e.name, "pixelOffset": {"cartesian2": [0, -18]}, "scale": 0.6}}
            if not np.isnat(e.time):
                ev["description"] = f"{e.name} at {iso(e.time)}, {e.alt:.0f} m"
            out.append(ev)
    return out


def write(ds, path) -> None:
    doc = packets(ds)
    with atomic_open(path) as fh:
        json.dump(doc, fh, separators=(",", ":"), allow_nan=False)
        fh.write("\n")
