"""Recompute the Crafter goal embeddings of stored episodes from their recorded state (no replay).

    python -m steve1.goal_encoders.reembed --data_dir data/crafter_play

Use it after the encoder changes: each episode's `embeds.npy` and the `embedding` entry of its
`metadata.json` are replaced atomically; episodes already at the current version are skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from steve1.data.episode_storage import EpisodeReader, list_episodes, open_episodes
from steve1.goal_encoders import crafter as crafter_goal
from steve1.utils.io import atomic_write_text


def reembed_episode(reader: EpisodeReader, force: bool = False) -> bool:
    """Rewrite one episode's embeddings with the current encoder; False if already current."""
    if reader.metadata.get("embedding") == crafter_goal.describe() and not force:
        return False
    states = reader.load_states()
    if not states:
        raise ValueError(
            f"{reader.path} has no states.npz; only Crafter play episodes can be re-embedded"
        )
    embeds = crafter_goal.encode_episode(states)
    tmp = reader.path / f".embeds.npy.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        np.save(f, embeds)
    os.replace(tmp, reader.path / "embeds.npy")
    meta = {**reader.metadata, "embedding": crafter_goal.describe()}
    atomic_write_text(reader.path / "metadata.json", json.dumps(meta, indent=1, sort_keys=True))
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", type=Path, default=Path("data/crafter_play"))
    parser.add_argument("--force", action="store_true", help="re-embed even if current")
    args = parser.parse_args(argv)
    readers = open_episodes(list_episodes(args.data_dir))
    changed = sum(
        reembed_episode(r, args.force)
        for r in tqdm(readers, desc="re-embed", disable=not sys.stderr.isatty())
    )
    print(f"re-embedded {changed} of {len(readers)} episodes with {crafter_goal.describe()}")


if __name__ == "__main__":
    main()
