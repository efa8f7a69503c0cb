"""The arena's winds: BLE's generative forecast (a VAE decoder) and its "true" wind (forecast + simplex noise).

This reimplements, in NumPy and without JAX, the wind model of Google's Balloon Learning Environment (BLE,
Bellemare et al., Nature 588, 2020; Apache-2.0; ``generative/vae.py``, ``env/generative_wind_field.py``,
``env/simplex_wind_noise.py``, ``env/wind_field.py``):

* a latent vector ``z`` (64) goes through an MLP (64 -> 1000 -> 1000 -> 1000 -> 4410, ReLU between) whose output
  is a (7, 7, 90) stream function; it is resized linearly (half-pixel centres) to (23, 23, 90); central
  differences with the 1-pixel border cropped give ``u = dpsi/d(axis 0)`` and ``v = -dpsi/d(axis 1)``, reshaped
  to (x 21, y 21, pressure 10, time 9): x, y from -500 to 500 km, pressure 5,000-14,000 Pa, time 0-48 h;
* the forecast at a point is the multilinear interpolation of that grid, x/y and pressure clipped to the grid
  and times past 48 h reflected back ("boomerang");
* the true wind adds, per component, a weighted sum of 5 harmonics of 4-D OpenSimplex noise (package
  ``opensimplex``: 0.3 as BLE pins it; 0.4.5.1 gives the same values), each with its own seed, spacing and offsets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import InputError
from ..control import Forecast

__all__ = [
    "DecoderWeights",
    "load_decoder_weights",
    "decode_wind_grid",
    "resize_half_pixel",
    "stream_to_wind",
    "ArenaForecast",
    "SimplexNoise",
    "GRID_X_KM",
    "GRID_PRESSURE_PA",
    "GRID_TIME_H",
]

#: The arena grid's x and y axes, km from the station (BLE's FieldShape: 21 points over +-500 km).
GRID_X_KM = np.linspace(-500.0, 500.0, 21)
#: The grid's pressure levels, Pa.
GRID_PRESSURE_PA = np.linspace(5000.0, 14000.0, 10)
#: The grid's times, hours since the episode's start.
GRID_TIME_H = np.linspace(0.0, 48.0, 9)
_HORIZON_H = 48.0

# BLE's noise scale: NOISE_MAGNITUDE = sqrt(1.02 / OPENSIMPLEX_VARIANCE) with OPENSIMPLEX_VARIANCE = 0.0569.
_NOISE_MAGNITUDE = math.sqrt(1.02 / 0.0569)


@dataclass
class DecoderWeights:
    """The decoder MLP's layers: ``kernels[i]`` (n_in, n_out) and ``biases[i]`` (n_out,), float32."""

    kernels: list
    biases: list


def _unpack_ext(code, data):
    import msgpack

    if code == 1:  # flax: ext type 1 = msgpack-packed (shape, dtype name, raw bytes)
        shape, dtype, buf = msgpack.unpackb(data)
        return np.frombuffer(buf, dtype=np.dtype(dtype)).reshape(shape)
    return msgpack.ExtType(code, data)


def load_decoder_weights(path) -> DecoderWeights:
    """Read BLE's ``offlineskies22_decoder.msgpack`` (a flax msgpack) into :class:`DecoderWeights`.

    Raises :class:`~stratotrack.errors.InputError` when the file is missing or has another layout.
    """
    import msgpack

    path = Path(path)
    if not path.is_file():
        raise InputError(f"wind-model weights {str(path)!r} not found; expected BLE's offlineskies22_decoder.msgpack")
    try:
        tree = msgpack.unpackb(path.read_bytes(), ext_hook=_unpack_ext, strict_map_key=False)
    except Exception as exc:  # noqa: BLE001 - any decoding failure is a bad file
        raise InputError(f"wind-model weights {str(path)!r} are not a flax msgpack file ({exc})") from None
    # Find the Dense_0..Dense_3 layers wherever they are nested (params/decoder/...).
    layers = _find_dense_layers(tree)
    if layers is None:
        raise InputError(f"wind-model weights {str(path)!r} hold no Dense_0..Dense_3 layers with kernel and bias")
    kernels = [np.asarray(layers[f"Dense_{i}"]["kernel"], dtype=np.float32) for i in range(4)]
    biases = [np.asarray(layers[f"Dense_{i}"]["bias"], dtype=np.float32) for i in range(4)]
    _check_shapes(kernels, biases, str(path))
    return DecoderWeights(kernels, biases)


def _find_dense_layers(tree):
    if isinstance(tree, dict):
        if all(f"Dense_{i}" in tree for i in range(4)):
            return tree
        for value in tree.values():
            found = _find_dense_layers(value)
            if found is not None:
                return found
    return None


def _check_shapes(kernels, biases, where):
    expected = [(64, 1000), (1000, 1000), (1000, 1000), (1000, 4410)]
    for i, (k, b) in enumerate(zip(kernels, biases)):
        if k.ndim != 2 or b.shape != (k.shape[1],) or (i > 0 and k.shape[0] != kernels[i - 1].shape[1]):
            raise InputError(f"wind-model weights {where!r}: layer Dense_{i} has kernel {k.shape} and bias {b.shape}")
    if kernels[-1].shape[1] % 90 != 0 or kernels[0].shape[0] != 64:
        raise InputError(
            f"wind-model weights {where!r}: expected an MLP like {expected} (64 latents in, 7*7*90 out), "
            f"got {[k.shape for k in kernels]}"
        )


def resize_half_pixel(a: np.ndarray, out_shape: tuple[int, int]) -> np.ndarray:
    """Resize the first two axes of ``a`` linearly with half-pixel centres (as ``jax.image.resize(..., 'linear')``).

    Output sample ``o`` reads input coordinate ``(o + 0.5) * n_in / n_out - 0.5``, clamped to the input's ends
    (the edge value is held), which is what JAX's normalised triangle kernel gives when upsampling.
    """
    out = a
    for axis, n_out in enumerate(out_shape):
        n_in = out.shape[axis]
        pos = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
        pos = np.clip(pos, 0.0, n_in - 1)
        i0 = np.minimum(np.floor(pos).astype(int), n_in - 2) if n_in > 1 else np.zeros(n_out, int)
        w = (pos - i0) if n_in > 1 else np.zeros(n_out)
        i1 = np.minimum(i0 + 1, n_in - 1)
        shape = [1] * out.ndim
        shape[axis] = n_out
        w = w.reshape(shape)
        out = np.take(out, i0, axis=axis) * (1 - w) + np.take(out, i1, axis=axis) * w
    return out


def stream_to_wind(psi: np.ndarray, n_pressure: int = 10, n_time: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """Central differences of a (n+2, n+2, C) stream function, border cropped: (u, v) of shape (n, n, P, T).

    ``u = (psi[i+1, j] - psi[i-1, j]) / 2`` and ``v = -(psi[i, j+1] - psi[i, j-1]) / 2`` (BLE's decoder: the grid
    spacing is absorbed into the learned stream function). The C = P*T channels are ordered pressure-major.
    """
    dpsi0 = (psi[2:, 1:-1] - psi[:-2, 1:-1]) / 2.0
    dpsi1 = (psi[1:-1, 2:] - psi[1:-1, :-2]) / 2.0
    n = psi.shape[0] - 2
    u = dpsi0.reshape(n, n, n_pressure, n_time)
    v = -dpsi1.reshape(n, n, n_pressure, n_time)
    return u, v


def decode_wind_grid(weights: DecoderWeights, z) -> tuple[np.ndarray, np.ndarray]:
    """Decode a latent ``z`` (64) into the forecast grid: (u, v), each (21, 21, 10, 9) m/s, float64.

    The MLP runs in float32 as in BLE; the resize and differences in float64.
    """
    h = np.asarray(z, dtype=np.float32)
    n = len(weights.kernels)
    for i, (k, b) in enumerate(zip(weights.kernels, weights.biases)):
        h = h @ k + b
        if i < n - 1:
            h = np.maximum(h, 0.0)
    channels = 90
    side = int(round(math.sqrt(h.size / channels)))
    if side * side * channels != h.size:
        raise InputError(f"wind decoder output has {h.size} values, expected side*side*90")
    psi = h.reshape(side, side, channels).astype(np.float64)
    psi = resize_half_pixel(psi, (23, 23))
    return stream_to_wind(psi)


class SimplexNoise:
    """One wind component's noise: BLE's weighted sum of OpenSimplex 4-D harmonics.

    Args:
        harmonics: a list of dicts with ``seed``, ``offsets`` (4), ``weight`` and ``spacing`` (4: x km, y km,
            pressure Pa, time h), as recorded in the scenario file.
    """

    def __init__(self, harmonics: list[dict]):
        from opensimplex import OpenSimplex

        gens = [OpenSimplex(seed=int(h["seed"])) for h in harmonics]
        # opensimplex 0.3 names the 4-D noise noise4d, 0.4 noise4 (same values on BLE's points).
        self._noise = [getattr(g, "noise4d", None) or g.noise4 for g in gens]
        self._offsets = [tuple(float(o) for o in h["offsets"]) for h in harmonics]
        self._spacing = [tuple(float(s) for s in h["spacing"]) for h in harmonics]
        w = np.array([float(h["weight"]) for h in harmonics])
        self._weights = w.tolist()
        # BLE: weighted mean, then scaled up by sqrt(sum w / sum w^2) to restore the variance.
        self._scale = _NOISE_MAGNITUDE / w.sum() * math.sqrt(w.sum() / (w**2).sum())

    def __call__(self, x_km: float, y_km: float, pressure: float, t_hours: float) -> float:
        """The noise (m/s) at one point: x, y in km from the station, pressure in Pa, time in hours."""
        total = 0.0
        for noise4, (ox, oy, op, ot), (sx, sy, sp, st), w in zip(self._noise, self._offsets, self._spacing,
                                                                 self._weights):
            total += w * noise4(x_km / sx + ox, y_km / sy + oy, pressure / sp + op, t_hours / st + ot)
        return total * self._scale


class ArenaForecast:
    """BLE's forecast and true wind for one scenario.

    Args:
        u, v: the decoded grid, (21, 21, 10, 9) m/s (see :func:`decode_wind_grid`).
        noise_u, noise_v: the scenario's harmonics for the true wind (or None for a noise-free truth).
    """

    def __init__(self, u: np.ndarray, v: np.ndarray, noise_u: list | None = None, noise_v: list | None = None):
        self.u = np.asarray(u, dtype=float)
        self.v = np.asarray(v, dtype=float)
        self._noise_u = SimplexNoise(noise_u) if noise_u else None
        self._noise_v = SimplexNoise(noise_v) if noise_v else None
        self.forecast = Forecast(GRID_X_KM * 1000.0, GRID_X_KM * 1000.0, GRID_PRESSURE_PA, GRID_TIME_H * 3600.0,
                                 self.u, self.v)

    @staticmethod
    def fold_time(t_seconds):
        """Hours into the 0-48 h grid: times past 48 h reflect back and forth (BLE's "boomerang")."""
        h = np.asarray(t_seconds, dtype=float) / 3600.0
        cycle = np.floor(h / _HORIZON_H)
        rem = np.mod(h, _HORIZON_H)
        return np.where(h < _HORIZON_H, h, np.where(cycle % 2 == 0, rem, _HORIZON_H - rem))

    def forecast_uv(self, x, y, pressure, t_seconds):
        """Forecast (u, v) m/s at points: x, y metres from the station, pressure Pa, time s since the start.

        x, y and pressure are clipped to the grid; times past 48 h are reflected. BLE builds its query points
        in float32, and so does this.
        """
        x, y, p, t = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (x, y, pressure, t_seconds)))
        xk = np.clip(x / 1000.0, -500.0, 500.0).astype(np.float32).astype(float)
        yk = np.clip(y / 1000.0, -500.0, 500.0).astype(np.float32).astype(float)
        pc = np.clip(p, 5000.0, 14000.0).astype(np.float32).astype(float)
        th = self.fold_time(t).astype(np.float32).astype(float)
        return self.forecast.uv(xk * 1000.0, yk * 1000.0, pc, th * 3600.0)

    def truth_uv(self, x: float, y: float, pressure: float, t_seconds: float) -> tuple[float, float]:
        """True (u, v) m/s at one point: the forecast plus the simplex noise (x, y and pressure not clipped)."""
        fu, fv = self.forecast_uv(x, y, pressure, t_seconds)
        fu, fv = float(fu), float(fv)
        xk, yk, th = x / 1000.0, y / 1000.0, t_seconds / 3600.0
        if self._noise_u is not None:
            fu += self._noise_u(xk, yk, pressure, th)
        if self._noise_v is not None:
            fv += self._noise_v(xk, yk, pressure, th)
        return fu, fv
