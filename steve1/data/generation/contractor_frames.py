"""Contractor video frames: decoding, the GUI cursor, and the agent's and MineCLIP's copies.

The recordings do not show the mouse cursor, yet a player in a GUI (inventory, crafting table)
acts on what is under it, so upstream pastes a 16x16 cursor image at the recorded mouse position
on every GUI frame. We have no image asset: `CURSOR_RGBA` is an arrow drawn from the text below,
white with a black outline, its tip (the hotspot) at the top-left pixel as in a pasted image.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

RECORDING_HEIGHT = 720  # the contractors' screen height; mouse x, y are in its pixels
AGENT_RESOLUTION = (128, 128)  # (height, width) of the frames the low level sees
MINECLIP_RESOLUTION = (160, 256)  # (height, width) MineCLIP embeds

_CURSOR_ART = (
    "B...............",
    "BB..............",
    "BWB.............",
    "BWWB............",
    "BWWWB...........",
    "BWWWWB..........",
    "BWWWWWB.........",
    "BWWWWWWB........",
    "BWWWWWWWB.......",
    "BWWWWWWWWB......",
    "BWWWWWWWWWB.....",
    "BWWWWWWBBBBB....",
    "BWWWBWWB........",
    "BWWB.BWWB.......",
    "BWB..BWWB.......",
    "BB....BBB.......",
)


def _cursor_rgba() -> np.ndarray:
    """(16, 16, 4) uint8 RGBA arrow from `_CURSOR_ART` (B black, W white, . transparent)."""
    colours = {"B": (0, 0, 0, 255), "W": (255, 255, 255, 255), ".": (0, 0, 0, 0)}
    return np.array([[colours[c] for c in row] for row in _CURSOR_ART], np.uint8)


CURSOR_RGBA = _cursor_rgba()


class VideoDecodeError(RuntimeError):
    """A video that cannot be opened or holds no readable frame."""


def read_video(path: Path | str) -> Iterator[np.ndarray]:
    """The frames of a video file as BGR uint8 (H, W, 3), until the first unreadable one."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise VideoDecodeError(f"cannot open video {path}")
    try:
        n_read = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            n_read += 1
            yield frame
        if n_read == 0:
            raise VideoDecodeError(f"no frame could be decoded from {path}")
    finally:
        capture.release()


def draw_cursor(frame: np.ndarray, mouse_x: float, mouse_y: float) -> None:
    """Alpha-composite `CURSOR_RGBA` in place with its tip at the recorded mouse position.

    :param frame: RGB uint8 (H, W, 3) at the video's resolution; mouse coordinates are scaled by
        H / 720 (the recording screen's height) and truncated to pixels, as upstream does.
    """
    scale = frame.shape[0] / RECORDING_HEIGHT
    x, y = int(mouse_x * scale), int(mouse_y * scale)
    height, width = CURSOR_RGBA.shape[:2]
    # Clip the cursor to the frame (it may sit partly or wholly outside).
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + width, frame.shape[1]), min(y + height, frame.shape[0])
    if x0 >= x1 or y0 >= y1:
        return
    patch = CURSOR_RGBA[y0 - y : y1 - y, x0 - x : x1 - x]
    alpha = patch[..., 3:].astype(np.float32) / 255.0
    region = frame[y0:y1, x0:x1].astype(np.float32)
    blended = alpha * patch[..., :3] + (1.0 - alpha) * region
    frame[y0:y1, x0:x1] = np.rint(blended).astype(np.uint8)


def agent_frame(rgb: np.ndarray) -> np.ndarray:
    """The stored frame: (128, 128, 3) uint8, bilinear as upstream (cv2 INTER_LINEAR)."""
    height, width = AGENT_RESOLUTION
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR)


def mineclip_frame(
    rgb: np.ndarray, resolution: tuple[int, int] = MINECLIP_RESOLUTION
) -> np.ndarray:
    """The frame MineCLIP embeds: channel-first (3, H, W) uint8, from the full-size frame."""
    height, width = resolution
    resized = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(resized.transpose(2, 0, 1))
