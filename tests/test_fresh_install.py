"""A fresh clone in new virtual environments, set up with only the README's two commands; the README's Python
example; and .ci/run running the README's test command.

The fresh-clone test takes a few minutes (two installs and the whole suite once more inside the clone); leave it
out of a quick run with ``-k 'not fresh_install'``.  It installs from the package registries that pip is set up
with (normally from pip's cache), as a new user would.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NESTED = "STRATOTRACK_INSIDE_FRESH_INSTALL_TEST"


def readme_block(marker: str) -> str:
    """The fenced code block that follows ``<!-- marker -->`` in README.md."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(rf"<!-- {re.escape(marker)} -->\s*```[a-z]*\n(.*?)\n```", text, re.S)
    assert m, f"README.md has no code block after <!-- {marker} -->"
    return m.group(1).strip()


def python_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"## The Python API in five lines\s*```python\n(.*?)\n```", text, re.S)
    assert m, "README.md has no Python example"
    return m.group(1)


def tail(p, n=60):
    return "\n".join((p.stdout + "\n" + p.stderr).splitlines()[-n:])


def test_readme_commands_are_the_two_set_up_commands():
    run, test = readme_block("setup:run"), readme_block("setup:test")
    assert run.startswith("python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/stratotrack predict ")
    assert "--lat 37.74 --lon -122.22 --time 2023-01-17T11:00:00Z" in run
    assert test == "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest"


def test_ci_runs_the_readme_test_command():
    ci = ROOT / ".ci" / "run"
    assert os.access(ci, os.X_OK)
    p = subprocess.run([str(ci), "--print"], capture_output=True, text=True, check=True)
    assert p.stdout.strip() == readme_block("setup:test")


def test_readme_python_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = python_example()
    assert len(code.strip().splitlines()) == 5
    exec(compile(code, "README.md", "exec"), {})
    import stratotrack.io as sio

    back = sio.read(tmp_path / "flight.kml")
    assert int(back.n_obs[0]) > 50 and "landing" in back.event.values


@pytest.mark.skipif(os.environ.get(NESTED) == "1",
                    reason="this run is the fresh-install test's own run inside the clone (no recursion)")
def test_fresh_install_with_the_readme_commands(tmp_path):
    assert (ROOT / ".git").exists(), f"{ROOT} is not a git checkout; the fresh-install test clones it"
    work = tmp_path / "fresh"
    work.mkdir()
    shared = ROOT.parent / "shared"
    if shared.exists():  # tests marked `shared` read ../shared beside the checkout
        (work / "shared").symlink_to(shared)
    clone = work / "stratotrack"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env[NESTED] = "1"

    first = subprocess.run(["bash", "-c", readme_block("setup:run")], cwd=clone, env=env, capture_output=True,
                           text=True, timeout=1800)
    assert first.returncode == 0, tail(first)
    assert "landing" in first.stdout and "ended: landed" in first.stdout, tail(first)
    assert "Traceback" not in first.stderr
    kml, csv = clone / "flight.kml", clone / "flight.csv"
    assert kml.read_bytes().startswith(b"<?xml") and b"<LineString>" in kml.read_bytes()
    assert csv.read_text().splitlines()[0] == "datetime,latitude,longitude,altitude"
    assert len(csv.read_text().splitlines()) > 50
    where = subprocess.run([str(clone / ".venv" / "bin" / "python"), "-c", "import stratotrack; "
                            "print(stratotrack.__file__)"], cwd=work, env=env, capture_output=True, text=True)
    assert str(clone / ".venv") in where.stdout, "the first command installs stratotrack into the new venv"

    second = subprocess.run(["bash", "-c", readme_block("setup:test")], cwd=clone, env=env, capture_output=True,
                            text=True, timeout=2400)
    assert second.returncode == 0, tail(second)
    last = second.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", last) and not re.search(r"\d+ (failed|errors?)\b", last), last
    assert "SKIPPED" in second.stdout and "fresh-install test's own run" in second.stdout


def test_the_wheel_ships_the_data_files(tmp_path):
    """What `pip install .` installs: the climatology, and the Natural Earth file that --plot draws."""
    import zipfile

    src = tmp_path / "src"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(src)], check=True, timeout=120)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path / "dist"),
                    str(src)], check=True, timeout=600)
    (wheel,) = (tmp_path / "dist").glob("stratotrack-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "stratotrack/wind/data/hwm14_monthly_winds_0-40km.nc" in names
    assert "stratotrack/geo/data/ne_50m_countries.topojson.json" in names
