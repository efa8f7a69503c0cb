"""CF-1.11 trajectory NetCDF (discrete sampling geometry, incomplete multidimensional array).

The Dataset that :func:`stratotrack.predict` returns is already in this form: dims (trajectory, obs) with
``time``/``latitude``/``longitude``/``altitude`` padded with fill values, ``trajectory`` with ``cf_role``, events on
(trajectory, event).  Writing keeps every variable and attribute; reading returns the same layout.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import InputError
from ._common import atomic_path

_REQUIRED = ("time", "latitude", "longitude", "altitude")


def _encoding(ds) -> dict:
    enc = {}
    for name, var in ds.variables.items():
        if np.issubdtype(var.dtype, np.datetime64):
            enc[name] = {"units": "seconds since 1970-01-01T00:00:00Z", "calendar": "standard", "dtype": "float64",
                         "_FillValue": np.nan}
        elif np.issubdtype(var.dtype, np.floating) and var.ndim:
            enc[name] = {"_FillValue": np.nan, "zlib": True, "complevel": 4}
    return enc


def write(ds, path) -> None:
    out = ds.copy()
    for name in out.variables:  # _FillValue belongs in the encoding, not in the attributes
        fill = out[name].attrs.pop("_FillValue", None)
        if fill is not None:
            out[name].encoding["_FillValue"] = fill
    with atomic_path(path) as tmp:
        out.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=_encoding(out))


def read(path) -> xr.Dataset:
    try:
        with xr.open_dataset(path, engine="netcdf4") as f:
            ds = f.load()
    except (OSError, ValueError) as exc:
        raise InputError(f"NetCDF file '{path}' cannot be read: {exc}") from None
    missing = [k for k in _REQUIRED if k not in ds.variables]
    if missing or ds.attrs.get("featureType", "trajectory").lower() != "trajectory":
        raise InputError(f"NetCDF file '{path}' is not a CF trajectory file; expected variables "
                         f"{', '.join(_REQUIRED)} and featureType=trajectory")
    for name, var in list(ds.data_vars.items()):  # integer flags with a fill value come back as float + NaN
        dtype, fill = var.encoding.get("dtype"), var.encoding.get("_FillValue")
        if dtype is not None and np.issubdtype(dtype, np.integer) and fill is not None and var.dtype.kind == "f":
            ds[name] = var.fillna(fill).astype(dtype)
            ds[name].attrs = {**var.attrs, "_FillValue": np.asarray(fill, dtype=dtype)[()]}
    if "n_obs" not in ds:
        ds["n_obs"] = ("trajectory", np.isfinite(ds["latitude"].values).sum(axis=-1))
    return ds.set_coords([k for k in _REQUIRED if k in ds.data_vars])
