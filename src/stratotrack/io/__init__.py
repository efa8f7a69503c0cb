"""Exporters and importers of trajectories, one module per format, chosen by the file name's extension.

>>> import stratotrack as st, stratotrack.io as sio
>>> ds = st.predict(37.74, -122.22, 10.0, "2023-01-17T11:00:00Z")
>>> sio.write(ds, "flight.kml")                                  # doctest: +SKIP
>>> back = sio.read("flight.kml")                                # doctest: +SKIP

Every writer builds the whole file beside its destination and renames it into place, so a failed export leaves no
half-written file.  Every reader returns the CF trajectory layout that :func:`stratotrack.predict` returns
(``time``/``latitude``/``longitude``/``altitude`` on (trajectory, obs), ``n_obs``, events on (trajectory, event)).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import InputError

__all__ = ["FORMATS", "write", "read", "format_of", "check_output"]

#: extension -> (module, format name, can read)
FORMATS = {
    ".csv": ("csv", "CSV", True),
    ".geojson": ("geojson", "GeoJSON", True),
    ".json": ("geojson", "GeoJSON", True),
    ".kml": ("kml", "KML", True),
    ".kmz": ("kml", "KMZ", True),
    ".czml": ("czml", "CZML", False),
    ".gpx": ("gpx", "GPX", True),
    ".nc": ("netcdf", "NetCDF", True),
    ".nc4": ("netcdf", "NetCDF", True),
}


def _extensions(readable=False) -> str:
    return ", ".join(k for k, v in FORMATS.items() if v[2] or not readable)


def format_of(path, *, readable=False) -> str:
    """The module name for a path's extension; InputError for an unknown one."""
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        what = "extension" if ext else "file name without an extension"
        raise InputError(f"{what} {ext or str(path)!r} is not a known format; expected one of {_extensions(readable)}")
    module, name, can_read = FORMATS[ext]
    if readable and not can_read:
        raise InputError(f"{name} files cannot be read back; expected one of {_extensions(True)}")
    return module


def _module(name):
    return importlib.import_module(f"{__name__}.{name}")


def check_output(path) -> Path:
    """Check, before any work is done, that ``path`` has a known extension and can be written."""
    from ._common import check_writable

    path = check_writable(path)
    format_of(path)
    return path


def write(ds, path) -> Path:
    """Write a trajectory Dataset to ``path`` in the format its extension names."""
    module = _module(format_of(path))
    path = Path(path)
    module.write(ds, path)
    return path


def read(path):
    """Read trajectories from a CSV, GeoJSON, KML/KMZ, GPX or NetCDF file."""
    module = _module(format_of(path, readable=True))
    path = Path(path)
    if not path.is_file():
        raise InputError(f"track file '{path}' does not exist")
    return module.read(path)
