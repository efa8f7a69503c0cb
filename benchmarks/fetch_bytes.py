"""Figures for downloads and the cache, against a local archive on 127.0.0.1 (no internet).

1. Bytes transferred and wall time to fetch what a 5-day stratospheric prediction over a continent needs (GFS
   0.25 deg, f000-f120 every 3 h = 41 files, u/v/gh/t on 150-10 hPa, region North America) with
   ``stratotrack.fetch``, against fetching the whole GFS files of those hours.  The archive is synthetic but
   shaped like GFS: each file lists 743 messages in its .idx (the count of a GFS 0.25 deg pgrb2 file); the 36
   wanted messages are real 0.25 deg GRIB2 (complex packing with spatial differencing, as GFS uses); the others
   are sparse filler of the wanted messages' mean size, so the whole-file size is an estimate calibrated on our
   own encoding.  Whole-file transfer time is measured on 2 files and scaled to 41.
2. Time from ``open_wind(<cache entry>)`` to the first sampled wind, cold (a fresh process) and warm (again in
   the same process), and peak memory (max RSS) while opening a global 0.25 deg cycle (41 times x 721 x 1440 x 9
   levels) from the cache.

Run:  python benchmarks/fetch_bytes.py [--workdir DIR]     (needs ~6 GB of disk and ~6 GB of memory)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

CYCLE = dt.datetime(2024, 6, 1, 0)
HOURS = list(range(0, 121, 3))
WANTED_LEVELS = [150, 100, 70, 50, 40, 30, 20, 15, 10]
ALL_LEVELS = [1000, 975, 950, 925, 900, 850, 800, 750, 700, 650, 600, 550, 500, 450, 400, 350, 300, 250, 200, 150,
              100, 70, 50, 40, 30, 20, 15, 10, 7, 5, 3, 2, 1]
MESSAGES_PER_FILE = 743
REGION = "-170,10,-50,75"  # North America


def _messages():
    """The 36 wanted messages, 0.25 deg global, real GRIB2 (complex packing), as (var, level, bytes)."""
    import eccodes

    lat = np.linspace(90, -90, 721)[:, None]
    lon = np.linspace(0, 359.75, 1440)[None, :]
    rng = np.random.default_rng(1)
    out = []
    sample = eccodes.codes_grib_new_from_samples("regular_ll_pl_grib2")
    for lev in WANTED_LEVELS:
        z = 16000 * np.log(1000 / lev) / np.log(10) * 0.95
        for var, short, scale in (("HGT", "gh", 0), ("TMP", "t", 1), ("UGRD", "u", 1), ("VGRD", "v", 1)):
            if short == "gh":
                vals = z + 300 * np.cos(np.deg2rad(lat)) ** 2 + 50 * np.sin(np.deg2rad(3 * lon)) * np.cos(np.deg2rad(lat))
            elif short == "t":
                vals = 210 + 15 * np.cos(np.deg2rad(lat)) + 2 * np.sin(np.deg2rad(2 * lon))
            elif short == "u":
                vals = 30 * np.cos(np.deg2rad(2 * lat)) * np.cos(np.deg2rad(lat)) + 5 * np.sin(np.deg2rad(4 * lon))
            else:
                vals = 8 * np.sin(np.deg2rad(4 * lon)) * np.cos(np.deg2rad(lat))
            vals = vals + rng.normal(0, 0.3, vals.shape)
            h = eccodes.codes_clone(sample)
            for key, value in (("Ni", 1440), ("Nj", 721), ("latitudeOfFirstGridPointInDegrees", 90.0),
                               ("longitudeOfFirstGridPointInDegrees", 0.0),
                               ("latitudeOfLastGridPointInDegrees", -90.0),
                               ("longitudeOfLastGridPointInDegrees", 359.75), ("iDirectionIncrementInDegrees", 0.25),
                               ("jDirectionIncrementInDegrees", 0.25), ("shortName", short),
                               ("typeOfLevel", "isobaricInhPa"), ("level", lev), ("dataDate", int(f"{CYCLE:%Y%m%d}")),
                               ("dataTime", 0), ("decimalScaleFactor", scale), ("bitsPerValue", 0)):
                eccodes.codes_set(h, key, value)
            eccodes.codes_set_values(h, vals.ravel().astype(float))
            eccodes.codes_set(h, "packingType", "grid_complex_spatial_differencing")
            out.append((var, f"{lev} mb", h))
    eccodes.codes_release(sample)
    return out


def build_archive(root: Path):
    """Sparse GFS-shaped files + .idx; returns (whole-file sizes, wanted bytes per file)."""
    import eccodes

    from _archive import gfs_path

    msgs = _messages()
    sizes, wanted = [], []
    for fxx in HOURS:
        encoded = []
        for var, level, h in msgs:
            c = eccodes.codes_clone(h)
            eccodes.codes_set(c, "forecastTime", fxx)
            encoded.append((var, level, eccodes.codes_get_message(c)))
            eccodes.codes_release(c)
        mean = int(np.mean([len(m) for _, _, m in encoded]))
        # layout: the wanted messages sit among 707 others, as in a real file (levels of HGT, TMP, ... in order)
        entries = []
        others = MESSAGES_PER_FILE - len(encoded)
        slot = others // (len(encoded) + 1)
        k = 0
        for i, (var, level, data) in enumerate(encoded):
            for _ in range(slot):
                entries.append((f"FILL{k}", "surface", None))
                k += 1
            entries.append((var, level, data))
        while k < others:
            entries.append((f"FILL{k}", "surface", None))
            k += 1
        path = root / gfs_path(CYCLE, fxx)
        path.parent.mkdir(parents=True, exist_ok=True)
        lines, offset, want = [], 0, 0
        with open(path, "wb") as fh:
            for n, (var, level, data) in enumerate(entries, 1):
                fcst = "anl" if fxx == 0 else f"{fxx} hour fcst"
                lines.append(f"{n}:{offset}:d={CYCLE:%Y%m%d%H}:{var}:{level}:{fcst}:")
                if data is None:
                    offset += mean  # a hole: no disk used
                else:
                    fh.seek(offset)
                    fh.write(data)
                    offset += len(data)
                    want += len(data)
            fh.truncate(offset)
        Path(str(path) + ".idx").write_text("\n".join(lines) + "\n")
        sizes.append(offset)
        wanted.append(want)
    for _, _, h in msgs:
        eccodes.codes_release(h)
    return sizes, wanted


def whole_file_time(url, n=2):
    import requests

    t0 = time.perf_counter()
    got = 0
    for fxx in HOURS[:n]:
        from _archive import gfs_path

        with requests.get(f"{url}/{gfs_path(CYCLE, fxx)}", stream=True) as r:
            for chunk in r.iter_content(1 << 20):
                got += len(chunk)
    return time.perf_counter() - t0, got


OPEN_SCRIPT = """
import sys, time, json
def hwm():
    with open("/proc/self/status") as fh:
        return {l.split(":")[0]: int(l.split()[1]) / 1024 for l in fh if l.startswith(("VmHWM", "VmRSS"))}
t0 = time.perf_counter()
import numpy as np
from stratotrack import open_wind
t_import = time.perf_counter() - t0
base = hwm()["VmHWM"]
t1 = time.perf_counter()
w = open_wind(sys.argv[1])
t_open = time.perf_counter() - t1
s = w.sample(np.datetime64("2024-06-03T01:30"), 45.0, -100.0, 20000.0)
float(s.eastward_wind)
t_first = time.perf_counter() - t1
mem = hwm()
t2 = time.perf_counter()
w2 = open_wind(sys.argv[1])
float(w2.sample(np.datetime64("2024-06-03T01:30"), 45.0, -100.0, 20000.0).eastward_wind)
t_warm = time.perf_counter() - t2
print(json.dumps(dict(import_s=t_import, open_s=t_open, first_sample_s=t_first, warm_s=t_warm,
                      hwm_before_mb=base, hwm_mb=mem["VmHWM"], shape=list(w.data.shape), gb=w.data.nbytes / 1e9)))
"""


def drop_page_cache() -> bool:
    """Drop the OS page cache (root only) so that 'cold' also means a cold disk."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as fh:
            fh.write("3\n")
        return True
    except OSError:
        return False


def global_entry(cache):
    """Store a global 0.25 deg, 41-time, 9-level prepared field (what fetch stores for --levels 150-10, global)."""
    from stratotrack.wind.field import WindField

    nt, ny, nx, nz = len(HOURS), 721, 1440, len(WANTED_LEVELS)
    data = np.empty((nt, ny, nx, nz, 3), dtype=np.float32)
    heights = np.array([13600, 16200, 18500, 20600, 22000, 23900, 26500, 28500, 31000], np.float32)
    data[..., 0] = heights
    data[..., 1] = 20.0
    data[..., 2] = 3.0
    knots = np.array([(np.datetime64(CYCLE, "s") - np.datetime64(0, "s")).astype(float) + 3600 * h for h in HOURS])
    field = WindField(data=data, lat=np.linspace(-90, 90, ny), lon=np.arange(nx) * 0.25, knots=knots,
                      knot_index=np.arange(nt), time_mode="series", vertical="pressure",
                      levels=np.array(WANTED_LEVELS, float) * 100, source="benchmark", kind="forecast")
    t0 = time.perf_counter()
    entry = cache.store(field, entry_id="gfs-global-bench", source="gfs", cycle=CYCLE, levels=WANTED_LEVELS,
                        region="-180,-90,180,90", resolution=0.25)
    return entry, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--open-only", action="store_true", help="Only part 2, on the entries of an earlier run's "
                                                               "--workdir.")
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="stratotrack-fetch-bench-"))
    os.environ["STRATOTRACK_CACHE_DIR"] = str(work / "cache")
    from _archive import ArchiveServer

    import stratotrack as st
    from stratotrack.wind.cache import Cache

    print(f"work folder {work}")
    if args.open_only:
        cache = Cache()
        open_figures(cache, next(e for e in cache.entries("gfs") if e.id != "gfs-global-bench"))
        return
    t0 = time.perf_counter()
    sizes, wanted = build_archive(work / "archive")
    print(f"built a GFS-shaped 0.25 deg archive: {len(HOURS)} files in {time.perf_counter() - t0:.0f} s")
    whole = sum(sizes)
    with ArchiveServer(work / "archive") as srv:
        t0 = time.perf_counter()
        entry = st.fetch("gfs", cycle=f"{CYCLE:%Y-%m-%dT%H}", hours="0-120", levels="150-10", region=REGION,
                         resolution=0.25, mirror=srv.url, progress=False)
        t_fetch = time.perf_counter() - t0
        sent = srv.bytes_sent("grib")
        idx = srv.bytes_sent(".idx")
        t_whole2, got2 = whole_file_time(srv.url)
    t_whole = t_whole2 * len(HOURS) / 2
    print("\n1. 5-day stratospheric prediction over North America (GFS 0.25 deg, f000-f120/3 h, 150-10 hPa)")
    print(f"   stratotrack fetch : {sent / 1e6:8.1f} MB of GRIB byte ranges (+{idx / 1e6:.1f} MB of .idx) in "
          f"{t_fetch:.1f} s wall on 127.0.0.1 (includes decoding, region cut, preparing and storing)")
    print(f"   requested messages: {sum(wanted) / 1e6:8.1f} MB  (server count matches: {sent == sum(wanted)})")
    print(f"   whole GFS files   : {whole / 1e6:8.1f} MB for the same {len(HOURS)} hours "
          f"({whole / sent:.0f}x more); transfer alone {t_whole:.1f} s on 127.0.0.1 "
          f"(measured {got2 / 1e6:.0f} MB in {t_whole2:.1f} s, scaled)")
    for mbit in (100, 1000):
        print(f"   at {mbit:4d} Mbit/s     : subset {sent * 8 / mbit / 1e6:6.1f} s, whole files "
              f"{whole * 8 / mbit / 1e6:7.1f} s; Tawhiri's ~6 GB per cycle {6e9 * 8 / mbit / 1e6:7.1f} s")
    print(f"   stored entry {entry.id}: {entry.nbytes / 1e6:.1f} MB, shape {entry.shape}")

    open_figures(Cache(), entry)


def open_figures(cache, entry):
    gentry = cache.get("gfs-global-bench")
    if gentry is None:
        gentry, t_store = global_entry(cache)
        stored = f"stored in {t_store:.1f} s"
    else:
        stored = "stored earlier"
    print(f"\n2. global 0.25 deg cycle in the cache: shape {gentry.shape}, {gentry.nbytes / 1e9:.2f} GB ({stored})")
    env = dict(os.environ)
    for label, eid in (("global", gentry.id), ("continent", entry.id)):
        for cold in (True, False):
            dropped = drop_page_cache() if cold else False
            res = subprocess.run([sys.executable, "-c", OPEN_SCRIPT, eid], capture_output=True, text=True, env=env)
            if res.returncode:
                print(res.stderr[-2000:])
                continue
            r = json.loads(res.stdout.strip().splitlines()[-1])
            state = "page cache dropped" if dropped else "files in page cache"
            print(f"   {label:9s} ({state:19s}): imports {r['import_s']:.2f} s; open_wind {r['open_s'] * 1e3:6.1f} ms; "
                  f"open + first sampled wind {r['first_sample_s'] * 1e3:6.0f} ms; again in the same process "
                  f"{r['warm_s'] * 1e3:5.1f} ms; peak RSS {r['hwm_mb']:.0f} MB ({r['hwm_before_mb']:.0f} MB after "
                  f"imports) for a {r['gb']:.2f} GB field")


if __name__ == "__main__":
    main()
