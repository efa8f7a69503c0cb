"""Hypothesis strategies for malformed requests (shared by the test suite and benchmarks/serve_fuzz.py)."""

from __future__ import annotations

import json

from hypothesis import strategies as st

V1_PARAMETERS = ("profile", "dataset", "launch_latitude", "launch_longitude", "launch_datetime", "launch_altitude",
                 "ascent_rate", "burst_altitude", "descent_rate", "float_altitude", "stop_datetime", "format",
                 "version")
V1_BASE = {"launch_latitude": "50.0", "launch_longitude": "0.01", "launch_datetime": "2023-01-17T11:00:00Z",
           "ascent_rate": "5", "burst_altitude": "30000", "descent_rate": "5"}

numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**30, 10**30)).map(str)
times = st.one_of(st.datetimes().map(lambda d: d.isoformat() + "Z"), st.datetimes().map(lambda d: d.isoformat()),
                  st.just("2023-01-17T11:00:00+01:00"), st.just("2023-01-17 11:00:00 01:00"))
words = st.sampled_from(["standard_profile", "float_profile", "reverse_profile", "json", "csv", "kml", "latest",
                         "climatology", "uniform", "../../etc/passwd", "1", "2", "", " ", "nan", "-inf", "1e309",
                         "1e300", "1e-300", "0.2", "100", "86000", "-500", "60000", "0", "-0"])
values = st.one_of(numbers, times, words, st.text(max_size=30))
v1_queries = st.dictionaries(st.one_of(st.sampled_from(V1_PARAMETERS), st.text(min_size=1, max_size=12)), values,
                             max_size=12).map(lambda d: {**V1_BASE, **d})
v1_sparse = st.dictionaries(st.sampled_from(V1_PARAMETERS), values, max_size=13)

json_values = st.recursive(st.none() | st.booleans() | st.floats() | st.integers(-10**20, 10**20)
                           | st.text(max_size=20), lambda c: st.lists(c, max_size=4)
                           | st.dictionaries(st.text(max_size=10), c, max_size=4), max_leaves=12)
JOB_KEYS = ("kind", "latitude", "longitude", "altitude", "time", "profile", "members", "spread", "passages",
            "duration", "stop", "start", "end", "every", "sites", "dataset", "seed", "backward", "float_altitude")
job_bodies = st.dictionaries(st.sampled_from(JOB_KEYS), json_values, max_size=10).flatmap(
    lambda d: st.sampled_from(["predict", "ensemble", "windows", "assess", "steer", "x"]).map(
        lambda k: {**d, "kind": k} if "kind" not in d else d))

OBS_TYPES = ("application/json", "text/csv", "application/vnd.google-earth.kml+xml", "application/gpx+xml",
             "application/geo+json", "application/vnd.google-earth.kmz", "text/plain", "")
obs_json = st.one_of(json_values, st.dictionaries(st.sampled_from(["time", "latitude", "longitude", "altitude",
                                                                    "azimuth", "elevation", "sigma_h", "lat", "lon",
                                                                    "datetime", "alt", "entries", "type"]),
                                                  json_values, max_size=8),
                     st.lists(st.fixed_dictionaries({"datetime": times, "lat": json_values, "lon": json_values}),
                              max_size=3))
obs_bodies = st.tuples(st.sampled_from(OBS_TYPES), st.one_of(
    obs_json.map(lambda v: json.dumps(v).encode()), st.binary(max_size=300),
    st.text(max_size=300).map(lambda t: ("time,latitude,longitude\n" + t).encode()),
    st.text(max_size=200).map(lambda t: f"<kml xmlns='http://www.opengis.net/kml/2.2'>{t}</kml>".encode())))


def check_response(r, allowed):
    """Never a 500, never a traceback; an error in the documented shape."""
    assert r.status_code in allowed, (r.status_code, r.text[:300])
    assert "Traceback" not in r.text and 'File "' not in r.text
    if r.status_code >= 400:
        body = r.json()
        assert set(body["error"]) == {"type", "description"} and body["error"]["description"]
