"""Where stratotrack keeps what it can rebuild or re-download: ``$STRATOTRACK_CACHE_DIR`` if set, else the
platform's user cache folder for stratotrack (``~/.cache/stratotrack`` on Linux).

Below it: ``index.sqlite``, ``entries/`` and ``downloads/`` (fetched winds, see :mod:`stratotrack.wind.cache`),
``prepared/`` (the prepared climatology), ``places/``, ``borders/`` and ``landmask/`` (offline geography converted
once), ``herbie/`` (herbie-data's configuration).  Deleting the folder loses nothing that cannot be rebuilt or
fetched again; ``stratotrack cache clear`` removes the fetched winds.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "STRATOTRACK_CACHE_DIR"


def cache_dir() -> Path:
    """The cache root (not created here)."""
    env = os.environ.get(ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("stratotrack"))
