"""The database: API keys, live sessions and their observations and states, jobs and their results.

One SQLAlchemy engine and session factory for SQLite (the default: a file in the user data folder, WAL journal, a
busy timeout so that several worker processes can write) and PostgreSQL (``postgresql://...``, driven by psycopg 3).
The schema is created and upgraded by Alembic migrations (``migrations/``), never by ``create_all``.
"""

from __future__ import annotations

import time as _time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from ..errors import InputError


class Base(DeclarativeBase):
    pass


def _now() -> float:
    return _time.time()


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    secret_hash: Mapped[str] = mapped_column(sa.String(64))
    created: Mapped[float] = mapped_column(sa.Float, default=_now)
    revoked: Mapped[bool] = mapped_column(sa.Boolean, default=False)


class TrackSession(Base):
    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    key_id: Mapped[str] = mapped_column(sa.String(16), sa.ForeignKey("api_keys.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    dataset: Mapped[str] = mapped_column(sa.String(64))
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created: Mapped[float] = mapped_column(sa.Float, default=_now)


class ObservationRow(Base):
    __tablename__ = "observations"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(sa.String(36), sa.ForeignKey("sessions.id", ondelete="CASCADE"),
                                            index=True)
    received: Mapped[float] = mapped_column(sa.Float, default=_now)
    kind: Mapped[str] = mapped_column(sa.String(16))
    time: Mapped[float] = mapped_column(sa.Float)
    lat: Mapped[float] = mapped_column(sa.Float)
    lon: Mapped[float] = mapped_column(sa.Float)
    data: Mapped[dict] = mapped_column(sa.JSON)  # every field of the Observation


class SessionState(Base):
    __tablename__ = "session_states"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(sa.String(36), sa.ForeignKey("sessions.id", ondelete="CASCADE"),
                                            index=True)
    n_obs: Mapped[int] = mapped_column(sa.Integer)
    last_obs_id: Mapped[int] = mapped_column(sa.Integer)
    created: Mapped[float] = mapped_column(sa.Float, default=_now)
    result: Mapped[dict] = mapped_column(sa.JSON)


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    key_id: Mapped[str] = mapped_column(sa.String(16), sa.ForeignKey("api_keys.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    progress: Mapped[float] = mapped_column(sa.Float, default=0.0)
    created: Mapped[float] = mapped_column(sa.Float, default=_now)
    started: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    finished: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    request: Mapped[dict] = mapped_column(sa.JSON)
    result: Mapped[dict | None] = mapped_column(sa.JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` use psycopg 3; a bare path is a SQLite file."""
    text = str(url).strip()
    if text.startswith("postgres://"):
        text = "postgresql://" + text[len("postgres://"):]
    if text.startswith("postgresql://"):
        return "postgresql+psycopg://" + text[len("postgresql://"):]
    if text.startswith(("postgresql+", "sqlite:")):
        return text
    if "://" in text:
        raise InputError(f"database URL {text.split('://')[0]}://... is not supported; expected sqlite:///PATH or "
                         "postgresql://USER:PASSWORD@HOST/NAME")
    return f"sqlite:///{Path(text).expanduser()}"


def make_engine(url: str) -> sa.Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30.0, "check_same_thread": False},
                                  pool_size=8, max_overflow=16)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_con, _record):
            cur = dbapi_con.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    else:
        engine = sa.create_engine(url, pool_size=8, max_overflow=16, pool_pre_ping=True)
    return engine


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str):
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        self.session = sessionmaker(self.engine, expire_on_commit=False)

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (idempotent)."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self.engine.begin() as con:
            cfg.attributes["connection"] = con
            command.upgrade(cfg, "head")

    def fail_interrupted_jobs(self) -> int:
        """Jobs left queued or running by a server that stopped: marked failed (run at start, before workers)."""
        with self.session.begin() as s:
            res = s.execute(sa.update(Job).where(Job.status.in_(("queued", "running"))).values(
                status="failed", finished=_time.time(), error="the server stopped before the job finished; "
                                                              "submit it again"))
            return int(res.rowcount or 0)

    def owned(self, model, row_id: str, key_id, what: str):
        """The row ``row_id`` of ``model`` if the API key ``key_id`` owns it; 404 if there is none, 403 if another
        key owns it (``what`` names the thing in the message: "job", "session")."""
        from .errors import ForbiddenException, NotFoundException

        if len(row_id) > 36:
            raise NotFoundException(f"no such {what}")
        with self.session() as s:
            row = s.get(model, row_id)
        if row is None:
            raise NotFoundException(f"no {what} {row_id!r}")
        if row.key_id != key_id:
            raise ForbiddenException(f"this {what} belongs to another API key")
        return row

    def dispose(self):
        self.engine.dispose()
