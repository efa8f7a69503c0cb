"""Exceptions raised at stratotrack's edges.

Every message is one sentence that names the offending value and what was expected, so that the command line can
print it as it is and the HTTP API can return it as a 4xx body.
"""

from __future__ import annotations

__all__ = ["StratotrackError", "InputError", "WindDataError", "ResourceError", "DownloadError"]


class StratotrackError(ValueError):
    """Base class of the errors stratotrack raises for bad input or bad data."""


class InputError(StratotrackError):
    """A parameter given by the user is invalid (coordinates, times, rates, profile, options)."""


class WindDataError(StratotrackError):
    """A wind source cannot be used (missing variables, NaNs, bad units or coordinates, times not covered)."""


class ResourceError(StratotrackError):
    """The environment failed, not the input: the network, a disk (full, read-only), permissions.

    The command line exits with status 1 for these (2 is for bad input); the message names the resource and what
    to do.
    """


class DownloadError(ResourceError, WindDataError):
    """A download failed for a reason of the network or the server (timeouts, refused connections, HTTP 5xx)."""
