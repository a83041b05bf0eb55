"""How much a hindsight goal k frames ahead tells about the current action, per horizon range.

    python -m steve1.goal_horizon_probe --sampling_dir data/samplings --sampling seed1 --seed 0

A cheap proxy for choosing `min_btwn_goals` / `max_btwn_goals` before any policy is trained: two
multinomial logistic regressions predict the action at frame t (frames whose action has an effect)
from the goal embedding of the current window (a summary of the observation), and from it plus the
embedding k frames ahead, k uniform in the range. The drop in held-out NLL is the information the
goal adds beyond the present, in nats.
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from steve1.data.episode_storage import EMBED_OFFSET, open_episodes
from steve1.data.goal_dataset import inert_frames
from steve1.data.sampling.sampling_files import read_sampling


def sample(episodes: list, lo: int, hi: int, n: int, rng: np.random.Generator):
    """(current embeddings, goal embeddings, actions) of n random effective frames."""
    now, goal, actions = [], [], []
    while len(actions) < n:
        acts, embeds, inert = episodes[rng.integers(len(episodes))]
        if len(acts) < hi + EMBED_OFFSET + 1:
            continue
        t = int(rng.integers(EMBED_OFFSET, len(acts) - 1))
        if inert[t]:
            continue
        g = min(t + int(rng.integers(lo, hi)), len(acts) - 1)
        now.append(embeds[t])
        goal.append(embeds[g])
        actions.append(acts[t])
    return np.array(now), np.array(goal), np.array(actions)


def information_gain(
    now: np.ndarray, goal: np.ndarray, actions: np.ndarray, train_share: float = 0.75
) -> tuple[float, float]:
    """Held-out NLL without and with the goal."""
    n = int(len(actions) * train_share)
    both = np.hstack([now, goal])
    losses = []
    for x in (now, both):
        model = LogisticRegression(max_iter=300).fit(x[:n], actions[:n])
        losses.append(log_loss(actions[n:], model.predict_proba(x[n:]), labels=model.classes_))
    return losses[0], losses[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sampling_dir", default="data/samplings")
    parser.add_argument("--sampling", default="seed1")
    parser.add_argument("--episodes", type=int, default=200, help="training episodes used")
    parser.add_argument("--samples", type=int, default=40_000, help="frames per horizon range")
    parser.add_argument("--horizons", default="1-10,5-20,5-50,15-100,15-200")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    readers = open_episodes(
        read_sampling(args.sampling_dir, args.sampling, "train")[: args.episodes]
    )
    episodes = [
        (r.load_actions(), r.load_embeds(), inert_frames(r.load_states(), len(r))) for r in readers
    ]
    print("| goal horizon | NLL, current window only | NLL, + goal | information from the goal |")
    print("|---|---|---|---|")
    for spec in args.horizons.split(","):
        lo, hi = (int(v) for v in spec.split("-"))
        base, with_goal = information_gain(*sample(episodes, lo, hi, args.samples, rng))
        print(
            f"| {lo}-{hi} | {base:.3f} | {with_goal:.3f} | {base - with_goal:.3f} nats |",
            flush=True,
        )


if __name__ == "__main__":
    main()
