"""A floating balloon's probability map.

A zero-pressure balloon launched from Cambridge floats at 20 km for a day.  Its ascent rate and float altitude are
uncertain, and forecast winds have errors that grow with lead time: 200 members show where it may be after 24 h,
as highest-density regions (50, 90 and 99%) and spread ellipses, written as GeoJSON and as a gridded NetCDF map.
"""

import os
from pathlib import Path

import stratotrack as st
from stratotrack.ensemble import Normal, WindError

out = Path(os.environ.get("STRATOTRACK_EXAMPLES_OUT", "."))
res = st.ensemble(52.2, 0.1, 0.0, "2023-01-17T06:00:00Z", "float", members=200, seed=1, float_altitude=20000.0,
                  duration="24h", spread={"ascent_rate": Normal(0.3), "float_altitude": Normal(500.0)},
                  wind_error=WindError(), wind="climatology")
name = res.end_product()
for level, threshold, polygons in res.contours(name):
    print(f"{level:.0%} highest-density region: {len(polygons)} polygon(s), density >= {threshold:.2e} per km2")
for e in res.ellipses(name):
    print(f"{e['level']:.0%} ellipse: {e['semi_major_km']:.0f} x {e['semi_minor_km']:.0f} km")
res.write(out / "float.geojson")
res.write(out / "float.nc")
print("wrote", out / "float.geojson", "and", out / "float.nc")
