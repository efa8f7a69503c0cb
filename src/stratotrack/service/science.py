"""What each v2 job kind and a session update call in the public API (no science here: arrange, call, format)."""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from .predictor import ENGINE_LOCK


def _t(text) -> float:
    from ..timeutil import to_epoch_seconds

    return float(to_epoch_seconds(text))


def _flight(req: dict) -> dict:
    keys = ("ascent_rate", "burst_altitude", "descent_rate", "float_altitude", "duration", "stop", "backward",
            "launch_altitude", "landing_altitude")
    return {k: req[k] for k in keys if req.get(k) is not None}


def _resolve(datasets, req):
    res = datasets.resolve(req.get("dataset"), _t(req["time"]))
    return res


def _start(req):
    return req["latitude"], req["longitude"], req.get("altitude", 0.0), req["time"], req.get("profile", "standard")


def predict(datasets, req, progress):
    import stratotrack as st
    from ..io.geojson import features
    from ..io.summary import summarize

    res = _resolve(datasets, req)
    with ENGINE_LOCK:
        ds = st.predict(*_start(req), wind=res.field, max_duration=req.get("max_duration", "40d"), **_flight(req))
    progress(0.8)
    warnings = res.warnings + [w for w in str(ds.attrs.get("warnings", "")).split("\n") if w]
    return {"dataset": res.name, "warnings": list(dict.fromkeys(warnings)), "summary": summarize(ds),
            "geojson": features(ds)}


def ensemble(datasets, req, progress):
    import stratotrack as st

    res = _resolve(datasets, req)
    passages = [{"lat": p["latitude"], "lon": p["longitude"], "radius_km": p["radius_km"],
                 **({"name": p["name"]} if p.get("name") else {})} for p in req.get("passages") or []]
    with ENGINE_LOCK:
        r = st.ensemble(*_start(req), members=int(req["members"]), seed=req.get("seed"), spread=req.get("spread"),
                        wind_error=True if req.get("wind_error") else None, passages=passages or None,
                        wind=res.field, max_duration=req.get("max_duration", "40d"), **_flight(req))
    progress(0.9)
    return {"dataset": res.name, "warnings": res.warnings, "summary": r.summary(), "geojson": r.geojson()}


def windows(datasets, req, progress):
    import stratotrack as st

    res = datasets.resolve(req.get("dataset"), _t(req["start"]))
    with ENGINE_LOCK:
        w = st.windows(req["latitude"], req["longitude"], req.get("altitude", 0.0), req["start"], req["end"],
                       req.get("every", "1h"), req.get("profile", "standard"), members=int(req.get("members", 0)),
                       seed=req.get("seed"), wind=res.field, **_flight(req))
    progress(0.9)
    import pandas as pd

    table = w.table.copy()
    for c in table.columns:
        if pd.api.types.is_datetime64_any_dtype(table[c]):
            table[c] = table[c].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"dataset": res.name, "warnings": res.warnings, "launches": table.to_dict(orient="records")}


def assess(datasets, req, progress):
    import stratotrack as st
    from ..analysis.sites import Site

    res = _resolve(datasets, req)
    with ENGINE_LOCK:
        ds = st.predict(*_start(req), wind=res.field, max_duration=req.get("max_duration", "40d"), **_flight(req))
    progress(0.4)
    sites = [Site.point(s["name"], s["latitude"], s["longitude"], s.get("radius_km", 0.0))
             for s in req.get("sites") or []]
    with ENGINE_LOCK:
        out = st.assess(ds, sites, wind=res.field, termination=bool(req.get("termination", False)))
    return {"dataset": res.name, "warnings": res.warnings, "assessment": out}


def steer(datasets, req, progress):
    raise InputError("steer runs are not available in this version of stratotrack; expected one of predict, "
                     "ensemble, windows, assess")


KINDS = {"predict": predict, "ensemble": ensemble, "windows": windows, "assess": assess, "steer": steer}


# -- live sessions ---------------------------------------------------------------------------------------------------
OBS_FIELDS = ("kind", "time", "lat", "lon", "alt", "sigma_h", "sigma_z", "azimuth", "elevation", "sigma_angle",
              "angular_size", "size", "sigma_t", "source", "label")


def observation_data(o) -> dict:
    """An Observation as a JSON-ready dict (NaN as None)."""
    out = {}
    for k in OBS_FIELDS:
        v = getattr(o, k)
        if isinstance(v, float) and not math.isfinite(v):
            v = None
        out[k] = v
    return out


def observation_from(data: dict):
    from ..track.observations import Observation

    kw = {k: (math.nan if data.get(k) is None and k not in ("kind", "source", "label") else data.get(k))
          for k in OBS_FIELDS}
    kw["source"] = kw["source"] or ""
    kw["label"] = kw["label"] or ""
    return Observation(**kw)


def session_state(db, datasets, session_id, particles):
    """(n_obs, last observation id, result dict) of the tracker on all of a session's observations."""
    import sqlalchemy as sa

    import stratotrack as st
    from .db import ObservationRow, TrackSession

    with db.session() as s:
        sess = s.get(TrackSession, session_id)
        rows = s.execute(sa.select(ObservationRow.id, ObservationRow.data).where(
            ObservationRow.session_id == session_id).order_by(ObservationRow.id)).all()
    if sess is None or not rows:
        return 0, 0, None
    obs = [observation_from(r.data) for r in rows]
    params = dict(sess.params or {})
    t_last = max(o.time for o in obs)
    try:
        res = datasets.resolve(sess.dataset or None, t_last)
    except LookupError as exc:
        return len(rows), rows[-1].id, {"error": str(exc)}
    try:
        with ENGINE_LOCK:
            tr = st.track.track(obs, res.field, particles=particles, seed=0, mode=params.get("mode", "auto"),
                                forecast=params.get("forecast", "12h"), forecast_members=min(200, particles),
                                burst_altitude=params.get("burst_altitude"),
                                descent_rate=params.get("descent_rate", 5.0))
    except InputError as exc:
        return len(rows), rows[-1].id, {"error": " ".join(str(exc).split())}
    f = tr.fused
    k = int(f.n_obs.values[0])
    times = f.time.values[0, :k]
    fused = [{"time": str(np.datetime64(t, "s")) + "Z", "latitude": float(a), "longitude": float(o),
              "altitude": float(z), "r50_km": float(r)}
             for t, a, o, z, r in zip(times, f.latitude.values[0, :k], f.longitude.values[0, :k],
                                      f.altitude.values[0, :k], f.r50_km.values[0, :k])]
    out = {"n_obs": len(rows), "dataset": res.name, "summary": tr.to_dict(), "fused": fused,
           "warnings": res.warnings}
    if tr.landing is not None:
        out["landing"] = tr.landing.to_dict()
        path = tr.landing.trajectory
        if path is not None and path.sizes.get("obs", 0):
            n = int(path.n_obs.values[0])
            out["forecast_path"] = [[float(o), float(a), float(z)] for a, o, z in zip(
                path.latitude.values[0, :n], path.longitude.values[0, :n], path.altitude.values[0, :n])]
    if tr.forecast_spread:
        out["forecast"] = tr.forecast_spread
    return len(rows), rows[-1].id, out
