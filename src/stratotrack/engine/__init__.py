"""The trajectory engine: compiled RK4 kernels, event location and the chunked ensemble runner."""

from .kernels import EARTH_RADIUS, STATUS_NAMES
from .runner import Integrator, RawTrajectories

__all__ = ["Integrator", "RawTrajectories", "EARTH_RADIUS", "STATUS_NAMES"]
