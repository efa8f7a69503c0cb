"""A real headless Chromium for the browser tests (the map page and the assess report), through Playwright.

Playwright drives the system's Chromium (Debian's ``chromium``; ``$STRATOTRACK_CHROMIUM`` names another): it never
downloads a browser.  Without a browser the tests skip on a developer's machine and FAIL in CI (``CI`` set), where
``.ci/run`` installs one.  Screenshots go to ``out/browser/`` at the repository root (ignored by git); the session
prints that folder at the end.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ARTEFACTS = Path(__file__).resolve().parents[1] / "out" / "browser"


def chromium_path() -> str | None:
    env = os.environ.get("STRATOTRACK_CHROMIUM")
    if env:
        return env
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _missing(why: str):
    if os.environ.get("CI"):
        pytest.fail(f"{why}: CI must run the browser tests (.ci/run installs Debian's chromium)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[test]')")
    exe = chromium_path()
    if exe is None:
        _missing("no chromium found (apt-get install chromium, or set STRATOTRACK_CHROMIUM)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield b
        finally:
            b.close()


class Page:
    """A page that records console errors, page errors and failed requests."""

    def __init__(self, browser, offline_origin: str | None = None, width=1280, height=900):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.errors = []
        self.page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}")
                     if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url} {r.failure}"))
        self.external = []

        def guard(route):  # the page must need nothing outside its own origin (offline)
            url = route.request.url
            if url.startswith(("data:", "blob:", "file:")) or (offline_origin and url.startswith(offline_origin)):
                return route.continue_()
            self.external.append(url)
            return route.abort()

        self.page.route("**/*", guard)

    def screenshot(self, name: str, **kw) -> Path:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTEFACTS / name
        self.page.screenshot(path=str(path), **kw)
        return path

    def close(self):
        self.context.close()
