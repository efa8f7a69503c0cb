"""stratotrack: predict, simulate and track high-altitude balloons on stratospheric winds.

The public API (nothing heavy is imported until it is first used)::

    import stratotrack as st
    wind = st.open_wind("climatology")            # or a GRIB/NetCDF/Zarr path, or an xarray Dataset
    ds = st.predict(37.74, -122.22, 10, "2023-01-17T11:00Z", ascent_rate=5, burst_altitude=30000, wind=wind)
    ds.event_time.sel(event="landing")            # CF trajectory Dataset with events
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "predict",
    "Prediction",
    "ensemble",
    "windows",
    "track",
    "origin",
    "assess",
    "steer",
    "open_wind",
    "fetch",
    "WindField",
    "Integrator",
    "Profile",
    "Stage",
    "profiles",
    "atmosphere",
    "StratotrackError",
    "InputError",
    "WindDataError",
]

_LAZY = {
    "predict": ("stratotrack.api", "predict"),
    "Prediction": ("stratotrack.prediction", "Prediction"),
    "ensemble": ("stratotrack.ensemble", None),  # the package, callable as stratotrack.ensemble.ensemble
    "windows": ("stratotrack.ensemble", "windows"),
    "track": ("stratotrack.track", None),  # the package: st.track.track(...), st.track.ParticleFilter...
    "origin": ("stratotrack.track", "origin"),
    "assess": ("stratotrack.analysis", "assess"),
    "steer": ("stratotrack.steer", None),  # the package, callable: st.steer(...) is stratotrack.steer.api.steer
    "open_wind": ("stratotrack.wind", "open_wind"),
    "fetch": ("stratotrack.wind.download", "fetch"),
    "WindField": ("stratotrack.wind", "WindField"),
    "Integrator": ("stratotrack.engine", "Integrator"),
    "Profile": ("stratotrack.flight", "Profile"),
    "Stage": ("stratotrack.flight", "Stage"),
    "profiles": ("stratotrack.flight.profiles", None),
    "atmosphere": ("stratotrack.atmosphere", None),
    "StratotrackError": ("stratotrack.errors", "StratotrackError"),
    "InputError": ("stratotrack.errors", "InputError"),
    "WindDataError": ("stratotrack.errors", "WindDataError"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        mod = importlib.import_module(module)
        value = mod if attr is None else getattr(mod, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'stratotrack' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
