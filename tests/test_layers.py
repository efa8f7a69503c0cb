"""No layer calls another layer's private names (issue 19): a static check over src/stratotrack.

A layer is a top-level module or package of stratotrack (``api``, ``ensemble``, ``track``, ``io`` ...).  Inside a layer
private names are free; across layers only public ones may be imported or used as attributes of an imported module.
"""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _module_name(path):
    return ".".join(path.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")


def _layer(dotted):
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _resolve(importer, is_package, level, module):
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _private(name):
    return name.startswith("_") and not name.startswith("__")


def violations():
    out = []
    for path in sorted((SRC / "stratotrack").rglob("*.py")):
        name = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        foreign = {}  # local name -> the other layer's module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                target = _resolve(name, path.name == "__init__.py", node.level, node.module)
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    if _layer(full) == _layer(name):
                        continue
                    if _private(alias.name):
                        out.append(f"{name} imports {full}")
                    foreign[alias.asname or alias.name] = full
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in foreign
                    and _private(node.attr)):
                out.append(f"{name} uses {foreign[node.value.id]}.{node.attr}")
    return out


#: known exceptions (none: the wind-error process the debris falls used privately now lives in engine.wind_error)
KNOWN: set[str] = set()
#: by design: the engine's kernels compile the wind sampler's numba functions into their own loops (and the GPU and
#: serial backends build twins of them), so wind._sample is the engine's interface to the wind layer
KERNEL_INTERFACE = "stratotrack.wind._sample"


def test_no_layer_uses_another_layers_private_names():
    found = {v for v in violations()
             if not (v.startswith("stratotrack.engine.") and v.endswith(f"imports {KERNEL_INTERFACE}"))}
    assert found <= KNOWN, sorted(found - KNOWN)


def test_the_check_sees_a_violation(tmp_path):
    """The checker itself: a private import across layers is found (so an empty list above means something)."""
    assert _layer("stratotrack.ensemble.run") == "ensemble" and _layer("stratotrack.api") == "api"
    assert _resolve("stratotrack.ensemble.run", False, 2, None) == "stratotrack"
    tree = ast.parse("from .. import api as _api\n_api._build_profile()\n")
    calls = [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and _private(n.attr)]
    assert calls == ["_build_profile"]
