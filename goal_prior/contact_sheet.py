"""A contact sheet of a codebook: the last frame of every code's source window, with captions."""

from __future__ import annotations

from pathlib import Path

import cv2
import imageio.v3 as iio
import numpy as np

from goal_prior.codebook import Codebook
from steve1.data.episode_storage import EpisodeReader

SCALE = 3
COLUMNS = 10


def code_frames(codebook: Codebook) -> list[np.ndarray]:
    """The frame each code's embedding ends on (frame t of window t-15..t)."""
    if codebook.source_episode is None or codebook.source_step is None:
        raise ValueError("this codebook records no source windows (upstream centers.pkl?)")
    return [
        EpisodeReader(ep).load_frames(int(t), int(t) + 1)[0]
        for ep, t in zip(codebook.source_episode, codebook.source_step, strict=True)
    ]


def contact_sheet(codebook: Codebook, captions: list[str] | None, path: Path | str) -> Path:
    """Write a PNG grid: code k's frame, scaled up, with `k` and `captions[k]` under it."""
    tiles = []
    for k, frame in enumerate(code_frames(codebook)):
        tile = np.kron(frame, np.ones((SCALE, SCALE, 1), np.uint8))
        band = np.full((30, tile.shape[1], 3), 255, np.uint8)
        text = f"{k}: {captions[k]}" if captions else str(k)
        for line, y in ((text[:24], 12), (text[24:48], 26)):
            cv2.putText(band, line, (2, y), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1)
        tiles.append(np.concatenate([tile, band]))
    blank = np.full_like(tiles[0], 255)
    tiles += [blank] * (-len(tiles) % COLUMNS)
    rows = [np.concatenate(tiles[i : i + COLUMNS], 1) for i in range(0, len(tiles), COLUMNS)]
    path = Path(path)
    iio.imwrite(path, np.concatenate(rows))
    return path
