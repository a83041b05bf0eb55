"""GIFs of the agent: low-level frames, upscaled, with the code being followed written on them."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import Image, ImageDraw

from steve1.utils.io import atomic_write_bytes

SCALE = 3  # 64x64 frames are too small to read a label on


def labelled(frame: np.ndarray, label: str) -> np.ndarray:
    """`frame` upscaled by SCALE with `label` in a dark band at the top."""
    image = Image.fromarray(frame).resize(
        (frame.shape[1] * SCALE, frame.shape[0] * SCALE), Image.NEAREST
    )
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, image.width, 12), fill=(0, 0, 0))
    draw.text((2, 0), label, fill=(255, 255, 255))
    return np.asarray(image)


def write_gif(frames: list[tuple[np.ndarray, str]], path: Path, fps: int = 10) -> Path:
    """Write labelled frames as a looping GIF, atomically."""
    if not frames:
        raise ValueError(f"no frames to write to {path}")
    images = np.stack([labelled(f, label) for f, label in frames])
    data = iio.imwrite("<bytes>", images, extension=".gif", duration=int(1000 / fps), loop=0)
    return atomic_write_bytes(path, data)
