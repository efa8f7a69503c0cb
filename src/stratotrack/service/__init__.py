"""The HTTP service: a Tawhiri-compatible API v1, API v2 (ensembles, windows, long flights, assess, jobs), live
tracking sessions with a database, API keys and limits, and the map page (``static/``).

Run it with ``stratotrack serve``; build the ASGI app in Python with :func:`create_app`.  The service contains no
science: every result comes from the same public API as the command line (``stratotrack.predict``, ``ensemble``,
``windows``, ``track``, ``assess``).  FastAPI, uvicorn and SQLAlchemy come with ``pip install 'stratotrack[serve]'``.
"""

from __future__ import annotations

__all__ = ["create_app", "ServeConfig"]


def __getattr__(name):
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "ServeConfig":
        from .config import ServeConfig

        return ServeConfig
    raise AttributeError(f"module 'stratotrack.service' has no attribute {name!r}")
