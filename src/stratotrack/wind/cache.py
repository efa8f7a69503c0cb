"""The local cache of downloaded winds: each dataset stored once, ready to sample, with an index.

Layout under :func:`stratotrack.cachedir.cache_dir` (``$STRATOTRACK_CACHE_DIR`` overrides the platform's user cache
directory)::

    index.sqlite                 one row per entry (source, cycle, valid times, levels, region, size, checksum)
    entries/<id>-<token>/        field.npy (the prepared float32 array [time, lat, lon, level, var], memory-mapped
                                 on open, so opening costs no copy and no decoding) + meta.json (coordinates)
    downloads/                   partial downloads (.part files, resumed by the next fetch)
    tmp/                         entries being written

Safety between processes: an entry is written in ``tmp/`` and renamed into ``entries/`` (atomic on one file
system) before its index row is committed; index changes are SQLite transactions (``BEGIN IMMEDIATE`` with a busy
timeout), so concurrent fetches, lists and clears never see half an entry.  A replaced entry gets a new folder;
the old one is removed after the index points at the new one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import time as _time
from pathlib import Path

import numpy as np

from ..cachedir import cache_dir
from ..errors import InputError, ResourceError, WindDataError

__all__ = ["Cache", "Entry", "cache_dir", "DamagedEntryError"]


class DamagedEntryError(ResourceError, WindDataError):
    """A cache entry whose files no longer match what was stored (sizes, checksum, missing files)."""


#: the file in an entry's folder that records a checksum already verified (with the field's size and mtime)
VERIFIED = "verified.json"

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,          -- gfs, gefs, ecmwf, era5, ncep
    model TEXT, product TEXT, member TEXT,
    cycle REAL,                    -- model run, s since 1970 (NULL for reanalyses)
    start REAL NOT NULL, "end" REAL NOT NULL,   -- first/last valid time, s since 1970
    levels TEXT,                   -- JSON list of hPa
    region TEXT,                   -- W,S,E,N
    resolution REAL,               -- degrees
    shape TEXT,                    -- JSON [time, lat, lon, level, var]
    path TEXT NOT NULL,            -- folder under entries/
    nbytes INTEGER NOT NULL,       -- size of field.npy
    sha256 TEXT NOT NULL,          -- of the field's bytes
    downloaded INTEGER,            -- bytes transferred to build it
    created REAL NOT NULL,
    origin TEXT                    -- where it came from (URLs, request)
);
CREATE INDEX IF NOT EXISTS entries_source ON entries(source, cycle);
"""




def _iso(seconds) -> str | None:
    if seconds is None:
        return None
    return _dt.datetime.fromtimestamp(float(seconds), _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass(frozen=True)
class Entry:
    """One cached dataset (a row of the index)."""

    id: str
    source: str
    model: str | None
    product: str | None
    member: str | None
    cycle: float | None
    start: float
    end: float
    levels: list
    region: str | None
    resolution: float | None
    shape: list
    path: Path
    nbytes: int
    sha256: str
    downloaded: int | None
    created: float
    origin: str | None = None

    def describe(self) -> dict:
        return {
            "id": self.id, "source": self.source, "model": self.model, "product": self.product,
            "member": self.member, "cycle": _iso(self.cycle), "start": _iso(self.start), "end": _iso(self.end),
            "levels_hPa": self.levels, "region": self.region, "resolution_deg": self.resolution,
            "shape": self.shape, "bytes": self.nbytes, "downloaded_bytes": self.downloaded,
            "created": _iso(self.created), "path": str(self.path),
        }


class Cache:
    """The wind cache at ``root`` (default :func:`cache_dir`)."""

    def __init__(self, root=None):
        self.root = Path(root).expanduser() if root is not None else cache_dir()

    # -- places ------------------------------------------------------------------------------------------------
    @property
    def index_path(self) -> Path:
        return self.root / "index.sqlite"

    @property
    def downloads(self) -> Path:
        path = self.root / "downloads"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def check_writable(self) -> None:
        """ResourceError unless the cache can take new entries (checked before a download starts)."""
        import tempfile

        try:
            for sub in ("entries", "tmp", "downloads"):
                (self.root / sub).mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=self.root / "tmp", suffix=".probe")
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise ResourceError(f"the wind cache {str(self.root)!r} cannot be written ({exc.strerror or exc}); set "
                                "$STRATOTRACK_CACHE_DIR to a folder you may write to") from None

    def _mkdirs(self):
        for sub in ("entries", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def _db(self, write=False):
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ResourceError(f"cannot create the wind cache at {str(self.root)!r}: {exc.strerror}; set "
                                "$STRATOTRACK_CACHE_DIR to a folder you may write to") from None
        try:
            con = self._connect(write)
        except sqlite3.DatabaseError:
            self.rebuild_index()
            con = self._connect(write)
        try:
            yield con
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    def _connect(self, write):
        try:
            con = sqlite3.connect(self.index_path, timeout=60.0, isolation_level=None)
        except sqlite3.OperationalError as exc:
            raise ResourceError(f"cannot open the wind cache index {self.index_path}: {exc}; check the folder's "
                                "permissions") from None
        try:
            con.execute("PRAGMA busy_timeout = 60000")
            con.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            for stmt in SCHEMA.strip().split(";"):
                if stmt.strip():
                    con.execute(stmt)
            con.execute("SELECT count(*) FROM entries").fetchone()
        except sqlite3.OperationalError as exc:
            con.close()
            if "locked" in str(exc) or "readonly" in str(exc) or "unable to open" in str(exc):
                raise ResourceError(f"cannot use the wind cache index {self.index_path}: {exc}") from None
            raise sqlite3.DatabaseError(str(exc)) from None
        except sqlite3.DatabaseError:
            con.close()
            raise
        return con

    def rebuild_index(self) -> int:
        """Replace a damaged ``index.sqlite`` by one rebuilt from the entries' own ``meta.json`` (which keep their
        index row); the damaged file is kept beside it as ``index.sqlite.damaged``.  Returns the entries found."""
        import warnings

        damaged = self.index_path.with_name("index.sqlite.damaged")
        with contextlib.suppress(OSError):
            os.replace(self.index_path, damaged)
        for extra in ("-journal", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(str(self.index_path) + extra)
        rows = []
        base = self.root / "entries"
        for folder in sorted(base.iterdir()) if base.is_dir() else []:
            try:
                meta = json.loads((folder / "meta.json").read_text())
                row = meta["index"]
                rows.append(tuple(row[c.strip().strip('"')] if c.strip().strip('"') != "path" else folder.name
                                  for c in self._COLS.split(",")))
            except (OSError, ValueError, KeyError, TypeError):
                continue  # an entry without its index row (or damaged): 'cache verify' removes such folders
        con = sqlite3.connect(self.index_path, timeout=60.0, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            for stmt in SCHEMA.strip().split(";"):
                if stmt.strip():
                    con.execute(stmt)
            con.executemany(f"INSERT OR REPLACE INTO entries ({self._COLS}) VALUES "
                            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            con.execute("COMMIT")
        finally:
            con.close()
        what = f"was damaged (kept as {damaged.name})" if damaged.exists() else "was missing"
        warnings.warn(f"the wind cache index {self.index_path} {what} and was rebuilt from {len(rows)} entries",
                      RuntimeWarning, stacklevel=2)
        return len(rows)

    def _row(self, row) -> Entry:
        (id_, source, model, product, member, cycle, start, end, levels, region, resolution, shape, path, nbytes,
         sha, downloaded, created, origin) = row
        return Entry(id_, source, model, product, member, cycle, start, end, json.loads(levels or "[]"), region,
                     resolution, json.loads(shape or "[]"), self.root / "entries" / path, int(nbytes), sha,
                     downloaded, created, origin)

    _COLS = ('id, source, model, product, member, cycle, start, "end", levels, region, resolution, shape, path, '
             'nbytes, sha256, downloaded, created, origin')

    # -- reading the index -----------------------------------------------------------------------------------
    def entries(self, source=None) -> list[Entry]:
        """All entries (of one source), newest cycle first."""
        if not self._have_index():
            return []
        with self._db() as con:
            if source is None:
                rows = con.execute(f"SELECT {self._COLS} FROM entries ORDER BY source, cycle DESC, created DESC")
            else:
                rows = con.execute(f"SELECT {self._COLS} FROM entries WHERE source = ? "
                                   "ORDER BY cycle DESC, created DESC", (source,))
            return [self._row(r) for r in rows.fetchall()]

    def _have_index(self) -> bool:
        """Whether there is an index (rebuilt from the entries when it was deleted but entries remain)."""
        if self.index_path.exists():
            return True
        base = self.root / "entries"
        if base.is_dir() and any(base.iterdir()):
            self.rebuild_index()
            return True
        return False

    def get(self, entry_id: str) -> Entry | None:
        if not self._have_index():
            return None
        with self._db() as con:
            row = con.execute(f"SELECT {self._COLS} FROM entries WHERE id = ?", (entry_id,)).fetchone()
        return None if row is None else self._row(row)

    def find(self, source: str, times=None) -> Entry:
        """The entry of ``source`` to use for ``times`` (epoch seconds, any shape; None: the newest).

        Forecasts: the newest cycle whose valid times cover all of ``times``.  Reanalyses: the entry covering them
        (the most recently stored one if several do).
        """
        candidates = self.entries(source)
        if not candidates:
            raise WindDataError(f"no {source} winds are in the cache ({self.root}); fetch some first with "
                                f"'stratotrack fetch {source} ...'")
        if times is None:
            return candidates[0]
        t = np.asarray(times, dtype=float).ravel()
        t0, t1 = float(t.min()), float(t.max())
        covering = [e for e in candidates if e.start <= t0 and e.end >= t1]
        if not covering:
            have = "; ".join(f"{e.id} covers {_iso(e.start)} to {_iso(e.end)}" for e in candidates[:4])
            when = _iso(t0) if t0 == t1 else f"{_iso(t0)} to {_iso(t1)}"
            raise WindDataError(f"no cached {source} winds cover {when} ({have}); fetch a cycle that does with "
                                f"'stratotrack fetch {source} ...'")
        return max(covering, key=lambda e: ((e.cycle if e.cycle is not None else -1e300), e.created))

    # -- writing ---------------------------------------------------------------------------------------------
    def store(self, field, *, entry_id: str, source: str, model=None, product=None, member=None, cycle=None,
              levels=(), region=None, resolution=None, downloaded=None, origin=None, write_extra=None) -> Entry:
        """Store a prepared :class:`~stratotrack.wind.WindField` as entry ``entry_id`` (replacing any such entry).

        ``write_extra(folder)`` may add files (such as ``air_temperature.nc``) to the entry before it appears.
        """
        self._mkdirs()
        token = secrets.token_hex(4)
        folder = f"{entry_id}-{token}"
        tmp = self.root / "tmp" / f"{folder}.{os.getpid()}"
        tmp.mkdir(parents=True)
        try:
            data = np.ascontiguousarray(field.data, dtype=np.float32)
            digest = hashlib.sha256(memoryview(data).cast("B")).hexdigest()
            with open(tmp / "field.npy", "wb") as fh:
                np.lib.format.write_array(fh, data, allow_pickle=False)
                fh.flush()
                os.fsync(fh.fileno())
            nbytes = (tmp / "field.npy").stat().st_size
            knots = np.asarray(field.knots, dtype=float)
            start, end = (float(knots[0]), float(knots[-1])) if field.time_mode == "series" else (-1e300, 1e300)
            cyc = None if cycle is None else _epoch(cycle)
            row = (entry_id, source, model, product, None if member is None else str(member), cyc, start, end,
                   json.dumps([float(x) for x in levels]), region, resolution, json.dumps(list(data.shape)), folder,
                   int(nbytes), digest, downloaded, _time.time(), origin)
            meta = {"format": 1, "id": entry_id, **field.metadata(), "shape": list(data.shape), "dtype": "float32",
                    "sha256": digest,
                    # the index row travels with the entry, so that a damaged index can be rebuilt from the entries
                    "index": {c.strip().strip('"'): v for c, v in zip(self._COLS.split(","), row)}}
            with open(tmp / "meta.json", "w") as fh:
                json.dump(meta, fh)
                fh.flush()
                os.fsync(fh.fileno())
            if write_extra is not None:
                write_extra(tmp)
            final = self.root / "entries" / folder
            os.rename(tmp, final)  # atomic: the folder appears whole or not at all
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        old = None
        try:
            with self._db(write=True) as con:
                prev = con.execute("SELECT path FROM entries WHERE id = ?", (entry_id,)).fetchone()
                old = None if prev is None else prev[0]
                con.execute(f"INSERT OR REPLACE INTO entries ({self._COLS}) VALUES "
                            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
        if old and old != folder:
            shutil.rmtree(self.root / "entries" / old, ignore_errors=True)
        return self.get(entry_id)

    def remove(self, entries) -> list[Entry]:
        """Remove entries (index rows first, then their folders)."""
        entries = list(entries)
        if not entries:
            return []
        with self._db(write=True) as con:
            con.executemany("DELETE FROM entries WHERE id = ? AND path = ?",
                            [(e.id, e.path.name) for e in entries])
        for e in entries:
            shutil.rmtree(e.path, ignore_errors=True)
        return entries

    def clear(self, older_than=None, source=None) -> list[Entry]:
        """Remove all entries (of ``source``; stored more than ``older_than`` seconds ago), stale temporary
        folders, and partial downloads older than a day."""
        now = _time.time()
        chosen = [e for e in self.entries(source)
                  if older_than is None or now - e.created > float(older_than)]
        removed = self.remove(chosen)
        # folders no index row points at (a process that died between rename and commit) and old temp folders
        keep = {e.path.name for e in self.entries()}
        for sub, age in (("entries", 3600.0), ("tmp", 3600.0), ("downloads", 86400.0 if older_than is None else 0)):
            base = self.root / sub
            if not base.is_dir():
                continue
            for p in base.iterdir():
                if sub == "entries" and p.name in keep:
                    continue
                with contextlib.suppress(OSError):
                    if sub == "downloads" and source is None and older_than is None:
                        shutil.rmtree(p) if p.is_dir() else p.unlink()
                    elif now - p.stat().st_mtime > age:
                        shutil.rmtree(p) if p.is_dir() else p.unlink()
        return removed

    # -- opening ---------------------------------------------------------------------------------------------
    def open(self, entry: Entry | str):
        """The entry as a :class:`~stratotrack.wind.WindField` whose array is memory-mapped (read-only).

        Every open checks the files' presence and sizes; the first open after the entry was written (or after its
        field changed on disk) also checks the field's SHA-256 against the index and records that it did, so the
        cost of a checksum is paid once.  A damaged entry raises :class:`DamagedEntryError` naming it.
        """
        from .field import WindField

        if isinstance(entry, str):
            found = self.get(entry)
            if found is None:
                raise WindDataError(f"cache entry {entry!r} does not exist in {self.root}; "
                                    "see 'stratotrack cache list'")
            entry = found
        problem = self.check(entry, full=False)
        if problem:
            raise DamagedEntryError(f"cache entry {entry.id!r} is damaged ({problem}); run 'stratotrack cache "
                                    f"verify' (or 'stratotrack cache clear {entry.id}') and fetch it again")
        meta = json.loads((entry.path / "meta.json").read_text())
        data = np.asarray(np.load(entry.path / "field.npy", mmap_mode="r", allow_pickle=False))
        return WindField.from_metadata(data, meta, source=f"cache entry {entry.id}",
                                       attrs=dict(meta.get("attrs", {}), cache_entry=entry.id))

    def check(self, entry: Entry, full: bool = False) -> str | None:
        """What is wrong with an entry's files (None: nothing).  Sizes always; the checksum when ``full`` or when
        no verification of the current file is recorded."""
        npy = entry.path / "field.npy"
        try:
            st = npy.stat()
            meta = json.loads((entry.path / "meta.json").read_text())
        except FileNotFoundError as exc:
            return f"{Path(exc.filename).name if exc.filename else 'a file'} is missing"
        except (OSError, ValueError) as exc:
            return f"meta.json cannot be read: {type(exc).__name__}"
        if st.st_size != entry.nbytes:
            return f"field.npy has {st.st_size} bytes, the index says {entry.nbytes}"
        try:
            data = np.load(npy, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            return f"field.npy is not a readable array ({' '.join(str(exc).split())[:80]})"
        if list(data.shape) != meta.get("shape"):
            return f"its array has shape {list(data.shape)}, expected {meta.get('shape')}"
        stamp = {"sha256": entry.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
        record = entry.path / VERIFIED
        if not full:
            try:
                if json.loads(record.read_text()) == stamp:
                    return None
            except (OSError, ValueError):
                pass
        digest = hashlib.sha256()
        flat = np.ascontiguousarray(data).reshape(-1)
        step = 1 << 24
        for k in range(0, flat.size, step):
            digest.update(memoryview(np.ascontiguousarray(flat[k:k + step])).cast("B"))
        if digest.hexdigest() != entry.sha256:
            with contextlib.suppress(OSError):
                record.unlink()
            return "its field's checksum does not match the one taken when it was stored"
        with contextlib.suppress(OSError):  # a read-only cache is checked again next time
            tmp = record.with_name(record.name + f".{os.getpid()}")
            tmp.write_text(json.dumps(stamp))
            os.replace(tmp, record)
        return None

    def verify(self, entry: Entry) -> bool:
        """Whether the entry's bytes still match the checksum taken when it was stored (reads the whole file)."""
        return self.check(entry, full=True) is None

    def repair(self, entries=None, remove=True) -> list[tuple[Entry, str | None]]:
        """Check every entry in full (or ``entries``); remove the damaged ones (``remove``) and folders that no
        index row points at.  Returns (entry, problem or None) per entry checked."""
        chosen = self.entries() if entries is None else list(entries)
        out = [(e, self.check(e, full=True)) for e in chosen]
        if remove:
            bad = [e for e, problem in out if problem]
            if bad:
                with self._db(write=True) as con:
                    con.executemany("DELETE FROM entries WHERE id = ? AND path = ?", [(e.id, e.path.name) for e in bad])
                for e in bad:
                    shutil.rmtree(e.path, ignore_errors=True)
            if entries is None:
                keep = {e.path.name for e in self.entries()}
                base = self.root / "entries"
                for folder in base.iterdir() if base.is_dir() else []:
                    # a folder no row points at: left by a process that died between rename and commit (a
                    # fetch storing right now gets a minute)
                    with contextlib.suppress(OSError):
                        if folder.name not in keep and _time.time() - folder.stat().st_mtime > 60:
                            shutil.rmtree(folder, ignore_errors=True)
        return out


CACHED_SOURCES = ("gfs", "gefs", "ecmwf", "era5", "ncep")


def open_cached(name: str, time=None, root=None):
    """The WindField that ``open_wind(name)`` means for a cache name (``"gfs"``, ``"era5"``...: the entry covering
    ``time``, newest cycle first) or a cache entry id; None when ``name`` is neither."""
    text = str(name).strip()
    cache = Cache(root)
    if text.lower() in CACHED_SOURCES:
        times = None
        if time is not None:
            from ..timeutil import to_epoch_seconds

            times = np.asarray(time, dtype=float) if np.issubdtype(np.asarray(time).dtype, np.number) \
                else to_epoch_seconds(time)
        return cache.open(cache.find(text.lower(), times))
    if "-" in text and "/" not in text and os.sep not in text and cache._have_index():
        entry = cache.get(text)
        if entry is not None:
            return cache.open(entry)
    return None


def _epoch(value) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.timestamp()
    return float((np.datetime64(value, "ns") - np.datetime64(0, "ns")).astype(np.int64) / 1e9)


def parse_age(text) -> float:
    """``30d``, ``12h``, ``90m``, ``3600`` (seconds) -> seconds."""
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", str(text).lower())
    if not m:
        raise InputError(f"age {str(text)!r} is not understood; expected e.g. 30d, 12h or 3600 (seconds)")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]
