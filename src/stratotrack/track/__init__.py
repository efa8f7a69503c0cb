"""Tracking: observations, a particle filter on the engine, altitude from drift, live re-prediction, origins.

>>> from stratotrack.track import Observation
>>> Observation.sighting("2023-02-01T21:21Z", 45.71, -109.54, azimuth=120, elevation=40).kind
'sighting'
"""

from .altitude import AltitudeAnswer, altitude_from_drift
from .filter import FilterSettings, ParticleFilter
from .observations import Observation, Observations, collect, read_observations, screen, without_altitudes
from .origin import STATIONS, OriginResult, Site, backtrack, read_sites
from .sounding import LandingForecast, ascent_wind_replay, predict_landing, straight_line_baseline
from .api import TrackResult, track, origin

__all__ = ["Observation", "Observations", "collect", "read_observations", "screen", "without_altitudes",
           "ascent_wind_replay", "ParticleFilter",
           "FilterSettings", "altitude_from_drift", "AltitudeAnswer", "predict_landing", "straight_line_baseline",
           "LandingForecast", "backtrack", "read_sites", "Site", "STATIONS", "OriginResult", "track", "origin",
           "TrackResult"]
