"""Can the low level's image encoder tell which moves bring the player closer to the water?

    python experiments/approach_underfit/perception_probe.py --data_dir data/crafter_play_n8 \
        --in_model results/mem/init_hide_k8.model            # a fresh encoder, trained here
    python experiments/approach_underfit/perception_probe.py ... --in_weights W --frozen

Frames of the play data with water in the 9x7 view 1-4 cells away (Manhattan) are labelled
with the moves that bring the player closer (`hierarchical.intention_probe.closer_moves`). An
image encoder (`policy.net.encode_images`: the hidden boxes, the Impala CNN and its dense layer)
with a linear head over the four moves is trained on single frames to put its mass on those moves
(loss: -log of the probability of the set); with `--frozen`, only the head, on the encoder of
`--in_weights` (or on a random encoder, without it). At one cell away the closer move is the one toward the water,
which turns the player to face it. Printed: the held-out share of frames whose most likely move is
a closer one, at each distance. The held-out episodes are the first of the data directory by name,
not the sampling's validation split, so a low level's frozen encoder may have been trained on them
(which can only favour it). If a fresh encoder learns this well from single frames, the low level's loose
approach is not a matter of what its CNN can see.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from hierarchical.intention_probe import closer_moves, distance
from steve1.data.episode_storage import EpisodeReader
from steve1.data.generation.navigation import MAT
from steve1.embed_conditioned_policy import EmbedConditionedPolicy
from VPT.checkpoint import load_model_file, load_weights, read_weights, save_weights
from VPT.presets import CRAFTER_ACTION_SPACE

MOVES = (1, 2, 3, 4)  # move_left, move_right, move_up, move_down


def labelled_frames(episodes: list[Path], max_distance: int) -> tuple[np.ndarray, ...]:
    """Frames with water 1..max_distance cells away, their closer-move masks and distances."""
    water = MAT["water"]
    frames, masks, dists = [], [], []
    for path in episodes:
        reader = EpisodeReader(path)
        views = reader.load_states()["local_view"]
        rows = [
            t for t in range(len(views)) if 1 <= (distance(views[t], water) or 0) <= max_distance
        ]
        if not rows:
            continue
        all_frames = reader.load_frames()
        for t in rows:
            near = closer_moves(views[t], water)
            frames.append(all_frames[t])
            masks.append([m in near for m in MOVES])
            dists.append(distance(views[t], water))
    if not frames:
        raise SystemExit(
            f"no frames with water 1-{max_distance} cells away in {len(episodes)} episodes; "
            "use more episodes or a larger --max_distance"
        )
    return np.stack(frames), np.array(masks, bool), np.array(dists)


def load_low_level(in_model: Path, in_weights: Path | None) -> EmbedConditionedPolicy:
    """The low level of `in_model`, with `in_weights` (its goal size read from them) if given."""
    spec = load_model_file(in_model)
    goal_dim = None
    if in_weights is not None:  # the low level's goal size, from its goal projection
        goal_dim = read_weights(in_weights)["net.mineclip_embed_linear.weight"].shape[1]
    policy = EmbedConditionedPolicy(
        spec.policy_kwargs, CRAFTER_ACTION_SPACE, spec.pi_head_kwargs, goal_dim=goal_dim
    )
    if in_weights is not None:
        load_weights(policy, in_weights)
    return policy


def save_low_level(policy: EmbedConditionedPolicy, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_weights(policy, path)


def minibatches(n: int, batch_size: int, epochs: int, seed: int):
    """Index arrays of shuffled minibatches over `n` items, epoch after epoch."""
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(n)
        for i in range(0, n, batch_size):
            yield order[i : i + batch_size]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", type=Path, required=True)
    parser.add_argument("--in_model", type=Path, required=True)
    parser.add_argument("--in_weights", type=Path, default=None)
    parser.add_argument("--frozen", action="store_true", help="train only the head")
    parser.add_argument("--train_episodes", type=int, default=120)
    parser.add_argument("--test_episodes", type=int, default=30)
    parser.add_argument("--max_distance", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument(
        "--save_weights",
        type=Path,
        default=None,
        help="write the whole policy with its trained encoder (the head is dropped): with "
        "--in_weights, a low level whose encoder was taught where the water is",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num_threads", type=int, default=1)
    args = parser.parse_args(argv)
    if args.save_weights is not None and (args.frozen or args.in_weights is None):
        parser.error("--save_weights needs --in_weights (the low level) and no --frozen")
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.num_threads)
    episodes = sorted(p for p in args.data_dir.iterdir() if p.is_dir())
    test_eps = episodes[: args.test_episodes]
    train_eps = episodes[args.test_episodes : args.test_episodes + args.train_episodes]
    x_train, y_train, _ = labelled_frames(train_eps, args.max_distance)
    x_test, y_test, d_test = labelled_frames(test_eps, args.max_distance)
    policy = load_low_level(args.in_model, args.in_weights)
    net = policy.net
    head = torch.nn.Linear(policy.policy_kwargs["hidsize"], len(MOVES))
    params = list(head.parameters()) + ([] if args.frozen else list(net.img_process.parameters()))
    opt = torch.optim.Adam(params, lr=args.lr)

    def logits(frames: np.ndarray) -> torch.Tensor:
        img = torch.as_tensor(frames)[:, None]
        with torch.set_grad_enabled(not args.frozen and torch.is_grad_enabled()):
            feats = net.encode_images(img)[:, 0]
        return head(torch.relu(feats))

    start = time.time()
    for idx in minibatches(len(x_train), args.batch_size, args.epochs, args.seed):
        logp = torch.log_softmax(logits(x_train[idx]), -1)
        mask = torch.as_tensor(y_train[idx])
        loss = -torch.logsumexp(logp.masked_fill(~mask, -1e9), -1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        top = np.concatenate(
            [logits(x_test[i : i + 256]).argmax(-1).numpy() for i in range(0, len(x_test), 256)]
        )
    hit = y_test[np.arange(len(top)), top]
    if args.save_weights is not None:
        save_low_level(policy, args.save_weights)
    n_params = sum(p.numel() for p in net.img_process.parameters())
    print(
        f"{args.in_model.name} ({n_params:,} encoder parameters, "
        f"{'frozen ' + str(args.in_weights or 'random') if args.frozen else 'trained'}): {len(x_train)} train / "
        f"{len(x_test)} test frames, {args.epochs} epochs, {time.time() - start:.0f} s; "
        f"closer move most likely: {hit.mean():.2f}"
    )
    for d in range(1, args.max_distance + 1):
        sel = d_test == d
        if sel.any():
            print(f"  water {d} cells away: {hit[sel].mean():.2f} of {sel.sum()} frames")


if __name__ == "__main__":
    main()
