"""The documentation site builds from the repository (``mkdocs build --strict``: a broken link, a missing page or an
unresolvable reference fails it), every page in docs/ is in it, and the gallery and API reference hold what they
promise.  About 10 s."""

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    p = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return out


def test_every_page_in_docs_is_in_the_site_and_its_navigation(site):
    index = (site / "index.html").read_text(encoding="utf-8")
    for md in sorted((ROOT / "docs").glob("*.md")):
        page = site / ("index.html" if md.stem == "index" else f"{md.stem}/index.html")
        assert page.exists(), md.name
        if md.stem != "index":
            assert f'href="{md.stem}/"' in index, f"{md.name} is not in the navigation"


def test_gallery_shows_every_example_and_reference_reads_docstrings(site):
    gallery = (site / "gallery" / "index.html").read_text(encoding="utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", "", gallery))  # what a reader sees, without the highlighting's tags
    for script in sorted((ROOT / "examples").glob("*.py")):
        assert f"examples/{script.name}" in gallery
        assert script.read_text(encoding="utf-8").strip() in text, script.name  # the whole script, as it is
    ref = (site / "reference" / "index.html").read_text(encoding="utf-8")
    assert "stratotrack.api.predict" in ref and "Predict balloon trajectories." in ref
    assert "great_circle_distance" in ref
