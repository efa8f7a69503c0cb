"""Vertical-motion models, each declared in a module of its own here (see :class:`.base.Model`).

Adding a model is adding a module to this package that defines ``MODEL = Model(...)`` with a code no other model
uses: the registry below finds it at import, profiles accept its name, and the engine's kernels dispatch to its
rate function (compiled into them; see :mod:`stratotrack.engine.kernels`).  Codes are declared by each model and
nowhere else.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import pkgutil

from .base import MAX_PARAMS, MAX_STATE, Model


def _discover() -> dict[str, Model]:
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name == "base":
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        model = getattr(mod, "MODEL", None)
        if not isinstance(model, Model):
            continue
        for other in found.values():
            if other.code == model.code or other.name == model.name:
                raise ImportError(f"vertical models {other.name!r} and {model.name!r} both use code {model.code} "
                                  f"or name {model.name!r}; each model needs its own")
        found[model.name] = model
    return dict(sorted(found.items(), key=lambda kv: kv[1].code))


#: every vertical-motion model by name, in order of code
MODELS: dict[str, Model] = _discover()
#: model name -> kernel code
CODES: dict[str, int] = {name: m.code for name, m in MODELS.items()}
BY_CODE: dict[int, Model] = {m.code: m for m in MODELS.values()}


def fingerprint() -> int:
    """A number that changes whenever a model is added, removed or edited (its module's source), so that the
    kernels compiled for another set of models are not reused (see :func:`stratotrack.engine.kernels.ensure_models`)."""
    h = hashlib.sha256()
    for m in MODELS.values():
        h.update(f"{m.name}:{m.code}:{m.branch_free}:".encode())
        h.update(inspect.getsource(inspect.getmodule(m.rate)).encode())
    return int.from_bytes(h.digest()[:7], "little")


def code(name: str) -> int:
    return CODES[name]


__all__ = ["Model", "MODELS", "CODES", "BY_CODE", "MAX_PARAMS", "MAX_STATE", "code", "fingerprint"]
