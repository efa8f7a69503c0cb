"""Mission analysis: sensitive sites and sensor geometry, pattern of life against satellites, airspace, and
termination risk with engagement windows (``stratotrack assess``).

>>> from stratotrack.analysis import horizon_distance
>>> round(float(horizon_distance(18000.0)) / 1000)
479
"""

from .airspace import DEFAULT_BANDS, Band, Zone, airspace, flight_level_m
from .geometry import (GSD, Sensor, elevation_angle, gsd, horizon_distance, max_off_nadir, off_nadir_angle,
                       reach_radius, slant_range)
from .population import RasterPopulation, TownPopulation, is_land
from .report import assess, write_report
from .satellites import TLE, Pass, parse_tles, passes, pattern_of_life, read_tles
from .sites import Site, load_sites, overflights, parse_site, summarize_overflights
from .termination import LARGE_PAYLOAD, RCC321_EC, Footprint, Piece, engagement_windows, fall, parachute

__all__ = ["assess", "write_report", "Site", "load_sites", "parse_site", "overflights", "summarize_overflights",
           "Sensor", "GSD", "gsd", "horizon_distance", "reach_radius", "elevation_angle", "off_nadir_angle",
           "slant_range", "max_off_nadir", "TLE", "Pass", "read_tles", "parse_tles", "passes", "pattern_of_life",
           "Band", "Zone", "DEFAULT_BANDS", "airspace", "flight_level_m", "Piece", "parachute", "LARGE_PAYLOAD",
           "RCC321_EC", "Footprint", "fall", "engagement_windows", "TownPopulation", "RasterPopulation", "is_land"]
