"""Split a dataset's episodes into seeded train/validation lists (upstream's sampling files).

    python -m steve1.data.sampling.generate_sampling --data_dir data/crafter_play \
        --output_dir data/samplings --name seed1 --val_frames 10000 --train_frames -1

Writes `<output_dir>/<name>_train.txt` and `<name>_val.txt`, one episode directory per line.
An episode is usable if it is readable and has at least max(min_btwn_goals, T) + 15 frames.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from steve1.data.episode_storage import EMBED_OFFSET
from steve1.data.sampling.sampling_files import (
    SamplingError,
    make_sampling,
    read_sampling,
    write_sampling,
)


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
