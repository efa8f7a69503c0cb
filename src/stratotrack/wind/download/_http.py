"""Resumable byte-range downloads with size and GRIB-structure checks, and a progress bar on stderr.

A download is a list of byte ranges of one remote file, written one after another into ``<dest>.part``.  When the
connection drops, the next attempt asks only for the bytes still missing (``Range: bytes=<offset>-<end>``), in
this process (a few retries) or in the next ``fetch`` (the ``.part`` file stays in the cache's ``downloads/``
folder).  The file is renamed to ``dest`` only when it has exactly the expected number of bytes and, for GRIB, when
every message starts with ``GRIB``, has the length its header says and ends with ``7777``; a short or corrupt
download is deleted and reported, never used.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import DownloadError, WindDataError

CHUNK = 1 << 18
RETRIES = 4
#: seconds to wait for a connection, and for the next bytes of an answer ($STRATOTRACK_TIMEOUT overrides the read
#: timeout: a server that accepts a connection and never answers is given up after this long)
CONNECT_TIMEOUT = 15.0
READ_TIMEOUT = 60.0
TIMEOUT_ENV = "STRATOTRACK_TIMEOUT"
#: backoff after a failed attempt: BACKOFF * 2**(attempt-1) seconds, at most BACKOFF_MAX (a Retry-After header of
#: a 429/503 answer is honoured up to BACKOFF_MAX)
BACKOFF = 1.0
BACKOFF_MAX = 30.0
#: HTTP statuses that mean "later", not "never"
RETRY_STATUS = (408, 425, 429, 500, 502, 503, 504)


def timeouts() -> tuple[float, float]:
    """(connect, read) timeouts in seconds."""
    env = os.environ.get(TIMEOUT_ENV)
    if env:
        try:
            t = float(env)
        except ValueError:
            from ...errors import InputError

            raise InputError(f"${TIMEOUT_ENV} {env!r} is not a number; expected seconds, e.g. 30") from None
        if t > 0:
            return min(CONNECT_TIMEOUT, t), t
    return CONNECT_TIMEOUT, READ_TIMEOUT


def backoff(attempt: int, retry_after=None) -> float:
    """Seconds to wait before attempt ``attempt + 1``."""
    wait = BACKOFF * 2 ** max(attempt - 1, 0)
    if retry_after:
        try:
            wait = max(wait, float(retry_after))
        except ValueError:
            pass
    return min(wait, BACKOFF_MAX)


@contextlib.contextmanager
def default_timeouts():
    """Give every HTTP request made through ``requests`` inside the block (herbie's, cdsapi's) the connect and
    read timeouts when it sets none, so that a silent server cannot hang a fetch."""
    import requests

    original = requests.sessions.Session.request
    limit = timeouts()

    def request(self, method, url, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = limit
        return original(self, method, url, **kwargs)

    requests.sessions.Session.request = request
    try:
        yield limit
    finally:
        requests.sessions.Session.request = original


def network_error(url, exc) -> DownloadError:
    """A one-line DownloadError for a requests/urllib3 exception on ``url``."""
    import requests

    _, read = timeouts()
    name = type(exc).__name__
    if isinstance(exc, (requests.Timeout,)) or "timed out" in str(exc).lower() or "Timeout" in name:
        return DownloadError(f"{url} did not answer within {read:g} s ({name}); check the network or the mirror "
                             f"address (or raise ${TIMEOUT_ENV}), then run the same fetch again: it resumes")
    return DownloadError(f"cannot reach {url} ({name}); check the network connection or the mirror address, then "
                         "run the same fetch again: it resumes")


def probe(url: str) -> None:
    """Raise a DownloadError at once when ``url``'s server cannot be reached or does not answer in time (for
    clients whose own transfers have no timeout: OPeNDAP through netCDF-C)."""
    import requests

    try:
        with requests.get(url, timeout=timeouts(), stream=True, headers={"User-Agent": "stratotrack"}) as r:
            r.raw.read(1, decode_content=False)
    except requests.RequestException as exc:
        raise network_error(url, exc) from None
    except Exception:  # noqa: BLE001 - an answer of any kind means the server is alive
        return


@dataclass
class Stats:
    """Bytes received from the network (across retries) and how many times a transfer was resumed."""

    bytes: int = 0
    requests: int = 0
    resumed: int = 0
    files: int = 0
    urls: list = field(default_factory=list)


class Progress:
    """Progress of a download on stderr: a Rich bar with size, rate and time left on a terminal; where stderr is
    piped or captured, a plain line with the same figures every :attr:`PLAIN_EVERY` seconds."""

    PLAIN_EVERY = 5.0

    def __init__(self, enabled=True):
        self.enabled = enabled
        self._progress = None
        self._task = None
        self._plain = False
        self._desc, self._total, self._done, self._t0, self._last = "", 0, 0, 0.0, 0.0

    def __enter__(self):
        if self.enabled:
            from rich.console import Console
            from rich.progress import (BarColumn, DownloadColumn, Progress as RichProgress, TextColumn,
                                       TimeRemainingColumn, TransferSpeedColumn)

            console = Console(stderr=True)
            if console.is_terminal:
                self._progress = RichProgress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                              TransferSpeedColumn(), TimeRemainingColumn(), console=console,
                                              transient=False)
                self._progress.start()
            else:
                self._plain = True
                self._t0 = self._last = time.monotonic()
        return self

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.stop()

    def _line(self, force=False):
        now = time.monotonic()
        if not self._plain or (not force and now - self._last < self.PLAIN_EVERY):
            return
        self._last = now
        rate = self._done / max(now - self._t0, 1e-9)
        size = f"{self._done / 1e6:,.1f}" + (f" of {self._total / 1e6:,.1f}" if self._total else "") + " MB"
        left = f", about {(self._total - self._done) / rate:,.0f} s left" if self._total and rate > 0 else ""
        import sys

        print(f"stratotrack: {self._desc}: {size}, {rate / 1e6:,.2f} MB/s{left}", file=sys.stderr, flush=True)

    def start(self, description, total):
        self._desc, self._total = description, total or 0
        if self._progress is not None:
            self._task = self._progress.add_task(description, total=total)

    def describe(self, description):
        self._desc = description
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=description)

    def add_total(self, nbytes):
        self._total += nbytes
        if self._progress is not None and self._task is not None:
            task = self._progress.tasks[-1]
            self._progress.update(self._task, total=(task.total or 0) + nbytes)

    def advance(self, nbytes):
        self._done += nbytes
        self._line()
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, nbytes)

    def log(self, text):
        if self._progress is not None:
            self._progress.console.print(text)
        elif self._plain:
            import sys

            print(f"stratotrack: {text}", file=sys.stderr, flush=True)


def session():
    import requests

    s = requests.Session()
    s.headers["User-Agent"] = "stratotrack"
    return s


def remote_size(sess, url) -> int:
    """Size of a remote file from a HEAD request (``Content-Length``)."""
    import requests

    attempt = 0
    while True:
        attempt += 1
        try:
            r = sess.head(url, timeout=timeouts(), allow_redirects=True)
        except requests.RequestException as exc:
            if attempt > RETRIES or isinstance(exc, requests.Timeout):
                raise network_error(url, exc) from None
            time.sleep(backoff(attempt))
            continue
        if r.status_code in RETRY_STATUS and attempt <= RETRIES:
            time.sleep(backoff(attempt, r.headers.get("Retry-After")))
            continue
        break
    if r.status_code in RETRY_STATUS:
        raise DownloadError(f"{url} answered HTTP {r.status_code} {attempt} times; the server is busy or down, try "
                            "again later")
    if not r.ok or "Content-Length" not in r.headers:
        raise WindDataError(f"cannot get the size of {url} (HTTP {r.status_code})")
    return int(r.headers["Content-Length"])


def download_ranges(sess, url, ranges, dest: Path, *, stats: Stats, progress: Progress | None = None,
                    grib_messages: int | None = None, retries: int = RETRIES) -> Path:
    """Download byte ranges ``[(start, end_inclusive), ...]`` of ``url`` into ``dest`` (resuming ``dest.part``).

    ``grib_messages``: the number of GRIB messages the result must hold (checked, with each message's length).
    """
    import requests
    import urllib3

    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    plan = dest.with_name(dest.name + ".plan")
    lengths = [int(b) - int(a) + 1 for a, b in ranges]
    if any(n <= 0 for n in lengths):
        raise WindDataError(f"the inventory of {url} gives an empty or negative byte range; it is corrupt")
    total = sum(lengths)
    # a .part file belongs to one plan (url + ranges); another plan starts afresh
    signature = hashlib.sha256(json.dumps([url, [list(map(int, r)) for r in ranges]]).encode()).hexdigest()
    if part.exists() and (not plan.exists() or plan.read_text() != signature):
        part.unlink()
    plan.write_text(signature)
    have = part.stat().st_size if part.exists() else 0
    if have > total:
        part.unlink()
        have = 0
    if progress is not None:
        progress.advance(have)
    failures = 0
    while have < total:
        # which range, and where inside it, the next missing byte is
        offset, index = have, 0
        while offset >= lengths[index]:
            offset -= lengths[index]
            index += 1
        start, end = int(ranges[index][0]) + offset, int(ranges[index][1])
        want = end - start + 1
        stats.requests += 1
        if have:
            stats.resumed += 1
        got = 0
        status = None
        try:
            with sess.get(url, headers={"Range": f"bytes={start}-{end}"}, stream=True, timeout=timeouts()) as r:
                status = r.status_code
                if r.status_code in RETRY_STATUS:  # later, not never: back off and try again, keeping the .part
                    failures += 1
                    if failures > retries:
                        raise DownloadError(f"{url} answered HTTP {r.status_code} {failures} times; {have} of "
                                            f"{total} bytes are kept in {part} and the next fetch resumes from "
                                            "there")
                    wait = backoff(failures, r.headers.get("Retry-After"))
                    if progress is not None:
                        progress.log(f"{url} answered HTTP {r.status_code}; trying again in {wait:g} s")
                    time.sleep(wait)
                    continue
                if r.status_code == 416:
                    raise WindDataError(f"{url} is shorter than its inventory says (bytes {start}-{end} are not "
                                        "there): the remote file is truncated; nothing was cached")
                if r.status_code == 200:
                    raise WindDataError(f"{url} ignored the byte-range request (HTTP 200 instead of 206); "
                                        "refusing to download the whole file")
                if r.status_code != 206:
                    raise WindDataError(f"{url} answered HTTP {r.status_code} to a byte-range request")
                cr = r.headers.get("Content-Range", "")
                if not cr.startswith(f"bytes {start}-"):
                    raise WindDataError(f"{url} answered bytes {cr!r} to a request for bytes {start}-{end}")
                served_end = int(cr.split(" ", 1)[1].split("/")[0].split("-")[1])
                if served_end < end:
                    raise WindDataError(f"{url} is shorter than its inventory says (asked for bytes up to {end}, "
                                        f"the file ends at {served_end}): the remote file is truncated; nothing "
                                        "was cached")
                raw = r.raw
                # read1 hands over whatever arrived, so the bytes before a dropped connection are kept
                read = raw.read1 if hasattr(raw, "read1") else raw.read
                with open(part, "ab") as fh:
                    while got < want:
                        chunk = read(min(CHUNK, want - got))
                        if not chunk:
                            break
                        fh.write(chunk)
                        got += len(chunk)
                        stats.bytes += len(chunk)
                        if progress is not None:
                            progress.advance(len(chunk))
                        if got >= want:
                            break
        except DownloadError:
            raise  # the .part file is kept: the next fetch resumes
        except WindDataError:
            part.unlink(missing_ok=True)
            raise
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            if isinstance(exc, OSError) and not isinstance(exc, (requests.RequestException, ConnectionError,
                                                                  TimeoutError)) and exc.filename is not None:
                raise  # a local file problem (the disk), not the connection
            failures += 1
            have = part.stat().st_size if part.exists() else 0
            if progress is not None:
                progress.log(f"connection to {url} dropped ({type(exc).__name__}); resuming at byte {have}")
            if failures > retries:
                raise DownloadError(f"download of {url} failed {failures} times ({type(exc).__name__}); "
                                    f"{have} of {total} bytes are kept in {part} and the next fetch resumes "
                                    "from there") from None
            time.sleep(backoff(failures))
            continue
        if status in RETRY_STATUS:
            continue
        have = part.stat().st_size
        if got < want:  # the server ended the response early without an error
            failures += 1
            if failures > retries:
                raise DownloadError(f"download of {url} keeps ending early; {have} of {total} bytes are kept in "
                                    f"{part} and the next fetch resumes from there")
            time.sleep(backoff(failures))
    size = part.stat().st_size
    if size != total:
        part.unlink(missing_ok=True)
        raise WindDataError(f"download of {url} has {size} bytes, expected {total}; it was discarded")
    if grib_messages is not None:
        try:
            check_grib(part, grib_messages)
        except WindDataError as exc:
            part.unlink(missing_ok=True)
            plan.unlink(missing_ok=True)
            raise WindDataError(f"download of {url} is corrupt and was discarded: {exc}") from None
    os.replace(part, dest)
    plan.unlink(missing_ok=True)
    stats.files += 1
    stats.urls.append(url)
    return dest


def download_file(sess, url, dest: Path, *, stats: Stats, progress: Progress | None = None,
                  grib_messages: int | None = None) -> Path:
    """Download a whole file (resumable, size checked against ``Content-Length``)."""
    size = remote_size(sess, url)
    if progress is not None:
        progress.add_total(size)
    return download_ranges(sess, url, [(0, size - 1)], dest, stats=stats, progress=progress,
                           grib_messages=grib_messages)


def grib_messages(path: Path):
    """(offset, length, edition) of each message of a GRIB file, checking the structure as it goes."""
    out = []
    size = Path(path).stat().st_size
    with open(path, "rb") as fh:
        offset = 0
        while offset < size:
            fh.seek(offset)
            head = fh.read(16)
            if len(head) < 8 or head[:4] != b"GRIB":
                raise WindDataError(f"no GRIB message starts at byte {offset} of {Path(path).name}")
            edition = head[7]
            if edition == 2:
                length = struct.unpack(">Q", head[8:16])[0]
            elif edition == 1:
                length = int.from_bytes(head[4:7], "big")
            else:
                raise WindDataError(f"GRIB edition {edition} at byte {offset} of {Path(path).name}")
            if length < 16 or offset + length > size:
                raise WindDataError(f"the GRIB message at byte {offset} of {Path(path).name} says it has "
                                    f"{length} bytes but the file ends after {size - offset}: it is truncated")
            fh.seek(offset + length - 4)
            if fh.read(4) != b"7777":
                raise WindDataError(f"the GRIB message at byte {offset} of {Path(path).name} does not end with "
                                    "'7777': it is corrupt")
            out.append((offset, length, edition))
            offset += length
    return out


def check_grib(path: Path, expected: int | None = None) -> int:
    """Check a GRIB file's structure (and message count); returns the number of messages."""
    found = grib_messages(path)
    if expected is not None and len(found) != expected:
        raise WindDataError(f"{Path(path).name} holds {len(found)} GRIB messages, expected {expected}")
    return len(found)


@contextlib.contextmanager
def quiet_stdout():
    """Keep libraries that print (herbie) off stdout, which belongs to the command's output."""
    import io
    import sys

    saved = sys.stdout
    sys.stdout = io.StringIO()
    try:
        yield
    finally:
        sys.stdout = saved
