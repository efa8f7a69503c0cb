"""The sphere's geodesy (distance, bearing, moving a point, azimuthal equidistant offsets) against pyproj's geodesic
on the same sphere: an independent implementation (Karney's algorithm, PROJ)."""

import numpy as np
import pytest
from pyproj import Geod

from stratotrack import geodesy as g

GEOD = Geod(a=g.EARTH_RADIUS, b=g.EARTH_RADIUS)
RNG = np.random.default_rng(19)
N = 2000
LAT1, LON1 = RNG.uniform(-89.9, 89.9, N), RNG.uniform(-180, 180, N)
LAT2, LON2 = RNG.uniform(-89.9, 89.9, N), RNG.uniform(-180, 180, N)


def test_distance_and_bearing_match_pyproj():
    az, _, dist = GEOD.inv(LON1, LAT1, LON2, LAT2)
    # measured: 1.4e-6 m (distances), 2e-9 degrees (bearings)
    np.testing.assert_allclose(g.great_circle_distance(LAT1, LON1, LAT2, LON2), dist, rtol=0, atol=1e-4)
    diff = (g.bearing(LAT1, LON1, LAT2, LON2) - az + 180.0) % 360.0 - 180.0
    assert np.abs(diff).max() < 1e-7


@pytest.mark.parametrize("distance", [10.0, 50e3, 5000e3])
def test_destination_and_offsets_match_pyproj(distance):
    az = RNG.uniform(-180, 180, N)
    lon2, lat2, _ = GEOD.fwd(LON1, LAT1, az, np.full(N, distance))
    la, lo = g.destination(LAT1, LON1, az, distance)
    # measured: 2e-9 m at 5,000 km
    assert g.great_circle_distance(la, lo, lat2, lon2).max() < 1e-6
    assert np.all(np.abs(lo - LON1) <= 180.0)  # the caller's longitude convention
    # offsets about the start are the distance along the bearing; moving by them goes back to the point
    x, y = g.offsets(lat2, lon2, LAT1, LON1)
    np.testing.assert_allclose(np.hypot(x, y), distance, rtol=1e-9)
    la, lo = g.move(LAT1, LON1, x, y)
    assert g.great_circle_distance(la, lo, lat2, lon2).max() < 1e-6


def test_moves_over_the_pole_and_across_the_antimeridian():
    la, lo = g.move(89.0, 10.0, 0.0, 2 * g.EARTH_RADIUS * np.pi / 180)  # 2 degrees north: over the pole
    assert la == pytest.approx(89.0) and lo % 360.0 == pytest.approx(190.0) and abs(lo - 10.0) <= 180.0
    la, lo = g.move(0.0, 179.5, 111195.08, 0.0)
    assert la == pytest.approx(0.0, abs=1e-12) and lo == pytest.approx(180.5, abs=1e-6)
    assert g.path_length([0, 0, np.nan, 0], [0, 1, 5, 2]) == pytest.approx(2 * 111195.08, abs=0.01)
