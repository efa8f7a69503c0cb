"""The light result of :func:`stratotrack.predict`: NumPy arrays, events and warnings, with the CF Dataset on demand.

``st.predict(..., result="light")`` returns a :class:`Prediction`; building the xarray Dataset costs some ten
times the prediction of one balloon itself, so a caller that wants a landing point (a web service, a loop over
launch sites) keeps to the arrays, and ``Prediction.to_dataset()`` gives exactly what ``st.predict`` returns by
default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

__all__ = ["Prediction"]

_OBS_NAMES = ("time", "latitude", "longitude", "altitude", "stage")


@dataclass(eq=False)
class Prediction:
    """Trajectories as arrays ``[trajectory, obs]`` (NaN-padded after ``n_obs[i]`` points) and events
    ``[trajectory, event]`` (NaN where an event did not happen).  Times are seconds since 1970-01-01T00:00Z
    (:meth:`datetimes` converts); longitudes in -180..180.

    >>> import stratotrack as st
    >>> p = st.predict(37.74, -122.22, 10.0, "2023-01-17T11:00:00Z", result="light")
    >>> p.event_names, p.end_reason
    (('launch', 'burst', 'landing'), ['landed'])
    >>> p.to_dataset().end_reason.values.tolist()
    ['landed']
    """

    time: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    altitude: np.ndarray
    #: flight stage of each point (index into ``stage_names``; -1 after the last point)
    stage: np.ndarray
    n_obs: np.ndarray
    event_names: tuple
    event_time: np.ndarray
    event_latitude: np.ndarray
    event_longitude: np.ndarray
    event_altitude: np.ndarray
    #: why each trajectory ended ("landed", "stop time reached", "left the wind data (...)", ...)
    end_reason: list
    #: integration steps per trajectory that used winds clamped at the edge of the data: above, below, time, region
    clamped_steps: np.ndarray
    warnings: list
    #: the flight profile (:class:`stratotrack.flight.Profile`) and its parameters per trajectory
    profile: object
    parameters: dict
    #: the prepared wind field used (:class:`stratotrack.WindField`)
    wind: object
    step: float
    output_interval: float
    outside: str
    engine_seconds: float = 0.0
    backend: str = "cpu"

    @property
    def stage_names(self) -> tuple:
        return tuple(self.profile.stage_names)

    def _end(self, arr):
        return arr[np.arange(arr.shape[0]), self.n_obs - 1]

    @property
    def end_time(self) -> np.ndarray:
        return self._end(self.time)

    @property
    def end_latitude(self) -> np.ndarray:
        return self._end(self.latitude)

    @property
    def end_longitude(self) -> np.ndarray:
        return self._end(self.longitude)

    @property
    def end_altitude(self) -> np.ndarray:
        return self._end(self.altitude)

    def event(self, name: str) -> dict:
        """One event's ``{"time", "latitude", "longitude", "altitude"}`` arrays (one value per trajectory)."""
        try:
            k = self.event_names.index(name)
        except ValueError:
            raise KeyError(f"no event {name!r}; this prediction has {', '.join(self.event_names)}") from None
        return {"time": self.event_time[:, k], "latitude": self.event_latitude[:, k],
                "longitude": self.event_longitude[:, k], "altitude": self.event_altitude[:, k]}

    @staticmethod
    def datetimes(seconds) -> np.ndarray:
        """Seconds since 1970 as datetime64[ns] (NaN -> NaT)."""
        from .timeutil import from_epoch_seconds

        return from_epoch_seconds(seconds)

    def _contents(self):
        """The Dataset's variables ``{name: (dims, values, attrs)}``, coordinates and attributes, as NumPy."""
        from . import __version__
        from .engine import kernels as K
        from .timeutil import from_epoch_seconds
        from .wind._sample import FLAG_NAMES

        prof = self.profile
        fld = self.wind
        n = self.n_obs.shape[0]
        obs_dims = ("trajectory", "obs")
        stage_names = prof.stage_names
        params = self.parameters
        variables = {
            "time": (obs_dims, from_epoch_seconds(self.time), {"standard_name": "time",
                                                               "long_name": "time (UTC)"}),
            "latitude": (obs_dims, self.latitude, {"standard_name": "latitude", "units": "degrees_north"}),
            "longitude": (obs_dims, self.longitude, {"standard_name": "longitude", "units": "degrees_east"}),
            "altitude": (obs_dims, self.altitude, {"standard_name": "altitude", "units": "m", "positive": "up",
                                                   "long_name": "geometric height above mean sea level",
                                                   "axis": "Z"}),
            "stage": (obs_dims, self.stage, {"long_name": "flight stage of each point",
                                             "_FillValue": np.int8(-1),
                                             "flag_values": np.arange(len(stage_names), dtype=np.int8),
                                             "flag_meanings": " ".join(stage_names)}),
            "n_obs": ("trajectory", self.n_obs, {"long_name": "number of valid points of each trajectory"}),
            "event_time": (("trajectory", "event"), from_epoch_seconds(self.event_time),
                           {"long_name": "time of each event (UTC)"}),
            "event_latitude": (("trajectory", "event"), self.event_latitude, {"units": "degrees_north"}),
            "event_longitude": (("trajectory", "event"), self.event_longitude, {"units": "degrees_east"}),
            "event_altitude": (("trajectory", "event"), self.event_altitude, {"units": "m"}),
            "end_reason": ("trajectory", np.array(self.end_reason, dtype=object).astype(str),
                           {"long_name": "why each trajectory ended"}),
            "end_time": ("trajectory", from_epoch_seconds(self.end_time)),
            "end_latitude": ("trajectory", self.end_latitude, {"units": "degrees_north"}),
            "end_longitude": ("trajectory", self.end_longitude, {"units": "degrees_east"}),
            "end_altitude": ("trajectory", self.end_altitude, {"units": "m"}),
            "clamped_steps": (("trajectory", "outside"), self.clamped_steps,
                              {"long_name": "integration steps that used winds clamped at the edge of the data"}),
            # a parameter named like an output coordinate (drift: "altitude") must not replace it
            **{(f"{prof.name}_{k}" if k in _OBS_NAMES else k): ("trajectory", v) for k, v in params.items()},
        }
        coords = {
            "trajectory": ("trajectory", np.arange(n), {"cf_role": "trajectory_id",
                                                        "long_name": "trajectory number"}),
            "event": ("event", np.array(self.event_names, dtype=str)),
            "outside": ("outside", np.array([FLAG_NAMES[1 << b] for b in range(4)], dtype=str)),
        }
        attrs = {
            "Conventions": "CF-1.11",
            "featureType": "trajectory",
            "title": f"stratotrack {prof.name} prediction" + (" (backward)" if prof.backward else ""),
            "source": f"stratotrack {__version__}",
            "profile": prof.name,
            "direction": "backward" if prof.backward else "forward",
            "parameters": json.dumps({k: (float(v[0]) if np.all(v == v[0]) else "per trajectory")
                                      for k, v in params.items()}),
            "wind": fld.label(),
            "wind_kind": fld.kind,
            "wind_notes": "; ".join(fld.notes),
            "step_seconds": float(self.step),
            "output_interval_seconds": float(self.output_interval),
            "outside_data": self.outside,
            "integrator": "RK4, fixed step; events located inside the step (cubic Hermite in altitude)",
            "earth_model": f"sphere of radius {K.EARTH_RADIUS} m + altitude; altitudes geometric above mean "
                           "sea level",
            "warnings": "\n".join(self.warnings),
            "engine_seconds": self.engine_seconds,
            "engine_backend": self.backend,
        }
        return variables, coords, attrs

    def to_dataset(self):
        """The CF-1.11 ``featureType=trajectory`` Dataset that :func:`stratotrack.predict` returns by default."""
        import xarray as xr

        variables, coords, attrs = self._contents()
        ds = xr.Dataset(variables, coords=coords, attrs=attrs)
        ds = ds.set_coords(list(_COORDS))
        ds["time"].encoding["units"] = "seconds since 1970-01-01T00:00:00Z"
        return ds

    def view(self) -> "ArraysView":
        """The same contents as :meth:`to_dataset` behind the little of a Dataset's interface that summaries read
        (``v[name].values``, ``name in v``, ``v.coords``, ``v.attrs``), without importing xarray."""
        variables, coords, attrs = self._contents()
        return ArraysView(variables, coords, attrs)


#: the variables that the Dataset makes coordinates
_COORDS = ("time", "latitude", "longitude", "altitude")


class _Values:
    __slots__ = ("values", "attrs")

    def __init__(self, values, attrs):
        self.values, self.attrs = np.asarray(values), attrs


class ArraysView:
    """A read-only stand-in for a prediction Dataset (see :meth:`Prediction.view`)."""

    def __init__(self, variables: dict, coords: dict, attrs: dict):
        spec = {**{k: v for k, v in variables.items()}, **coords}
        self._vars = {k: _Values(v[1], v[2] if len(v) > 2 else {}) for k, v in spec.items()}
        self.coords = {k: self._vars[k] for k in (*coords, *_COORDS)}
        self.attrs = attrs

    def __getitem__(self, name):
        return self._vars[name]

    def __contains__(self, name):
        return name in self._vars
