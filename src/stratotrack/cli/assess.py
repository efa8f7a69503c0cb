"""``stratotrack assess``: mission analysis of a predicted drift (or ensemble) or a tracked flight file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer


def register(app):
    """Add ``stratotrack assess`` to the app."""

    @app.command()
    def assess(
        lat: Annotated[Optional[float], typer.Option("--lat", help="Start latitude of a drift, degrees.")] = None,
        lon: Annotated[Optional[float], typer.Option("--lon", help="Start longitude, degrees.")] = None,
        alt: Annotated[float, typer.Option("--alt", help="Drift altitude, m.")] = 18000.0,
        time: Annotated[Optional[str], typer.Option("--time", help="Start, ISO 8601 [default: now].")] = None,
        duration: Annotated[str, typer.Option("--duration", help="Drift duration, e.g. 3d, 36h.")] = "3d",
        track: Annotated[Optional[Path], typer.Option("--track", help="Assess this flight file instead (.csv "
                                                      ".geojson .kml .gpx .nc).")] = None,
        members: Annotated[int, typer.Option("--members", help="Ensemble members (0: one prediction).")] = 0,
        seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
        wind_error: Annotated[bool, typer.Option("--wind-error/--no-wind-error",
                                                 help="Forecast wind error in ensembles and falls.")] = True,
        wind: Annotated[str, typer.Option("--wind", help="Wind source (climatology, a file, a fetched name).")]
        = "climatology",
        site: Annotated[Optional[list[str]], typer.Option("--site", help="NAME,LAT,LON[,RADIUS_KM]; repeat.")] = None,
        sites: Annotated[Optional[Path], typer.Option("--sites", help="Sites file (.geojson or .csv).")] = None,
        zone: Annotated[Optional[list[Path]], typer.Option("--zone", help="Airspace zones file (.geojson/.csv); "
                                                           "repeat.")] = None,
        tle: Annotated[Optional[list[Path]], typer.Option("--tle", help="TLE file for satellite passes; repeat.")]
        = None,
        min_elevation: Annotated[float, typer.Option("--min-elevation", help="Elevation mask for satellites and "
                                                     "the balloon seen from a site, degrees.")] = 10.0,
        max_off_nadir: Annotated[Optional[float], typer.Option("--max-off-nadir", help="Sensor's largest off-nadir "
                                                               "angle, degrees [default: to the horizon].")] = None,
        pixel_pitch: Annotated[Optional[float], typer.Option("--pixel-pitch", help="Sensor pixel pitch, m.")] = None,
        focal_length: Annotated[Optional[float], typer.Option("--focal-length", help="Focal length, m.")] = None,
        aperture: Annotated[Optional[float], typer.Option("--aperture", help="Aperture diameter, m.")] = None,
        every: Annotated[str, typer.Option("--every", help="Termination release interval, e.g. 1h.")] = "1h",
        samples: Annotated[int, typer.Option("--samples", help="Fall samples per piece and release.")] = 20,
        threshold: Annotated[float, typer.Option("--threshold", help="E_c threshold (RCC 321: 1e-4).")] = 1e-4,
        criterion: Annotated[str, typer.Option("--criterion", help="water, ec or either.")] = "either",
        population: Annotated[Optional[Path], typer.Option("--population", help="Population raster (GeoTIFF, "
                                                           "lon/lat) [default: GeoNames towns + rural density].")]
        = None,
        population_kind: Annotated[str, typer.Option("--population-kind", help="density (per km2) or count (per "
                                                     "cell).")] = "density",
        pieces: Annotated[Optional[Path], typer.Option("--pieces", help="JSON list of pieces {name, mass, cd, area, "
                                                       "count, spread} [default: an illustrative large payload].")]
        = None,
        termination: Annotated[bool, typer.Option("--termination/--no-termination",
                                                  help="Compute termination footprints and windows.")] = True,
        out: Annotated[Optional[list[Path]], typer.Option("--out", "-o", help="Report file (.html, .json); "
                                                          "repeat.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
        scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="Run the ensemble (--members) and the "
                                                         "termination falls on this Dask scheduler, e.g. "
                                                         "tcp://10.0.0.5:8786.")] = None,
    ):
        """Sites, satellites, airspace and termination windows of a flight, in one report."""
        import stratotrack as st
        from stratotrack import analysis as A
        from stratotrack.errors import InputError
        from stratotrack.timeutil import parse_duration

        from stratotrack.io._common import check_writable

        from . import limits

        limits.check_range("--alt", alt, limits.MIN_ALT, limits.MAX_ALT, "m", "a drift altitude between the Dead "
                           "Sea and 86 km")
        limits.check_time(time, "--time")
        d = limits._seconds(duration, "--duration")
        if d is not None and d / 120.0 > limits.MAX_STEPS:
            raise InputError(f"--duration {duration!r} is too long; expected at most "
                             f"{limits.MAX_STEPS * 120 / 86400:,.0f} days")
        limits.check_count("--members", members, 0, 100_000, "0 is one prediction; each member is a whole drift "
                           "assessed against every site, zone and satellite")
        limits.check_seed(seed)
        limits.check_range("--min-elevation", min_elevation, -5.0, 90.0, "degrees", "an elevation mask lies "
                           "between just below the horizon and the zenith (90 degrees)")
        limits.check_range("--max-off-nadir", max_off_nadir, 0.0, 90.0, "degrees", "an off-nadir angle lies "
                           "between nadir (0) and the horizon (90)")
        for flag, v in (("--pixel-pitch", pixel_pitch), ("--focal-length", focal_length), ("--aperture", aperture)):
            limits.check_range(flag, v, 1e-9, 100.0, "m", "a positive length in metres")
        limits.check_count("--samples", samples, 1, 10_000, "each sample is a fall computed per piece and release")
        limits.check_range("--threshold", threshold, 1e-12, 1.0, "", "an expected-casualty threshold is a "
                           "probability (RCC 321: 1e-4)")
        every_s = parse_duration(every)
        if every_s < 60.0:
            raise InputError(f"--every {every!r} is shorter than a minute; expected e.g. 15m or 1h (each release "
                             "is a set of falls)")
        for p in out or []:
            if p.suffix.lower() not in (".html", ".htm", ".json"):
                raise InputError(f"report file {str(p)!r} has an unknown extension; expected .html or .json")
            check_writable(p)
        site_list = [A.parse_site(s) for s in site or []]
        if sites is not None:
            site_list += A.load_sites(sites)
        zones = []
        for z in zone or []:
            zones += [A.Zone(s) for s in A.load_sites(z)]
        tles = []
        for f in tle or []:
            tles += A.read_tles(f)
        piece_list = A.LARGE_PAYLOAD
        if pieces is not None:
            try:
                raw = json.loads(Path(pieces).read_text(encoding="utf-8"))
                piece_list = tuple(A.Piece(**{k: v for k, v in d.items()}) for d in raw)
            except (OSError, ValueError, TypeError) as exc:
                raise InputError(f"pieces file {str(pieces)!r} cannot be read ({exc}); expected a JSON list of "
                                 "{name, mass, cd, area[, count, spread, impact_area]}") from None
        pop = A.RasterPopulation(population, population_kind) if population is not None else None
        sensor = A.Sensor(min_elevation=0.0, max_off_nadir=max_off_nadir, pixel_pitch=pixel_pitch,
                          focal_length=focal_length, aperture=aperture)
        from .app import _phase

        with _phase("Assessing the flight (sites, satellites, airspace, termination)..."):
            return _assess(st, A, wind, track, lat, lon, alt, time, duration, members, seed, wind_error, site_list,
                           sensor, tles, min_elevation, zones, piece_list, every, samples, threshold, criterion, pop,
                           termination, out, as_json, scheduler)


def _assess(st, A, wind, track, lat, lon, alt, time, duration, members, seed, wind_error, site_list, sensor, tles,
            min_elevation, zones, piece_list, every, samples, threshold, criterion, pop, termination, out, as_json,
            scheduler=None):
    from stratotrack.errors import InputError

    w = st.open_wind(wind)
    if track is None and (lat is None or lon is None):
        raise InputError("give --lat and --lon of a drift, or --track with a flight file")
    from .ensemble import _client

    client = _client(scheduler)  # the ensemble (--members) and the termination falls run on it
    try:
        if track is not None:
            import stratotrack.io as sio

            traj = sio.read(track)
        elif members > 0:
            traj = st.ensemble(lat, lon, alt, time, "drift", members=members, seed=seed, duration=duration,
                               wind=w, wind_error=wind_error or None, keep="trajectories", interval=600.0,
                               output_interval=600.0, step=120.0, client=client)
        else:
            traj = st.predict(lat, lon, alt, time, "drift", duration=duration, wind=w, step=120.0,
                              output_interval=600.0)
        return _report(A, traj, site_list, sensor, tles, min_elevation, zones, piece_list, w, every, samples,
                       threshold, criterion, pop, termination, seed, out, as_json, client)
    finally:
        if client is not None:
            client.close()


def _report(A, traj, site_list, sensor, tles, min_elevation, zones, piece_list, w, every, samples, threshold,
            criterion, pop, termination, seed, out, as_json, client):
    from stratotrack.timeutil import parse_duration

    res = A.assess(traj, site_list, sensor=sensor, tles=tles, min_elevation=min_elevation, zones=zones,
                   pieces=piece_list, wind=w, every=parse_duration(every), samples=samples, threshold=threshold,
                   criterion=criterion, population=pop, termination=termination, seed=seed, client=client)
    winds = res["winds"]
    written = A.write_report(res, *(out or []))
    if as_json:
        from stratotrack.analysis.report import _jsonable

        print(json.dumps(_jsonable(res), indent=1))
        return
    print(f"assessment of {res['kind']} ({res['members']} trajectories) {res['start']} to {res['end']}")
    print(f"  winds: {winds['path']}")
    for warning in winds["warnings"]:
        print(f"  warning: {warning}")
    g = res["geometry"]
    print(f"  horizon {g['horizon_distance_km']} km from {g['median_altitude_m']:.0f} m; sensor reach "
          f"{g['reach_km']} km")
    for r in res["sites"]:
        if "p_overhead" in r:
            print(f"  site {r['site']['name']}: P(overhead) {r['p_overhead']:.3f}, P(in reach) "
                  f"{r['p_in_reach']:.3f}")
        else:
            print(f"  site {r['site']['name']}: overhead {r['overhead']}, closest {r['closest_approach_km']} km "
                  f"at {r['closest_time']}, {r['hours_in_reach']} h in reach")
    for c in res["airspace"]["countries"]:
        if "probability" in c:
            print(f"  enters {c['name']}: P {c['probability']:.3f}, median first entry "
                  f"{c['first_entry']['median']}")
        else:
            print(f"  {c['name']}: {'starts inside' if c['started_inside'] else 'enters ' + c['time']} "
                  f"({c['latitude']}, {c['longitude']})")
    term = res.get("termination")
    if term:
        e, lg = term["earliest"], term["longest"]
        print("  termination: " + ("no acceptable window" if e is None else
                                   f"earliest window {e['start']} - {e['end']}; longest {lg['start']} - "
                                   f"{lg['end']} ({lg['hours']:.1f} h)"))
    for p in written:
        print(f"  wrote {p}")
