"""Launch windows: the same flight launched every H hours over a period (Tawhiri's "hourly" predictions)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..timeutil import format_time, from_epoch_seconds, now, parse_duration, to_epoch_seconds

#: what each extension receives from :meth:`WindowsResult.write`
FORMATS = {".csv": "the table", ".png": "the map", ".svg": "the map", ".pdf": "the map",
           ".nc": "the trajectories", ".geojson": "the trajectories", ".kml": "the trajectories",
           ".kmz": "the trajectories", ".czml": "the trajectories", ".gpx": "the trajectories"}
MAX_LAUNCHES = 2000


@dataclass
class WindowsResult:
    """``table`` (pandas DataFrame, one row per launch), ``trajectories`` (CF Dataset, one per launch) and, with
    ``members``, ``ensembles`` (one :class:`EnsembleResult` per launch)."""

    table: object
    trajectories: object
    ensembles: list | None = None

    def figure(self, title=None):
        from matplotlib import colormaps
        from matplotlib.colors import Normalize
        from matplotlib.figure import Figure

        from ..geo.coastlines import lines
        from ..io.plot import map_extent, map_axes

        df = self.table
        lt = df["launch_time"].to_numpy().astype("datetime64[s]").astype(float)
        lon_end = df["end_longitude"].to_numpy()
        lat_end = df["end_latitude"].to_numpy()
        ds = self.trajectories
        lon_all = np.concatenate([lon_end, ds.longitude.values[np.isfinite(ds.longitude.values)]])
        shift = np.ptp(lon_all) > 180.0
        fix = (lambda x: np.mod(x, 360.0)) if shift else (lambda x: x)
        lats = np.concatenate([lat_end, ds.latitude.values[np.isfinite(ds.latitude.values)]])
        lo0, lo1, la0, la1, coslat = map_extent(fix(lon_all), lats)
        fig = Figure(figsize=(9, 6.5), layout="constrained")
        ax = fig.subplots()
        coast, borders = lines()
        for group, color, width in ((borders, "0.6", 0.6), (coast, "0.25", 0.8)):
            for arc in group:
                for off in (-360.0, 0.0, 360.0):
                    x = arc[:, 0] + off
                    if x.max() < lo0 or x.min() > lo1 or arc[:, 1].max() < la0 or arc[:, 1].min() > la1:
                        continue
                    ax.plot(x, arc[:, 1], color=color, lw=width, zorder=1)
        norm = Normalize(lt.min(), max(lt.max(), lt.min() + 1))
        cmap = colormaps["viridis"]
        for k in range(ds.sizes["trajectory"]):
            n = int(ds.n_obs.values[k])
            ax.plot(fix(ds.longitude.values[k, :n]), ds.latitude.values[k, :n], color=cmap(norm(lt[k])), lw=0.7,
                    alpha=0.45, zorder=2)
        if self.ensembles:
            for k, ens in enumerate(self.ensembles):
                name = next(iter(ens.products))
                e = ens.ellipses(name, [0.9])[0]
                ax.plot(fix(e["polygon"][:, 0]), e["polygon"][:, 1], color=cmap(norm(lt[k])), lw=1.0, zorder=3)
        sc = ax.scatter(fix(lon_end), lat_end, c=lt, cmap=cmap, norm=norm, s=36, edgecolor="k", lw=0.4, zorder=4)
        ax.plot(fix(df["launch_longitude"].iloc[0]), df["launch_latitude"].iloc[0], marker="^", color="tab:red",
                ms=10, ls="none", zorder=5, label="launch")
        cb = fig.colorbar(sc, ax=ax, shrink=0.8)
        ticks = np.linspace(lt.min(), lt.max(), min(6, len(lt)))
        cb.set_ticks(ticks)
        cb.set_ticklabels([format_time(from_epoch_seconds(t))[:16].replace("T", " ") for t in ticks])
        cb.set_label("launch time (UTC)")
        map_axes(ax, (lo0, lo1, la0, la1, coslat), shift)
        ax.legend(loc="best", fontsize=8)
        what = "landing" if ds.attrs.get("profile") == "standard" else "end"
        ax.set_title(title or f"{len(df)} launches: {what} points coloured by launch time"
                     + (" (ellipses: 90% of each ensemble)" if self.ensembles else ""))
        fig.text(0.005, 0.005, "coastlines: Natural Earth", fontsize=6, color="0.5")
        return fig

    def write(self, path) -> Path:
        from ..io._common import atomic_path

        path = Path(path)
        ext = path.suffix.lower()
        if ext not in FORMATS:
            raise InputError(f"extension {ext or str(path)!r} is not a windows output; expected one of "
                             f"{', '.join(FORMATS)}")
        if ext == ".csv":
            with atomic_path(path) as tmp:
                self.table.to_csv(tmp, index=False)
        elif ext in (".png", ".svg", ".pdf"):
            fig = self.figure()
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format=ext[1:], dpi=110)
        else:
            import stratotrack.io as sio

            sio.write(self.trajectories, path)
        return path


def launch_times(start, end, every):
    t0 = float(to_epoch_seconds(now() if start is None else start).ravel()[0])
    h = parse_duration(every)
    if not h > 0:
        raise InputError(f"launch interval {every!r} is invalid; expected a positive duration such as 1h")
    t1 = t0 + 24 * 3600.0 if end is None else float(to_epoch_seconds(end).ravel()[0])
    if t1 < t0:
        raise InputError(f"window end {format_time(from_epoch_seconds(t1))} is before its start "
                         f"{format_time(from_epoch_seconds(t0))}")
    count = int(np.floor((t1 - t0) / h + 1e-9)) + 1
    if count > MAX_LAUNCHES:
        raise InputError(f"{count} launches requested; expected at most {MAX_LAUNCHES} (a longer interval or a "
                         "shorter period)")
    return t0 + h * np.arange(count)


def windows(lat, lon, alt=0.0, start=None, end=None, every="1h", profile="standard", *, members=0, seed=None,
            ensemble_options=None, **predict_options) -> WindowsResult:
    """Predict the flight launched every ``every`` from ``start`` to ``end`` (inclusive; default 24 h).

    ``predict_options`` are those of :func:`stratotrack.predict` (ascent_rate, burst_altitude, wind...).  With
    ``members`` > 0 each launch also runs an ensemble (``ensemble_options``: spread, wind_error, offsets...;
    seeds derived from ``seed`` per launch) and the table gains its mean end point and 90% ellipse.
    """
    import pandas as pd

    from ..api import predict
    from ..geodesy import bearing, great_circle_distance
    from ..wind import open_wind

    times = launch_times(start, end, every)
    if "wind" in predict_options:
        predict_options["wind"] = open_wind(predict_options["wind"])  # prepared once, reused by the ensembles
    ds = predict(lat, lon, alt, from_epoch_seconds(times), profile, **predict_options)
    rows = {
        "launch_time": from_epoch_seconds(times),
        "launch_latitude": np.full(times.size, float(np.asarray(lat))),
        "launch_longitude": np.full(times.size, float(np.asarray(lon))),
        "end_time": ds.end_time.values,
        "end_latitude": ds.end_latitude.values,
        "end_longitude": ds.end_longitude.values,
        "end_reason": ds.end_reason.values,
    }
    for ev in [str(e) for e in ds.event.values[1:-1]]:
        rows[f"{ev}_time"] = ds.event_time.sel(event=ev).values
        rows[f"{ev}_latitude"] = ds.event_latitude.sel(event=ev).values
        rows[f"{ev}_longitude"] = ds.event_longitude.sel(event=ev).values
    lat0 = float(np.asarray(lat))
    lon0 = float(np.asarray(lon))
    rows["distance_km"] = great_circle_distance(lat0, lon0, ds.end_latitude.values, ds.end_longitude.values) / 1000
    rows["bearing_deg"] = bearing(lat0, lon0, ds.end_latitude.values, ds.end_longitude.values)
    ensembles = None
    if members:
        from .run import ensemble

        opts = dict(ensemble_options or {})
        opts.setdefault("keep", "summary")
        seeds = np.random.SeedSequence(seed).spawn(times.size)
        ensembles = []
        keys = ("ascent_rate", "burst_altitude", "descent_rate", "float_altitude", "duration", "stop",
                "landing_altitude", "launch_altitude", "backward", "step", "outside", "max_duration")
        for k, t in enumerate(times):
            ens = ensemble(lat, lon, alt, from_epoch_seconds(t), profile, members=members,
                           seed=int(seeds[k].generate_state(1)[0]),
                           wind=predict_options.get("wind", "climatology"),
                           **{key: predict_options[key] for key in keys if key in predict_options}, **opts)
            ensembles.append(ens)
        name = next(iter(ensembles[0].products))
        ells = [e.ellipses(name, [0.9])[0] for e in ensembles]
        rows["ensemble_mean_latitude"] = [e["center_latitude"] for e in ells]
        rows["ensemble_mean_longitude"] = [e["center_longitude"] for e in ells]
        rows["ellipse90_semi_major_km"] = [e["semi_major_km"] for e in ells]
        rows["ellipse90_semi_minor_km"] = [e["semi_minor_km"] for e in ells]
        rows["ellipse90_azimuth_deg"] = [e["azimuth_deg"] for e in ells]
    return WindowsResult(pd.DataFrame(rows), ds, ensembles)
