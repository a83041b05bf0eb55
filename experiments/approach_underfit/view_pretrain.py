"""Pre-train the low level's image encoder to read the whole view: the semantic id of each cell.

    python experiments/approach_underfit/view_pretrain.py --data_dir data/crafter_play_n8 \
        --in_model results/mem/init_hide_k8.model \
        --in_weights results/full_n8/weights/trained_with_script_best.weights \
        --save_weights results/full_n8_view/init.weights

The play data stores the 9x7 semantic view of every frame (`states.npz` `local_view`: materials
and creatures). A linear head on the encoder's features (`policy.net.encode_images`) predicts the
id of each of the 63 cells (cross-entropy); encoder and head are trained together. Printed: the
held-out cell accuracy, and on the cells that hold water, the share read as water. With
`--with_player` also predicts the player's facing and inventory counts, which the view's ids do
not show. With `--save_weights`, the whole low level of `--in_weights` is written with the trained encoder, to be
fine-tuned with `--freeze_encoder` (or not). A stand-in, on Crafter's privileged view, for the
visual pre-training that VPT gives the paper's low level.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from perception_probe import (  # same directory
    load_low_level,
    minibatches,
    predict,
    save_low_level,
)

from steve1.data.episode_storage import EpisodeReader
from steve1.data.generation.navigation import DIRS, MAT

N_IDS = 19  # materials 0-12 and creatures 13-18 (`crafter_state.local_semantic_view`)
VIEW_CELLS = 63  # 9 x 7


def view_labels(states: dict[str, np.ndarray], with_player: bool = False) -> np.ndarray:
    """(L, 63) int64 cell ids of each frame's view; `with_player` appends the facing (0-3, `DIRS`
    order) and the 16 inventory counts (capped at 9) as 17 more "cells"."""
    local = states["local_view"]
    rows = [local.reshape(len(local), -1).astype(np.int64)]
    if with_player:
        facing = [DIRS.index(tuple(int(v) for v in f)) for f in states["facing"]]
        rows.append(np.array(facing, np.int64)[:, None])
        rows.append(np.minimum(states["inventory"], 9).astype(np.int64))
    return np.concatenate(rows, axis=1)


def view_frames(
    episodes: list[Path], every: int, with_player: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Every `every`-th frame of the episodes and its labels (`view_labels`)."""
    frames, views = [], []
    for path in episodes:
        reader = EpisodeReader(path)
        views.append(view_labels(reader.load_states(), with_player)[::every])
        frames.append(reader.load_frames()[::every])
    return np.concatenate(frames), np.concatenate(views)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", type=Path, required=True)
    parser.add_argument("--in_model", type=Path, required=True)
    parser.add_argument("--in_weights", type=Path, default=None)
    parser.add_argument("--save_weights", type=Path, default=None)
    parser.add_argument("--train_episodes", type=int, default=100)
    parser.add_argument("--test_episodes", type=int, default=10)
    parser.add_argument("--every", type=int, default=4, help="use every n-th frame")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument(
        "--with_player",
        action="store_true",
        help="also predict the player's facing and inventory (which the view ids do not show)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num_threads", type=int, default=2)
    args = parser.parse_args(argv)
    if args.save_weights is not None and args.in_weights is None:
        parser.error("--save_weights needs --in_weights (the low level to give the encoder to)")
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.num_threads)
    episodes = sorted(p for p in args.data_dir.iterdir() if p.is_dir())
    if len(episodes) < args.test_episodes + 1:
        raise SystemExit(
            f"{args.data_dir}: {len(episodes)} episodes, need more than --test_episodes"
        )
    x_test, y_test = view_frames(episodes[: args.test_episodes], args.every, args.with_player)
    x_train, y_train = view_frames(
        episodes[args.test_episodes : args.test_episodes + args.train_episodes],
        args.every,
        args.with_player,
    )
    policy = load_low_level(args.in_model, args.in_weights)
    net = policy.net
    cells = y_train.shape[1]
    head = torch.nn.Linear(policy.policy_kwargs["hidsize"], cells * N_IDS)
    opt = torch.optim.Adam(list(head.parameters()) + list(net.img_process.parameters()), args.lr)

    def logits(frames: np.ndarray) -> torch.Tensor:
        feats = net.encode_images(torch.as_tensor(frames)[:, None])[:, 0]
        return head(torch.relu(feats)).view(len(frames), cells, N_IDS)

    start = time.time()
    for idx in minibatches(len(x_train), args.batch_size, args.epochs, args.seed):
        out = logits(x_train[idx])
        loss = torch.nn.functional.cross_entropy(
            out.reshape(-1, N_IDS), torch.as_tensor(y_train[idx]).reshape(-1)
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    pred = predict(logits, x_test)
    extra = ""
    if args.with_player:
        facing_ok = (pred[:, VIEW_CELLS] == y_test[:, VIEW_CELLS]).mean()
        inventory_ok = (pred[:, VIEW_CELLS + 1 :] == y_test[:, VIEW_CELLS + 1 :]).mean()
        extra = f", facing {facing_ok:.3f}, inventory counts {inventory_ok:.3f}"
    pred, y_test = pred[:, :VIEW_CELLS], y_test[:, :VIEW_CELLS]
    water = y_test == MAT["water"]
    print(
        f"{len(x_train)} train / {len(x_test)} test frames, {args.epochs} epochs, "
        f"{time.time() - start:.0f} s: cell accuracy {(pred == y_test).mean():.3f}, water cells "
        f"read as water {(pred[water] == MAT['water']).mean():.3f} ({water.sum()} cells){extra}"
    )
    if args.save_weights is not None:
        save_low_level(policy, args.save_weights)


if __name__ == "__main__":
    main()
