"""The measured errors behind the tolerances of issue 19's tightened tests: each figure the test's comment quotes,
printed from the same computation.  Needs ../shared beside the checkout for the GFS and the Oakland flight.

    python validation/tolerances.py
"""

import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
SHARED = ROOT.parent / "shared" / "data"

import stratotrack as st  # noqa: E402
from stratotrack import atmosphere as atm  # noqa: E402
from stratotrack.geodesy import EARTH_RADIUS, great_circle_distance  # noqa: E402


def analytic():
    import test_engine_analytic as T

    for case in T.CASES:
        wind, lat, lon, duration, exact = T.CASES[case]()
        ds = T.drift(wind, lat, lon, duration)
        print(f"end point / path length, {case}: {(T.end_error(ds, *exact()) / T.lengths(ds)).max():.2e}")
    for name, (make, lat, lon, duration) in T.ROUND_TRIPS.items():
        wind = make()
        fw = T.drift(wind, lat, lon, duration)
        bw = st.predict(fw.end_latitude.values, fw.end_longitude.values, fw.end_altitude.values, fw.end_time.values,
                        "drift", duration=duration, backward=True, wind=wind)
        back = great_circle_distance(bw.end_latitude.values, bw.end_longitude.values, lat, lon, T.RADIUS)
        print(f"round trip / path length, {name}: {(back / T.lengths(fw)).max():.2e}")


def gfs_and_oakland():
    import xarray as xr

    import test_gfs_real as G
    import test_track_real as TR
    from stratotrack.track import predict_landing, read_observations

    path = SHARED / G.GFS
    wind = st.open_wind(path)
    level = xr.open_dataset(path, engine="cfgrib", decode_timedelta=True, backend_kwargs={
        "filter_by_keys": {"typeOfLevel": "isobaricInhPa", "level": 50}, "indexpath": ""}).load()
    gh = level.gh.interp(latitude=xr.DataArray(G.LAT), longitude=xr.DataArray(G.LON % 360.0)).values
    ds = st.predict(G.LAT, G.LON, atm.geopotential_to_geometric(gh), G.VALID, "drift", duration="3d", wind=wind)
    la, lo, z = ds.latitude.values, ds.longitude.values, ds.altitude.values
    t = (ds.time.values - ds.time.values[:, :1]) / np.timedelta64(1, "s")
    speed = great_circle_distance(la[:, :-1], lo[:, :-1], la[:, 1:], lo[:, 1:], EARTH_RADIUS + z[:, :-1]) / np.diff(t)
    s = wind.sample(ds.time.values, la, lo, z)
    ws = np.hypot(s.eastward_wind.values, s.northward_wind.values)
    rel = np.abs(speed / (0.5 * (ws[:, :-1] + ws[:, 1:])) - 1.0)
    print(f"GFS 3-day drifts, speed / wind speed - 1: max {rel.max():.2e}, median {np.median(rel):.1e}")
    obs = read_observations(TR.flights(SHARED)[1])
    fc = predict_landing(obs, "climatology", members=1)
    tt, zz = np.array([o.time for o in obs]), np.array([o.alt for o in obs])
    tail = tt > tt[-1] - 120
    fall = -np.polyfit(tt[tail], zz[tail], 1)[0]
    conv = fall * (atm.density(zz[tail].mean()) / atm.RHO0) ** fc.state.fall_beta
    print(f"sea-level fall rate: {fc.descent_rate:.3f} against {conv:.3f} m/s ({fc.descent_rate / conv - 1:+.2%}; "
          f"fitted exponent {fc.state.fall_beta:.3f})")


def balloon_and_descent():
    import test_atmosphere as A
    from stratotrack.ensemble import Balloon
    from stratotrack.ensemble.perturb import BALLOONS

    ascent, burst = Balloon("k1000", payload=1.0, neck_lift=1.8).predict()
    d, cd = BALLOONS["k1000"]
    v0 = (1.0 + 1.8) / (1.2050 - 0.1786)
    r0 = (3 * v0 / (4 * math.pi)) ** (1 / 3)
    ca = math.sqrt((1.8 - 1.0) * 9.80665 / (0.5 * cd * 1.2050 * math.pi * r0 ** 2))
    cb = -7238.3 * math.log(v0 / (math.pi * d ** 3 / 6))
    print(f"CUSF k1000: ascent {float(ascent) / ca - 1:+.2%}, burst {float(burst) / cb - 1:+.2%}")
    ours, theirs = float(atm.descent_speed(5.0, 20000.0)), A._tawhiri_descent_speed(5.0, 20000.0)
    print(f"descent at 20 km from 5 m/s: ours {ours:.6f}, Tawhiri {theirs:.8f} ({ours / theirs - 1:+.4%})")


def closest_and_passes():
    import test_analysis as TA
    from stratotrack.analysis import Site, overflights, passes, read_tles
    from stratotrack.wind.analytic import uniform_wind

    ds = st.predict(45.0, -110.0, 18000.0, "2023-02-01T00:00:00Z", "drift", duration="12h",
                    wind=uniform_wind(20.0, 0.0))
    t_pass = st.timeutil.to_epoch_seconds("2023-02-01T00:00:00Z").item() + math.radians(5.0) * (
        EARTH_RADIUS + 18000.0) * math.cos(math.radians(45.0)) / 20.0
    sites = [Site.point("centre", 45.0, -105.0, radius_km=50.0), Site.point("miss", 45.3, -105.0)]
    for r, dist in zip(overflights(ds, sites), (0.0, math.radians(0.3) * EARTH_RADIUS)):
        print(f"closest approach, {r['site'].name}: {r['closest_m'][0] - dist:+.3f} m, "
              f"{r['closest_time'][0] - t_pass:+.3f} s")
    tles = read_tles(TA.TLE_FILE)
    ps = passes(tles, 47.505, -111.187, "2023-02-01T00:00Z", "2023-02-02T00:00Z", 10.0)
    by = {t.name: t for t in tles}
    edge = max(abs(TA._sgp4_elevation(by[p.satellite], w, 47.505, -111.187) - 10.0) for p in ps for w in (p.rise, p.set))
    top = max(abs(TA._sgp4_elevation(by[p.satellite], p.culmination, 47.505, -111.187) - p.max_elevation) for p in ps)
    print(f"{len(ps)} passes against SGP4 + sidereal time: {edge:.4f} deg at rise/set, {top:.4f} deg at culmination")


if __name__ == "__main__":
    analytic()
    balloon_and_descent()
    closest_and_passes()
    if SHARED.exists():
        gfs_and_oakland()
