"""Room for control: a target-following stage steered between integration chunks, with no second integrator."""

import numpy as np

import stratotrack as st
from stratotrack.engine import Integrator
from stratotrack.flight import drift
from stratotrack.timeutil import to_epoch_seconds
from stratotrack.wind import analytic


def test_target_altitude_changed_between_chunks_is_followed_within_rate_limits():
    wind = st.open_wind(analytic.uniform_wind(10.0, 0.0, resolution=2.0))
    n = 3
    t0 = np.full(n, to_epoch_seconds("2023-02-01T00:00:00Z"))
    alt = np.array([18000.0, 18000.0, 18000.0])
    prof = drift(t0 + 6 * 3600.0, start_altitude=alt, max_rate=2.0)
    codes, vals = prof.encode(n)
    integ = Integrator(wind, t0, np.zeros(n), np.zeros(n), alt, codes, vals, t0 + 6 * 3600.0 + 120.0, step=60.0,
                       output_interval=600.0)
    integ.advance(t0[0] + 3600.0)
    np.testing.assert_allclose(integ.alt, 18000.0)  # holding
    # the controller decides: climb 1 km, descend 3 km, stay
    integ.vals[:, 0, 0] = [19000.0, 15000.0, 18000.0]
    integ.advance(t0[0] + 2 * 3600.0)
    assert 18990.0 < integ.alt[0] <= 19000.0 + 1e-6
    # a 3 km descent at no more than 2 m/s takes at least 1500 s; after an hour it is done
    assert 15000.0 - 1e-6 <= integ.alt[1] < 15010.0
    np.testing.assert_allclose(integ.alt[2], 18000.0)
    integ.run()
    raw = integ.result()
    z = raw.alt[1, : raw.n_obs[1]]
    rates = np.diff(z) / np.diff(raw.time[1, : raw.n_obs[1]])
    assert np.all(np.abs(rates) <= 2.0 + 1e-9)
    assert np.all(raw.status == 1)  # all completed at the stop time
