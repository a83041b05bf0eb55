"""Learning-rate schedule on frames processed: linear warmup, then cosine to zero (spec 4.2).

As upstream (STEVE-1's training script): the cosine runs from the end of the warmup to
1.1 x n_frames, so training stops with a little learning rate left (2.4% with upstream's values).
"""

from __future__ import annotations

import math


def lr_at(frames: int, learning_rate: float, warmup_frames: int, n_frames: int) -> float:
    """`learning_rate * f / warmup` during warmup, then a cosine from the peak to 0 at 1.1 n_frames."""
    if warmup_frames > 0 and frames < warmup_frames:
        return learning_rate * frames / warmup_frames
    progress = (frames - warmup_frames) / max(1.1 * n_frames - warmup_frames, 1)
    if progress >= 1:
        return 0.0
    return learning_rate * 0.5 * (1 + math.cos(math.pi * progress))
