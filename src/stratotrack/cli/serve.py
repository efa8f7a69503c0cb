"""``stratotrack serve``: run the HTTP API (uvicorn, several worker processes) and manage its API keys."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from ..errors import InputError

serve_app = typer.Typer(name="serve", help="Run the HTTP API and map page; 'serve keys' manages API keys.",
                        invoke_without_command=True, no_args_is_help=False)
keys_app = typer.Typer(name="keys", help="Create, list or revoke the API keys that write endpoints need.",
                       no_args_is_help=True)
serve_app.add_typer(keys_app, name="keys")


def _environment_fault(exc) -> "typer.Exit":
    """A database that cannot be reached or written: one line on stderr, exit 1."""
    text = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
    typer.echo(f"stratotrack: error: the database cannot be used: {text}", err=True)
    return typer.Exit(1)


def _open_db(url):
    import sqlalchemy.exc

    from ..service.db import Database

    db = Database(url)
    try:
        db.upgrade()
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.DBAPIError) as exc:
        db.dispose()
        raise _environment_fault(exc) from None
    return db


def _need_serve_extra():
    try:
        import fastapi  # noqa: F401
        import sqlalchemy  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise InputError(f"the server needs {exc.name}; install it with: pip install 'stratotrack[serve]'") from None


@serve_app.callback()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 2,
    wind: Annotated[Optional[list[str]], typer.Option(
        help="A dataset to serve: climatology, gfs/era5/... (the cache), a cache entry id or a file, optionally "
             "NAME=SOURCE; repeat for several (the first covering a launch is the default).")] = None,
    database: Annotated[Optional[str], typer.Option(
        help="sqlite:///PATH or postgresql://USER:PASS@HOST/DB (default: SQLite in the user data folder).")] = None,
    cors: Annotated[Optional[list[str]], typer.Option(help="An origin allowed to call the API from a browser.")] = None,
    rate_per_key: Annotated[float, typer.Option(help="Write requests per second per API key.")] = 50.0,
    rate_per_address: Annotated[float, typer.Option(help="API requests per second per client address.")] = 200.0,
    max_body: Annotated[int, typer.Option(help="Largest request body in bytes.")] = 1_000_000,
    timeout: Annotated[float, typer.Option(help="Longest request in seconds (long runs are jobs).")] = 30.0,
    job_workers: Annotated[int, typer.Option(help="Job processes per worker.")] = 1,
    session_particles: Annotated[int, typer.Option(help="Particles of a live session's tracker.")] = 2000,
    max_members: Annotated[int, typer.Option(help="Most ensemble members a job may ask for.")] = 20000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
):
    """Serve the Tawhiri-compatible API v1, API v2, live tracking sessions and the map page."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"database": database}
        return
    _need_serve_extra()
    import os

    from ..service.config import ENV, ServeConfig

    cfg = ServeConfig(host=host, port=port, workers=workers, winds=list(wind or ["climatology"]), database=database,
                      cors_origins=list(cors or []), rate_per_key=rate_per_key, rate_per_address=rate_per_address,
                      max_body_bytes=max_body, request_timeout_s=timeout, job_workers=job_workers,
                      session_particles=session_particles, max_members=max_members).check()
    from ..service.datasets import Datasets

    Datasets(cfg.winds)  # fail here, once, on a dataset that cannot be opened
    db = _open_db(cfg.database)
    stale = db.fail_interrupted_jobs()
    db.dispose()
    if stale:
        typer.echo(f"stratotrack serve: {stale} jobs of an earlier run were left unfinished and are marked failed",
                   err=True)
    os.environ[ENV] = cfg.to_env()
    import uvicorn

    typer.echo(f"stratotrack serve: http://{host}:{port}/ ({workers} workers; datasets: {', '.join(cfg.winds)})",
               err=True)
    uvicorn.run("stratotrack.service.app:create_app_from_env", factory=True, host=host, port=port,
                workers=workers, log_level=log_level, access_log=False, timeout_graceful_shutdown=5)


def _db(ctx: typer.Context, database):
    _need_serve_extra()
    from ..service.config import default_database

    url = database or (ctx.obj or {}).get("database") or default_database()
    return _open_db(url)


@keys_app.command("create")
def keys_create(ctx: typer.Context,
                name: Annotated[str, typer.Option(help="A label for the key (who or what uses it).")] = "",
                database: Annotated[Optional[str], typer.Option(help="The server's database URL.")] = None):
    """Create an API key; it is printed once (only its hash is stored)."""
    from ..service.auth import create_key

    db = _db(ctx, database)
    kid, key = create_key(db, name)
    db.dispose()
    typer.echo(key)


@keys_app.command("list")
def keys_list(ctx: typer.Context, database: Annotated[Optional[str], typer.Option(help="Database URL.")] = None):
    """List the keys (ids and labels, never the secrets)."""
    from ..service.auth import list_keys

    db = _db(ctx, database)
    typer.echo(json.dumps(list_keys(db), indent=1))
    db.dispose()


@keys_app.command("revoke")
def keys_revoke(ctx: typer.Context, key_id: Annotated[str, typer.Argument(help="The key's id (st_<id>_...).")],
                database: Annotated[Optional[str], typer.Option(help="Database URL.")] = None):
    """Revoke a key: requests with it are refused (within seconds on a running server)."""
    from ..service.auth import revoke_key

    db = _db(ctx, database)
    ok = revoke_key(db, key_id.split("_")[1] if key_id.startswith("st_") else key_id)
    db.dispose()
    if not ok:
        raise InputError(f"API key {key_id!r} is unknown; expected an id shown by 'stratotrack serve keys list'")
    typer.echo(f"revoked {key_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(serve_app, name="serve")
