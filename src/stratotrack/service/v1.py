"""API v1: a drop-in for Tawhiri's ``GET /api/v1/`` (the parameters, response and errors of its documentation).

Parameters: ``profile`` (``standard_profile``, ``float_profile``, ``reverse_profile``), ``launch_latitude``,
``launch_longitude`` (0..360 or -180..180), ``launch_datetime`` (RFC 3339), ``launch_altitude``, ``ascent_rate``,
``burst_altitude``, ``descent_rate``, ``float_altitude``, ``stop_datetime``, ``dataset`` (a forecast time in RFC 3339
or a dataset name served here), ``format`` (``json``, ``csv``, ``kml``).  What stratotrack knows beyond Tawhiri
(winds clamped at the edge of the data, a climatology in place of a forecast, a rate raised to Tawhiri's minimum,
the ground taken at a fixed height) is said in ``warnings``, in Tawhiri's ``{name: {count, description}}`` shape.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import time as _time

import numpy as np

from ..errors import InputError, WindDataError
from .datasets import NotCovered, UnknownDataset
from .errors import InvalidDatasetException, RequestException, rfc3339, rfc3339_many
from .predictor import run_path
from ..geodesy import wrap_longitude

API_VERSION = 1
PROFILES = ("standard_profile", "float_profile", "reverse_profile")
FORMATS = ("json", "csv", "kml")
MIN_RATE = 0.2  # m/s: Tawhiri raises slower ascent and descent rates to this
MAX_RATE = 100.0  # m/s: no balloon climbs or falls faster (a sea-level descent rate of 100 m/s is a free fall)
MAX_FLOAT_SECONDS = 7 * 86400.0  # v1 float runs; longer flights: API v2 jobs
PARAMETERS = ("profile", "dataset", "launch_latitude", "launch_longitude", "launch_datetime", "launch_altitude",
              "ascent_rate", "burst_altitude", "descent_rate", "float_altitude", "stop_datetime", "format", "version")
_OFFSET_SPACE = re.compile(r" (\d\d:?\d\d)$")


def parse_rfc3339(name: str, text: str) -> float:
    """Epoch seconds of an RFC 3339 time (a '+' of the offset that arrived as a space is read as '+')."""
    raw = str(text).strip()
    fixed = _OFFSET_SPACE.sub(r"+\1", str(text).rstrip()) if not raw.endswith("Z") else raw
    fixed = fixed.strip()
    try:
        if len(fixed) < 10 or fixed[4] != "-":
            raise ValueError
        d = _dt.datetime.fromisoformat(fixed.replace("Z", "+00:00").replace("z", "+00:00"))
        if d.tzinfo is None:
            d = d.replace(tzinfo=_dt.timezone.utc)
        value = d.timestamp()
    except (ValueError, OverflowError, OSError, IndexError):
        raise RequestException(f"Unable to parse parameter '{name}': {text}; expected an RFC 3339 time such as "
                               "2014-08-20T00:00:00Z") from None
    if not (-2208988800.0 <= value <= 7258118400.0):  # 1900..2200
        raise RequestException(f"Invalid value for parameter '{name}': {text}; expected a time between 1900 and 2200")
    return value


def _number(data, name, *, required=True, check=None, expected=""):
    if name not in data:
        if required:
            raise RequestException(f"Parameter '{name}' not provided in request.")
        return None
    text = data[name]
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise RequestException(f"Unable to parse parameter '{name}': {text}; expected a number") from None
    if not math.isfinite(value) or (check is not None and not check(value)):
        raise RequestException(f"Invalid value for parameter '{name}': {text}; "
                               f"expected {expected or 'a finite number'}")
    return value


class Warnings:
    """Tawhiri's warnings: name -> {count, description}."""

    def __init__(self):
        self.items: dict[str, dict] = {}

    def add(self, name, description, count=1):
        if name in self.items:
            self.items[name]["count"] += int(count)
        else:
            self.items[name] = {"count": int(count), "description": description}

    def to_dict(self):
        return self.items


def parse_request(data) -> tuple[dict, dict]:
    """Tawhiri's request fragment (``version`` filled in) and the internal values (epoch seconds...)."""
    if "version" in data and str(data["version"]).strip() != "1":
        raise RequestException(f"Invalid value for parameter 'version': {data['version']}; expected 1")
    req = {"version": API_VERSION}
    inner = {}
    req["launch_latitude"] = _number(data, "launch_latitude", check=lambda x: -90 <= x <= 90,
                                     expected="degrees between -90.0 and 90.0")
    req["launch_longitude"] = _number(data, "launch_longitude", check=lambda x: -180 <= x <= 360,
                                      expected="degrees between 0.0 and 360.0 (or -180.0 and 180.0)")
    if "launch_datetime" not in data:
        raise RequestException("Parameter 'launch_datetime' not provided in request.")
    inner["launch"] = parse_rfc3339("launch_datetime", data["launch_datetime"])
    alt = _number(data, "launch_altitude", required=False, check=lambda x: -500 <= x <= 60000,
                  expected="metres above sea level between -500 and 60000")
    inner["launch_altitude_given"] = alt is not None
    req["launch_altitude"] = 0.0 if alt is None else alt
    fmt = str(data.get("format", "json"))
    if fmt not in FORMATS:
        raise RequestException(f"Invalid value for parameter 'format': {fmt}; expected one of json, csv, kml")
    req["format"] = fmt
    profile = str(data.get("profile", "standard_profile"))
    if profile not in PROFILES:
        raise RequestException(f"Unknown profile '{profile}'; expected one of {', '.join(PROFILES)}.")
    req["profile"] = profile
    la = req["launch_altitude"]
    positive = dict(check=lambda x: 0 < x <= MAX_RATE,
                    expected=f"a rate in m/s greater than 0.0 and at most {MAX_RATE:g}")
    if profile == "standard_profile":
        req["ascent_rate"] = _number(data, "ascent_rate", **positive)
        req["burst_altitude"] = _number(data, "burst_altitude", check=lambda x: la < x <= 86000,
                                        expected=f"metres above the launch altitude ({la:g}) and at most 86000")
        req["descent_rate"] = _number(data, "descent_rate", **positive)
    elif profile == "float_profile":
        req["ascent_rate"] = _number(data, "ascent_rate", **positive)
        req["float_altitude"] = _number(data, "float_altitude", check=lambda x: la < x <= 86000,
                                        expected=f"metres above the launch altitude ({la:g}) and at most 86000")
        if "stop_datetime" not in data:
            raise RequestException("Parameter 'stop_datetime' not provided in request.")
        stop = parse_rfc3339("stop_datetime", data["stop_datetime"])
        if not stop > inner["launch"]:
            raise RequestException(f"Invalid value for parameter 'stop_datetime': {data['stop_datetime']}; "
                                   "expected a time after launch_datetime")
        if stop - inner["launch"] > MAX_FLOAT_SECONDS:
            raise RequestException(f"Invalid value for parameter 'stop_datetime': {data['stop_datetime']}; expected "
                                   "at most 7 days after launch_datetime (longer flights: POST /api/v2/jobs)")
        inner["stop"] = stop
    else:
        req["ascent_rate"] = _number(data, "ascent_rate", **positive)
    if "dataset" in data:
        text = str(data["dataset"]).strip()
        inner["dataset_given"] = text
    return req, inner


def _stage_lists(path, cut_names):
    """Tawhiri's ``prediction`` list: each stage's points, the event point that ends one starting the next."""
    out = []
    times = path.t
    for k, name in enumerate(path.stage_names):
        sel = np.nonzero(path.stage == k)[0]
        if sel.size == 0:
            continue
        lo, hi = int(sel[0]), int(sel[-1])
        if lo > 0:
            lo -= 1  # the point where this stage began (the end of the previous one)
        out.append((cut_names.get(name, name), slice(lo, hi + 1)))
    stages = []
    for name, s in out:
        stages.append({"stage": name, "trajectory": [
            {"datetime": t, "latitude": a, "longitude": o, "altitude": z}
            for t, a, o, z in zip(rfc3339_many(times[s]), path.lat[s].tolist(), path.lon[s].tolist(),
                                  path.alt[s].tolist())]})
    return stages


def predict(datasets, data) -> dict:
    """Tawhiri's response for the query ``data`` (a mapping of strings); raises APIError subclasses."""
    req, inner = parse_request(data)
    warn = Warnings()
    unknown = sorted(k for k in data if k not in PARAMETERS)
    if unknown:
        shown = ", ".join(repr(k[:40]) for k in unknown[:5])
        warn.add("unknown_parameters", f"parameters not used by this API were ignored: {shown}", len(unknown))
    t0 = inner["launch"]
    try:
        if "dataset_given" in inner:
            text = inner["dataset_given"]
            if text in datasets.entries:
                res = datasets.resolve(text, t0)
            else:
                try:
                    ref = parse_rfc3339("dataset", text)
                except RequestException:
                    raise InvalidDatasetException(f"No matching dataset found: '{text}' is neither a forecast time "
                                                  f"nor a dataset served here ({', '.join(datasets.entries)}).")
                res = datasets.by_reference(ref, t0)
        else:
            res = datasets.resolve(None, t0)
    except (UnknownDataset, NotCovered) as exc:
        raise InvalidDatasetException(f"No matching dataset found: {exc}.") from None
    req["dataset"] = rfc3339((res.reference // 3600) * 3600 if res.reference is not None else (t0 // 3600) * 3600)
    if res.climatology:
        warn.add("climatology", "No forecast covers this launch: the winds are stratotrack's monthly climatology "
                 "(HWM14), so expect landing errors of hundreds of km; 'dataset' echoes the launch hour")
    if not inner["launch_altitude_given"]:
        warn.add("launch_altitude", "launch_altitude was not given; 0 m (sea level) was used: stratotrack has no "
                 "terrain model")
    for key in ("ascent_rate", "descent_rate"):
        if key in req and req[key] < MIN_RATE:
            warn.add("rate_clipped", f"{key} {req[key]:g} m/s was raised to Tawhiri's minimum of {MIN_RATE} m/s")
            req[key] = MIN_RATE
    lon = req["launch_longitude"]
    lat = req["launch_latitude"]
    la = req["launch_altitude"]
    profile = req["profile"]
    try:
        if profile == "standard_profile":
            path = run_path(res.field, lat, lon, la, t0, "standard", ascent_rate=req["ascent_rate"],
                            burst_altitude=req["burst_altitude"], descent_rate=req["descent_rate"],
                            landing_altitude=la)
            if la != 0.0:
                warn.add("landing_altitude", f"stratotrack has no terrain model: the ground at landing is taken at "
                         f"the launch altitude ({la:g} m)")
            stages = _stage_lists(path, {})
        elif profile == "float_profile":
            path = run_path(res.field, lat, lon, la, t0, "float", ascent_rate=req["ascent_rate"],
                            float_altitude=req["float_altitude"], stop=np.datetime64(int(inner["stop"] * 1e6), "us"))
            stages = _stage_lists(path, {})
        else:
            import stratotrack as st

            a = req["ascent_rate"]
            if la <= 0.0:
                raise RequestException(f"Invalid value for parameter 'launch_altitude': {la:g}; expected the "
                                       "balloon's altitude above sea level (greater than 0) at launch_datetime")
            prof = st.Profile("reverse", [st.Stage("ascent", "rate", (a,), "below", 0.0, "launch")], "observed",
                              True, {"ascent_rate": np.asarray(a)})
            path = run_path(res.field, lat, lon, la, t0, prof, max_duration=la / a + 3600.0)
            warn.add("ground_altitude", "stratotrack has no terrain model: the launch is taken at sea level (0 m)")
            first = {"datetime": rfc3339(path.t[0]), "latitude": float(path.lat[0]),
                     "longitude": float(path.lon[0]), "altitude": float(path.alt[0])}
            stages = [{"stage": "ascent", "trajectory": [first]}] + [
                dict(s, stage="descent") for s in _stage_lists(path, {})]
    except InputError as exc:
        raise RequestException(str(exc)) from None
    except WindDataError as exc:
        raise RequestException(str(exc)) from None
    except RuntimeError as exc:  # the solver failed: Tawhiri's PredictionException
        from .errors import APIError

        err = APIError(f"Prediction did not complete: '{exc}'.")
        err.status, err.type = 500, "PredictionException"
        raise err from None
    for flag, name, text in (("above_data", "altitude_too_high", "The altitude went too high, above the top of the "
                              "wind data: the winds there were clamped to the highest level and are unreliable"),
                             ("below_data", "altitude_too_low", "The altitude went below the lowest wind level: the "
                              "winds there were clamped and may be unreliable"),
                             ("outside_time", "time_outside_dataset", "The flight went beyond the dataset's times: "
                              "the winds were held at its last time"),
                             ("outside_region", "outside_dataset_region", "The flight left the dataset's region: the "
                              "winds were clamped at its edge")):
        if path.clamped.get(flag):
            warn.add(name, text, path.clamped[flag])
    if path.end_reason.startswith("left") or path.end_reason.startswith("max"):
        warn.add("incomplete", f"the flight did not complete: {path.end_reason}")
    if lon >= 0:  # Tawhiri's convention (0..360) for its clients; a request in -180..180 gets that convention back
        for stage in stages:
            for p in stage["trajectory"]:
                p["longitude"] = p["longitude"] % 360.0
    resp = {"request": req, "prediction": stages, "warnings": warn.to_dict()}
    req["launch_datetime"] = rfc3339(t0)
    if "stop" in inner:
        req["stop_datetime"] = rfc3339(inner["stop"])
    if profile == "reverse_profile":
        last = stages[-1]["trajectory"][-1]
        resp["launch_estimate"] = dict(last)
    return resp


def as_csv(resp) -> tuple[str, str]:
    """Tawhiri's CSV (``datetime,latitude,longitude,altitude``) and its file name."""
    lines = ["datetime,latitude,longitude,altitude"]
    for stage in resp["prediction"]:
        for p in stage["trajectory"]:
            lon = wrap_longitude(p["longitude"])
            lines.append(f"{p['datetime']},{p['latitude']:.5f},{lon:.5f},{p['altitude']:.1f}")
    return "\n".join(lines) + "\n", _filename(resp, "csv")


def _filename(resp, ext):
    r = resp["request"]
    when = r["launch_datetime"].replace("-", "").replace(":", "").replace("T", "-")[:15] + "Z"
    ds = r["dataset"].replace("-", "").replace(":", "").replace("T", "")[:10] + "Z"
    return f"{when}_{r['launch_latitude']:.4f}_{r['launch_longitude']:.4f}_{r['profile']}_{ds}.{ext}"


def as_kml(resp) -> tuple[bytes, str]:
    """KML 2.2 of the path (absolute altitudes) and the launch, burst/float and landing points."""
    from xml.sax.saxutils import escape

    pts = [p for s in resp["prediction"] for p in s["trajectory"]]
    def lon(p):
        return wrap_longitude(p["longitude"])

    coords = " ".join(f"{lon(p):.6f},{p['latitude']:.6f},{p['altitude']:.1f}" for p in pts)
    marks = []
    for s in resp["prediction"]:
        p = s["trajectory"][-1]
        marks.append(f"<Placemark><name>{escape(s['stage'])} end {escape(p['datetime'])}</name><Point>"
                     f"<altitudeMode>absolute</altitudeMode><coordinates>{lon(p):.6f},{p['latitude']:.6f},"
                     f"{p['altitude']:.1f}</coordinates></Point></Placemark>")
    r = resp["request"]
    doc = ('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
           f"<name>stratotrack {escape(r['profile'])} {escape(r['launch_datetime'])}</name>"
           "<Placemark><name>flight path</name><LineString><altitudeMode>absolute</altitudeMode>"
           f"<coordinates>{coords}</coordinates></LineString></Placemark>{''.join(marks)}</Document></kml>\n")
    return doc.encode(), _filename(resp, "kml")


def now() -> float:
    return _time.time()


# -- the route ---------------------------------------------------------------------------------------------------------
from typing import Optional  # noqa: E402

from fastapi import APIRouter, Query, Request  # noqa: E402
from fastapi.responses import Response  # noqa: E402

router = APIRouter()


@router.get("/api/v1/", tags=["v1 (Tawhiri)"], summary="Predict a flight (Tawhiri API v1)")
def v1_predict(request: Request,
               profile: Optional[str] = Query(None, description="standard_profile, float_profile or reverse_profile"),
               dataset: Optional[str] = Query(None, description="forecast time (RFC 3339) or a dataset name"),
               launch_latitude: Optional[str] = Query(None), launch_longitude: Optional[str] = Query(None),
               launch_datetime: Optional[str] = Query(None), launch_altitude: Optional[str] = Query(None),
               ascent_rate: Optional[str] = Query(None), burst_altitude: Optional[str] = Query(None),
               descent_rate: Optional[str] = Query(None), float_altitude: Optional[str] = Query(None),
               stop_datetime: Optional[str] = Query(None), format: Optional[str] = Query(None)):
    from .app import JSON, error_response
    from .errors import APIError

    start = now()
    state = request.app.state.st
    data = dict(request.query_params)
    try:
        resp = predict(state.datasets, data)
    except APIError as exc:
        return error_response(exc, start)
    resp["metadata"] = {"start_datetime": rfc3339(start), "complete_datetime": rfc3339(now())}
    fmt = resp["request"]["format"]
    if fmt == "csv":
        text, name = as_csv(resp)
        return Response(text, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
    if fmt == "kml":
        body, name = as_kml(resp)
        return Response(body, media_type="application/vnd.google-earth.kml+xml",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return JSON(resp)


@router.get("/api/datasetcheck", tags=["v1 (Tawhiri)"], summary="The newest dataset (as SondeHub's Tawhiri)")
def datasetcheck(request: Request):
    from .app import JSON

    start = now()
    state = request.app.state.st
    from .app import error_response

    newest = state.datasets.newest()
    if newest is None:
        return error_response(InvalidDatasetException("Could not find any dataset: the cache holds no cycle of the "
                                                      "sources served here."), start)
    name, ref = newest
    hour = ((ref if ref is not None else start) // 3600) * 3600
    body = {"request": {"version": API_VERSION, "dataset": rfc3339(hour), "dataset_name": name},
            "warnings": {}, "metadata": {"start_datetime": rfc3339(start), "complete_datetime": rfc3339(now())}}
    return JSON(body)
