"""The arena's wind model against BLE's own values: every ``wind_samples`` entry of the scenario file.

Run:  python validation/ble_arena_wind.py [--data ../shared/data/ble-arena]

For each of the 100 scenarios, 5 points recorded from BLE's code (forecast and "true" wind): prints the largest
and the mean absolute difference of u and v, for the forecast (the VAE decoder) and the truth (forecast + OpenSimplex
noise), and which opensimplex version ran. BLE's decoder runs in float32 under JAX, ours in NumPy (float32 MLP,
float64 after): differences of a few 1e-5 m/s are that rounding.
"""

from __future__ import annotations

import argparse
from importlib.metadata import version
from pathlib import Path

import numpy as np

from stratotrack.steer.arena.runner import arena_wind, load_scenarios
from stratotrack.steer.arena.wind import load_decoder_weights

HERE = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(HERE.parent / "shared" / "data" / "ble-arena"))
    data = Path(ap.parse_args().data)
    w = load_decoder_weights(data / "offlineskies22_decoder.msgpack")
    err_f, err_t = [], []
    for sc in load_scenarios(data / "scenarios_seeds_0-99.json"):
        wind = arena_wind(w, sc)
        for s in sc.data["wind_samples"]:
            args = (s["x_km"] * 1000, s["y_km"] * 1000, s["p_pa"], s["t_h"] * 3600)
            err_f.extend(np.abs(np.array(wind.forecast_uv(*args), dtype=float) - s["forecast_uv"]))
            err_t.extend(np.abs(np.array(wind.truth_uv(*args)) - s["truth_uv"]))
    print(f"{len(err_f) // 2} points (opensimplex {version('opensimplex')})")
    print(f"forecast |du|,|dv|: max {max(err_f):.2e} m/s, mean {np.mean(err_f):.2e} m/s")
    print(f"truth    |du|,|dv|: max {max(err_t):.2e} m/s, mean {np.mean(err_t):.2e} m/s")


if __name__ == "__main__":
    main()
