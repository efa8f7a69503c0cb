"""The examples in the docstrings run as doctests (issue 19): every module under src/stratotrack whose source holds a
``>>>`` example is imported and its examples run; a failing example fails here with doctest's own report."""

import doctest
import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
MODULES = sorted(
    ".".join(p.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
    for p in (SRC / "stratotrack").rglob("*.py") if ">>>" in p.read_text(encoding="utf-8"))


def test_there_are_examples_to_run():
    assert len(MODULES) >= 14, MODULES  # 16 modules held 18 examples when this test was written


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(module, name) if t.examples]
    assert tests, f"{name} mentions '>>>' but doctest finds no example in it"
    out = []
    for t in tests:
        runner.run(t, out=out.append)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(out)
