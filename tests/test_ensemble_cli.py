"""`stratotrack predict --members` and `stratotrack windows` end to end in a subprocess: products written, the JSON
summary equal to the API's result for the same seed, and bad input: exit 2 with one line, no traceback, no file."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import stratotrack as st
from stratotrack.ensemble import Normal

T0 = "2023-01-17T11:00:00Z"
LAUNCH = ["--lat", "52.2", "--lon", "0.1", "--time", T0]


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "stratotrack", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300, env={**os.environ, "COLUMNS": "200"})


def test_predict_members_writes_products_and_matches_the_api(tmp_path):
    p = cli("predict", *LAUNCH, "--members", 300, "--seed", 4, "--spread", "ascent_rate=0.5",
            "--spread", "burst_altitude=uniform:2000", "--wind-error", "--passage", "52.3,1.0,20",
            "--at", "2023-01-17T12:00:00Z", "-o", tmp_path / "e.nc", "-o", tmp_path / "e.geojson",
            "-o", tmp_path / "e.csv", "--json")
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)
    api = st.ensemble(52.2, 0.1, 0.0, T0, members=300, seed=4,
                      spread={"ascent_rate": Normal(0.5), "burst_altitude": "uniform:2000"}, wind_error=True,
                      passages=[{"lat": 52.3, "lon": 1.0, "radius_km": 20, "name": "52.3,1,20km"}],
                      at=["2023-01-17T12:00:00Z"], keep="members")
    assert summary["passages"][0]["probability"] == api.passage()[0]["probability"]
    assert summary["products"]["landing"]["mean_latitude"] == pytest.approx(
        api.summary()["products"]["landing"]["mean_latitude"], abs=1e-12)
    df = pd.read_csv(tmp_path / "e.csv")
    assert len(df) == 300 and np.allclose(df.end_longitude, api.members.end_longitude.values)
    with xr.open_dataset(tmp_path / "e.nc") as ds:
        assert int(ds.landing_count.sum()) == 300
    doc = json.loads((tmp_path / "e.geojson").read_text())
    assert {f["properties"]["kind"] for f in doc["features"]} == {"highest-density region", "spread ellipse",
                                                                   "passage"}
    text = cli("predict", *LAUNCH, "--members", 20, "--seed", 1, "--spread", "ascent_rate=0.3")
    assert text.returncode == 0 and "20 members" in text.stdout and "landing" in text.stdout


def test_windows_command(tmp_path):
    p = cli("windows", "--lat", 52.2, "--lon", 0.1, "--start", "2023-01-17T00:00Z", "--end", "2023-01-17T12:00Z",
            "--every", "6h", "-o", tmp_path / "w.csv", "-o", tmp_path / "w.png", "--json")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    assert len(rows) == 3
    df = pd.read_csv(tmp_path / "w.csv")
    det = st.predict(52.2, 0.1, 0.0, "2023-01-17T06:00Z")
    assert df.end_longitude.iloc[1] == pytest.approx(det.end_longitude.values[0], abs=1e-9)
    from matplotlib.image import imread

    img = imread(tmp_path / "w.png")  # the figure (9 x 6.5 in at 110 dpi), drawn: not a blank page
    assert img.shape[:2] == (715, 990) and np.ptp(img[..., :3]) > 0.5


@pytest.mark.parametrize("args,words", [
    (["predict", *LAUNCH, "--members", "0"], "members 0 is invalid"),
    (["predict", *LAUNCH, "--members", "5", "--spread", "ascent_rate=-1"], "spread of ascent_rate -1.0"),
    (["predict", *LAUNCH, "--members", "5", "--spread", "ascent_rate"], "is not NAME=VALUE"),
    (["predict", *LAUNCH, "--members", "5", "--levels", "0.5,1.2"], "contour level 1.2 is outside (0, 1)"),
    (["predict", *LAUNCH, "--members", "5", "--passage", "1,2"], "is not LAT,LON,RADIUS_KM"),
    (["predict", *LAUNCH, "--members", "5", "-o", "x.kml"], "trajectory formats need --keep trajectories"),
    (["windows", "--lat", "52", "--lon", "0", "--every", "-1h"], "duration '-1h'"),
    (["windows", "--lat", "52", "--lon", "0", "--members", "-2"], "members -2 is invalid"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, args, words):
    p = cli(*args, cwd=tmp_path)
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in p.stderr
    assert not list(tmp_path.iterdir())
