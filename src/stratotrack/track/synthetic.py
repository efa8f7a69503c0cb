"""Synthetic truth for tracking: a sounding flown by the engine through winds chosen in code, seen as telemetry.

The ascent meets one wind profile and the descent another (the weather changed, the balloon moved), the fall
follows v = v0 (rho0/rho) ** beta; the telemetry is the engine's path every ``every`` seconds with GPS noise.  Used
by the tests (exact answers) and by validation/track_oakland.py (coverage of the landing radii on known truth).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..timeutil import from_epoch_seconds
from . import geometry as G
from .observations import TELEMETRY_SIGMA_H, TELEMETRY_SIGMA_Z, Observation
from .sounding import fall_stages, profile_field


@dataclass
class SyntheticSounding:
    fixes: list  # Observation fixes of the whole flight (up to the landing)
    last_climb: int  # index of the last fix before burst
    landing: tuple  # true (lat, lon, time s)
    burst: float


def _fly(lat, lon, alt, t0, profile, levels, u, v, every):
    from ..api import predict
    from ..wind import open_wind

    wf = open_wind(profile_field(levels, u, v, float(lat), float(lon), half_width=6.0, resolution=0.25,
                                 title="synthetic truth"))
    ds = predict(np.array([lat]), lon, alt, from_epoch_seconds(t0), profile, wind=wf, step=min(every, 10.0),
                 output_interval=every)
    n = int(ds.n_obs.values[0])
    t = (ds.time.values[0, :n] - np.datetime64(0, "ns")) / np.timedelta64(1, "s")
    return t, ds.latitude.values[0, :n], ds.longitude.values[0, :n], ds.altitude.values[0, :n]


def synthetic_sounding(levels, u_up, v_up, u_down=None, v_down=None, *, lat0=37.74, lon0=-122.22, t0=1673910000.0,
                       launch=10.0, ascent_rate=5.0, burst=30000.0, v0=5.0, beta=0.5, land=0.0, every=5.0,
                       noise=(3.0, 5.0), seed=0) -> SyntheticSounding:
    """A whole flight: ascent through (u_up, v_up), burst, fall through (u_down, v_down) (default: the same)."""
    from ..flight import Profile, Stage

    rng = np.random.default_rng(seed)
    u_down = u_up if u_down is None else u_down
    v_down = v_up if v_down is None else v_down
    up = Profile("ascent", [Stage("ascent", "rate", (ascent_rate,), "above", burst, "burst")], "launch", False, {})
    ta, la, lo, za = _fly(lat0, lon0, launch, t0, up, levels, u_up, v_up, every)
    down = Profile("descent", fall_stages(float(za[-1]), land, v0, beta), "burst", False, {})
    td, ld, od, zd = _fly(la[-1], lo[-1], za[-1], ta[-1], down, levels, u_down, v_down, every)
    t = np.concatenate([ta, td[1:]])
    lat = np.concatenate([la, ld[1:]])
    lon = np.concatenate([lo, od[1:]])
    z = np.concatenate([za, zd[1:]])
    e, n = noise[0] * rng.standard_normal(t.size), noise[0] * rng.standard_normal(t.size)
    nlat, nlon = G.offset_points(lat, lon, e, n) if noise[0] > 0 else (lat, lon)
    nz = z + noise[1] * rng.standard_normal(t.size)
    fixes = [Observation("fix", float(t[k]), float(np.ravel(nlat)[k]), float(np.ravel(nlon)[k]), float(nz[k]),
                         TELEMETRY_SIGMA_H, TELEMETRY_SIGMA_Z, source="synthetic telemetry").checked()
             for k in range(t.size)]
    return SyntheticSounding(fixes, ta.size - 1, (float(ld[-1]), float(od[-1]), float(td[-1])), float(za[-1]))
