"""Shared fixtures.  Tests marked ``shared`` read real data from ../shared beside the checkout."""

import os
from pathlib import Path

import pytest

# the engine's cold-start route (small runs uncompiled while a background process compiles, see
# stratotrack.engine.warmup) is tested on its own in a subprocess; here every run uses the compiled kernels, so that
# results do not depend on whether a background compilation has finished
os.environ.setdefault("STRATOTRACK_COLD_START", "compile")

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data():
    """The real-data folder ../shared/data (present in CI beside the checkout)."""
    if not SHARED.exists():
        pytest.fail(f"real-data folder {SHARED} is missing: CI provides ../shared beside the checkout")
    return SHARED


@pytest.fixture(scope="session")
def climatology():
    import stratotrack as st

    return st.open_wind("climatology")


def pytest_terminal_summary(terminalreporter):
    """Say where the browser tests left their screenshots (out/browser/, ignored by git)."""
    folder = Path(__file__).resolve().parents[1] / "out" / "browser"
    if folder.exists() and any(folder.glob("*.png")):
        terminalreporter.write_line(f"browser screenshots: {folder}")
