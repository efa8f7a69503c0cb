"""The trajectory engine: compiled RK4 kernels, event location and the chunked ensemble runner."""

import os as _os

# numba's OpenMP threads otherwise spin for a while after each parallel region, on the cores that the Python between
# regions needs: a controller deciding every 3 steps for 10,000 particles on 2 cores cost +248% CPU time with
# spinning threads and +97% with sleeping ones (runs of long chunks: the same).  Read by the OpenMP runtime when
# numba first starts its threads; a value set by the user wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .kernels import EARTH_RADIUS, STATUS_NAMES  # noqa: E402
from .runner import Integrator, RawTrajectories  # noqa: E402

__all__ = ["Integrator", "RawTrajectories", "EARTH_RADIUS", "STATUS_NAMES"]
