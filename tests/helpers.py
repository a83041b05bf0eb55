"""Small synthetic episodes for tests (no Crafter run needed)."""

from pathlib import Path

import numpy as np

from steve1.data.episode_storage import EMBED_OFFSET, write_episode


def fake_episode(path: Path, length: int, seed: int = 0, dim: int = 8) -> Path:
    """Write an episode of random frames/actions/embeddings with `length` frames."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (length, 64, 64, 3), dtype=np.uint8)
    actions = rng.integers(0, 17, length)
    embeds = rng.normal(size=(length, dim)).astype(np.float32)
    embeds[:EMBED_OFFSET] = np.nan
    states = {"inventory": rng.integers(0, 9, (length, 16)).astype(np.uint8)}
    return write_episode(path, frames, actions, embeds, {"seed": seed, "world": "crafter"}, states)


def fake_dataset(root: Path, n: int, length: int, val_frames: int) -> Path:
    """`n` fake episodes under root/data and their seed1 sampling files in root/samplings."""
    from steve1.data.sampling.sampling_files import make_sampling, write_sampling

    for i in range(n):
        fake_episode(root / "data" / f"ep{i}", length=length, seed=i)
    train, val = make_sampling(root / "data", val_frames, -1, seed=1, min_frames=32 + 15)
    write_sampling(root / "samplings", "seed1", train, val)
    return root / "samplings"
