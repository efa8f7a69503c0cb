"""The ensemble driver: draw members, run them batch by batch through the one engine, reduce as it goes."""

from __future__ import annotations

import math
import time as _time
import weakref

import numpy as np

from .. import api as _api
from ..engine import Integrator
from ..errors import InputError
from ..timeutil import format_time, from_epoch_seconds, now, parse_duration, to_epoch_seconds
from ..wind import open_wind
from . import perturb as PT
from .result import EnsembleResult
from .summaries import Passage, PointDensity, check_levels
from ..geodesy import wrap_longitude

KEEP = ("summary", "members", "trajectories")


def _scalar(name, value, unit, lim=None):
    arr = np.asarray(value, dtype=float)
    if arr.size != 1:
        raise InputError(f"{name} must be a single value for an ensemble (got {arr.size}); use windows() for many "
                         "launches")
    v = float(arr.ravel()[0])
    if not math.isfinite(v) or (lim is not None and abs(v) > lim):
        raise InputError(f"{name} {v!r} {unit} is invalid; expected a finite number" +
                         (f" within +-{lim}" if lim else ""))
    return v


def _passages(passages):
    out = []
    for k, p in enumerate(passages or []):
        if isinstance(p, Passage):
            out.append(p.fresh())  # a Passage given to several calls counts each call's members only
            continue
        if isinstance(p, dict):
            p = dict(p)
            name = p.pop("name", None)
            if "polygon" in p:
                out.append(Passage(name or f"polygon{k + 1}", polygon=p["polygon"]))
            else:
                out.append(Passage(name or f"point{k + 1}", lat=p.get("lat"), lon=p.get("lon"),
                                   radius_km=p.get("radius_km")))
            continue
        if isinstance(p, (tuple, list)) and len(p) == 3 and np.ndim(p[0]) == 0:
            out.append(Passage(f"point{k + 1}", lat=p[0], lon=p[1], radius_km=p[2]))
            continue
        raise InputError(f"passage {p!r} is not understood; expected (lat, lon, radius_km), "
                         "{'lat':..., 'lon':..., 'radius_km':...} or {'polygon': [(lon, lat), ...]}")
    return out


def ensemble(lat, lon, alt=0.0, time=None, profile="standard", *, members=100, seed=None, spread=None,
             balloon=None, wind_error=None, offsets=None, wind="climatology", winds=None, ascent_rate=5.0,
             burst_altitude=30000.0, descent_rate=5.0, float_altitude=None, duration=None, stop=None,
             landing_altitude=0.0, launch_altitude=0.0, backward=False, step=60.0, output_interval=None,
             outside="clamp", max_duration=None, at=None, passages=None, levels=(0.5, 0.9, 0.99),
             resolution_km=None, interval=600.0, batch_size=25_000, keep="members", client=None) -> EnsembleResult:
    """Run a Monte Carlo ensemble of one flight and summarise it as it runs.

    The flight is described as for :func:`stratotrack.predict` (scalars: one launch).  Perturbations, combinable:

    ``spread``      ``{parameter: distribution}`` for ascent_rate, burst_altitude, descent_rate, float_altitude
                    (m/s, m) and launch_time (s); a distribution is :class:`Normal`, :class:`Uniform`, a number
                    (a normal standard deviation) or text such as ``"uniform:2000"``.
    ``balloon``     a :class:`Balloon` (latex balloon, payload and gas fill, with spreads): replaces the nominal
                    ascent rate and burst altitude.
    ``wind_error``  a :class:`WindError` (or ``True`` for the defaults): stochastic wind error growing with lead.
    ``offsets``     an :class:`Offsets` (or ``True``): the HYSPLIT grid-shift ensemble.
    ``winds``       a list of wind sources (e.g. GEFS members), members assigned to them in turn; else ``wind``.

    With none of these, every member is the deterministic prediction.  ``seed`` (an int) makes the ensemble
    reproducible (NumPy ``SeedSequence``: one stream for the parameters, one per batch for the wind error; the same
    seed and ``batch_size`` give the same result); without one the seed drawn is reported in the result.

    Summaries (streamed, batch by batch): end-point and event densities, positions at the times ``at``,
    spread ellipses, highest-density contours at ``levels`` and the probability of ``passages``: ``(lat, lon,
    radius_km)`` tuples, ``{"lat", "lon", "radius_km"}`` or ``{"polygon": [(lon, lat), ...]}`` dicts, each with
    an optional ``"name"``.  ``keep``: ``"summary"`` (nothing per member), ``"members"`` (a table of each member's
    parameters and end point, a few dozen bytes each) or ``"trajectories"`` (every full trajectory).
    ``interval`` (s) is the chunk of integration between wind-error displacements and the spacing of the points
    the passage test joins; ``batch_size`` bounds the particle state held at once.

    ``client``: a ``dask.distributed.Client`` (or a scheduler address): the batches run as tasks on its workers,
    which memory-map the prepared wind instead of receiving it (see ``docs/dask.md``).  The result equals the
    local run with the same ``seed`` and ``batch_size``, whatever the cluster.
    """
    from ..engine.cluster import check_client

    wall0 = _time.perf_counter()
    own = isinstance(client, str)  # a client made here from an address is closed here
    client = check_client(client)
    try:
        return _ensemble(wall0, client, lat, lon, alt, time, profile, members=members, seed=seed, spread=spread,
                         balloon=balloon, wind_error=wind_error, offsets=offsets, wind=wind, winds=winds,
                         ascent_rate=ascent_rate, burst_altitude=burst_altitude, descent_rate=descent_rate,
                         float_altitude=float_altitude, duration=duration, stop=stop,
                         landing_altitude=landing_altitude, launch_altitude=launch_altitude, backward=backward,
                         step=step, output_interval=output_interval, outside=outside, max_duration=max_duration,
                         at=at, passages=passages, levels=levels, resolution_km=resolution_km, interval=interval,
                         batch_size=batch_size, keep=keep)
    finally:
        if own and client is not None:
            client.close()


def _ensemble(wall0, client, lat, lon, alt, time, profile, **kw) -> EnsembleResult:
    plan = _plan(lat, lon, alt, time, profile, **kw)
    result = run_plans([plan], client)[0]
    result.meta["wall_seconds"] = _time.perf_counter() - wall0
    if client is not None:
        result.meta["cluster"] = {"workers": len(client.scheduler_info().get("workers", {}))}
    return result


def run_plans(plans, client=None) -> list:
    """Run the batches of several planned ensembles (e.g. the launches of a window) together, locally or as tasks
    on a cluster, and reduce each: a list of :class:`EnsembleResult`, one per plan."""
    import itertools

    from ..engine.cluster import run_batches

    fields, where, specs = [], {}, []
    for plan in plans:
        for spec in plan.specs:
            f = plan.fields[spec["g"]]
            if id(f) not in where:
                where[id(f)] = len(fields)
                fields.append(f)
            specs.append({**spec, "field": where[id(f)]})
    results = run_batches(_run_batch, specs, fields, client)
    out = [plan.finish(itertools.islice(results, len(plan.specs))) for plan in plans]
    results.close()
    return out


class _Plan:
    """An ensemble cut into batches (``specs``, run by :func:`_run_batch`) and the reduction of their results."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def finish(self, partials) -> EnsembleResult:
        """Reduce the batches' results, in batch order (so that a distributed run equals the local one)."""
        c = self.common
        n = self.members
        products = {}
        snapshots = {key: PointDensity("at", self.resolution_km) for key in c["snap_keys"]}
        counts = {"aloft_at": {k: 0 for k in snapshots}, "not_launched_at": {k: 0 for k in snapshots}}
        passes = self.passes
        tables, trajs = [], []
        engine_seconds = 0.0
        status_total = None
        for part in partials:
            for name, p_lat, p_lon in part["points"]:
                products.setdefault(name, PointDensity(name, self.resolution_km)).add(p_lat, p_lon)
            for key, (s_lat, s_lon, n_before, n_done) in part["snap"].items():
                counts["not_launched_at"][key] += n_before
                counts["aloft_at"][key] += n_done
                snapshots[key].add(s_lat, s_lon)
            for p, q in zip(passes, part["passages"]):
                p.merge(q)
            st_counts = part["status"]
            status_total = st_counts if status_total is None else status_total + st_counts
            engine_seconds += part["engine_seconds"]
            if part["table"] is not None:
                tables.append(part["table"])
            if part["traj"] is not None:
                trajs.append(part["traj"])
        meta = dict(self.meta)
        meta.update({
            "status_counts": {name: int(cnt) for name, cnt in zip(
                ("running", "completed", "maximum duration reached", "left above", "left below", "left time",
                 "left region"), status_total) if cnt},
            "snapshots": {k: {"aloft": counts["aloft_at"][k], "not_launched": counts["not_launched_at"][k],
                              "ended": n - counts["aloft_at"][k] - counts["not_launched_at"][k]} for k in snapshots},
            "engine_seconds": engine_seconds,
        })
        products.update(snapshots)
        return EnsembleResult(products=products, passages=passes, levels=self.levels, meta=meta,
                              members=_concat_tables(tables) if tables else None,
                              trajectories=_concat_trajs(trajs) if trajs else None)


def _plan(lat, lon, alt=0.0, time=None, profile="standard", *, members=100, seed=None, spread=None, balloon=None,
          wind_error=None, offsets=None, wind="climatology", winds=None, ascent_rate=5.0, burst_altitude=30000.0,
          descent_rate=5.0, float_altitude=None, duration=None, stop=None, landing_altitude=0.0, launch_altitude=0.0,
          backward=False, step=60.0, output_interval=None, outside="clamp", max_duration=None, at=None,
          passages=None, levels=(0.5, 0.9, 0.99), resolution_km=None, interval=600.0, batch_size=25_000,
          keep="members") -> _Plan:
    """Check the arguments, open the winds, draw the members' parameters and cut them into batches."""
    try:
        members = int(members)
    except (TypeError, ValueError):
        raise InputError(f"members {members!r} is not a whole number; expected at least 1") from None
    if members < 1:
        raise InputError(f"members {members} is invalid; expected at least 1 member")
    if keep not in KEEP:
        raise InputError(f"keep={keep!r} is invalid; expected one of {', '.join(KEEP)}")
    levels = check_levels(levels)
    try:
        batch_size = int(batch_size)
    except (TypeError, ValueError):
        batch_size = 0
    if batch_size < 1:
        raise InputError(f"batch size {batch_size!r} is invalid; expected at least 1 member per batch")
    lat0 = _scalar("latitude", lat, "degrees", 90)
    lon0 = _scalar("longitude", lon, "degrees", 360)
    if lon0 < -180:
        raise InputError(f"longitude {lon0!r} is outside -180..360 degrees")
    alt0 = _scalar("altitude", alt, "m")
    t_launch = float(to_epoch_seconds(now() if time is None else time).ravel()[0])
    step = float(step)
    if not (math.isfinite(step) and step > 0):
        raise InputError(f"step {step!r} s is invalid; expected a positive number of seconds")
    interval = float(interval)
    if not (math.isfinite(interval) and interval > 0):
        raise InputError(f"interval {interval!r} s is invalid; expected a positive number of seconds")
    interval = max(step, round(interval / step) * step)
    if output_interval is None:
        output_interval = step if keep == "trajectories" else interval
    sgn = -1.0 if backward else 1.0

    spreads = {k: PT.distribution(k, v) for k, v in (spread or {}).items()}
    if balloon is not None and not isinstance(balloon, PT.Balloon):
        raise InputError("balloon must be a stratotrack.ensemble.Balloon")
    if balloon is not None and ({"ascent_rate", "burst_altitude"} & set(spreads)):
        raise InputError("a balloon model sets the ascent rate and burst altitude; spread its fill and burst "
                         "diameter instead of ascent_rate/burst_altitude")
    if wind_error is True:
        wind_error = PT.WindError()
    if wind_error is not None and wind_error is not False and not isinstance(wind_error, PT.WindError):
        raise InputError("wind_error must be a stratotrack.ensemble.WindError or True")
    wind_error = wind_error or None
    if offsets is True:
        offsets = PT.Offsets()
    if offsets is not None and offsets is not False and not isinstance(offsets, PT.Offsets):
        raise InputError("offsets must be a stratotrack.ensemble.Offsets or True")
    offsets = offsets or None
    passes = _passages(passages)
    for p in passes:
        p.sgn = sgn
    # each source as open_wind takes it (a fetched name such as "gefs" picks the cycle covering the launch)
    fields = [open_wind(w, time=np.array([t_launch])) for w in (winds if winds is not None else [wind])]
    if not fields:
        raise InputError("winds is an empty list; expected at least one wind source")

    # -- draw the members' parameters (one stream, before any batch) --------------------------------------------------
    ss = np.random.SeedSequence(seed)
    param_rng = np.random.Generator(np.random.PCG64(ss.spawn(1)[0]))
    n = members
    params = {"ascent_rate": np.full(n, float(ascent_rate)), "burst_altitude": np.full(n, float(burst_altitude)),
              "descent_rate": np.full(n, float(descent_rate))}
    if float_altitude is not None:
        params["float_altitude"] = np.full(n, float(float_altitude))
    redraws = {}
    if balloon is not None:
        params["ascent_rate"], params["burst_altitude"], redraws["balloon"] = balloon.draw(param_rng, n)
    floor = max(alt0, launch_altitude if backward else alt0)
    valid = {"ascent_rate": lambda x: x > 0, "descent_rate": lambda x: x > 0,
             "burst_altitude": lambda x: (x > floor) & (x <= 86000.0) & (x > landing_altitude),
             "float_altitude": lambda x: x > floor, "launch_time": lambda x: np.isfinite(x)}
    t0 = np.full(n, t_launch)
    for name in PT.PARAMETERS:  # fixed order: reproducible whatever the dict order
        if name not in spreads:
            continue
        if name == "launch_time":
            t0, redraws[name] = PT.draw_truncated(param_rng, t0, spreads[name], valid[name], name, "s")
            continue
        if name not in params:
            raise InputError(f"cannot spread {name}: the {profile} profile has no {name.replace('_', ' ')}")
        params[name], redraws[name] = PT.draw_truncated(param_rng, params[name], spreads[name], valid[name], name,
                                                         PT.PARAMETERS[name])
    for f in fields:
        f.check_times(t0)

    # -- member groups: wind source x offset combination ------------------------------------------------------------
    combos = offsets.combinations() if offsets else [(0, 0, 0)]
    ids = np.arange(n)
    group = ids % len(fields)
    combo = (ids // len(fields)) % len(combos)
    order = []  # (field index, combo index, member ids) batches
    for g in range(len(fields)):
        for c in range(len(combos)):
            m = ids[(group == g) & (combo == c)]
            for s in range(0, m.size, batch_size):
                order.append((g, c, m[s:s + batch_size]))
    batch_seeds = ss.spawn(len(order))

    snap_times = [] if at is None else [float(x) for x in np.atleast_1d(to_epoch_seconds(at))]
    common = {
        "lat0": lat0, "lon0": lon0, "alt0": alt0, "sgn": sgn, "profile": profile, "backward": backward,
        "duration": duration, "stop": stop, "landing_altitude": landing_altitude, "launch_altitude": launch_altitude,
        "step": step, "output_interval": output_interval, "outside": outside, "max_duration": max_duration,
        "interval": interval, "keep": keep, "wind_error": wind_error, "offsets": offsets, "combos": combos,
        "passes": passes, "snap_times": snap_times,
        "snap_keys": [f"at {format_time(from_epoch_seconds(ts))}" for ts in snap_times],
    }
    specs = []
    for b, (g, c, mids) in enumerate(order):
        specs.append({"common": common, "g": g, "c": c, "mids": mids, "t0": t0[mids], "seed": batch_seeds[b],
                      "params": {k: v[mids] for k, v in params.items()}})
    meta = {
        "members": n, "seed": seed if seed is not None else int(ss.entropy) if isinstance(ss.entropy, int) else None,
        "seed_entropy": str(ss.entropy), "batch_size": batch_size, "batches": len(order),
        "profile": profile if isinstance(profile, str) else profile.name,
        "launch": {"latitude": lat0, "longitude": lon0, "altitude": alt0,
                   "time": format_time(from_epoch_seconds(t_launch))},
        "nominal": {"ascent_rate": float(ascent_rate), "burst_altitude": float(burst_altitude),
                    "descent_rate": float(descent_rate),
                    "float_altitude": None if float_altitude is None else float(float_altitude)},
        "perturbations": {
            "spread": {k: v.describe(PT.PARAMETERS[k]) for k, v in spreads.items()},
            "balloon": balloon.describe() if balloon else None,
            "wind_error": wind_error.describe() if wind_error else None,
            "offsets": offsets.describe() if offsets else None,
            "winds": [f.label() for f in fields],
            "redraws": {k: int(v) for k, v in redraws.items()},
        },
        "warnings": list(dict.fromkeys(w for f in fields for w in f.warnings_for(np.array([t_launch])))),
        "step_seconds": step, "interval_seconds": interval, "levels": levels,
    }
    return _Plan(common=common, specs=specs, fields=fields, members=n, passes=passes, levels=levels,
                 resolution_km=resolution_km, meta=meta)


#: height-shifted copies of fields (offsets), per field object and shift (kept while the field lives)
_SHIFTED = weakref.WeakKeyDictionary()


def _run_batch(spec, fields):
    """Run one batch of members through the engine and reduce it to what the ensemble's summaries need.

    Pure function of ``spec`` (its members, parameters and seed) and the fields: the same wherever it runs."""
    c = spec["common"]
    g, ci, mids = spec["g"], spec["c"], spec["mids"]
    offsets, combos, sgn = c["offsets"], c["combos"], c["sgn"]
    step, interval, keep, wind_error = c["step"], c["interval"], c["keep"], c["wind_error"]
    snap_times, snap_keys = c["snap_times"], c["snap_keys"]
    lat0, lon0, alt0 = c["lat0"], c["lon0"], c["alt0"]
    dlat_c, dlon_c, dz_c = combos[ci]
    base = fields[spec.get("field", g)]  # "field": the index into ``fields`` when several runs share one list
    fld = PT.shifted_field(base, dlat_c * (offsets.cells if offsets else 0),
                           dlon_c * (offsets.cells if offsets else 0), dz_c * (offsets.height if offsets else 0),
                           _SHIFTED.setdefault(base, {}) if offsets else {})
    rng = np.random.Generator(np.random.PCG64(spec["seed"]))
    nb = mids.size
    tb = spec["t0"]
    params = spec["params"]
    la = np.full(nb, lat0)
    lo = np.full(nb, lon0)
    z = np.full(nb, alt0)
    prof = _api.build_profile(
        c["profile"], (nb,), z, tb, c["backward"],
        ascent_rate=params["ascent_rate"], burst_altitude=params["burst_altitude"],
        descent_rate=params["descent_rate"],
        float_altitude=params["float_altitude"] if "float_altitude" in params else None,
        duration=c["duration"], stop=c["stop"], landing_altitude=c["landing_altitude"],
        launch_altitude=c["launch_altitude"])
    prof_names = prof.event_names
    codes, vals = prof.encode(nb)
    if c["max_duration"] is not None:
        t_end = tb + sgn * parse_duration(c["max_duration"])
    else:
        t_end = tb + sgn * _api.natural_duration(prof, codes, vals, tb, z, step)
    integ = Integrator(fld, tb, la, lo, z, codes, vals, t_end, step=step, output_interval=c["output_interval"],
                       backward=prof.backward, outside=c["outside"])
    werr = None
    if wind_error is not None:
        if wind_error.reference_time is not None:
            ref = np.full(nb, float(wind_error.reference_time))
        elif fld.time_mode == "series":
            ref = np.full(nb, float(fld.knots[0]))
        else:
            ref = tb.copy()
        werr = PT.WindErrorState(wind_error, rng, nb, ref)
    passes = [p.fresh() for p in c["passes"]]
    for p in passes:
        p.start_batch(nb)
    stream = keep != "trajectories"
    snap = {k: [np.full(nb, np.nan), np.full(nb, np.nan), np.zeros(nb, bool)] for k in snap_keys}
    prev = None
    t_ref = tb.min() if sgn > 0 else tb.max()
    k = 0
    last_all = t_end.max() if sgn > 0 else t_end.min()
    max_k = int(math.ceil(abs(last_all - t_ref) / interval)) + 3
    while True:
        if stream or passes or snap:
            prev = _consume(integ, prev, passes, snap_keys, snap_times, snap, sgn, drop=stream)
        run = integ.running
        if not run.any():
            break
        k += 1
        if k > max_k + 2:
            raise RuntimeError("internal error: the ensemble's chunk schedule did not end the run")
        last = t_end[run].max() if sgn > 0 else t_end[run].min()
        until = t_ref + sgn * k * interval
        if sgn * (until - last) > 0:
            until = last + sgn * step
        t_before = integ.t.copy()
        integ.advance(until)
        if werr is not None:
            werr.displace(integ, t_before, run)

    # -- reduce the batch ---------------------------------------------------------------------------------------
    end_lat = integ.lat.copy()
    end_lon = wrap_longitude(integ.lon)
    points = [(prof_names[-1], end_lat, end_lon)]
    ev = integ.ev
    for e_idx, e_name in enumerate(prof_names[1:-1]):
        rows, cols = np.nonzero(ev["kind"] == e_idx)
        points.append((e_name, ev["lat"][rows, cols], ev["lon"][rows, cols]))
    snaps = {}
    for key, ts in zip(snap_keys, snap_times):
        s_lat, s_lon, done = snap[key]
        before = ~done & (sgn * ts < sgn * tb)
        s_lat[before], s_lon[before] = lat0, lon0
        after = ~done & ~before
        s_lat[after], s_lon[after] = end_lat[after], end_lon[after]
        snaps[key] = (s_lat, s_lon, int(before.sum()), int(done.sum()))
    for p in passes:
        p.end_batch(keep=keep != "summary")
    table = traj = None
    if keep != "summary":
        table = _member_table(mids, g, ci, combos, params, tb, integ, end_lat, end_lon, prof_names, passes)
    if keep == "trajectories":
        ds = _api.trajectory_dataset(integ, prof, fld, (nb,), step, c["outside"])
        traj = ds.assign_coords(trajectory=mids)
    for p in passes:
        p.__dict__.pop("_passed", None)
        p.__dict__.pop("_when", None)
    return {"points": points, "snap": snaps, "passages": passes, "status": np.bincount(integ.status, minlength=7),
            "engine_seconds": integ.engine_seconds, "table": table, "traj": traj}


def _consume(integ, prev, passes, snapshots, snap_times, snap, sgn, drop):
    """Feed the outputs recorded since the last call to the passage and position-at-time accumulators."""
    chunks = integ.take_chunks(keep=not drop)
    for o_t, o_la, o_lo, _z, _st, o_n in chunks:
        n = o_t.shape[0]
        m = max(int(o_n.max(initial=0)), 1)  # only the columns some row filled
        o_t, o_la, o_lo = o_t[:, :m], o_la[:, :m], o_lo[:, :m]
        valid = np.arange(m)[None, :] < o_n[:, None]
        if prev is None:
            t, la, lo, ok = o_t, o_la, o_lo, valid
        else:
            t = np.concatenate([prev[0][:, None], o_t], axis=1)
            la = np.concatenate([prev[1][:, None], o_la], axis=1)
            lo = np.concatenate([prev[2][:, None], o_lo], axis=1)
            ok = np.concatenate([prev[3][:, None], valid], axis=1)
        act = np.nonzero(o_n > 0)[0]  # rows that moved (ended members add nothing)
        if passes and act.size:
            ta, laa, loa, oka = t[act], la[act], lo[act], ok[act]
            for p in passes:
                p.update(ta, laa, loa, oka, rows=act)
        for key, ts in zip(snapshots, snap_times):
            s_lat, s_lon, done = snap[key]
            st = sgn * t
            exact = ok & (t == ts)
            cross = ok[:, :-1] & ok[:, 1:] & (st[:, :-1] < sgn * ts) & (st[:, 1:] > sgn * ts)
            has_exact = exact.any(axis=1)
            has_cross = cross.any(axis=1)
            rows = np.nonzero(~done & (has_exact | has_cross))[0]
            if rows.size:
                ce = np.argmax(exact[rows], axis=1)
                cc = np.argmax(cross[rows], axis=1)
                t1, t2 = t[rows, cc], t[rows, cc + 1]
                w = (ts - t1) / np.where(t2 != t1, t2 - t1, 1.0)
                dlon = wrap_longitude(lo[rows, cc + 1] - lo[rows, cc])
                i_lat = la[rows, cc] + w * (la[rows, cc + 1] - la[rows, cc])
                i_lon = lo[rows, cc] + w * dlon
                ex = has_exact[rows]
                s_lat[rows] = np.where(ex, la[rows, ce], i_lat)
                s_lon[rows] = np.where(ex, lo[rows, ce], i_lon)
                done[rows] = True
        # each row's last valid point becomes the start of its next segment
        has = o_n > 0
        last = np.maximum(o_n - 1, 0)
        rr = np.arange(n)
        if prev is None:
            prev = [np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, bool)]
        prev[0] = np.where(has, o_t[rr, last], prev[0])
        prev[1] = np.where(has, o_la[rr, last], prev[1])
        prev[2] = np.where(has, o_lo[rr, last], prev[2])
        prev[3] = prev[3] | has
    return prev


def _member_table(mids, g, c, combos, params, tb, integ, end_lat, end_lon, names, passes):
    cols = {"member": mids, "wind_source": np.full(mids.size, g), "offset": np.full(mids.size, c),
            "launch_time": tb}
    for k, v in params.items():
        cols[k] = v  # the batch's own parameters
    cols.update(end_time=integ.t.copy(), end_latitude=end_lat, end_longitude=end_lon, end_altitude=integ.alt.copy(),
                status=integ.status.copy())
    ev = integ.ev
    for e_idx, e_name in enumerate(names[1:-1]):
        lat = np.full(mids.size, np.nan)
        lon = np.full(mids.size, np.nan)
        tt = np.full(mids.size, np.nan)
        rows, cc = np.nonzero(ev["kind"] == e_idx)
        lat[rows], lon[rows], tt[rows] = ev["lat"][rows, cc], wrap_longitude(ev["lon"][rows, cc]), ev["t"][rows, cc]
        cols[f"{e_name}_time"], cols[f"{e_name}_latitude"], cols[f"{e_name}_longitude"] = tt, lat, lon
    for p in passes:
        passed, when = p.by_member[-1]
        cols[f"passed_{p.name}"] = passed
        cols[f"first_passage_{p.name}"] = when
    return cols


def _concat_tables(tables):
    import xarray as xr

    cols = {k: np.concatenate([t[k] for t in tables]) for k in tables[0]}
    order = np.argsort(cols["member"], kind="stable")
    data = {}
    for k, v in cols.items():
        v = v[order]
        if k.endswith("time") or k.startswith("first_passage_"):
            v = from_epoch_seconds(v)
        data[k] = ("trajectory", v)
    ds = xr.Dataset(data, coords={"trajectory": ("trajectory", cols["member"][order], {"cf_role": "trajectory_id"})})
    return ds.drop_vars("member")


def _concat_trajs(trajs):
    import xarray as xr

    if len(trajs) == 1:
        return trajs[0]
    ds = xr.concat(trajs, dim="trajectory", join="outer", data_vars="minimal", coords="minimal",
                   compat="override", combine_attrs="override", fill_value={"stage": np.int8(-1)})
    return ds.sortby("trajectory")
