"""Play data whose goal embedding is the play agent's intention (an oracle goal), and its codebook.

    python experiments/intention_oracle/make_oracle_data.py --data_dir data/crafter_play \
        --sampling_dir data/samplings --out_dir data/crafter_play_oracle \
        --out_sampling_dir data/samplings_oracle --codebook data/oracle_codebook.npz

Every episode of `--data_dir` gets a twin in `--out_dir`: the same frames, actions and states
(symbolic links), and an `embeds.npy` whose row t is the one-hot of the intention the scripted
play agent pursued at frame t (`states["intention"]`), padded with zeros to the `crafter-window`
size so that a low level trained on that embedding can be fine-tuned on it. The low level's
hindsight relabelling then conditions each frame on the intention 5-20 frames ahead: what the
player was actually doing, which no embedding of frames can know better. The sampling files are
rewritten to the twins (same split), and the codebook has one code per intention (code i is
`INTENTIONS[i]`), so `hierarchical.approach --code i` rolls out an intention.
"""

from __future__ import annotations

import argparse
import io
import json
import os
from pathlib import Path

import numpy as np

from goal_prior.codebook import Codebook
from steve1.data.episode_storage import EMBED_OFFSET, list_episodes, open_episodes
from steve1.data.generation.play_agent import INTENTIONS
from steve1.goal_encoders import crafter as crafter_goal
from steve1.utils.io import atomic_write_bytes, atomic_write_text

LINKED = ("frames.npz", "actions.npy", "states.npz", "len.txt")
EMBEDDING = {"name": "crafter-intention-oracle", "version": 1, "dim": crafter_goal.EMBED_DIM}


def oracle_embeds(intention: np.ndarray) -> np.ndarray:
    """(L, EMBED_DIM) one-hot intentions; rows before the first full window are NaN as usual."""
    out = np.zeros((len(intention), crafter_goal.EMBED_DIM), np.float32)
    out[np.arange(len(intention)), intention.astype(np.int64)] = 1.0
    out[:EMBED_OFFSET] = np.nan
    return out


def make_twin(src: Path, dst: Path) -> None:
    reader = open_episodes([src])[0]
    states = reader.load_states()
    if "intention" not in states:
        raise ValueError(f"{src}: no per-frame intention in states.npz (old play data?)")
    dst.mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        if not (dst / name).exists():
            os.symlink((src / name).resolve(), dst / name)
    buffer = io.BytesIO()
    np.save(buffer, oracle_embeds(states["intention"]))
    atomic_write_bytes(dst / "embeds.npy", buffer.getvalue())
    meta = {**reader.metadata, "embedding": EMBEDDING}
    atomic_write_text(dst / "metadata.json", json.dumps(meta, indent=1, sort_keys=True))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", type=Path, required=True)
    parser.add_argument("--sampling_dir", type=Path, required=True)
    parser.add_argument("--sampling", default="seed1")
    parser.add_argument("--out_dir", type=Path, required=True)
    parser.add_argument("--out_sampling_dir", type=Path, required=True)
    parser.add_argument("--codebook", type=Path, required=True)
    args = parser.parse_args(argv)
    episodes = list_episodes(args.data_dir)
    for src in episodes:
        make_twin(Path(src), args.out_dir / Path(src).name)
    args.out_sampling_dir.mkdir(parents=True, exist_ok=True)
    twins = {Path(src).name: str(args.out_dir / Path(src).name) for src in episodes}
    for split in ("train", "val"):
        lines = (args.sampling_dir / f"{args.sampling}_{split}.txt").read_text().split()
        try:
            text = "\n".join(twins[Path(line).name] for line in lines) + "\n"
        except KeyError as err:
            raise ValueError(f"sampling episode {err} is not in {args.data_dir}") from err
        atomic_write_text(args.out_sampling_dir / f"{args.sampling}_{split}.txt", text)
    codes = np.eye(len(INTENTIONS), crafter_goal.EMBED_DIM, dtype=np.float32)
    Codebook(codes=codes, metadata={"embedding": EMBEDDING, "codes": list(INTENTIONS)}).save(
        args.codebook
    )
    print(f"{len(episodes)} episodes -> {args.out_dir}; {len(INTENTIONS)} codes -> {args.codebook}")


if __name__ == "__main__":
    main()
