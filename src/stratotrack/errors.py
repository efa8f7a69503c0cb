"""Exceptions raised at stratotrack's edges.

Every message is one sentence that names the offending value and what was expected, so that the command line can
print it as it is and the HTTP API can return it as a 4xx body.
"""

from __future__ import annotations

__all__ = ["StratotrackError", "InputError", "WindDataError"]


class StratotrackError(ValueError):
    """Base class of the errors stratotrack raises for bad input or bad data."""


class InputError(StratotrackError):
    """A parameter given by the user is invalid (coordinates, times, rates, profile, options)."""


class WindDataError(StratotrackError):
    """A wind source cannot be used (missing variables, NaNs, bad units or coordinates, times not covered)."""
