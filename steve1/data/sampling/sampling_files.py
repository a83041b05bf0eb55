"""Train/validation split files (upstream's format): build, write and read them.

A split file lists one episode directory per line: `<name>_train.txt`, `<name>_val.txt`.
"""

from __future__ import annotations

import random
from pathlib import Path

from steve1.data.episode_storage import list_episodes, open_episodes
from steve1.utils.io import atomic_write_text


class SamplingError(ValueError):
    """The dataset cannot satisfy the requested split."""


def make_sampling(
    data_dir: Path,
    val_frames: int,
    train_frames: int,
    seed: int,
    min_frames: int,
    val_episodes: list[Path] | None = None,
) -> tuple[list[Path], list[Path]]:
    """(train, val) episode lists: shuffled with `seed`; val first (or given), then train.

    `train_frames=-1` takes every remaining usable episode.
    """
    readers = open_episodes(list_episodes(data_dir))
    usable = [(r.path, len(r)) for r in readers if len(r) >= min_frames]
    if not usable:
        raise SamplingError(
            f"no episode in {data_dir} has the {min_frames} frames needed "
            f"({len(readers)} readable episodes); generate longer episodes or "
            "lower --T / --min_btwn_goals"
        )
    random.Random(seed).shuffle(usable)
    if val_episodes is None:
        val, rest = _take(usable, val_frames)
    else:
        chosen = {Path(p).resolve() for p in val_episodes}
        val = [p for p, _ in usable if p.resolve() in chosen]
        rest = [(p, n) for p, n in usable if p.resolve() not in chosen]
    if train_frames == -1:
        train = [p for p, _ in rest]
    else:
        train, _ = _take(rest, train_frames)
    total = sum(n for _, n in usable)
    got_val = sum(n for p, n in usable if p in set(val))
    got_train = sum(n for p, n in usable if p in set(train))
    if (val_episodes is None and got_val < val_frames) or got_train < max(train_frames, 1):
        raise SamplingError(
            f"{data_dir} has {total} usable frames in {len(usable)} episodes, too few for "
            f"{val_frames} validation + {train_frames} training frames (got {got_val} + "
            f"{got_train}); generate more episodes or lower --val_frames / --train_frames"
        )
    return train, val


def _take(episodes: list[tuple[Path, int]], frames: int) -> tuple[list[Path], list]:
    taken, count = [], 0
    for i, (path, length) in enumerate(episodes):
        if count >= frames:
            return taken, episodes[i:]
        taken.append(path)
        count += length
    return taken, []


def write_sampling(output_dir: Path, name: str, train: list[Path], val: list[Path]) -> None:
    """Write both split files atomically."""
    for split, paths in (("train", train), ("val", val)):
        atomic_write_text(output_dir / f"{name}_{split}.txt", "".join(f"{p}\n" for p in paths))


def read_sampling(sampling_dir: Path | str, name: str, split: str) -> list[Path]:
    """Episode directories of one split file."""
    path = Path(sampling_dir) / f"{name}_{split}.txt"
    if not path.is_file():
        raise FileNotFoundError(
            f"sampling file {path} not found; create it with "
            "python -m steve1.data.sampling.generate_sampling"
        )
    return [Path(line) for line in path.read_text().splitlines() if line.strip()]
