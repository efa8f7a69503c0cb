"""A real radiosonde ascent re-flown through the engine: its own measured winds, along its own measured altitudes,
reproduce its measured drift.

The sounding is the one the ``rs-drift`` package (MIT licence; a test extra) ships in ``rs_drift/data``: a 1 Hz
RS41-class ascent from 34.78 N, 76.88 W on 2020-05-31 with, per level, geopotential height, wind direction and speed,
and the latitude/longitude displacement from the launch.  The file is read directly (the package is not imported:
it needs pkg_resources and pyproj for its own code).  Its levels carry no time; they are one second apart (4-7 m
of height per row at the usual 5 m/s ascent), which is what the test assumes.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import stratotrack as st
from stratotrack.geodesy import great_circle_distance
from stratotrack.track.motion import engine_move
from stratotrack.track.sounding import profile_field


def sounding():
    spec = importlib.util.find_spec("rs_drift")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("rs-drift (a test extra) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "test_data.csv"
    rows = np.genfromtxt(path, delimiter=",", names=True, encoding="latin-1")
    return rows


def test_measured_winds_along_measured_altitudes_reproduce_the_measured_drift():
    s = sounding()
    z = s["geopotentialHeight"].astype(float)
    assert np.all(np.diff(z) > 0) and z.size > 3000
    speed, direction = s["windSpeed"], np.radians(s["windDirection"])
    u, v = -speed * np.sin(direction), -speed * np.cos(direction)  # direction the wind blows from
    lat0, lon0 = float(s["lat"][0]), float(s["lon"][0])
    wind = st.open_wind(profile_field(z, u, v, lat0, lon0, half_width=3.0, resolution=0.25, title="rs-drift sounding"))
    t = np.arange(z.size, dtype=float)  # one row a second
    la, lo, alt = np.array([lat0]), np.array([lon0]), np.array([z[0]])
    every = 10
    for i in range(0, z.size - 1, every):
        j = min(i + every, z.size - 1)
        rate = np.array([(z[j] - z[i]) / (t[j] - t[i])])
        la, lo, alt = engine_move(wind, t[i], la, lo, alt, rate, t[j], step=5.0)
    assert abs(alt[0] - z[-1]) < 1.0
    end_lat = lat0 + float(s["latitudeDisplacement"][-1])
    end_lon = lon0 + float(s["longitudeDisplacement"][-1])
    drift = float(great_circle_distance(lat0, lon0, end_lat, end_lon))
    miss = float(great_circle_distance(la[0], lo[0], end_lat, end_lon))
    assert drift > 80e3  # about 92 km east-south-east by 16.5 km
    print(f"drift {drift / 1e3:.1f} km, miss {miss:.0f} m ({100 * miss / drift:.2f}%)")
    assert miss < 0.01 * drift, (miss, drift)
