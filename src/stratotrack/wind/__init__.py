"""Wind sources and the :class:`WindField` every trajectory samples."""

from .field import WindField
from .prepare import combine, from_dataset
from .sources import check_altitude, climatology_path, describe, open_dataset, open_wind

__all__ = ["WindField", "open_wind", "open_dataset", "from_dataset", "combine", "describe", "check_altitude",
           "climatology_path"]
