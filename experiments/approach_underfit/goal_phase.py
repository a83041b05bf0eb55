"""How many of the frames that hindsight relabelling conditions on an event's window come after it?

    PYTHONPATH=. python experiments/approach_underfit/goal_phase.py --sampling_dir data/samplings_seen \
        --event collect_drink --goal_lead 0 15

Goals are drawn as the low-level trainer draws them (`steve1.data.goal_dataset`: goals 5-19
frames apart with the defaults `--min_btwn_goals 5 --max_btwn_goals 20`, the switch one frame after
the goal frame, `--goal_lead` frames added). For every frame from 15 on whose goal window (the 16
frames ending at its goal frame) holds the event, it counts whether an event in that window is
still ahead of the frame or all are already done. All such frames count, also those that carry no
loss in training (sleep, exploration noise). The
frames after the event teach the low level what the player does *after* drinking under the drink
goal; with the vitals hidden, it cannot tell the two phases apart.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from steve1.data.episode_storage import EMBED_OFFSET, EpisodeReader
from steve1.data.generation.crafter_state import ACHIEVEMENTS
from steve1.data.goal_dataset import event_frames, goal_index_per_frame, sample_goal_steps
from steve1.data.sampling.sampling_files import read_sampling


def phase_counts(
    paths: list, event: str, goal_lead: int, min_btwn: int, max_btwn: int, seed: int
) -> tuple[int, int]:
    """(frames whose window's event is still ahead, frames whose window's events are all done)."""
    rng = np.random.default_rng(seed)
    ahead = done = 0
    for path in paths:
        states = EpisodeReader(path).load_states()
        events = event_frames(states, event)
        length = len(states["achievements"])
        goal = goal_index_per_frame(length, sample_goal_steps(length, min_btwn, max_btwn, rng))
        goal = np.minimum(goal + goal_lead, length - 1)
        for t in range(EMBED_OFFSET, length):
            inside = events[(events >= goal[t] - EMBED_OFFSET) & (events <= goal[t])]
            if len(inside):
                if (inside > t).any():
                    ahead += 1
                else:
                    done += 1
    return ahead, done


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sampling_dir", type=Path, required=True)
    parser.add_argument("--sampling", default="seed1")
    parser.add_argument("--event", default="collect_drink", choices=ACHIEVEMENTS)
    parser.add_argument("--goal_lead", type=int, nargs="+", default=[0, 15])
    parser.add_argument("--min_btwn_goals", type=int, default=5)
    parser.add_argument("--max_btwn_goals", type=int, default=20)
    parser.add_argument("--episodes", type=int, default=150, help="the first n training episodes")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    paths = read_sampling(args.sampling_dir, args.sampling, "train")[: args.episodes]
    for lead in args.goal_lead:
        ahead, done = phase_counts(
            paths, args.event, lead, args.min_btwn_goals, args.max_btwn_goals, args.seed
        )
        total = max(ahead + done, 1)
        print(
            f"{args.event}, goal_lead {lead}: {ahead + done} frames of {len(paths)} episodes are "
            f"conditioned on a window holding the event; still ahead {ahead / total:.2f}, "
            f"already done {done / total:.2f}"
        )


if __name__ == "__main__":
    main()
