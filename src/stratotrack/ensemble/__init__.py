"""Ensembles: perturbations, Monte Carlo runs that reduce as they go, probability maps and launch windows.

``stratotrack.ensemble(...)`` calls :func:`stratotrack.ensemble.ensemble` (this package is callable, so that the
function and the package can share the name the design gives them).

>>> import stratotrack as st
>>> from stratotrack.ensemble import Normal
>>> r = st.ensemble(52.2, 0.1, 0, "2023-01-17T11:00Z", members=50, seed=1, spread={"ascent_rate": Normal(0.3)})
>>> r.products["landing"].n
50
"""

from .perturb import BALLOONS, Balloon, Normal, Offsets, Uniform, WindError
from .result import EnsembleResult
from .run import ensemble
from .summaries import Passage
from .windows import windows

__all__ = ["ensemble", "windows", "EnsembleResult", "Normal", "Uniform", "Balloon", "BALLOONS", "WindError",
           "Offsets", "Passage"]


import sys as _sys
import types as _types


class _CallablePackage(_types.ModuleType):
    """``stratotrack.ensemble(...)`` is :func:`ensemble`, whether or not the package was imported first."""

    def __call__(self, *args, **kwargs):
        return ensemble(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallablePackage
