"""Where did it come from?  A back-track.

A radiosonde was found at (37.71, -120.70) at 13:30 UTC.  Running the standard flight backward in time from the
landing (climb back up under the parachute to the burst, then down to the ground at the ascent rate) gives the launch
point; then a forward run from that launch lands where the sonde was found.
"""

import stratotrack as st
from stratotrack.geodesy import great_circle_distance

back = st.predict(37.71, -120.70, 0.0, "2023-01-17T13:30:00Z", backward=True, wind="climatology")
lat, lon = float(back.end_latitude.values[0]), float(back.end_longitude.values[0])
launch_time = back.end_time.values[0]
print(f"launched from {lat:.3f}, {lon:.3f} at {str(launch_time)[:19]}Z")
forward = st.predict(lat, lon, 0.0, launch_time, wind="climatology")
miss = float(great_circle_distance(forward.end_latitude.values[0], forward.end_longitude.values[0], 37.71, -120.70))
print(f"the forward run from there lands {miss:.1f} m from where the sonde was found")
