"""Assess a drifting balloon against a site: overflight, time within sensor reach, closest approach, airspace.

A balloon drifts at 18 km for 12 hours from Montana on the climatology; the report says whether it passed over
Malmstrom AFB (a 150 km circle), how long the base was within the reach of a sensor that looks down to 10 degrees
of elevation, where and when it came closest, and which countries' airspace it entered.  Written as JSON.
"""

import json
import os
from pathlib import Path

import stratotrack as st
from stratotrack.analysis import Sensor, Site, assess
from stratotrack.analysis.report import write_report

out = Path(os.environ.get("STRATOTRACK_EXAMPLES_OUT", "."))
ds = st.predict(45.71, -109.54, 18300.0, "2023-02-01T21:21:00Z", "drift", duration="12h", wind="climatology")
site = Site.point("Malmstrom AFB", 47.505, -111.187, radius_km=150)
report = assess(ds, [site], sensor=Sensor(min_elevation=10.0), termination=False)
row = report["sites"][0]
print(f"over the site: {row['overhead']}; within reach for {row['hours_in_reach']} h; closest "
      f"{row['closest_approach_km']} km at {row['closest_time']}")
print("countries:", [c.get("name", c) for c in report["airspace"]["countries"]])
write_report(report, out / "assessment.json")
print("wrote", out / "assessment.json", f"({len(json.dumps(report, default=str))} characters)")
