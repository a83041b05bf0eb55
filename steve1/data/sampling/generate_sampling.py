"""Split a dataset's episodes into seeded train/validation lists (upstream's sampling files).

    python -m steve1.data.sampling.generate_sampling --data_dir data/crafter_play \
        --output_dir data/samplings --name seed1 --val_frames 10000 --train_frames -1

Writes `<output_dir>/<name>_train.txt` and `<name>_val.txt`, one episode directory per line.
An episode is usable if it is readable and has at least max(min_btwn_goals, T) + 15 frames.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from steve1.data.episode_storage import EMBED_OFFSET, list_episodes, open_episodes
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", type=Path, default=Path("data/crafter_play"))
    parser.add_argument("--output_dir", type=Path, default=Path("data/samplings"))
    parser.add_argument("--name", default="seed1", help="prefix of the split files")
    parser.add_argument("--type", default="default", choices=["default"], help="sampling type")
    parser.add_argument("--val_frames", type=int, default=10_000)
    parser.add_argument("--train_frames", type=int, default=-1, help="-1: all remaining frames")
    parser.add_argument(
        "--val_from",
        default=None,
        help="reuse the validation list of this sampling name (same output_dir)",
    )
    parser.add_argument("--min_btwn_goals", type=int, default=5)
    parser.add_argument("--T", type=int, default=64, help="training chunk length")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    val = read_sampling(args.output_dir, args.val_from, "val") if args.val_from else None
    min_frames = max(args.min_btwn_goals, args.T) + EMBED_OFFSET
    try:
        train, val = make_sampling(
            args.data_dir, args.val_frames, args.train_frames, args.seed, min_frames, val
        )
    except (SamplingError, FileNotFoundError) as err:
        parser.error(str(err))
    write_sampling(args.output_dir, args.name, train, val)
    print(
        f"wrote {args.output_dir}/{args.name}_{{train,val}}.txt: "
        f"{len(train)} train and {len(val)} val episodes"
    )


if __name__ == "__main__":
    main()
