"""Convert OpenAI's VPT contractor data (Minecraft) into episodes with MineCLIP goal embeddings.

    bash downloads.sh   # fetches downloads/mineclip_attn.pth
    python -m steve1.data.generation.convert_from_contractor --index 8.x --num_episodes -1
    python -m steve1.data.generation.convert_from_contractor --index 10.x --worker_id 3
    python -m steve1.data.generation.convert_from_contractor --index_file my_index.json \\
        --output_dir data/contractor --min_timesteps 1

The Minecraft counterpart of `generate_crafter_play`. For each episode of the chosen index, the
recording (`.jsonl`) and video (`.mp4`) are fetched to `--cache_dir` (and deleted afterwards);
frames of null actions are dropped, the cursor is drawn on GUI frames, each kept frame is stored
at 128x128 with its MineRL action, and every 16-frame window is embedded with MineCLIP (256x160
frames, `--batch_size` windows per forward pass). Episodes are written atomically to
`--output_dir` under upstream's names (`contractor_8_x_123_contractor_nmFrm<K>_term`), in the
project's episode format (`steve1.data.episode_storage`); actions are a structured array, one
field per MineRL key (`unpack_dict_actions` gives the dict).

Re-running the same command resumes: converted episodes are skipped, and so are episodes known to
be shorter than `--min_timesteps` (listed in `too_short.jsonl`, with no download). An episode that
fails (download, unreadable recording or video, embedding, writing) is reported on stderr and in
`<output_dir>/failed.jsonl` with its stage and reason, the run continues, and the next run retries
it (upstream skipped such episodes silently). The run ends with a summary line of counts.

Flags are upstream's (`--index --output_dir --cache_dir --batch_size --worker_id --num_episodes
--start_idx --min_timesteps`, same defaults) plus `--index_file`, `--num_workers`,
`--truncate_camera`, `--mineclip_path` and `--device`. Differences from upstream:
- `--start_idx` always offsets the selection; upstream honoured it only with `--num_episodes -1`
  (with the default 0 both agree). Worker k takes the block
  [start_idx + k * num_episodes, start_idx + (k + 1) * num_episodes) as upstream.
- `--num_episodes -1` takes every episode from `--start_idx`, split by stride over
  `--num_workers` (worker k: positions start_idx + k, + num_workers, ...). Upstream had no
  `--num_workers`; `--num_episodes -1` meant "all" only for worker 0.
- `--index_file` reads a local index JSON (`{"basedir": ..., "relpaths": [...mp4]}`); a local or
  relative `basedir` (relative to the index file) or a `file://` URL converts offline.
- Cameras are float degrees; `--truncate_camera` stores upstream's integer degrees (truncated
  toward zero, spec section 6.1), see `VPT.actions`.
- A hotbar change alone (scroll wheel) is an action, not a null action (upstream dropped it);
  see `contractor_actions`. Frames are stored losslessly, not re-encoded to mp4.
- MineCLIP runs on `--device` (CUDA if available, else CPU), under fp16 autocast on CUDA only.
No `--seed`: the conversion involves no randomness.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from steve1.data.generation.contractor import ConvertConfig, convert
from steve1.data.generation.contractor_embed import MineCLIPEmbedder
from steve1.data.generation.contractor_source import (
    INDEX_SNAPSHOTS,
    ContractorEpisode,
    load_index,
    select_shard,
)
from steve1.goal_encoders.mineclip import DEFAULT_PATH


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--index", default="10.x", choices=list(INDEX_SNAPSHOTS), help="contractor snapshot")
    add(
        "--index_file",
        type=Path,
        default=None,
        help="local index JSON instead of OpenAI's (--index still names the episodes)",
    )
    add("--output_dir", type=Path, default=Path("downloads/dataset_contractor/"))
    add(
        "--cache_dir",
        type=Path,
        default=Path("downloads/contractor_cache"),
        help="downloaded files, deleted after each episode; OpenAI's index is kept here",
    )
    add("--batch_size", type=int, default=8, help="16-frame windows per MineCLIP forward pass")
    add("--worker_id", type=int, default=0, help="this worker's shard (see the module doc)")
    add("--num_workers", type=int, default=1, help="shards of --num_episodes -1")
    add("--num_episodes", type=int, default=200, help="episodes per worker; -1: all")
    add("--start_idx", type=int, default=0, help="first index position to convert")
    add("--min_timesteps", type=int, default=1000, help="skip episodes with fewer kept frames")
    add(
        "--truncate_camera",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="integer-degree cameras truncated toward zero, as upstream stored them",
    )
    add("--mineclip_path", type=Path, default=DEFAULT_PATH, help="MineCLIP attn checkpoint")
    add("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    return parser


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject flag combinations that would select nothing sensible."""
    if args.batch_size < 1 or args.min_timesteps < 1 or args.start_idx < 0:
        parser.error("need --batch_size >= 1, --min_timesteps >= 1 and --start_idx >= 0")
    if args.num_episodes < -1:
        parser.error("--num_episodes is a count, or -1 for all")
    if args.num_workers < 1 or not 0 <= args.worker_id:
        parser.error("need --num_workers >= 1 and --worker_id >= 0")
    if args.num_episodes == -1 and args.worker_id >= args.num_workers:
        parser.error("with --num_episodes -1, need --worker_id < --num_workers")
    if args.num_episodes != -1 and args.num_workers != 1:
        parser.error(
            "--num_workers splits --num_episodes -1; with a count, each --worker_id takes its block"
        )


def shard_episodes(args: argparse.Namespace) -> list[ContractorEpisode]:
    """This worker's episodes of the chosen index."""
    episodes = load_index(args.index, args.cache_dir, args.index_file)
    positions = select_shard(
        len(episodes), args.start_idx, args.num_episodes, args.worker_id, args.num_workers
    )
    return [episodes[i] for i in positions]


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)
    try:
        embedder = MineCLIPEmbedder.load(args.mineclip_path, args.device)
        episodes = shard_episodes(args)
    except (OSError, ValueError) as err:
        raise SystemExit(f"error: {err}") from err
    cfg = ConvertConfig(
        args.output_dir, args.cache_dir, args.batch_size, args.min_timesteps, args.truncate_camera
    )
    print(f"{len(episodes)} episode(s) of index {args.index} in this shard", file=sys.stderr)
    summary = convert(episodes, cfg, embedder)
    print(summary.line(cfg))


if __name__ == "__main__":
    main()
