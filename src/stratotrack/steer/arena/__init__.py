"""The station-keeping arena: the episodes of Google's Balloon Learning Environment (BLE) flown without JAX.

* :mod:`.wind`: BLE's wind model (the VAE decoder in NumPy, the simplex noise of the true wind);
* :mod:`.sim`: BLE's superpressure balloon stepped in 10 s sub-steps;
* :mod:`.runner`: one episode (:func:`fly_episode`) with a controller, the safety layers and TWR50;
* :func:`run_arena`: a set of seeds from a scenario file, with the mean TWR50 and its standard error.
"""

from __future__ import annotations

import math
import re

from ...errors import InputError
from .runner import EpisodeResult, Scenario, find_weights, fly_episode, load_scenarios

__all__ = ["run_arena", "parse_seeds", "summarize", "fly_episode", "load_scenarios", "EpisodeResult", "Scenario"]


def parse_seeds(text: str | None, available: list[int]) -> list[int]:
    """Seeds from ``"0-99"``, ``"3"`` or ``"0,2,5-7"`` (None: all in the file); each must be in the file."""
    if text is None or str(text).strip() == "":
        return list(available)
    seeds: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if not m:
            raise InputError(f"seeds {text!r} are not understood; expected e.g. 0-99, 3 or 0,2,5-7")
        a = int(m.group(1))
        b = int(m.group(2)) if m.group(2) is not None else a
        if b < a:
            raise InputError(f"seed range {part!r} runs backwards; expected LOW-HIGH")
        seeds.extend(range(a, b + 1))
    have = set(available)
    missing = [s for s in seeds if s not in have]
    if missing:
        raise InputError(f"seed {missing[0]} is not in the scenario file; expected seeds within "
                         f"{min(available)}-{max(available)}")
    return seeds


def summarize(results: list[EpisodeResult]) -> dict:
    """Mean TWR50 with its standard error, pump energy per day and end states over episodes."""
    n = len(results)
    twr = [r.twr50 for r in results]
    mean = sum(twr) / n if n else float("nan")
    se = (math.sqrt(sum((t - mean) ** 2 for t in twr) / (n - 1) / n) if n > 1 else float("nan"))
    ends: dict[str, int] = {}
    for r in results:
        ends[r.end_state] = ends.get(r.end_state, 0) + 1
    return {"episodes": n, "twr50_mean": mean, "twr50_se": se,
            "pump_wh_per_day_mean": sum(r.pump_wh_per_day for r in results) / n if n else float("nan"),
            "end_states": ends, "wall_s_mean": sum(r.wall_s for r in results) / n if n else float("nan")}


def run_arena(scenarios_path, controller: str, seeds: str | None = None, weights=None, progress=None,
              paths: bool = False) -> dict:
    """Fly every chosen episode of a scenario file with a named controller.

    Args:
        scenarios_path: a JSON file in BLE's scenario layout (e.g. ``scenarios_seeds_0-99.json``).
        controller: a registered controller name (:func:`stratotrack.steer.registry.names`).
        seeds: ``"0-99"``, ``"3"``, ``"0,2,5-7"`` or None for all.
        weights: the decoder weights file (default: ``offlineskies22_decoder.msgpack`` beside the scenarios).
        progress: optional callable ``progress(result)`` after each episode.
        paths: include each episode's path every 3 minutes (``EpisodeResult.path_lists``) under ``"path"``.

    Returns:
        ``{"controller", "scenarios", "episodes": [per-seed summaries], "summary": summarize(...)}``.
    """
    from ..registry import make
    from .wind import load_decoder_weights

    make(controller)  # an unknown name fails before any work
    scenarios = load_scenarios(scenarios_path)
    by_seed = {s.seed: s for s in scenarios}
    chosen = parse_seeds(seeds, [s.seed for s in scenarios])
    w = load_decoder_weights(find_weights(scenarios_path, weights))
    results = []
    for seed in chosen:
        r = fly_episode(by_seed[seed], make(controller, seed=seed), w)
        results.append(r)
        if progress is not None:
            progress(r)
    return {"controller": controller, "scenarios": str(scenarios_path),
            "episodes": [{**r.summary(), **({"path": r.path_lists()} if paths else {})} for r in results],
            "summary": summarize(results)}
