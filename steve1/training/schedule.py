"""Learning-rate schedule on frames processed: linear warmup, then cosine to zero (spec 4.2)."""

from __future__ import annotations

import math


def lr_at(frames: int, learning_rate: float, warmup_frames: int, n_frames: int) -> float:
    """`learning_rate * f / warmup` during warmup, then a cosine from the peak to 0 over `n_frames`."""
    if warmup_frames > 0 and frames < warmup_frames:
        return learning_rate * frames / warmup_frames
    progress = (frames - warmup_frames) / max(n_frames, 1)
    if progress >= 1:
        return 0.0
    return learning_rate * 0.5 * (1 + math.cos(math.pi * progress))
