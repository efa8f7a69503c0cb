"""A prepared :class:`WindField` kept as one uncompressed ``.npz`` file, so a later process skips the preparation.

Used for the embedded climatology: preparing it from its NetCDF file takes about 0.3 s of every command; loading the
prepared arrays takes a few milliseconds.  The file is keyed by the source file's size and modification time and by
this module's format version, written to a temporary name and renamed into place (so concurrent processes never see
half a file), and any problem reading or writing it falls back to preparing from the source.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from ..cachedir import cache_dir
from .field import WindField

FORMAT_VERSION = 2




def _key(source: Path) -> str:
    st = source.stat()
    text = f"{source.resolve()}|{st.st_size}|{st.st_mtime_ns}|{FORMAT_VERSION}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cached_path(source: Path) -> Path:
    return cache_dir() / "prepared" / f"{source.stem}-{_key(source)}.npz"


def load(source: Path) -> WindField | None:
    """The prepared field of ``source`` stored by :func:`save`, or None when there is none (or it is unreadable)."""
    try:
        path = cached_path(source)
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as z:
            data = z["data"]
            meta = json.loads(bytes(z["meta"]).decode("utf-8"))
        return WindField.from_metadata(data, meta)
    except (OSError, ValueError, KeyError, TypeError, IndexError, EOFError, zipfile.BadZipFile):
        # damaged (truncated, overwritten, an older layout): remove it, the caller prepares the source again and
        # stores a fresh copy; never fatal
        try:
            cached_path(source).unlink(missing_ok=True)
        except OSError:
            pass
        return None


def save(source: Path, field: WindField) -> None:
    """Store ``field`` as the prepared form of ``source``; silently does nothing where the cache is not writable."""
    meta = json.dumps(field.metadata()).encode("utf-8")
    try:
        path = cached_path(source)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, data=field.data, meta=np.frombuffer(meta, dtype=np.uint8))
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError:
        return
