"""API v2: what Tawhiri lacks.  Ensembles (members, spreads, GeoJSON contours, passage probabilities), launch
windows, float and drift flights for days, backward runs and mission assessments, as queued jobs (an id, progress
and a result URL); the datasets served.  Writes need an API key; a job is visible to the key that made it only."""

from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from ..errors import InputError
from .errors import RequestException

router = APIRouter(prefix="/api/v2", tags=["v2"])

MAX_DAYS = 40.0
Lat = Annotated[float, Field(ge=-90, le=90, description="degrees north")]
Lon = Annotated[float, Field(ge=-180, le=360, description="degrees east, -180..180 or 0..360")]
Alt = Annotated[float, Field(ge=-500, le=86000, description="m above mean sea level")]
Rate = Annotated[float, Field(gt=0, le=100, description="m/s")]
Time = Annotated[str, Field(min_length=10, max_length=40, description="ISO 8601 / RFC 3339 time, e.g. "
                                                                      "2023-01-17T11:00:00Z")]
Dur = Annotated[str, Field(min_length=1, max_length=20, description="a duration such as '36h' or '3d'")]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class _Launch(_Model):
    """Where a flight starts and how it flies (shared by single flights and launch windows)."""
    latitude: Lat
    longitude: Lon
    altitude: Alt = 0.0
    profile: Literal["standard", "float", "drift"] = "standard"
    ascent_rate: Rate = 5.0
    burst_altitude: Annotated[float, Field(gt=0, le=86000)] = 30000.0
    descent_rate: Rate = 5.0
    float_altitude: Optional[Annotated[float, Field(gt=0, le=86000)]] = None
    duration: Optional[Dur] = None
    dataset: Optional[Name] = None


class Flight(_Launch):
    time: Time
    stop: Optional[Time] = None
    backward: bool = False
    launch_altitude: Alt = 0.0
    landing_altitude: Alt = 0.0


class PredictJob(Flight):
    kind: Literal["predict"]


class Passage(_Model):
    latitude: Lat
    longitude: Lon
    radius_km: Annotated[float, Field(gt=0, le=5000)]
    name: Optional[Annotated[str, Field(max_length=64)]] = None


class EnsembleJob(Flight):
    kind: Literal["ensemble"]
    members: Annotated[int, Field(ge=1, le=1_000_000)] = 1000
    seed: Optional[Annotated[int, Field(ge=0, le=2**63 - 1)]] = None
    spread: Optional[dict[Literal["ascent_rate", "burst_altitude", "descent_rate", "float_altitude", "launch_time"],
                          Union[Annotated[float, Field(ge=0, le=1e6)], Annotated[str, Field(max_length=40)]]]] = None
    wind_error: bool = False
    passages: Optional[Annotated[list[Passage], Field(max_length=20)]] = None


class WindowsJob(_Launch):
    kind: Literal["windows"]
    start: Time
    end: Time
    every: Dur = "1h"
    members: Annotated[int, Field(ge=0, le=10000)] = 0
    seed: Optional[Annotated[int, Field(ge=0, le=2**63 - 1)]] = None


class SiteIn(_Model):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    latitude: Lat
    longitude: Lon
    radius_km: Annotated[float, Field(ge=0, le=5000)] = 0.0


class AssessJob(Flight):
    kind: Literal["assess"]
    sites: Annotated[list[SiteIn], Field(max_length=50)] = []
    termination: bool = False


class SteerJob(Flight):
    kind: Literal["steer"]


JobRequest = Annotated[Union[PredictJob, EnsembleJob, WindowsJob, AssessJob, SteerJob], Field(discriminator="kind")]


def _check(state, job) -> dict:
    """Limits that need the configuration or arithmetic: members, run lengths, launch counts."""
    from ..timeutil import parse_duration, to_epoch_seconds

    req = job.model_dump()
    try:
        if job.kind == "steer":
            from .errors import APIError

            err = APIError("steer runs are not available in this version of stratotrack; expected one of predict, "
                           "ensemble, windows, assess")
            err.status, err.type = 501, "NotYetImplementedException"
            raise err
        if getattr(job, "members", 0) > state.config.max_members:
            raise RequestException(f"members {job.members} is above this server's limit; expected at most "
                                   f"{state.config.max_members}")
        if job.kind == "windows":
            a, b = float(to_epoch_seconds(job.start)), float(to_epoch_seconds(job.end))
            every = parse_duration(job.every)
            if not b >= a:
                raise RequestException(f"end {job.end} is before start {job.start}; expected end >= start")
            if (b - a) / every > 500:
                raise RequestException(f"{int((b - a) / every) + 1} launches from {job.start} to {job.end} every "
                                       f"{job.every}; expected at most 500")
        else:
            t0 = float(to_epoch_seconds(job.time))
            if job.duration is not None and parse_duration(job.duration) > MAX_DAYS * 86400:
                raise RequestException(f"duration {job.duration} is longer than {MAX_DAYS:g} days; expected less")
            if job.stop is not None and abs(float(to_epoch_seconds(job.stop)) - t0) > MAX_DAYS * 86400:
                raise RequestException(f"stop {job.stop} is more than {MAX_DAYS:g} days from the start")
            if job.profile in ("float", "drift") and job.duration is None and job.stop is None:
                raise RequestException(f"the {job.profile} profile needs 'duration' or 'stop'")
            if job.profile == "float" and job.float_altitude is None and not job.backward:
                raise RequestException("the float profile needs 'float_altitude' (m)")
            if job.dataset is not None and job.dataset not in state.datasets.entries:
                from .errors import InvalidDatasetException

                raise InvalidDatasetException(f"dataset {job.dataset!r} is not served here; expected one of "
                                              f"{', '.join(state.datasets.entries)}")
    except InputError as exc:
        raise RequestException(str(exc)) from None
    return req


@router.get("/datasets", summary="The wind datasets this server offers (names, kinds, coverage; never paths)")
def datasets(request: Request):
    return {"datasets": request.app.state.st.datasets.describe()}


@router.post("/jobs", status_code=202, summary="Queue a job: predict, ensemble, windows, assess (steer: later)")
def create_job(job: JobRequest, request: Request):
    from .jobs import job_view

    state = request.app.state.st
    kid = state.writer(request)
    req = _check(state, job)
    job_id = state.jobs.submit(kid, job.kind, req)
    from .db import Job

    with state.db.session() as s:
        row = s.get(Job, job_id)
        return job_view(row, _base(request))


def _owned(state, request, job_id):
    from .db import Job

    return state.db.owned(Job, job_id, state.keys.key_id(request.headers), "job")


@router.get("/jobs/{job_id}", summary="A job's status and progress")
def job_status(job_id: str, request: Request):
    from .jobs import job_view

    row = _owned(request.app.state.st, request, job_id)
    return job_view(row, _base(request))


@router.get("/jobs/{job_id}/result", summary="A finished job's result (format=geojson: only its GeoJSON)")
def job_result(job_id: str, request: Request, format: Optional[Literal["json", "geojson"]] = "json"):
    from .app import JSON, dumps
    from .jobs import job_view

    row = _owned(request.app.state.st, request, job_id)
    if row.status != "done":
        body = job_view(row, _base(request))
        if row.status == "failed":
            return JSON(body, status_code=422)
        return JSON(body, status_code=202, headers={"Retry-After": "1"})
    if format == "geojson":
        gj = (row.result or {}).get("geojson")
        if gj is None:
            raise RequestException(f"a {row.kind} job has no GeoJSON result; expected format=json")
        return Response(dumps(gj), media_type="application/geo+json")
    return JSON({"id": row.id, "kind": row.kind, "request": row.request, "result": row.result})


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")
