"""Crafter's day/night and sleep effects on whole arrays, with the exact numbers stock computes.

Stock `crafter.engine.LocalView._light` / `_sleep` darken the local view through PIL's
`ImageEnhance.Color` and float64 tinting; the night noise is drawn from the world's generator.
These functions do the same float64 operations in the same order (so results match bit for bit),
replace only the PIL round trip by its numpy equivalent, and draw the noise with the same call and
shape, so the world's random stream advances exactly as stock's does.

Images here are planar, channels on axis -3 (`(..., 3, height, width)`): per-pixel values then
broadcast over long contiguous rows, which is several times faster than over stock's trailing RGB.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageEnhance

_NIGHT_TINT = (0, 16, 64)
_SLEEP_TINT = (0, 0, 16)
_NIGHT_COLOR = 0.4  # stock's ImageEnhance.Color factors
_SLEEP_COLOR = 0.0
_NOISE_STDDEV = 0.5
# PIL's RGB -> L conversion: ITU-R 601-2 luma in 16-bit fixed point, rounded. Every partial sum
# is an integer below 2**24, so float32 computes it exactly.
_LUMA = tuple(np.float32(w) for w in (19595, 38470, 7471))


def color_enhance(image: np.ndarray, factor: float) -> np.ndarray:
    """PIL's `ImageEnhance.Color(image).enhance(factor)` for planar uint8 RGB, 0 <= factor <= 1.

    PIL blends the grey image towards the original in C float32 (`factor` cast to float) and
    truncates to uint8 (it clips only when extrapolating, factor > 1).
    """
    rgb = image.astype(np.float32)
    luma = rgb[..., 0, :, :] * _LUMA[0]
    luma += rgb[..., 1, :, :] * _LUMA[1]
    luma += rgb[..., 2, :, :] * _LUMA[2]
    luma += np.float32(0x8000)
    luma *= np.float32(1 / 65536)
    luma = np.floor(luma, out=luma)
    if factor == 0.0:
        grey = luma.astype(np.uint8)
        return np.stack((grey, grey, grey), axis=-3)
    luma = luma[..., None, :, :]
    rgb -= luma
    rgb *= np.float32(factor)
    rgb += luma
    return rgb.astype(np.uint8)


@functools.cache
def matches_pil() -> bool:
    """Whether `color_enhance` equals the installed Pillow on a fixed sample of colours.

    The formulas follow Pillow's C code (checked on all 2**24 colours with Pillow 13); this cheap
    check guards against another Pillow version rounding differently.
    """
    rng = np.random.default_rng(0)
    colors = rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
    colors[0, :8] = [[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)]
    for factor in (_NIGHT_COLOR, _SLEEP_COLOR):
        reference = np.array(ImageEnhance.Color(Image.fromarray(colors)).enhance(factor))
        ours = color_enhance(colors.transpose(2, 0, 1), factor).transpose(1, 2, 0)
        if not np.array_equal(reference, ours):
            return False
    return True


@functools.lru_cache(16)
def vignette(width: int, height: int, stddev: float = _NOISE_STDDEV) -> np.ndarray:
    """Stock `LocalView._vignette((width, height, 3), stddev)` (same expression), indexed [y, x]."""
    xs, ys = np.meshgrid(np.linspace(-1, 1, width), np.linspace(-1, 1, height))
    return np.ascontiguousarray(1 - np.exp(-0.5 * (xs**2 + ys**2) / (stddev**2)))


def light(canvas: np.ndarray, daylight: float, random: np.random.RandomState) -> np.ndarray:
    """Stock `LocalView._light` for a planar uint8 canvas; float64, planar.

    At night (daylight < 0.5) `canvas` must be the whole local view `(3, height, width)`: the noise
    is drawn with stock's shape (width, height) and transposed, so the same numbers land on the
    same pixels. By day every pixel is lit on its own, so any stack of tiles can be lit at once.
    """
    pixels = canvas.astype(np.float64)  # what numpy converts the uint8 canvas to in each product
    night = canvas
    if daylight < 0.5:
        height, width = canvas.shape[-2:]
        noise = random.uniform(32, 127, (width, height)).T
        mask = 2 * (0.5 - daylight) * vignette(width, height)
        night = (1 - mask) * pixels + mask * noise
    night = color_enhance(night.astype(np.uint8), _NIGHT_COLOR)
    night = _tint(night, _NIGHT_TINT)
    return daylight * pixels + (1 - daylight) * night


def sleep(canvas: np.ndarray) -> np.ndarray:
    """Stock `LocalView._sleep`: grey, then tinted dark blue (planar float64 in and out)."""
    return _tint(color_enhance(canvas.astype(np.uint8), _SLEEP_COLOR), _SLEEP_TINT)


def _tint(canvas: np.ndarray, color: tuple[int, int, int]) -> np.ndarray:
    """Stock `LocalView._tint(canvas, color, 0.5)`, adding per channel (numpy broadcasts a
    trailing (3, 1, 1) operand several times slower than it adds three scalars)."""
    out = (1 - 0.5) * canvas
    for channel, value in enumerate(color):
        out[..., channel, :, :] += 0.5 * value
    return out
