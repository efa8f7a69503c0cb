"""Coastlines and country borders as lines of (longitude, latitude), offline, from a shipped Natural Earth file.

The file is Natural Earth's 1:50 million countries as TopoJSON (public domain; see ``geo/data/README.md``).  In
TopoJSON neighbouring countries share arcs: an arc that bounds one country only is coast, an arc that two countries
share is a border.

>>> coast, borders = lines()
>>> len(coast) > 100 and len(borders) > 100
True
"""

from __future__ import annotations

import functools
import json
from importlib import resources

import numpy as np

__all__ = ["lines", "DATA_FILE"]

DATA_FILE = "ne_50m_countries.topojson.json"


def _walk(arcs):
    """Every arc index referenced by a TopoJSON geometry's nested arc lists (negative: reversed, ~i)."""
    for item in arcs:
        if isinstance(item, list):
            yield from _walk(item)
        else:
            yield item if item >= 0 else ~item


@functools.lru_cache(maxsize=1)
def lines() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(coastlines, borders): lists of float arrays of shape (n, 2), columns longitude and latitude."""
    text = resources.files("stratotrack.geo").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    topo = json.loads(text)
    scale = np.array(topo["transform"]["scale"])
    shift = np.array(topo["transform"]["translate"])
    arcs = [np.cumsum(np.array(a, dtype=float).reshape(-1, 2), axis=0) * scale + shift for a in topo["arcs"]]
    uses = np.zeros(len(arcs), dtype=int)
    for geom in topo["objects"]["countries"]["geometries"]:
        for k in _walk(geom.get("arcs", [])):
            uses[k] += 1
    coast = [a for a, n in zip(arcs, uses) if n == 1]
    borders = [a for a, n in zip(arcs, uses) if n >= 2]
    return coast, borders
