"""The ``stratotrack`` command line: parse, call the public API, print.  No science lives here.

``main()`` is the console script; ``run(argv)`` returns the exit code instead of exiting (0 success, 2 bad input or
bad data with one line on stderr, 130 interrupted).
"""

from __future__ import annotations

import os
import sys

__all__ = ["main", "run"]


def run(argv=None) -> int:
    from .app import run as _run

    return _run(argv)


def main(argv=None):
    """The console script.  Exits without tearing the interpreter down: with numba and xarray loaded that teardown
    takes ~0.4 s that a user would wait for and nothing needs (every file is closed by the time ``run`` returns)."""
    code = run(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
