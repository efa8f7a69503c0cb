"""Wind sources and the :class:`WindField` every trajectory samples."""

from .field import WindField
from .prepare import from_dataset
from .sources import climatology_path, open_dataset, open_wind

__all__ = ["WindField", "open_wind", "open_dataset", "from_dataset", "climatology_path"]
