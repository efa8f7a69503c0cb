"""How far the landing of the default standard flight moves with the integration step (the basis of the command
line's rule of at least 10 steps per stage, see docs/reliability.md).

    python validation/step_precision.py

Prints, for each step, the descent's length and the landing's distance from a 10 s reference.
"""

import numpy as np

import stratotrack as st


def main():
    wind = st.open_wind("climatology")
    ref = None
    print("step s   descent min   landing shift km   steps in the descent")
    for step in (10, 60, 120, 275, 300, 600, 1200):
        ds = st.predict(37.74, -122.22, 0.0, "2023-01-17T11:00Z", step=step, wind=wind)
        t = ds.event_time.values[0]
        la, lo = ds.event_latitude.values[0, 2], ds.event_longitude.values[0, 2]
        descent = float((t[2] - t[1]) / np.timedelta64(1, "s"))
        if ref is None:
            ref = (la, lo)
        shift = np.hypot((la - ref[0]) * 111.2, (lo - ref[1]) * 111.2 * np.cos(np.radians(la)))
        print(f"{step:6d}   {descent / 60:11.2f}   {shift:16.3f}   {descent / step:20.1f}")


if __name__ == "__main__":
    main()
