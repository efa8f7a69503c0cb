"""The command line end to end in a subprocess (standard, float, drift, backward), its summary and JSON against the
API's result, its exports, and bad input: exit code 2, one line naming the problem, no traceback, no file left."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import stratotrack as st
import stratotrack.io as sio
from stratotrack.cli import run

T0 = "2023-01-17T11:00:00Z"
LAUNCH = ["--lat", "37.74", "--lon", "-122.22", "--alt", "10", "--time", T0]
MS = np.timedelta64(1, "ms")


@pytest.fixture(scope="session")
def warm(climatology):
    """One in-process prediction first: numba compiles once and caches on disk; every subprocess then loads it."""
    st.predict(37.74, -122.22, 10.0, T0, wind=climatology)
    st.predict(37.74, -122.22, 10.0, T0, "float", float_altitude=20000, duration="1h", wind=climatology)
    return True


def cli(*args, cwd=None, entry="module"):
    script = Path(sys.executable).parent / "stratotrack"
    cmd = [sys.executable, "-m", "stratotrack"] if entry == "module" else [str(script)]
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300,
                          env={**os.environ, "COLUMNS": "200"})


def cli_json(*args):
    p = cli("predict", *args, "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def iso_ms(text):
    return np.datetime64(text.rstrip("Z"), "ms")


def assert_agrees(summary, ds):
    """The JSON summary says what the API's Dataset says."""
    t = summary["trajectories"][0]
    names = [str(e) for e in ds.event.values]
    assert [e["event"] for e in t["events"]] == [n for j, n in enumerate(names)
                                                 if np.isfinite(ds.event_latitude.values[0, j])]
    for e in t["events"]:
        j = names.index(e["event"])
        assert abs(iso_ms(e["time"]) - ds.event_time.values[0, j]) <= MS
        assert e["latitude"] == pytest.approx(float(ds.event_latitude.values[0, j]), abs=1e-6)
        assert e["longitude"] == pytest.approx((float(ds.event_longitude.values[0, j]) + 180) % 360 - 180, abs=1e-6)
        assert e["altitude_m"] == pytest.approx(float(ds.event_altitude.values[0, j]), abs=0.05)
    assert abs(iso_ms(t["end"]["time"]) - ds.end_time.values[0]) <= MS
    assert t["end"]["latitude"] == pytest.approx(float(ds.end_latitude.values[0]), abs=1e-6)
    assert t["end"]["reason"] == str(ds.end_reason.values[0])
    assert t["max_altitude_m"] == pytest.approx(float(np.nanmax(ds.altitude.values)), abs=0.05)
    assert summary["assumptions"]["profile"] == ds.attrs["profile"]
    assert summary["assumptions"]["direction"] == ds.attrs["direction"]
    assert summary["assumptions"]["parameters"] == json.loads(ds.attrs["parameters"])
    assert summary["assumptions"]["wind"] == ds.attrs["wind"]
    assert summary["warnings"] == [w for w in ds.attrs["warnings"].splitlines() if w]


def test_standard_summary_json_and_exports_agree_with_the_api(warm, climatology, tmp_path):
    ds = st.predict(37.74, -122.22, 10.0, T0, "standard", wind=climatology)
    summary = cli_json(*LAUNCH)
    assert_agrees(summary, ds)
    assert summary["trajectories"][0]["end"]["reason"] == "landed"

    outs = [tmp_path / f"flight.{ext}" for ext in ("csv", "geojson", "kml", "kmz", "czml", "gpx", "nc")]
    args = ["predict", *LAUNCH, *[a for p in outs for a in ("--out", p)], "--plot", tmp_path / "flight.png"]
    p = cli(*args)
    assert p.returncode == 0, p.stderr
    text = p.stdout
    t = summary["trajectories"][0]
    land = t["events"][-1]
    # the readable summary: assumptions, launch/burst/landing with times and places, distance, height, warnings
    for needle in ("standard (forward)", "ascent rate 5 m/s", "burst altitude 30000 m",
                   "descent rate (sea level) 5 m/s",
                   summary["assumptions"]["wind"], "60 s", land["time"], land["near"]["text"],
                   t["events"][1]["time"], t["events"][0]["near"]["text"],
                   f"distance travelled {t['distance_travelled_km']:.1f} km",
                   f"maximum altitude {t['max_altitude_m']:.0f} m", *summary["warnings"]):
        assert needle in text, needle
    assert f"{land['latitude']:.4f}" in text and f"{land['longitude']:.4f}" in text
    for path in outs:
        assert f"wrote {path}" in text
        if path.suffix != ".czml":
            back = sio.read(path)
            n = int(back.n_obs[0])
            np.testing.assert_allclose(back.latitude.values[0, :n], ds.latitude.values[0, :n], atol=1e-6)
    assert (tmp_path / "flight.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([p.name for p in outs] + ["flight.png"])


def test_float_prediction(warm, climatology):
    ds = st.predict(37.74, -122.22, 10.0, T0, "float", float_altitude=20000, duration="24h", wind=climatology)
    summary = cli_json(*LAUNCH, "--profile", "float", "--float-altitude", 20000, "--duration", "24h")
    assert_agrees(summary, ds)
    t = summary["trajectories"][0]
    assert [e["event"] for e in t["events"]] == ["launch", "float_start", "end"]
    assert t["events"][1]["altitude_m"] == pytest.approx(20000, abs=1)
    assert t["duration_s"] == pytest.approx(86400, abs=1)
    assert t["distance_travelled_km"] > 500  # a day in the January jet


def test_drift_prediction(warm, climatology):
    ds = st.predict(37.74, -122.22, 20000.0, T0, "drift", duration="6h", wind=climatology)
    assert ds["altitude"].dims == ("trajectory", "obs")  # the drift parameter "altitude" keeps its own name
    summary = cli_json("--lat", 37.74, "--lon", -122.22, "--alt", 20000, "--time", T0, "--profile", "drift",
                       "--duration", "6h")
    assert_agrees(summary, ds)
    t = summary["trajectories"][0]
    assert t["max_altitude_m"] == pytest.approx(20000, abs=1)
    assert t["duration_s"] == pytest.approx(6 * 3600, abs=1)


def test_backward_prediction_with_longitude_in_0_360(warm, climatology):
    ds = st.predict(37.71, -120.70, 0.0, "2023-01-17T13:30:00Z", backward=True, wind=climatology)
    summary = cli_json("--lat", 37.71, "--lon", 239.30, "--time", "2023-01-17T13:30:00Z", "--backward")
    assert_agrees(summary, ds)
    t = summary["trajectories"][0]
    assert summary["assumptions"]["direction"] == "backward"
    assert [e["event"] for e in t["events"]] == ["landing", "burst", "launch"]
    assert iso_ms(t["events"][-1]["time"]) < iso_ms(t["events"][0]["time"])


def test_console_script_and_inspect(warm, climatology):
    p = cli("inspect", "climatology", "--json", entry="script")
    assert p.returncode == 0, p.stderr
    ref = json.loads(json.dumps(climatology.describe()))
    got = json.loads(p.stdout)
    assert {k: got.get(k) for k in ref} == ref  # inspect adds what was read (format, variables, grid) to describe()
    p = cli("inspect", "climatology", entry="script")
    assert p.returncode == 0 and "monthly" in p.stdout and "41, 0 .. 40000 m" in p.stdout
    p = cli("--version", entry="script")
    assert p.returncode == 0 and p.stdout.strip() == f"stratotrack {st.__version__}"


# -- bad input ---------------------------------------------------------------------------------------------------------
BAD = [
    (["--lat", "95", "--lon", "0"], "latitude", "90"),
    (["--lat", "abc", "--lon", "0"], "--lat", "abc"),
    (["--lat", "10", "--lon", "400"], "longitude 400", "-180..360"),
    (["--lat", "10", "--lon", "0", "--time", "yesterday"], "time 'yesterday'", "ISO 8601"),
    (["--lat", "10", "--lon", "0", "--time", "2023-02-30T00:00:00Z"], "2023-02-30", "ISO 8601"),
    (["--lat", "10", "--lon", "0", "--ascent-rate", "-5"], "ascent rate", "positive"),
    (["--lat", "10", "--lon", "0", "--descent-rate", "0"], "descent rate", "positive"),
    (["--lat", "10", "--lon", "0", "--step", "0"], "step 0", "positive"),
    (["--lat", "10", "--lon", "0", "--profile", "zeppelin"], "zeppelin", "standard"),
    (["--lat", "10", "--lon", "0", "--profile", "float"], "float altitude", "float"),
    (["--lat", "10", "--lon", "0", "--alt", "20000", "--profile", "drift", "--duration", "5x"], "duration '5x'",
     "72h"),
    (["--lat", "10", "--lon", "0", "--out", "{tmp}/x.docx"], "'.docx'", ".csv"),
    (["--lat", "10", "--lon", "0", "--out", "{tmp}/x.csv", "--out", "{tmp}/noext"], "noext", ".csv"),
    (["--lat", "10", "--lon", "0", "--out", "{tmp}/missing/x.csv"], "missing", "does not exist"),
    (["--lat", "10", "--lon", "0", "--out", "{tmp}/file.txt/x.csv"], "file.txt", "not a folder"),
    (["--lat", "10", "--lon", "0", "--out", "{tmp}"], "is a directory", "file name"),
    (["--lat", "10", "--lon", "0", "--plot", "{tmp}/x.jpg"], "'.jpg'", ".png"),
    (["--lat", "10", "--lon", "0", "--wind", "{tmp}/nope.grib2"], "nope.grib2", "climatology"),
    (["--lon", "0"], "--lat", "Missing"),
]


@pytest.mark.parametrize("args,names,expects", BAD, ids=[" ".join(b[0][2:] or b[0]) for b in BAD])
def test_bad_input_is_one_line_exit_2_and_leaves_no_file(args, names, expects, tmp_path, capsys, warm):
    (tmp_path / "file.txt").write_text("a file, not a folder")
    before = sorted(p.name for p in tmp_path.iterdir())
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code = run(["predict", *args, "--out", str(tmp_path / "ok.csv")])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("stratotrack: error: "), err
    assert names in lines[0] and expects in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # neither ok.csv nor any temporary


def test_bad_input_in_a_subprocess_has_no_traceback(tmp_path, warm):
    for args in (["--lat", "95", "--lon", "0"], ["--lat", "10", "--lon", "0", "--time", "2023-13-01"],
                 ["--lat", "10", "--lon", "0", "--out", tmp_path / "x.shp"]):
        p = cli("predict", *args, "--out", tmp_path / "y.kml")
        assert p.returncode == 2
        assert p.stdout == ""
        assert len(p.stderr.splitlines()) == 1 and "Traceback" not in p.stderr, p.stderr
    assert list(tmp_path.iterdir()) == []


def test_only_the_named_command_is_built_and_help_still_lists_every_command(capsys):
    """Typer builds only the command named on the line (each command's parameters cost time to build); help and a
    misspelt name still see the whole application."""
    from stratotrack.cli import run
    from stratotrack.cli.app import _click_command

    assert list(_click_command(["predict", "--lat", "1"]).commands) == ["predict"]
    assert list(_click_command(["steer", "arena"]).commands) == ["steer"]
    everything = set(_click_command(["--help"]).commands)
    assert {"predict", "assess", "windows", "track", "serve", "steer"} <= everything
    assert run(["predikt", "--lat", "1"]) == 2
    assert "Did you mean 'predict'" in capsys.readouterr().err
    assert run(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("predict", "assess", "steer"))
