"""Running batches of particles on a Dask cluster (``dask.distributed``), the same way as locally.

The ensemble driver (and launch windows, and assess on ensembles) cut a run into batches, each with its own seed;
:func:`run_batches` runs them one after another in this process, or as tasks on a cluster when given a
``distributed.Client``.  Results come back in batch order, so a distributed run reduces exactly as a local one.

Heavy data move by memory map, not by message: :func:`wind_handle` turns a :class:`~stratotrack.wind.WindField`
into a few kilobytes (a file path and the field's metadata).  A field opened from the wind cache is already a
memory-mapped ``.npy`` file; any other field (the climatology, a GRIB or NetCDF file prepared in memory) is written
once as a prepared copy ``<cache>/prepared/shared-<sha256>.npy`` (keyed by its bytes and metadata, written under a
temporary name and renamed).  Each worker process maps the file once (:func:`open_handle`) and keeps the field
for later tasks.  Workers must see the same path: the same machine, or a shared file system mounted at the same
place (``STRATOTRACK_CACHE_DIR`` sets the cache folder).

Threads: each task limits numba's threads to its worker's share of the host's cores (cores / Dask threads on that
host, at least 1), so that worker processes x threads do not oversubscribe the machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import weakref
from pathlib import Path

import numpy as np

from ..errors import InputError

__all__ = ["connect", "wind_handle", "open_handle", "run_batches"]

#: seconds to wait for a scheduler that does not answer
CONNECT_TIMEOUT = 5.0


def _require_distributed():
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise InputError("running on a Dask cluster needs dask.distributed; install it with "
                         "pip install 'stratotrack[dask]'") from None
    return distributed


def connect(address):
    """A ``distributed.Client`` of the scheduler at ``address`` (e.g. ``tcp://10.0.0.5:8786``).

    A scheduler that does not answer within :data:`CONNECT_TIMEOUT` s raises :class:`InputError` (one line)."""
    distributed = _require_distributed()
    text = str(address).strip()
    if not text:
        raise InputError("the Dask scheduler address is empty; expected e.g. tcp://127.0.0.1:8786")
    _probe(text)
    # in a thread of its own with a deadline: something that accepts the connection but is no scheduler can make
    # Dask wait (or fail oddly, and a failed Client's clean-up waits again); none of that may hold up the caller
    box = {}

    def attempt():
        try:
            box["client"] = distributed.Client(text, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except BaseException as exc:  # noqa: BLE001  (reported below as one line, whatever it was)
            text_ = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            box["error"] = text_ if isinstance(exc, (OSError, TimeoutError)) else \
                f"something listens there but does not speak as a Dask scheduler: {text_}"

    th = threading.Thread(target=attempt, name="stratotrack-dask-connect", daemon=True)
    th.start()
    th.join(CONNECT_TIMEOUT + 2.0)
    if "client" in box:
        return box["client"]
    reason = box.get("error", f"no answer within {CONNECT_TIMEOUT + 2.0:g} s")
    raise InputError(f"Dask scheduler {text!r} does not answer ({reason[:160]}); expected the address of a "
                     "running scheduler, e.g. tcp://127.0.0.1:8786")


def _probe(address):
    """Fail at once where nothing listens at a tcp/tls address (a refused connection), rather than after Dask's
    connection retries; other schemes are left to Dask."""
    import socket

    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    try:
        scheme, loc = parse_address(address)
        if scheme not in ("tcp", "tls"):
            return
        host, port = parse_host_port(loc)
    except (ValueError, TypeError) as exc:
        raise InputError(f"Dask scheduler address {address!r} is not understood ({exc}); expected e.g. "
                         "tcp://127.0.0.1:8786") from None
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        raise InputError(f"Dask scheduler {address!r} does not answer ({exc.strerror or exc}); expected the "
                         "address of a running scheduler, e.g. tcp://127.0.0.1:8786") from None


def check_client(client):
    """``client`` must be a ``distributed.Client`` (or None)."""
    if client is None:
        return None
    distributed = _require_distributed()
    if isinstance(client, str):
        return connect(client)
    if not isinstance(client, distributed.Client):
        raise InputError(f"client {client!r} is not a dask.distributed Client; expected a Client, a scheduler "
                         "address or None")
    return client


# -- wind by memory map -------------------------------------------------------------------------------------------
def _memmap_of(arr):
    """The np.memmap that ``arr`` views whole (same start, shape and C order), or None."""
    base = arr
    while base is not None:
        if isinstance(base, np.memmap) and getattr(base, "filename", None):
            same = (base.__array_interface__["data"][0] == arr.__array_interface__["data"][0]
                    and base.shape == arr.shape and base.dtype == arr.dtype and arr.flags.c_contiguous)
            return base if same else None
        base = base.base
    return None


def _prepared_dir() -> Path:
    from ..cachedir import cache_dir

    return cache_dir() / "prepared"


def wind_handle(field) -> dict:
    """A small picklable description of ``field`` that a worker opens by memory map (see the module text)."""
    meta = field.metadata()
    data = field.data
    mm = _memmap_of(data)
    if mm is not None:
        return {"path": str(Path(mm.filename).resolve()), "offset": int(mm.offset), "dtype": str(data.dtype),
                "shape": list(data.shape), "meta": meta}
    known = _HANDLES.get(field)
    if known is not None and Path(known["path"]).is_file():
        return known  # this field object was written before (its data are read-only)
    arr = np.ascontiguousarray(data)
    h = hashlib.sha256()
    h.update(json.dumps(meta, sort_keys=True).encode())
    h.update(str((arr.dtype.str, arr.shape)).encode())
    h.update(memoryview(arr).cast("B"))
    folder = _prepared_dir()
    path = folder / f"shared-{h.hexdigest()[:24]}.npy"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=path.stem, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.lib.format.write_array(fh, arr, allow_pickle=False)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    mm = np.load(path, mmap_mode="r", allow_pickle=False)
    handle = {"path": str(path.resolve()), "offset": int(mm.offset), "dtype": str(mm.dtype), "shape": list(mm.shape),
              "meta": meta}
    _HANDLES[field] = handle
    return handle


#: field object -> its prepared copy's handle (so a field is hashed and written once per process)
_HANDLES = weakref.WeakKeyDictionary()


#: fields this process opened from handles, most recent last (a few kept: each is a memory map, not a copy)
_OPEN = {}
_OPEN_KEEP = 8
_OPEN_LOCK = threading.Lock()


def open_handle(handle):
    """The WindField of a :func:`wind_handle` (memory-mapped; opened once per process)."""
    from ..errors import WindDataError
    from ..wind.field import WindField

    key = (handle["path"], handle["offset"], tuple(handle["shape"]),
           hashlib.sha256(json.dumps(handle["meta"], sort_keys=True).encode()).hexdigest())
    with _OPEN_LOCK:
        field = _OPEN.get(key)
        if field is None:
            try:
                mm = np.memmap(handle["path"], dtype=np.dtype(handle["dtype"]), mode="r", offset=handle["offset"],
                               shape=tuple(handle["shape"]))
            except OSError as exc:
                raise WindDataError(f"this worker cannot open the prepared wind {handle['path']!r} ({exc}); workers "
                                    "need the same file system as the client (or STRATOTRACK_CACHE_DIR on a "
                                    "shared one)") from None
            field = WindField.from_metadata(np.asarray(mm), handle["meta"])
            while len(_OPEN) >= _OPEN_KEEP:
                _OPEN.pop(next(iter(_OPEN)))
        else:
            _OPEN.pop(key)
        _OPEN[key] = field
    return field


# -- running batches ------------------------------------------------------------------------------------------------
def _threads_per_worker(client) -> dict:
    """Worker address -> numba threads for a task there: the host's cores / the Dask threads on that host."""
    info = client.scheduler_info().get("workers", {})
    cores = client.run(_cores)
    per_host = {}
    for addr, w in info.items():
        per_host[w.get("host")] = per_host.get(w.get("host"), 0) + int(w.get("nthreads", 1))
    return {addr: max(1, int(cores.get(addr, 1)) // max(1, per_host.get(w.get("host"), 1)))
            for addr, w in info.items()}


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _task(fn, spec, handles, threads):
    """Run one batch on a worker: numba threads limited, winds opened by memory map."""
    import numba

    try:
        from distributed import get_worker

        n = threads.get(get_worker().address, 1)
    except (ImportError, ValueError):
        n = 1
    numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))
    fields = [open_handle(h) for h in handles]
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel region has run in this process yet
        layer = None
    if layer in ("omp", "tbb"):  # both take parallel regions from several threads at once
        return fn(spec, fields)
    with _SERIAL:  # numba's workqueue layer does not: one task at a time per worker process
        return fn(spec, fields)


_SERIAL = threading.Lock()


def run_batches(fn, specs, fields, client=None):
    """``fn(spec, fields)`` for every spec, results yielded in spec order.

    Locally (``client`` None) one after another in this process; on a cluster each spec is a task, the fields
    reach the workers as memory-map handles, and results are yielded in order as they arrive (later ones wait)."""
    if client is None:
        for spec in specs:
            yield fn(spec, fields)
        return
    from distributed import as_completed

    handles = [wind_handle(f) for f in fields]
    threads = _threads_per_worker(client)
    futures = [client.submit(_task, fn, spec, handles, threads, pure=False) for spec in specs]
    index = {f.key: k for k, f in enumerate(futures)}
    done = {}
    nxt = 0
    try:
        for fut in as_completed(futures):
            done[index[fut.key]] = fut.result()
            fut.release()
            while nxt in done:
                yield done.pop(nxt)
                nxt += 1
    finally:
        for f in futures:
            f.cancel()
