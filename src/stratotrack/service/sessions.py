"""Live tracking sessions: observations in (the formats ``stratotrack track`` reads, or JSON objects), the fused
track and the re-predicted landing or forecast out after each, and a Server-Sent Events stream of both.

A session belongs to the API key that created it; another key gets 403 and sees none of its observations.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time as _time
import uuid
from pathlib import Path
from typing import Annotated, Literal, Optional

import sqlalchemy as sa
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ..errors import InputError
from .errors import RequestException

router = APIRouter(prefix="/api/v2/sessions", tags=["sessions"])

#: request Content-Type -> the file extension whose reader parses it
CONTENT_TYPES = {"text/csv": ".csv", "application/vnd.google-earth.kml+xml": ".kml",
                 "application/vnd.google-earth.kmz": ".kmz", "application/gpx+xml": ".gpx",
                 "application/geo+json": ".geojson"}
MAX_OBS_PER_POST = 20000


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: Annotated[str, Field(max_length=200)] = ""
    dataset: Optional[Annotated[str, Field(min_length=1, max_length=64)]] = None
    mode: Literal["auto", "float", "sounding"] = "auto"
    forecast: Annotated[str, Field(min_length=1, max_length=20)] = "12h"
    burst_altitude: Optional[Annotated[float, Field(gt=0, le=86000)]] = None
    descent_rate: Annotated[float, Field(gt=0, le=100)] = 5.0


class ObservationIn(BaseModel):
    """A fix (time, latitude, longitude, optional altitude and uncertainties) or, with azimuth and elevation, a
    sighting from an observer at latitude/longitude/altitude."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    time: Annotated[str, Field(min_length=10, max_length=40)]
    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=360)]
    altitude: Optional[Annotated[float, Field(ge=-500, le=90000)]] = None
    sigma_h: Optional[Annotated[float, Field(gt=0, le=5e6)]] = None
    sigma_z: Optional[Annotated[float, Field(gt=0, le=1e5)]] = None
    azimuth: Optional[Annotated[float, Field(ge=-360, le=360)]] = None
    elevation: Optional[Annotated[float, Field(ge=-90, le=90)]] = None
    sigma_angle: Optional[Annotated[float, Field(gt=0, le=90)]] = None
    label: Annotated[str, Field(max_length=200)] = ""


def _to_observation(o: ObservationIn):
    from ..track.observations import TELEMETRY_SIGMA_H, Observation

    if (o.azimuth is None) != (o.elevation is None):
        raise InputError("a sighting needs both azimuth and elevation (degrees); a fix needs neither")
    if o.azimuth is not None:
        kw = {"sigma_angle": o.sigma_angle} if o.sigma_angle else {}
        return Observation.sighting(o.time, o.latitude, o.longitude, o.azimuth, o.elevation,
                                    observer_alt=o.altitude or 0.0, source="api", label=o.label, **kw)
    sigma_h = o.sigma_h if o.sigma_h is not None else TELEMETRY_SIGMA_H
    return Observation.fix(o.time, o.latitude, o.longitude, o.altitude if o.altitude is not None else math.nan,
                           sigma_h=sigma_h, sigma_z=o.sigma_z, source="api", label=o.label)


async def _parse_observations(request: Request) -> list:
    """Observations from the body: JSON objects (one or a list) or a file in any format ``track`` reads."""
    import json

    from ..track.observations import read_observations

    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    body = await request.body()
    if not body:
        raise RequestException("the request body is empty; expected observations (JSON, CSV, KML, GPX, GeoJSON)")
    ext = CONTENT_TYPES.get(ctype)
    if ext is None and ctype not in ("application/json", "text/json"):
        raise RequestException(f"Content-Type {ctype[:60]!r} is not an observation format; expected "
                               f"application/json or one of {', '.join(CONTENT_TYPES)}")
    if ext is None:
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise RequestException(f"the body is not valid JSON: {str(exc)[:120]}") from None
        items = data if isinstance(data, list) else [data]
        if items and all(isinstance(x, dict) and "latitude" in x and "time" in x for x in items):
            if len(items) > MAX_OBS_PER_POST:
                raise RequestException(f"{len(items)} observations in one request; expected at most {MAX_OBS_PER_POST}")
            from pydantic import ValidationError

            try:
                parsed = [ObservationIn.model_validate(x) for x in items]
            except ValidationError as exc:
                e = exc.errors()[0]
                loc = ".".join(str(x) for x in e.get("loc", ()))
                got = repr(e.get("input"))[:60] if e.get("type") != "missing" else "nothing"
                raise RequestException(f"observation field '{loc}': {e.get('msg')} (got {got})") from None
            return [_to_observation(o) for o in parsed]
        ext = ".json"  # APRS, SondeHub or GeoJSON: the file readers decide
    # a file format: written to a private temporary folder (the server picks the name) and read as a file
    with tempfile.TemporaryDirectory(prefix="stratotrack-obs-") as tmp:
        path = Path(tmp) / f"observations{ext}"
        path.write_bytes(body)
        try:
            obs = read_observations(path)
        except InputError as exc:
            raise RequestException(str(exc).replace(str(path), f"the {ext[1:].upper()} body")) from None
        except Exception:  # a malformed file that a reader did not expect
            raise RequestException(f"the {ext[1:].upper()} body could not be read as observations") from None
    if len(obs.items) > MAX_OBS_PER_POST:
        raise RequestException(f"{len(obs.items)} observations in one request; expected at most {MAX_OBS_PER_POST}")
    return list(obs.items)


def _owned(state, request, session_id, *, allow_query_key=False):
    from .db import TrackSession

    kid = _key(state, request, allow_query_key)
    return state.db.owned(TrackSession, session_id, kid, "session"), kid


def _key(state, request, allow_query_key):
    headers = dict(request.headers)
    if allow_query_key and "key" in request.query_params and "authorization" not in headers:
        headers["x-api-key"] = request.query_params["key"]  # browsers' EventSource cannot send headers
    return state.keys.key_id(headers)


def _view(row, base) -> dict:
    from .errors import rfc3339

    return {"id": row.id, "name": row.name, "dataset": row.dataset, "params": row.params,
            "created": rfc3339(row.created), "observations_url": f"{base}/api/v2/sessions/{row.id}/observations",
            "state_url": f"{base}/api/v2/sessions/{row.id}/state",
            "events_url": f"{base}/api/v2/sessions/{row.id}/events"}


@router.post("", status_code=201, summary="Open a live tracking session")
def create_session(body: SessionIn, request: Request):
    from ..timeutil import parse_duration
    from .db import TrackSession

    state = request.app.state.st
    kid = state.writer(request)
    if body.dataset is not None and body.dataset not in state.datasets.entries:
        from .errors import InvalidDatasetException

        raise InvalidDatasetException(f"dataset {body.dataset!r} is not served here; expected one of "
                                      f"{', '.join(state.datasets.entries)}")
    try:
        if parse_duration(body.forecast) > 10 * 86400:
            raise RequestException(f"forecast {body.forecast} is longer than 10 days; expected less")
    except InputError as exc:
        raise RequestException(str(exc)) from None
    row = TrackSession(id=str(uuid.uuid4()), key_id=kid, name=body.name, dataset=body.dataset or "",
                       params=body.model_dump(exclude={"name", "dataset"}), created=_time.time())
    with state.db.session.begin() as s:
        s.add(row)
    return _view(row, str(request.base_url).rstrip("/"))


@router.get("/{session_id}", summary="A session and its latest state")
def get_session(session_id: str, request: Request):
    state = request.app.state.st
    row, _ = _owned(state, request, session_id)
    out = _view(row, str(request.base_url).rstrip("/"))
    out["n_obs"] = _count(state, session_id)
    return out


def _count(state, session_id) -> int:
    from .db import ObservationRow

    with state.db.session() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(ObservationRow).where(
            ObservationRow.session_id == session_id)))


@router.post("/{session_id}/observations", status_code=201,
             summary="Add observations: JSON objects or a CSV/KML/KMZ/GPX/GeoJSON/APRS/SondeHub body")
async def add_observations(session_id: str, request: Request):
    from starlette.concurrency import run_in_threadpool

    from .db import ObservationRow
    from .science import observation_data

    state = request.app.state.st
    await run_in_threadpool(state.writer, request)
    await run_in_threadpool(_owned, state, request, session_id)
    try:
        obs = await _parse_observations(request)
    except InputError as exc:
        raise RequestException(str(exc)) from None

    def store():
        now = _time.time()
        rows = [ObservationRow(session_id=session_id, received=now, kind=o.kind, time=float(o.time), lat=float(o.lat),
                               lon=float(o.lon), data=observation_data(o)) for o in obs]
        with state.db.session.begin() as s:
            s.add_all(rows)
            s.flush()
            ids = [r.id for r in rows]
        return ids

    ids = await run_in_threadpool(store)
    state.jobs.session_changed(session_id)
    return {"accepted": len(ids), "observation_ids": ids}


@router.get("/{session_id}/observations", summary="The session's observations, in the order received")
def list_observations(session_id: str, request: Request, after: int = 0, limit: int = 1000):
    from .db import ObservationRow

    state = request.app.state.st
    _owned(state, request, session_id)
    limit = max(1, min(int(limit), 10000))
    with state.db.session() as s:
        rows = s.execute(sa.select(ObservationRow.id, ObservationRow.data).where(
            ObservationRow.session_id == session_id, ObservationRow.id > after).order_by(ObservationRow.id)
            .limit(limit)).all()
    return {"observations": [{"id": r.id, **r.data} for r in rows]}


def _latest_state(state, session_id):
    from .db import SessionState

    with state.db.session() as s:
        return s.execute(sa.select(SessionState).where(SessionState.session_id == session_id)
                         .order_by(SessionState.id.desc()).limit(1)).scalar_one_or_none()


@router.get("/{session_id}/state", summary="The fused track and re-prediction after the latest observations")
async def get_state(session_id: str, request: Request, min_obs: int = 0, wait: float = 0.0):
    """``min_obs``/``wait``: wait up to ``wait`` s (at most 25) for a state that includes ``min_obs`` observations."""
    from starlette.concurrency import run_in_threadpool

    from .errors import rfc3339

    state = request.app.state.st
    await run_in_threadpool(_owned, state, request, session_id)
    end = _time.monotonic() + max(0.0, min(float(wait), 25.0))
    while True:
        st = await run_in_threadpool(_latest_state, state, session_id)
        if (st is not None and st.n_obs >= min_obs) or _time.monotonic() >= end:
            break
        await asyncio.sleep(0.25)
    n = await run_in_threadpool(_count, state, session_id)
    if st is None:
        return {"session": session_id, "n_obs": n, "state": None}
    return {"session": session_id, "n_obs": n, "state_n_obs": st.n_obs, "computed": rfc3339(st.created),
            "state": st.result}


@router.get("/{session_id}/events", summary="Server-Sent Events: 'observation' and 'state' as they arrive")
async def events(session_id: str, request: Request, after_obs: int = 0, after_state: int = 0):
    """The stream polls the database, so it sees what any worker process stored.  ``key`` may be given as a
    query parameter here, for browsers' EventSource."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import StreamingResponse

    from .app import dumps
    from .db import ObservationRow, SessionState

    state = request.app.state.st
    await run_in_threadpool(_owned, state, request, session_id, allow_query_key=True)

    def poll(a_obs, a_state):
        with state.db.session() as s:
            obs = s.execute(sa.select(ObservationRow.id, ObservationRow.data).where(
                ObservationRow.session_id == session_id, ObservationRow.id > a_obs).order_by(ObservationRow.id)
                .limit(500)).all()
            sts = s.execute(sa.select(SessionState).where(SessionState.session_id == session_id,
                                                          SessionState.id > a_state)
                            .order_by(SessionState.id.desc()).limit(1)).scalars().all()
        return obs, sts

    async def stream():
        a_obs, a_state = after_obs, after_state
        yield b"retry: 2000\n\n"
        idle = 0.0
        while True:
            if await request.is_disconnected():
                return
            obs, sts = await run_in_threadpool(poll, a_obs, a_state)
            for r in obs:
                a_obs = r.id
                yield b"event: observation\nid: o" + str(r.id).encode() + b"\ndata: " + dumps(
                    {"id": r.id, **r.data}) + b"\n\n"
            for st in sts:
                a_state = st.id
                yield b"event: state\nid: s" + str(st.id).encode() + b"\ndata: " + dumps(
                    {"n_obs": st.n_obs, "state_id": st.id, "state": st.result}) + b"\n\n"
            if obs or sts:
                idle = 0.0
            else:
                idle += 0.5
                if idle >= 15.0:
                    idle = 0.0
                    yield b": keep-alive\n\n"
            await asyncio.sleep(0.5)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
