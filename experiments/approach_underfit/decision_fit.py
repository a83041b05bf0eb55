"""Does the low level fit the play data where the walk to water turns? (copycat check)

    PYTHONPATH=. python experiments/approach_underfit/decision_fit.py \
        --sampling_dir data/samplings_seen --in_model results/mem/init_hide_k8.model \
        --in_weights results/seen_hk8b/weights/trained_with_script_best.weights

Runs the low level over the chunks of the first `--episodes` episodes of a split, with hindsight
goals drawn as in training (`--goal_lead` and the goal spacing as the run used), and looks at the frames where the play
agent pursued a drink with water 2-4 cells away (noise frames left out). Printed, for the data's
action and the low level's most likely one: how often it is the previous frame's action, the move
the player faces (Crafter's sprite shows the direction of the last move), and a move that brings
the player closer to the water; then how often the low level's choice is the data's, apart for the
frames whose action continues the previous one and those where it changes (the decisions), and
apart for frames whose goal window shows the drink still ahead (meaningless for the oracle
twin data of `../intention_oracle/`, whose goals are intentions, not windows). An episode's last
chunk overlaps the one before it; each frame is counted once.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from perception_probe import load_low_level  # same directory

from hierarchical.intention_probe import closer_moves, distance
from steve1.data.episode_storage import EMBED_OFFSET, EpisodeReader
from steve1.data.generation.navigation import MAT, MOVE_ACTION
from steve1.data.generation.play_agent import INTENTIONS
from steve1.data.goal_dataset import EpisodeCache, HindsightGoalChunks, event_frames
from steve1.data.sampling.sampling_files import read_sampling
from steve1.goal_conditioned_bc import GoalConditionedBC

COLUMNS = (
    "data: previous action",
    "model: previous action",
    "data: facing move",
    "model: facing move",
    "data: closer move",
    "model: closer move",
    "model = data",
)


def chunk_log_probs(policy, batch: dict, trunc_t: int) -> np.ndarray:
    """(T, actions) log-probs of one collated chunk, run in slices as the trainer does."""
    state, out_all = policy.initial_state(1), []
    length = batch["img"].shape[1]
    for s in range(0, length, trunc_t):
        sl = slice(s, s + trunc_t)
        first = torch.zeros(1, trunc_t, dtype=torch.bool)
        first[:, 0] = s == 0
        obs = {k: batch[k][:, sl] for k in GoalConditionedBC.obs_keys}
        out, state = policy(obs, state, first)
        out_all.append(out.pi_logits[0])
    return torch.cat(out_all).numpy()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sampling_dir", type=Path, required=True)
    parser.add_argument("--sampling", default="seed1")
    parser.add_argument("--split", default="train", choices=("train", "val"))
    parser.add_argument("--episodes", type=int, default=60)
    parser.add_argument("--in_model", type=Path, required=True)
    parser.add_argument("--in_weights", type=Path, required=True)
    parser.add_argument("--goal_lead", type=int, default=0)
    parser.add_argument("--min_btwn_goals", type=int, default=5)
    parser.add_argument("--max_btwn_goals", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    paths = read_sampling(args.sampling_dir, args.sampling, args.split)[: args.episodes]
    cache = EpisodeCache.from_paths(paths)
    policy = load_low_level(args.in_model, args.in_weights).eval()
    data = HindsightGoalChunks(
        cache, 64, args.min_btwn_goals, args.max_btwn_goals, goal_lead=args.goal_lead
    )
    states = [EpisodeReader(p).load_states() for p in cache.paths]
    drinks = [event_frames(s, "collect_drink") for s in states]  # first frame after each drink
    drink, water = INTENTIONS.index("collect_drink"), MAT["water"]
    rng = np.random.default_rng(args.seed)
    objective = GoalConditionedBC(policy)
    rows, ahead, seen = [], [], set()
    for i in range(len(data)):
        episode, start = data.index[i]
        chunk = data.get(i, rng)
        with torch.no_grad():
            logp = chunk_log_probs(policy, objective.collate([chunk], torch.device("cpu")), 32)
        s, actions, drunk = states[episode], cache.actions[episode], drinks[episode]
        for t in range(len(chunk.actions)):
            f = start + t
            if (episode, f) in seen:  # an episode's last chunk overlaps the one before it
                continue
            seen.add((episode, f))
            if s["intention"][f] != drink or s["explore"][f]:
                continue
            d = distance(s["local_view"][f], water)
            if d is None or not 2 <= d <= 4:
                continue
            facing = tuple(int(v) for v in s["facing"][f])
            face_move = MOVE_ACTION[facing]
            closer = closer_moves(s["local_view"][f], water)
            a, m, prev = int(actions[f]), int(logp[t].argmax()), int(actions[f - 1])
            rows.append((a == prev, m == prev, a == face_move, m == face_move, a in closer,
                         m in closer, m == a))  # fmt: skip
            g = int(chunk.goal_steps[t])
            ahead.append(bool(((drunk > f) & (drunk >= g - EMBED_OFFSET) & (drunk <= g)).any()))
    if not rows:
        raise SystemExit("no frames of a drink pursuit with water 2-4 cells away; more --episodes")
    r, ahead = np.array(rows, float), np.array(ahead)
    print(
        f"{args.in_weights} on {len(r)} {args.split} frames of {len(paths)} episodes of "
        f"{args.sampling_dir} (drink pursued, water 2-4 cells away, no noise; goals "
        f"{args.min_btwn_goals}-{args.max_btwn_goals - 1} frames apart, goal_lead {args.goal_lead}):"
    )
    print("  " + ", ".join(f"{c} {v:.2f}" for c, v in zip(COLUMNS, r.mean(0), strict=True)))
    cont, toward = r[:, 0] == 1, r[:, 4] == 1
    for name, sel in (
        ("continues", cont),
        ("changes (decisions)", ~cont),
        ("changes to a closer move (turns toward the water)", ~cont & toward),
    ):
        print(
            f"  where the data's action {name}: {sel.sum()} frames, model = data "
            f"{r[sel, 6].mean():.2f}, model continues {r[sel, 1].mean():.2f}"
        )
    for name, sel in (("shows the drink ahead", ahead), ("does not", ~ahead)):
        if not sel.any():
            continue
        dec = sel & ~cont
        print(
            f"  goal window {name}: {sel.sum()} frames, model closer {r[sel, 5].mean():.2f}, "
            f"decisions model = data {r[dec, 6].mean():.2f} ({dec.sum()})"
        )


if __name__ == "__main__":
    main()
