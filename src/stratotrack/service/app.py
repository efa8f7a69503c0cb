"""The ASGI application: routes, error shapes, limits, CORS and the static map page."""

from __future__ import annotations

import asyncio
import json
import time as _time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import StratotrackError
from .config import ServeConfig
from .errors import (APIError, InternalException, NotFoundException, PayloadTooLargeException, RequestException,
                     TimeoutException, error_body)

STATIC = Path(__file__).with_name("static")


try:
    import orjson as _orjson

    def dumps(obj) -> bytes:
        return _orjson.dumps(obj, option=_orjson.OPT_SERIALIZE_NUMPY)
except ImportError:  # orjson comes with the serve extra; the standard library does the same, slower
    def dumps(obj) -> bytes:
        return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode()


class JSON(Response):
    media_type = "application/json"

    def render(self, content) -> bytes:
        return dumps(content)


def error_response(exc: APIError, start: float | None = None) -> Response:
    now = _time.time()
    return JSON(error_body(exc, start or now, now), status_code=exc.status, headers=exc.headers)


class Guard:
    """Pure ASGI middleware: per-address rate limit, body size limit (413) and request duration limit."""

    def __init__(self, app, state):
        self.app = app
        self.state = state

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        cfg: ServeConfig = self.state.config
        start = _time.time()
        path = scope.get("path", "")
        started = False

        async def reply(exc: APIError):
            resp = error_response(exc, start)
            await resp(scope, receive, send)

        if path.startswith("/api/"):
            client = scope.get("client") or ("unknown", 0)
            try:
                self.state.address_limiter.take(client[0])
            except APIError as exc:
                return await reply(exc)
        limit = int(cfg.max_body_bytes)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    n = int(value)
                except ValueError:
                    return await reply(RequestException("the Content-Length header is not a number"))
                if n > limit:
                    return await reply(PayloadTooLargeException(
                        f"the request body of {n} bytes is too large; expected at most {limit} bytes"))
        seen = 0

        async def limited_receive():
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    raise _TooLarge()
            return msg

        async def tracked_send(msg):
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        streaming = path.endswith("/events")
        try:
            if streaming:
                await self.app(scope, limited_receive, tracked_send)
            else:
                await asyncio.wait_for(self.app(scope, limited_receive, tracked_send), cfg.request_timeout_s)
        except _TooLarge:
            if not started:
                await reply(PayloadTooLargeException(f"the request body is too large; expected at most {limit} bytes"))
        except asyncio.TimeoutError:
            if not started:
                await reply(TimeoutException(f"the request took longer than {cfg.request_timeout_s:g} s; long runs "
                                             "belong in a job (POST /api/v2/jobs)", headers={"Retry-After": "5"}))


class _TooLarge(Exception):
    pass


class State:
    """Everything a worker process holds: configuration, datasets, database, key checker, limiters, jobs."""

    def __init__(self, config: ServeConfig):
        from .auth import KeyChecker, RateLimiter
        from .datasets import Datasets
        from .db import Database

        self.config = config
        self.datasets = Datasets(config.winds)
        self.db = Database(config.database)
        self.keys = KeyChecker(self.db)
        share = max(1, int(config.workers))
        self.key_limiter = RateLimiter(config.rate_per_key / share, config.burst, "API key")
        self.address_limiter = RateLimiter(config.rate_per_address / share, config.burst, "address")
        self._jobs = None

    @property
    def jobs(self):
        if self._jobs is None:
            from .jobs import JobRunner

            self._jobs = JobRunner(self)
        return self._jobs

    def writer(self, request: Request) -> str:
        """The key id of a write request (401 without a valid key; 429 over the key's rate)."""
        kid = self.keys.key_id(request.headers)
        self.key_limiter.take(kid)
        return kid


def create_app(config: ServeConfig | None = None, *, migrate: bool = True) -> FastAPI:
    """The service as an ASGI app (``migrate``: bring the database schema up to date first)."""
    from fastapi.middleware.cors import CORSMiddleware

    from . import sessions, v1, v2

    config = (config or ServeConfig()).check()
    state = State(config)
    if migrate:
        state.db.upgrade()
    import contextlib

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        if state._jobs is not None:
            state._jobs.shutdown()
        state.db.dispose()

    app = FastAPI(title="stratotrack", version=_version(), default_response_class=JSON, lifespan=lifespan,
                  description="Balloon trajectory prediction: a Tawhiri-compatible API v1, API v2 (ensembles, "
                              "launch windows, long flights, jobs) and live tracking sessions.")
    app.state.st = state

    @app.exception_handler(APIError)
    async def _api_error(request, exc: APIError):
        return error_response(exc)

    @app.exception_handler(StratotrackError)
    async def _st_error(request, exc):
        return error_response(RequestException(str(exc)))

    @app.exception_handler(RequestValidationError)
    async def _validation(request, exc: RequestValidationError):
        return error_response(RequestException(_describe_validation(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request, exc):
        if exc.status_code == 404:
            return error_response(NotFoundException(f"no such endpoint: {request.url.path[:100]}"))
        err = APIError(str(exc.detail))
        err.status, err.type = exc.status_code, "RequestException" if exc.status_code < 500 else "InternalException"
        return error_response(err)

    @app.exception_handler(Exception)
    async def _internal(request, exc):
        import logging

        logging.getLogger("stratotrack.service").exception("internal error on %s", request.url.path)
        return error_response(InternalException("internal error; the server log has the details"))

    app.include_router(v1.router)
    app.include_router(v2.router)
    app.include_router(sessions.router)

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/static/countries.topojson.json", include_in_schema=False)
    def borders():  # the map page's coastlines and borders: the Natural Earth file stratotrack ships (geo/data)
        from importlib import resources

        from ..geo.coastlines import DATA_FILE

        with resources.as_file(resources.files("stratotrack.geo").joinpath("data", DATA_FILE)) as path:
            return FileResponse(path, media_type="application/json", headers={"Cache-Control": "max-age=86400"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    if config.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins), allow_methods=["GET", "POST",
                           "DELETE"], allow_headers=["Authorization", "X-API-Key", "Content-Type"], max_age=600)
    app.add_middleware(Guard, state=state)

    return app


def create_app_from_env() -> FastAPI:
    """The factory the worker processes of ``stratotrack serve`` call (configuration in STRATOTRACK_SERVE_CONFIG)."""
    app = create_app(ServeConfig.from_env(), migrate=False)
    from .predictor import warm_up

    warm_up(app.state.st.datasets.resolve("climatology", 1.6e9).field if "climatology" in app.state.st.datasets.entries
            else __import__("stratotrack").open_wind("climatology"))
    return app


def _version() -> str:
    from .. import __version__

    return __version__


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for e in exc.errors()[:3]:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path"))
        msg = str(e.get("msg", "invalid"))
        got = "" if e.get("type") == "missing" else f" (got {repr(e.get('input'))[:60]})"
        parts.append(f"parameter '{loc or 'body'}': {msg}{got}")
    return "Invalid request: " + "; ".join(parts)
