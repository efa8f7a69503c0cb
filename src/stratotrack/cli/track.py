"""``stratotrack track`` and ``stratotrack origin``: thin wrappers of :mod:`stratotrack.track`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import InputError

_OBS_HELP = "Observation files: CSV (telemetry, reports, sightings), KML/KMZ, GPX, GeoJSON, APRS or SondeHub JSON."


def _fmt_km(x):
    if x < 1.0:
        return f"{x * 1000:,.0f} m"
    return f"{x:,.0f} km" if x >= 10 else f"{x:.1f} km"


def _write_origin(result, path: Path):
    """Origin products: .csv (ranking), .geojson (launch map contours + sites), .nc (gridded probability)."""
    from ..io._common import atomic_open

    ext = path.suffix.lower()
    if ext == ".csv":
        import csv

        with atomic_open(path) as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["rank", "name", "latitude", "longitude", "probability", "passage_probability",
                        "launch_time_median"])
            for k, r in enumerate(result.ranking, 1):
                w.writerow([k, r["name"], r["latitude"], r["longitude"], f"{r['probability']:.4f}",
                            f"{r['passage_probability']:.4f}", r.get("launch_time_median", "")])
    elif ext in (".geojson", ".json"):
        lat, lon, prob, polys = result.map()
        feats = []
        for lev, plist in polys.items():
            for rings in plist:
                feats.append({"type": "Feature", "properties": {"kind": "launch_region", "probability": lev},
                              "geometry": {"type": "Polygon", "coordinates": [r.round(4).tolist() for r in rings]}})
        for k, r in enumerate(result.ranking, 1):
            feats.append({"type": "Feature", "properties": {"kind": "candidate", "rank": k, **{
                key: r[key] for key in ("name", "probability", "passage_probability") }},
                "geometry": {"type": "Point", "coordinates": [r["longitude"], r["latitude"]]}})
        with atomic_open(path) as fh:
            json.dump({"type": "FeatureCollection", "features": feats,
                       "properties": {"wind": result.wind, "notes": result.notes}}, fh)
    elif ext in (".nc", ".nc4"):
        import xarray as xr

        from ..io._common import atomic_path

        lat, lon, prob, _ = result.map()
        ds = xr.Dataset({"launch_probability": (("latitude", "longitude"), prob,
                                                {"long_name": "probability of the launch place per cell"})},
                        coords={"latitude": ("latitude", lat, {"units": "degrees_north"}),
                                "longitude": ("longitude", lon, {"units": "degrees_east"})},
                        attrs={"Conventions": "CF-1.11", "title": "stratotrack origin back-tracking",
                               "wind": result.wind, "notes": "\n".join(result.notes)})
        with atomic_path(path) as tmp:
            ds.to_netcdf(tmp)
    else:
        raise InputError(f"origin output '{path}' has extension {ext or '(none)'!r}; expected .csv (ranking), "
                         ".geojson (map) or .nc (gridded probability)")


def register(app):
    """Add ``stratotrack track`` and ``stratotrack origin`` to the app."""

    @app.command()
    def track(
        observations: Annotated[list[Path], typer.Argument(help=_OBS_HELP)],
        wind: Annotated[str, typer.Option("--wind", help="Winds: climatology, a file, or a fetched source "
                                                         "(gfs, era5...).")] = "climatology",
        particles: Annotated[int, typer.Option("--particles", help="Particles of the filter.")] = 10000,
        seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same answer).")] = 0,
        mode: Annotated[str, typer.Option("--mode", help="auto, float (drifting balloon) or sounding "
                                                         "(radiosonde: re-predict the landing).")] = "auto",
        forecast: Annotated[str, typer.Option("--forecast", help="Float: forecast length, e.g. 48h or 3d; "
                                                                 "'0' for none.")] = "48h",
        burst_altitude: Annotated[Optional[float], typer.Option("--burst-altitude",
                                                                help="Sounding: burst altitude (m) while still "
                                                                     "climbing [default: 30000].")] = None,
        descent_rate: Annotated[Optional[float], typer.Option(
            "--descent-rate", help="Sounding: sea-level descent rate (m/s) until a fall is observed [default: the "
                                   "payload class's prior, with its spread].")] = None,
        payload: Annotated[str, typer.Option(
            "--payload", help="Sounding: what falls, for the fall law's prior: payload (an amateur payload under a "
                              "parachute: 5 m/s at sea level, drag-law exponent 0.5), radiosonde (sonde and balloon "
                              "remnants: 10 m/s, exponent 0.33) or auto (from the telemetry's source; said in the "
                              "summary).")] = "auto",
        landing_altitude: Annotated[Optional[float], typer.Option(
            "--landing-altitude", help="Sounding: ground altitude at the landing, m [default: 0, sea level].")] = None,
        dem: Annotated[Optional[Path], typer.Option("--dem", help="Sounding: a GeoTIFF of ground heights (m); the "
                                                    "descent ends at the ground (needs stratotrack[raster]).")] = None,
        ignore_altitudes: Annotated[bool, typer.Option("--ignore-reported-altitudes",
                                                       help="Do not use reported altitudes in the filter.")] = False,
        out: Annotated[Optional[list[Path]], typer.Option("--out", "-o", help="Write the fused track (.csv .kml "
                                                          ".kmz .geojson .gpx .czml .nc); repeatable.")] = None,
        forecast_out: Annotated[Optional[list[Path]], typer.Option(
            "--forecast-out", help="Write the forecast (float: member paths; sounding: the rest of the flight).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
    ):
        """Fuse observations into a track with uncertainty; infer the altitude from drift (with odds for 27,000 vs
        60,000 ft); forecast ahead (float) or re-predict the landing (sounding)."""
        import stratotrack.io as sio

        from ..track import track as do_track

        from . import limits

        limits.check_count("--particles", particles, 100, limits.MAX_PARTICLES, limits.PARTICLES_REASON)
        limits.check_seed(seed)
        fc = None if forecast.strip() in ("0", "", "none") else forecast
        limits.check_forecast(fc)
        limits.check_range("--descent-rate", descent_rate, limits.MIN_DESCENT, limits.MAX_DESCENT, "m/s",
                           "a parachute lands at about 3-10 m/s and a free fall reaches about 60 m/s at sea level")
        if payload not in ("auto", "payload", "radiosonde"):
            raise InputError(f"--payload {payload!r} is unknown; expected auto, payload or radiosonde")
        limits.check_range("--burst-altitude", burst_altitude, 0.0, limits.MAX_ALT, "m", "balloons burst below "
                           "86 km, the top of the standard atmosphere")
        limits.check_range("--landing-altitude", landing_altitude, limits.MIN_GROUND, limits.MAX_GROUND, "m",
                           "the ground lies between the Dead Sea (-430 m) and the top of Everest (8,849 m)")
        for p in list(out or []) + list(forecast_out or []):
            sio.check_output(p)
        from .app import _phase

        with _phase(f"Tracking {len(observations)} observation file(s) with {particles:,} particles..."):
            res = do_track([str(p) for p in observations], wind, particles=particles, seed=seed, mode=mode,
                           forecast=fc, use_reported_altitudes=not ignore_altitudes, burst_altitude=burst_altitude,
                           descent_rate=descent_rate, landing_altitude=landing_altitude, dem=dem, payload=payload)
        written = []
        for p in out or []:
            sio.write(res.fused, p)
            written.append(str(p))
        for p in forecast_out or []:
            if res.forecast is None:
                raise InputError("there is no forecast to write (the balloon has landed, or --forecast 0)")
            sio.write(res.forecast, p)
            written.append(str(p))
        d = res.to_dict()
        d["files"] = written
        if as_json:
            print(json.dumps(d, indent=2, default=float))
            return
        last = d["last"]
        print(f"mode: {d['mode']}   observations: {d['observations']}   wind: {d['wind']}")
        print(f"fused position at {last['time']}: {last['latitude']:.3f}, {last['longitude']:.3f} "
              f"(50% within {_fmt_km(last['r50_km'])}, 95% within {_fmt_km(last['r95_km'])}); altitude "
              f"{last['altitude_m']:,.0f} +- {last['altitude_sd_m']:,.0f} m")
        if d["rejected"]:
            more = f" (and {len(d['rejected']) - 3} more)" if len(d["rejected"]) > 3 else ""
            print(f"left out ({len(d['rejected'])}): " + "; ".join(d["rejected"][:3]) + more)
        if d["outliers"]:
            more = f" (and {len(d['outliers']) - 3} more)" if len(d["outliers"]) > 3 else ""
            print(f"probably wrong reports ({len(d['outliers'])}): " + "; ".join(d["outliers"][:3]) + more)
        if "altitude_from_drift" in d:
            a = d["altitude_from_drift"]
            lo, hi = a["interval90_m"]
            if a["informative"]:
                print(f"altitude from drift: most likely {a['best_m']:,.0f} m, 90% within {lo:,.0f}-{hi:,.0f} m "
                      f"({a['segments']} drift segments)")
                for k, v in a["odds"].items():
                    print(f"  odds {k} = {v:.3g} : 1"
                          + (f"  (i.e. {1 / v:.3g} : 1 for the second)" if 0 < v < 1 else ""))
            else:
                print("altitude from drift: cannot be inferred (no drift between fixes at different times); any "
                      f"altitude from {lo:,.0f} to {hi:,.0f} m is as likely")
        if "landing" in d:
            ld = d["landing"]
            spread = f" (50% within {_fmt_km(ld['landing_r50_km'])}, 90% within {_fmt_km(ld['landing_r90_km'])})" \
                if "landing_r50_km" in ld else ""
            print(f"landing ({ld['phase']}): {ld['landing_latitude']:.4f}, {ld['landing_longitude']:.4f} at "
                  f"{ld['landing_time']}{spread}")
        if d.get("forecast"):
            f = d["forecast"][-1]
            print(f"forecast to {f['time']}: {f['latitude']:.2f}, {f['longitude']:.2f} (50% within "
                  f"{_fmt_km(f['r50_km'])}, 90% within {_fmt_km(f['r90_km'])})")
        for n in d["notes"]:
            print(f"note: {n}")
        for w in written:
            print(f"wrote {w}")

    @app.command()
    def origin(
        observations: Annotated[list[Path], typer.Argument(help=_OBS_HELP)],
        wind: Annotated[str, typer.Option("--wind", help="Winds: climatology, a file, or a fetched source."
                                          )] = "climatology",
        candidates: Annotated[Optional[Path], typer.Option(
            "--candidates", help="CSV of candidate sites (name, latitude, longitude) [default: the shipped "
                                 "radiosonde stations].")] = None,
        min_days: Annotated[float, typer.Option("--min-days", help="Launch at least this many days before the "
                                                                   "first observation.")] = 0.0,
        max_days: Annotated[float, typer.Option("--max-days", help="... and at most this many.")] = 10.0,
        altitude: Annotated[Optional[float], typer.Option("--altitude", help="Float altitude prior (m), when the "
                                                          "observations report none.")] = None,
        altitude_sd: Annotated[float, typer.Option("--altitude-sd", help="Its spread (m).")] = 1000.0,
        ascent_rate: Annotated[float, typer.Option("--ascent-rate", help="Ascent rate after launch, m/s.")] = 5.0,
        particles: Annotated[int, typer.Option("--particles", help="Back-tracked particles.")] = 5000,
        seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
        max_km: Annotated[float, typer.Option("--max-km", help="A launch farther than this from every site "
                                                               "counts for none.")] = 500.0,
        out: Annotated[Optional[list[Path]], typer.Option("--out", "-o", help="Write .csv (ranking), .geojson "
                                                          "(map) or .nc (gridded); repeatable.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
    ):
        """Back-track observations to a probability map of the launch place and time, and rank candidate sites."""
        from ..io._common import check_writable
        from ..track import origin as do_origin
        from . import limits

        limits.check_range("--min-days", min_days, 0.0, limits.MAX_ORIGIN_DAYS, "days", limits.ORIGIN_REASON)
        limits.check_range("--max-days", max_days, 0.0, limits.MAX_ORIGIN_DAYS, "days", limits.ORIGIN_REASON)
        if not max_days > min_days:
            raise InputError(f"--max-days {max_days:g} is not above --min-days {min_days:g}; expected a window of "
                             "launch times")
        limits.check_range("--max-km", max_km, 1.0, 20000.0, "km", "a distance between 1 km and half the "
                           "Earth's circumference")
        limits.check_range("--altitude", altitude, 0.0, limits.MAX_ALT, "m", "balloons float below 86 km")
        limits.check_range("--altitude-sd", altitude_sd, 1.0, 20000.0, "m", "a spread of the float altitude "
                           "between 1 m and 20 km")
        limits.check_range("--ascent-rate", ascent_rate, limits.MIN_ASCENT, limits.MAX_ASCENT, "m/s",
                           "balloons climb at about 1-10 m/s")
        limits.check_count("--particles", particles, 100, limits.MAX_PARTICLES, limits.PARTICLES_REASON)
        limits.check_seed(seed)

        for p in out or []:
            if p.suffix.lower() not in (".csv", ".geojson", ".json", ".nc", ".nc4"):
                raise InputError(f"origin output '{p}' has extension {p.suffix or '(none)'!r}; expected .csv, "
                                 ".geojson or .nc")
            check_writable(p)
        from .app import _phase

        with _phase(f"Back-tracking {particles:,} particles over {min_days:g}-{max_days:g} days..."):
            res = do_origin([str(p) for p in observations], wind, candidates=candidates, min_days=min_days,
                            max_days=max_days, altitude=altitude, altitude_sd=altitude_sd, ascent_rate=ascent_rate,
                            n=particles, seed=seed, max_km=max_km)
        written = []
        for p in out or []:
            _write_origin(res, p)
            written.append(str(p))
        d = res.to_dict()
        d["files"] = written
        if as_json:
            print(json.dumps(d, indent=2, default=float))
            return
        s = d["start"]
        print(f"fused state at the first observation {s['time']}: {s['latitude']:.2f}, {s['longitude']:.2f}, "
              f"altitude {s['altitude_m']:,.0f} +- {s['altitude_sd_m']:,.0f} m")
        print(f"launch time: median {d['launch_time_median']}, 90% between {d['launch_time_90'][0]} and "
              f"{d['launch_time_90'][1]}")
        print("candidate sites (probability that the launch was nearest to it and within "
              f"{res.settings['max_km']:g} km; share of paths passing within {res.settings['radius_km']:g} km):")
        for k, r in enumerate(d["ranking"][:10], 1):
            print(f"  {k:2d}. {r['name']:<24} {r['probability']:7.1%}   passage {r['passage_probability']:6.1%}"
                  + (f"   launch ~{r['launch_time_median']}" if "launch_time_median" in r else ""))
        for n in d["notes"]:
            print(f"note: {n}")
        for w in written:
            print(f"wrote {w}")
