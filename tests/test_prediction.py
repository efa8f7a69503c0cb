"""The light result of st.predict (stratotrack.Prediction) and the single-call fast path."""

import numpy as np
import pytest

import stratotrack as st
from stratotrack.errors import InputError

START = dict(lat=37.74, lon=-122.22, alt=10.0, time="2023-01-17T11:00:00Z")


def _without_engine_attrs(ds):
    ds = ds.copy()
    ds.attrs.pop("engine_seconds")
    return ds


@pytest.mark.parametrize("kw", [
    {},
    {"profile": "drift", "alt": 18000.0, "duration": "6h", "output_interval": 600.0},
    {"backward": True, "alt": 0.0},
    {"profile": "float", "float_altitude": 20000.0, "duration": "5h", "outside": "stop"},
    {"lat": [37.74, 50.0, 80.0], "lon": [-122.22, 10.0, 300.0], "burst_altitude": [30000.0, 25000.0, 45000.0]},
], ids=["standard", "drift", "backward", "float", "three"])
def test_light_result_converts_to_exactly_the_default_dataset(climatology, kw):
    args = {**START, **kw}
    ds = st.predict(wind=climatology, **args)
    light = st.predict(wind=climatology, result="light", **args)
    assert isinstance(light, st.Prediction)
    assert _without_engine_attrs(light.to_dataset()).identical(_without_engine_attrs(ds))
    assert light.event_names == tuple(str(e) for e in ds.event.values)
    np.testing.assert_array_equal(light.end_latitude, ds.end_latitude.values)
    assert light.end_reason == [str(r) for r in ds.end_reason.values]
    assert light.warnings == ds.attrs["warnings"].splitlines()


@pytest.mark.parametrize("kw", [
    {},
    {"profile": "drift", "alt": 18000.0, "duration": "6h", "output_interval": 600.0},
    {"profile": "float", "float_altitude": 20000.0, "duration": "5h", "outside": "stop"},
    {"lat": [37.74, 50.0, 80.0], "lon": [-122.22, 10.0, 300.0], "burst_altitude": [30000.0, 25000.0, 45000.0]},
], ids=["standard", "drift", "float", "three"])
def test_the_summary_of_the_light_view_is_the_summary_of_the_dataset(climatology, kw):
    from stratotrack.io.summary import summarize

    light = st.predict(wind=climatology, result="light", **{**START, **kw})
    assert summarize(light.view()) == summarize(light.to_dataset())


def test_a_summary_only_command_line_prediction_does_not_import_xarray(tmp_path):
    """The CLI's summary reads the light result (xarray costs about a second to import in a new process)."""
    import subprocess
    import sys

    code = ("import sys; from stratotrack.cli import run; "
            "rc = run(['predict', '--lat', '37.74', '--lon', '-122.22', '--time', '2023-01-17T11:00:00Z', '--json']); "
            "print('XARRAY', 'xarray' in sys.modules, rc)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert '"reason": "landed"' in p.stdout
    assert p.stdout.strip().splitlines()[-1] == "XARRAY False 0"


def test_one_start_given_as_numbers_or_as_arrays_gives_the_same_flight(climatology):
    """Numbers take the single-call path (checks on Python floats, the profile made once per set of numbers)."""
    a = st.predict(wind=climatology, result="light", **START)
    b = st.predict([START["lat"]], np.array([START["lon"]]), [START["alt"]], START["time"], wind=climatology,
                   result="light")
    for name in ("time", "latitude", "longitude", "altitude", "stage", "event_time", "event_latitude"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    # the per-numbers plan does not leak between calls: another burst altitude, another flight
    c = st.predict(wind=climatology, result="light", burst_altitude=20000.0, **START)
    assert np.nanmax(c.altitude) == pytest.approx(20000.0) and np.nanmax(a.altitude) == pytest.approx(30000.0)
    assert c.event("burst")["time"][0] < a.event("burst")["time"][0]


def test_bad_result_kind_and_bad_numbers_are_one_line_errors(climatology):
    with pytest.raises(InputError, match="result 'xarray' is unknown; expected 'dataset' or 'light'"):
        st.predict(wind=climatology, result="xarray", **START)
    with pytest.raises(InputError, match="latitude nan degrees is invalid"):
        st.predict(float("nan"), -122.0, 10.0, START["time"], wind=climatology, result="light")
    with pytest.raises(InputError, match="latitude 91.0 is beyond"):
        st.predict(91.0, -122.0, 10.0, START["time"], wind=climatology, result="light")
    with pytest.raises(InputError, match="longitude 400.0 is outside"):
        st.predict(40.0, 400, 10.0, START["time"], wind=climatology, result="light")
    with pytest.raises(KeyError, match="no event 'float_start'"):
        st.predict(wind=climatology, result="light", **START).event("float_start")


def test_the_same_standard_flight_at_another_time_starts_and_bursts_then(climatology):
    """A standard flight's plan is made once for all start times: each call still starts at its own time."""
    for time, seconds in (("2023-01-17T11:00:00Z", 1673953200.0), ("2023-01-18T03:30:00Z", 1674012600.0)):
        p = st.predict(37.74, -122.22, 10.0, time, wind=climatology, result="light")
        assert p.event("launch")["time"][0] == seconds == p.time[0, 0]
        assert p.event("burst")["time"][0] - seconds == pytest.approx((30000.0 - 10.0) / 5.0, abs=1e-6)
        assert p.end_time[0] > p.event("burst")["time"][0]


def test_single_calls_reuse_buffers_but_never_share_results(climatology):
    """Single calls restart an idle integrator rather than allocate one: every result keeps its own arrays, equal
    bit for bit to a run on a new integrator, and the idle ones keep no wind field alive."""
    import gc
    import weakref

    from stratotrack.wind.analytic import uniform_wind

    starts = [(37.74, -122.22, 10.0, "2023-01-17T11:00:00Z"), (-33.9, 151.2, 500.0, "2023-06-02T00:00:00Z"),
              (64.8, -147.7, 0.0, "2023-03-05T12:00:00Z")]
    names = ("time", "latitude", "longitude", "altitude", "stage", "n_obs", "event_time", "event_latitude",
             "event_longitude", "event_altitude", "clamped_steps")
    kept = [st.predict(*s, wind=climatology, backend="serial", result="light") for s in starts]
    copies = [{k: getattr(p, k).copy() for k in names} for p in kept]
    for _ in range(3):  # the same integrator restarted for other starts
        again = [st.predict(*s, wind=climatology, backend="serial", result="light") for s in starts]
    for p, c, q, s in zip(kept, copies, again, starts):
        fresh = st.predict([s[0]], [s[1]], [s[2]], s[3], wind=climatology, backend="serial", result="light")
        for k in names:
            np.testing.assert_array_equal(getattr(p, k), c[k], err_msg=k)  # not overwritten by later calls
            np.testing.assert_array_equal(getattr(q, k), getattr(fresh, k), err_msg=k)
            assert not np.shares_memory(getattr(p, k), getattr(q, k)), k
        assert p.end_reason == q.end_reason == fresh.end_reason == ["landed"]
    # another field on the same plan: its own winds, and no reference to it kept once the caller drops it
    field = st.open_wind(uniform_wind(u=20.0, v=0.0))
    east = st.predict(*starts[0], wind=field, backend="serial", result="light")
    assert east.end_latitude[0] == pytest.approx(starts[0][0], abs=1e-6) and east.end_longitude[0] > -122.0
    ref = weakref.ref(field)
    del field, east
    gc.collect()
    assert ref() is None
