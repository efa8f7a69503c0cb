"""What an ensemble returns: gridded probabilities, contours, ellipses, passage probabilities, optional members."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import InputError
from .summaries import PointDensity, check_levels, contour_polygons
from ..geodesy import wrap_longitude

#: what each file extension receives from :meth:`EnsembleResult.write`
FORMATS = {
    ".nc": "gridded probabilities and densities, ellipses and passage probabilities (CF NetCDF)",
    ".geojson": "highest-density contours, spread ellipses and passage targets with their probabilities",
    ".json": "the summary as JSON",
    ".csv": "one row per member (trajectory id, parameters, end point), or every point with --keep trajectories",
    ".tif": "GeoTIFF of the end point's probability density (band 1, km-2) and member counts (band 2), WGS 84; "
            "needs rasterio (pip install 'stratotrack[raster]')",
}


@dataclass
class EnsembleResult:
    """The summaries of an ensemble (see :func:`stratotrack.ensemble`).

    ``products``: name -> :class:`PointDensity` (the end point under the profile's last event name, intermediate
    events such as ``burst``, and ``"at <time>"`` positions); ``passages``: the passage accumulators;
    ``members``: a per-member Dataset (``keep="members"``); ``trajectories``: the CF trajectory Dataset of every
    member (``keep="trajectories"``).
    """

    products: dict
    passages: list
    levels: list
    meta: dict
    members: xr.Dataset | None = None
    trajectories: xr.Dataset | None = None
    _grids: dict = field(default_factory=dict, repr=False)

    # -- products -------------------------------------------------------------------------------------------------
    def _product(self, name) -> PointDensity:
        if name not in self.products:
            raise InputError(f"product {name!r} is unknown; expected one of {', '.join(self.products)}")
        return self.products[name]

    def grid(self, name):
        """(lat, lon, counts, probability per cell, cell area km2, smoothing sigma in cells) of a product."""
        if name not in self._grids:
            self._grids[name] = self._product(name).grid()
        return self._grids[name]

    def ellipses(self, name, levels=None):
        p = self._product(name)
        return [p.ellipse(lev) for lev in check_levels(levels if levels is not None else self.levels)]

    def contours(self, name, levels=None):
        """Highest-density regions of a product: ``[(level, threshold per km2, polygons)]``."""
        levels = check_levels(levels if levels is not None else self.levels)
        lat, lon, _c, prob, area, _s = self.grid(name)
        dens = prob / area
        thr = self._product(name).hdr_thresholds(prob, area, levels)
        return [(lev, th, contour_polygons(lat, lon, dens, th)) for lev, th in zip(levels, thr)]

    def contains(self, name, level, lat, lon):
        """Whether points lie inside the ``level`` highest-density region of a product (grid lookup)."""
        glat, glon, _c, prob, area, _s = self.grid(name)
        th = self._product(name).hdr_thresholds(prob, area, [level])[0]
        dens = prob / area
        dlat, dlon = glat[1] - glat[0], glon[1] - glon[0]
        rel = wrap_longitude(np.asarray(lon) - glon[0] + dlon / 2)
        i = np.floor((np.asarray(lat) - glat[0] + dlat / 2) / dlat).astype(int)
        j = np.floor(rel / dlon).astype(int)
        ok = (i >= 0) & (i < glat.size) & (j >= 0) & (j < glon.size)
        out = np.zeros(np.shape(lat), dtype=bool)
        out[ok] = dens[i[ok], j[ok]] >= th
        return out

    def passage(self, name=None):
        """The result of one passage target (by name) or of all."""
        res = [p.result() for p in self.passages]
        for r in res:
            r.pop("_first_times")
        if name is None:
            return res
        for r in res:
            if r["name"] == name:
                return r
        raise InputError(f"passage {name!r} is unknown; expected one of {', '.join(r['name'] for r in res)}")

    def passage_curve(self, name, times):
        """P(first passage by each time) for an array of times (datetime64 or ISO text)."""
        from ..timeutil import to_epoch_seconds

        for p in self.passages:
            if p.name == name:
                r = p.result()
                first = r["_first_times"]
                t = to_epoch_seconds(times)
                if getattr(p, "sgn", 1.0) > 0:  # passed at or before t
                    hits = np.searchsorted(first, t, side="right")
                else:  # backward in time: passed at or after t
                    hits = first.size - np.searchsorted(first, t, side="left")
                return hits / max(p.n, 1)
        raise InputError(f"passage {name!r} is unknown")

    # -- datasets ---------------------------------------------------------------------------------------------------
    def to_dataset(self) -> xr.Dataset:
        """Gridded probability and density of every product (CF, one lat/lon grid per product)."""
        data, coords = {}, {}
        for k, name in enumerate(self.products):
            lat, lon, counts, prob, area, sigma = self.grid(name)
            tag = _tag(name)
            la, lo = f"lat_{tag}", f"lon_{tag}"
            coords[la] = (la, lat, {"standard_name": "latitude", "units": "degrees_north"})
            coords[lo] = (lo, lon, {"standard_name": "longitude", "units": "degrees_east"})
            p = self.products[name]
            attrs = {"product": name, "members": p.n, "resolution_km": p.resolution_km,
                     "smoothing_sigma_cells": sigma or 0.0}
            data[f"{tag}_count"] = ((la, lo), counts.astype(np.int32),
                                    {"long_name": f"members per cell: {name}", **attrs})
            data[f"{tag}_probability"] = ((la, lo), prob, {
                "long_name": f"probability per cell (Gaussian-kernel smoothed): {name}", "units": "1", **attrs})
            data[f"{tag}_density"] = ((la, lo), prob / area, {
                "long_name": f"probability density: {name}", "units": "km-2", **attrs})
            thr = p.hdr_thresholds(prob, area, self.levels)
            data[f"{tag}_hdr_threshold"] = ("level", np.array(thr), {
                "long_name": f"density above which the highest-density region holds each level: {name}",
                "units": "km-2"})
            ell = self.ellipses(name)
            for key in ("center_latitude", "center_longitude", "semi_major_km", "semi_minor_km", "azimuth_deg"):
                data[f"{tag}_ellipse_{key}"] = ("level", np.array([e[key] for e in ell]))
        for p in self.passages:
            r = p.result()
            data[f"passage_{_tag(p.name)}_probability"] = ((), r["probability"], {
                "long_name": f"probability of passing {_describe_passage(r)}",
                "standard_error": r["standard_error"], "members": r["members"], "passed": r["passed"]})
        ds = xr.Dataset(data, coords={**coords, "level": ("level", np.array(self.levels),
                                                           {"long_name": "probability level"})})
        ds.attrs.update({"Conventions": "CF-1.11", "title": "stratotrack ensemble probability products",
                         "ensemble": json.dumps(_jsonable(self.meta))})
        return ds

    def geojson(self) -> dict:
        feats = []
        for name in self.products:
            for lev, thr, polys in self.contours(name):
                if polys:
                    feats.append({"type": "Feature", "properties": {
                        "product": name, "kind": "highest-density region", "level": lev, "density_threshold_km2": thr},
                        "geometry": {"type": "MultiPolygon",
                                     "coordinates": [[ring.round(6).tolist() for ring in poly] for poly in polys]}})
            for e in self.ellipses(name):
                feats.append({"type": "Feature", "properties": {
                    "product": name, "kind": "spread ellipse", "level": e["level"],
                    "semi_major_km": e["semi_major_km"], "semi_minor_km": e["semi_minor_km"],
                    "azimuth_deg": e["azimuth_deg"]},
                    "geometry": {"type": "Polygon", "coordinates": [e["polygon"].round(6).tolist()]}})
        for r in self.passage():
            if r["kind"] == "point":
                geom = {"type": "Point", "coordinates": [r["longitude"], r["latitude"]]}
            else:
                ring = list(r["polygon"]) + [r["polygon"][0]]
                geom = {"type": "Polygon", "coordinates": [ring]}
            props = {k: v for k, v in r.items() if k not in ("polygon", "kind")}
            feats.append({"type": "Feature", "properties": {"kind": "passage", "target": r["kind"], **props},
                          "geometry": geom})
        return {"type": "FeatureCollection", "features": feats,
                "properties": {"ensemble": _jsonable(self.meta)}}

    def summary(self) -> dict:
        out = {"ensemble": _jsonable(self.meta), "products": {}, "passages": self.passage()}
        for name in self.products:
            p = self.products[name]
            ells = self.ellipses(name)
            out["products"][name] = {
                "members": p.n,
                "mean_latitude": ells[0]["center_latitude"], "mean_longitude": ells[0]["center_longitude"],
                "ellipses": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in e.items() if k != "polygon"}
                             for e in ells],
            }
        return out

    # -- files ------------------------------------------------------------------------------------------------------
    def end_product(self) -> str:
        """The name of the end-point product (landing, or end of a float/drift)."""
        for name in ("landing", "end"):
            if name in self.products:
                return name
        plain = [n for n in self.products if not n.startswith("at ")]
        if not plain:
            raise InputError("the ensemble has no end-point product")
        return plain[-1]

    def write_geotiff(self, path, product=None) -> Path:
        """One product's grid as a GeoTIFF (EPSG:4326, cell-centred lat/lon grid): band 1 the probability density
        (km-2, Gaussian-kernel smoothed as in the NetCDF), band 2 the member counts.  Tags name the product, the
        member count and the density thresholds of the highest-density regions."""
        from ..io._common import atomic_path

        try:
            import rasterio
            from rasterio.transform import from_origin
        except ImportError:
            raise InputError("GeoTIFF output needs rasterio; install it with pip install 'stratotrack[raster]'") from None
        name = product or self.end_product()
        lat, lon, counts, prob, area, _sigma = self.grid(name)
        dens = (prob / area).astype(np.float32)
        dlat, dlon = float(lat[1] - lat[0]), float(lon[1] - lon[0])
        transform = from_origin(float(lon[0]) - dlon / 2, float(lat[-1]) + dlat / 2, dlon, dlat)
        thr = self._product(name).hdr_thresholds(prob, area, self.levels)
        path = Path(path)
        with atomic_path(path) as tmp:
            with rasterio.open(tmp, "w", driver="GTiff", width=lon.size, height=lat.size, count=2, dtype="float32",
                               crs="EPSG:4326", transform=transform, nodata=None) as dst:
                dst.write(dens[::-1], 1)  # north-up rows
                dst.write(counts[::-1].astype(np.float32), 2)
                dst.set_band_description(1, f"probability density (km-2): {name}")
                dst.set_band_description(2, f"members per cell: {name}")
                dst.update_tags(product=name, members=str(self._product(name).n),
                                hdr_levels=json.dumps(list(self.levels)), hdr_thresholds_km2=json.dumps(list(thr)))
        return path

    def write(self, path) -> Path:
        """Write products by extension: .nc, .geojson, .json, .csv, .tif (see ``FORMATS``)."""
        from ..io._common import atomic_path

        path = Path(path)
        ext = path.suffix.lower()
        if ext == ".tiff":
            ext = ".tif"
        if ext not in FORMATS:
            raise InputError(f"extension {ext or str(path)!r} is not an ensemble output; expected one of "
                             f"{', '.join(FORMATS)}")
        if ext == ".tif":
            self.write_geotiff(path)
        elif ext == ".nc":
            ds = self.to_dataset()
            with atomic_path(path) as tmp:
                ds.to_netcdf(tmp)
        elif ext in (".geojson", ".json"):
            doc = self.geojson() if ext == ".geojson" else self.summary()
            with atomic_path(path) as tmp:
                Path(tmp).write_text(json.dumps(_jsonable(doc)))
        else:
            if self.trajectories is not None:
                from ..io import csv as csv_io

                csv_io.write(self.trajectories, path)
            elif self.members is not None:
                df = self.members.to_dataframe().reset_index()
                with atomic_path(path) as tmp:
                    df.to_csv(tmp, index=False)
            else:
                raise InputError("a CSV export needs per-member results; run with keep='members' or 'trajectories'")
        return path


def _tag(name):
    return "".join(ch if ch.isalnum() else "_" for ch in name).strip("_")


def _describe_passage(r):
    if r["kind"] == "point":
        return f"within {r['radius_km']:g} km of ({r['latitude']:g}, {r['longitude']:g})"
    return f"inside the polygon {r['name']}"


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj
