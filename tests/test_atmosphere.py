import numpy as np
import pytest

from stratotrack import atmosphere as atm
from stratotrack.engine.kernels import sqrt_density_ratio_array


def test_sea_level_and_tropopause_values():
    assert atm.density(0.0) == pytest.approx(1.2250, abs=1e-4)
    assert atm.temperature(0.0) == pytest.approx(288.15)
    # 1976 table values at geopotential 11 km and 20 km
    assert atm.pressure(atm.geopotential_to_geometric(11000.0)) == pytest.approx(22632.06, rel=1e-5)
    assert atm.pressure(atm.geopotential_to_geometric(20000.0)) == pytest.approx(5474.89, rel=1e-5)
    assert atm.temperature(atm.geopotential_to_geometric(32000.0)) == pytest.approx(228.65)


def test_descent_rate_aloft_follows_density():
    # 5 m/s at sea level is about 18.5 m/s at 20 km
    assert atm.descent_speed(5.0, 20000.0) == pytest.approx(18.5, abs=0.1)
    z = np.array([0.0, 5000.0, 20000.0, 35000.0])
    np.testing.assert_allclose(atm.descent_speed(5.0, z), 5.0 * np.sqrt(atm.density(0.0) / atm.density(z)))


def test_compiled_density_matches_numpy():
    z = np.linspace(-500.0, 60000.0, 301)
    np.testing.assert_allclose(sqrt_density_ratio_array(z), np.sqrt(atm.RHO0 / atm.density(z)), rtol=1e-12)


def test_pressure_altitude_roundtrip():
    p = np.array([100000.0, 50000.0, 10000.0, 5000.0, 1000.0, 100.0])
    np.testing.assert_allclose(atm.pressure(atm.altitude_from_pressure(p)), p, rtol=1e-10)
    with pytest.raises(ValueError, match="positive"):
        atm.altitude_from_pressure(-5.0)


def test_geopotential_conversion_roundtrip():
    z = np.array([0.0, 10000.0, 30000.0])
    np.testing.assert_allclose(atm.geopotential_to_geometric(atm.geometric_to_geopotential(z)), z, atol=1e-8)
    assert atm.geopotential_to_geometric(20000.0) > 20000.0
