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

With `--target action` the frames are only those in which the play agent pursued a drink (its
intention, noise frames left out), and the head predicts the data's action (all 17, cross-entropy):
a policy that knows the intention is a drink. Printed: the held-out share whose most likely action
is the data's, apart where the data's action continues the previous one and where it changes, and,
with water 2 or more cells away, how often the most likely action is a closer move, and how often
the data's own action is one.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from hierarchical.intention_probe import closer_moves, distance
from steve1.data.episode_storage import EpisodeReader
from steve1.data.generation.navigation import MAT, MOVES
from steve1.data.generation.play_agent import INTENTIONS
from steve1.embed_conditioned_policy import EmbedConditionedPolicy
from VPT.checkpoint import load_model_file, load_weights, read_weights, save_weights
from VPT.presets import CRAFTER_ACTION_SPACE

N_ACTIONS = 17


KEEP = ("all", "played", "drink")  # `labelled_frames`' frame sets


def played_mask(states: dict[str, np.ndarray]) -> np.ndarray:
    """(L,) bool: the played frames of an episode, those whose action was not exploration noise,
    from frame 1 on (frame 0 has no previous action)."""
    played = ~states["explore"].astype(bool)
    played[:1] = False
    return played


def labelled_frames(
    episodes: list[Path], max_distance: int, keep: str = "all"
) -> tuple[np.ndarray, ...]:
    """Frames with water 1..max_distance cells away: the frames, their closer-move masks over all
    17 actions, distances, actions, previous actions and the agent's intentions. `keep`: "all"
    such frames, the "played" ones (not exploration noise, from frame 1 on), or only those in which
    the play agent pursued a "drink" (played)."""
    if keep not in KEEP:
        raise ValueError(f"keep must be one of {KEEP}, got {keep!r}")
    water, drink = MAT["water"], INTENTIONS.index("collect_drink")
    frames, masks, dists, acts, prevs, intents = [], [], [], [], [], []
    for path in episodes:
        reader = EpisodeReader(path)
        states = reader.load_states()
        views, actions = states["local_view"], reader.load_actions()
        played = played_mask(states) if keep != "all" else np.ones(len(views), bool)
        rows = [
            t
            for t in range(len(views))
            if 1 <= (distance(views[t], water) or 0) <= max_distance
            and played[t]
            and (keep != "drink" or states["intention"][t] == drink)
        ]
        if not rows:
            continue
        all_frames = reader.load_frames()
        for t in rows:
            near = closer_moves(views[t], water)
            frames.append(all_frames[t])
            masks.append([a in near for a in range(N_ACTIONS)])
            dists.append(distance(views[t], water))
            acts.append(int(actions[t]))
            prevs.append(int(actions[t - 1]) if t else -1)
            intents.append(int(states["intention"][t]))
    if not frames:
        raise SystemExit(
            f"no frames with water 1-{max_distance} cells away in {len(episodes)} episodes; "
            "use more episodes or a larger --max_distance"
        )
    return (np.stack(frames), np.array(masks, bool), np.array(dists), np.array(acts),
            np.array(prevs), np.array(intents))  # fmt: skip


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


def predict(logits, *inputs: np.ndarray, batch: int = 256) -> np.ndarray:
    """The most likely class of `logits(*rows)` (last axis) for every row of `inputs`, in batches,
    without gradients."""
    with torch.no_grad():
        return np.concatenate(
            [
                logits(*(x[i : i + batch] for x in inputs)).argmax(-1).numpy()
                for i in range(0, len(inputs[0]), batch)
            ]
        )


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
    parser.add_argument(
        "--target",
        default="closer",
        choices=("closer", "action"),
        help="closer: the moves that get closer, on all frames; action: the data's action, on "
        "the frames of a drink pursuit",
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
    by_action = args.target == "action"
    keep = "drink" if by_action else "all"
    x_train, y_train, _, a_train, _, _ = labelled_frames(train_eps, args.max_distance, keep)
    x_test, y_test, d_test, a_test, p_test, _ = labelled_frames(test_eps, args.max_distance, keep)
    policy = load_low_level(args.in_model, args.in_weights)
    net = policy.net
    outputs = N_ACTIONS if by_action else len(MOVES)
    head = torch.nn.Linear(policy.policy_kwargs["hidsize"], outputs)
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
        if by_action:
            loss = torch.nn.functional.nll_loss(logp, torch.as_tensor(a_train[idx]))
        else:
            mask = torch.as_tensor(y_train[idx][:, MOVES])
            loss = -torch.logsumexp(logp.masked_fill(~mask, -1e9), -1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    top = predict(logits, x_test)
    if not by_action:
        top = np.array(MOVES)[top]
    hit = y_test[np.arange(len(top)), top]
    if args.save_weights is not None:
        save_low_level(policy, args.save_weights)
    n_params = sum(p.numel() for p in net.img_process.parameters())
    trained = "frozen " + str(args.in_weights or "random") if args.frozen else "trained"
    print(
        f"{args.in_model.name} ({n_params:,} encoder parameters, {trained}, target "
        f"{args.target}): {len(x_train)} train / {len(x_test)} test frames, {args.epochs} epochs, "
        f"{time.time() - start:.0f} s"
        + ("" if by_action else f"; closer move most likely: {hit.mean():.2f}")
    )
    if by_action:
        same, far = top == a_test, d_test >= 2
        cont = a_test == p_test
        print(
            f"  most likely = the data's action: {same.mean():.2f}; where the data continues "
            f"its previous action {same[cont].mean():.2f} ({cont.sum()}), where it changes "
            f"{same[~cont].mean():.2f} ({(~cont).sum()})"
        )
        data_closer = y_test[np.arange(len(top)), a_test]
        print(
            f"  water 2-{args.max_distance} cells away ({far.sum()} frames): most likely is a closer move "
            f"{hit[far].mean():.2f}, the data's action is {data_closer[far].mean():.2f}; most "
            f"likely = the data's where it changes {same[far & ~cont].mean():.2f} "
            f"({(far & ~cont).sum()})"
        )
        return
    for d in range(1, args.max_distance + 1):
        sel = d_test == d
        if sel.any():
            print(f"  water {d} cells away: {hit[sel].mean():.2f} of {sel.sum()} frames")


if __name__ == "__main__":
    main()
