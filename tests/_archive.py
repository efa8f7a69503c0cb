"""A local archive for download tests and benchmarks: GRIB2 files + wgrib2-style .idx inventories laid out like
the public GFS cloud archive, served over real HTTP (with Range requests) on 127.0.0.1.

Nothing here is a stand-in for stratotrack code: the server is a plain HTTP file server (what the archives are),
and the files are real GRIB2 written with eccodes.
"""

from __future__ import annotations

import datetime as _dt
import http.server
import re
import threading
from pathlib import Path

WGRIB2 = {"u": "UGRD", "v": "VGRD", "gh": "HGT", "t": "TMP", "r": "RH", "w": "VVEL", "absv": "ABSV"}


def gfs_path(cycle: _dt.datetime, fxx: int, product="pgrb2.0p25") -> str:
    """The archive path of one GFS file (the layout herbie's gfs template gives for cycles since 2021-03-23)."""
    return f"gfs.{cycle:%Y%m%d}/{cycle:%H}/atmos/gfs.t{cycle:%H}z.{product}.f{fxx:03d}"


def _level(h) -> str:
    import eccodes

    tol = eccodes.codes_get(h, "typeOfLevel")
    if tol == "isobaricInhPa":
        return f"{eccodes.codes_get(h, 'level')} mb"
    if tol == "isobaricInPa":
        return f"{eccodes.codes_get(h, 'level') / 100:g} mb"
    return f"{tol} {eccodes.codes_get(h, 'level')}"


def describe(handles):
    """(wgrib2 variable name, level text) of each message."""
    import eccodes

    out = []
    for h in handles:
        short = eccodes.codes_get(h, "shortName")
        out.append((WGRIB2.get(short, short.upper()), _level(h)))
    return out


def write_grib_with_idx(path: Path, messages, cycle: _dt.datetime, fxx: int, names=None):
    """Write GRIB2 ``messages`` (eccodes handles, re-timed to ``cycle`` + ``fxx``) and ``path.idx`` like
    ``wgrib2 -s``.  Returns [(var, level, offset, length)]."""
    import eccodes

    names = describe(messages) if names is None else names
    path.parent.mkdir(parents=True, exist_ok=True)
    lines, table, offset = [], [], 0
    with open(path, "wb") as out:
        for n, (h, (var, level)) in enumerate(zip(messages, names), 1):
            clone = eccodes.codes_clone(h)
            try:
                eccodes.codes_set(clone, "dataDate", int(f"{cycle:%Y%m%d}"))
                eccodes.codes_set(clone, "dataTime", cycle.hour * 100)
                try:
                    eccodes.codes_set(clone, "forecastTime", fxx)
                except eccodes.CodesInternalError:
                    pass
                data = eccodes.codes_get_message(clone)
            finally:
                eccodes.codes_release(clone)
            out.write(data)
            fcst = "anl" if fxx == 0 else f"{fxx} hour fcst"
            lines.append(f"{n}:{offset}:d={cycle:%Y%m%d%H}:{var}:{level}:{fcst}:")
            table.append((var, level, offset, len(data)))
            offset += len(data)
    Path(str(path) + ".idx").write_text("\n".join(lines) + "\n")
    return table


def read_messages(grib: Path):
    import eccodes

    eccodes.codes_grib_multi_support_on()  # GFS files of 2011 pack u and v into one message: split them
    handles = []
    with open(grib, "rb") as fh:
        while True:
            h = eccodes.codes_grib_new_from_file(fh)
            if h is None:
                break
            handles.append(h)
    return handles


def build_gfs_archive(root: Path, source_grib: Path, cycle: _dt.datetime, hours, product="pgrb2.0p25"):
    """Lay out one GFS cycle from a real GFS GRIB2 file (every message, re-timed per forecast hour).

    Returns {fxx: [(var, level, offset, length), ...]}.
    """
    import eccodes

    handles = read_messages(source_grib)
    try:
        names = describe(handles)
        return {fxx: write_grib_with_idx(Path(root) / gfs_path(cycle, fxx, product), handles, cycle, fxx, names)
                for fxx in hours}
    finally:
        for h in handles:
            eccodes.codes_release(h)


def wanted_bytes(table, band=(150, 10), variables=("UGRD", "VGRD", "HGT", "TMP")) -> int:
    hi, lo = band
    total = 0
    for var, level, _off, length in table:
        m = re.fullmatch(r"(\d+(?:\.\d+)?) mb", level)
        if var in variables and m and lo <= float(m.group(1)) <= hi:
            total += length
    return total


class ArchiveServer:
    """``http.server`` serving a folder on 127.0.0.1 with HEAD and Range support, counting the body bytes it
    sends per path; ``drop_after[path] = n`` makes the next GET of ``path`` stop after ``n`` body bytes and close
    the connection (once)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.sent: dict[str, int] = {}
        self.log: list[tuple[str, str, str]] = []
        self.drop_after: dict[str, int] = {}
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms stalls between headers and body on keep-alive connections

            def log_message(self, *args):
                pass

            def _file(self):
                rel = self.path.split("?", 1)[0].lstrip("/")
                path = (server.root / rel).resolve()
                if server.root.resolve() not in path.parents or not path.is_file():
                    return rel, None
                return rel, path

            def do_HEAD(self):
                rel, path = self._file()
                with server.lock:
                    server.log.append(("HEAD", rel, ""))
                if path is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(path.stat().st_size))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()

            def do_GET(self):
                rel, path = self._file()
                rng = self.headers.get("Range", "")
                with server.lock:
                    server.log.append(("GET", rel, rng))
                if path is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                size = path.stat().st_size
                start, end, status = 0, size - 1, 200
                m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip())
                if m:
                    start = int(m.group(1))
                    end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                    if start >= size:
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{size}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                length = end - start + 1
                with server.lock:
                    drop = server.drop_after.pop(rel, None)
                self.send_response(status)
                self.send_header("Content-Length", str(length))
                self.send_header("Accept-Ranges", "bytes")
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
                if drop is not None:
                    self.send_header("Connection", "close")
                self.end_headers()
                todo = length if drop is None else min(drop, length)
                with open(path, "rb") as fh:
                    fh.seek(start)
                    while todo > 0:
                        chunk = fh.read(min(1 << 16, todo))
                        if not chunk:
                            break
                        self.wfile.write(chunk)
                        todo -= len(chunk)
                        with server.lock:
                            server.sent[rel] = server.sent.get(rel, 0) + len(chunk)
                if drop is not None:
                    self.wfile.flush()
                    self.close_connection = True

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def bytes_sent(self, suffix=None) -> int:
        with self.lock:
            return sum(n for p, n in self.sent.items() if suffix is None or p.endswith(suffix) or
                       (suffix == "grib" and not p.endswith(".idx")))

    def reset(self):
        with self.lock:
            self.sent.clear()
            self.log.clear()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
