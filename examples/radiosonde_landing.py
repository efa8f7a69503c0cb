"""Where will a radiosonde land?

A standard flight from Oakland (ascent at 5 m/s, burst at 30 km, descent under a parachute at 5 m/s at sea level) on
the built-in climatology: the landing point and time, the nearest named place, and a KML file to open in Google
Earth.  Set ``STRATOTRACK_EXAMPLES_OUT`` to choose where files go (default: the current folder).
"""

import os
from pathlib import Path

import stratotrack as st
import stratotrack.io
from stratotrack.geo.places import nearest_place

out = Path(os.environ.get("STRATOTRACK_EXAMPLES_OUT", "."))
ds = st.predict(37.74, -122.22, 10.0, "2023-01-17T11:00:00Z", ascent_rate=5.0, burst_altitude=30000.0,
                descent_rate=5.0, wind="climatology")
landing = ds.event_time.sel(event="landing").values[0]
lat, lon = float(ds.end_latitude.values[0]), float(ds.end_longitude.values[0])
print(f"landing at {lat:.3f}, {lon:.3f} at {str(landing)[:19]}Z")
print("nearest place:", nearest_place(lat, lon).describe())
stratotrack.io.write(ds, out / "radiosonde.kml")
print("wrote", out / "radiosonde.kml")
