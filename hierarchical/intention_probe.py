"""Does the low level's approach to a material come from its goal? Measured on the play data.

    python -m hierarchical.intention_probe --sampling_dir data/samplings --sampling seed1 \
        --codebook downloads/crafter/codebook.npz --in_model downloads/crafter/steve1.model \
        --in_weights downloads/crafter/steve1.weights --event collect_drink --code 14

On the validation episodes (`--split train` for the training ones; `--max_episodes` the first
ones only), the probed frames are those in which the play agent pursued the event's intention
(`collect_drink`: the label the data stores per frame) with the material in its 9x7 view at least
two cells away (`--only_distance`: exactly that far; `--skip_noise`: not the noise frames), the
event following within `--within` frames. The low level
runs through each whole episode (its memory sees the true past) under four goals:
- the hindsight goal: the window that ends `--after` frames after the event, but at most
  `--max_ahead` frames ahead (the trainer's `max_btwn_goals`); elsewhere the one 12 frames ahead;
- the code;
- no goal;
- the code with guidance `--cond_scale`, from the code's and the no-goal log-probs, as the guided
  agent combines its two streams.
Printed per goal, over the probed frames: the probability of the data's action, how often it is
the most likely one, and the probability of the moves that bring the player closer to the
material (Manhattan distance in the view; `hierarchical.approach` counts steps around obstacles
instead); then how often the data's own action is such a move. If the closer mass is about the
same with and without a goal, the low level's approach comes from what it sees and remembers,
not from its goal (experiments/hidden_vitals/).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from hierarchical.reach import EVENT_MATERIALS
from hierarchical.steerability import load_rollout_models
from steve1.agent import GuidedAgent
from steve1.data.episode_storage import EMBED_OFFSET, EpisodeReader
from steve1.data.generation.crafter_state import ACHIEVEMENTS
from steve1.data.generation.navigation import MAT, MOVE_ACTION
from steve1.data.generation.play_agent import INTENTIONS
from steve1.data.sampling.sampling_files import read_sampling
from steve1.embed_conditioned_policy import EmbedConditionedPolicy, guided_log_probs

MOVES = {action: step for step, action in MOVE_ACTION.items()}  # action -> (dx, dy) in the view
CONDITIONS = ("hindsight", "code", "no goal", "guided")


def distance(view: np.ndarray, material: int, shift: tuple[int, int] = (0, 0)) -> int | None:
    """Manhattan distance from the view's centre (moved by `shift`) to the nearest material cell."""
    xs, ys = np.nonzero(view == material)
    if len(xs) == 0:
        return None
    cx, cy = view.shape[0] // 2 + shift[0], view.shape[1] // 2 + shift[1]
    return int(np.min(np.abs(xs - cx) + np.abs(ys - cy)))


def closer_moves(view: np.ndarray, material: int) -> list[int]:
    """The move actions after which the material is nearer than now (none if it is not in view)."""
    now = distance(view, material)
    if now is None:
        return []
    return [a for a, step in MOVES.items() if distance(view, material, step) < now]


def probed_frames(
    states: dict,
    event: str,
    within: int,
    after: int,
    max_ahead: int = 20,
    only_distance: int | None = None,
    skip_noise: bool = False,
) -> tuple[list[int], np.ndarray]:
    """The probed frames of one episode, and each frame's hindsight goal row (never before the
    first full window, as in training). With `only_distance`, only the frames whose material lies
    exactly that many cells away; with `skip_noise`, not the frames whose action was exploration
    noise (the `explore` flag; they carry no loss in training)."""
    counts = states["achievements"][:, ACHIEVEMENTS.index(event)]
    events = np.flatnonzero(np.diff(counts.astype(np.int64)) > 0)
    label = INTENTIONS.index(event)
    material = MAT[EVENT_MATERIALS[event]]
    n = len(counts)
    probed, goal_rows = [], np.clip(np.arange(n) + 12, EMBED_OFFSET, n - 1)
    for t in range(n):
        nxt = events[events >= t]
        if not len(nxt) or not 2 <= nxt[0] - t <= within:
            continue
        goal_rows[t] = max(min(nxt[0] + after, t + max_ahead, n - 1), EMBED_OFFSET)
        d = distance(states["local_view"][t], material)
        far = d is not None and (d >= 2 if only_distance is None else d == only_distance)
        noise = skip_noise and bool(states["explore"][t])  # `probe` checks the field exists
        if states["intention"][t] == label and far and not noise:
            probed.append(t)
    return probed, goal_rows


def probe(
    policy: EmbedConditionedPolicy,
    episodes: list[Path],
    code: np.ndarray,
    event: str,
    cond_scale: float,
    within: int = 20,
    after: int = 8,
    max_ahead: int = 20,
    only_distance: int | None = None,
    skip_noise: bool = False,
) -> dict[str, np.ndarray]:
    """Per condition, (frames, 3): p(data action), argmax == data, p(closer moves); and `data`:
    (frames,) whether the data's action is a closer move."""
    material = MAT[EVENT_MATERIALS[event]]
    rows: dict[str, list] = {name: [] for name in (*CONDITIONS, "data")}
    for path in episodes:
        reader = EpisodeReader(path)
        states = reader.load_states()
        if skip_noise and "explore" not in states:
            raise ValueError(
                f"{path}: no `explore` flags in states.npz, so noise frames cannot be skipped; "
                "drop --skip_noise or regenerate the play data (newer data records them)"
            )
        probed, goal_rows = probed_frames(
            states, event, within, after, max_ahead, only_distance, skip_noise
        )
        if not probed:
            continue
        actions = np.asarray(reader.load_actions()).reshape(-1)
        frames, embeds = reader.load_frames(), np.nan_to_num(reader.load_embeds())
        steps = max(probed) + 1
        codes = np.repeat(code[None].astype(np.float32), steps, 0)
        goals = np.stack([embeds[goal_rows[:steps]], codes, np.zeros_like(codes)])
        hindsight, with_code, no_goal = _log_probs(policy, frames[:steps], goals)
        log_probs = {
            "hindsight": hindsight,
            "code": with_code,
            "no goal": no_goal,
            "guided": guided_log_probs(with_code, no_goal, cond_scale),
        }
        for t in probed:
            near = closer_moves(states["local_view"][t], material)
            for name in CONDITIONS:
                p = log_probs[name][t].exp().numpy()
                rows[name].append((p[actions[t]], p.argmax() == actions[t], p[near].sum()))
            rows["data"].append(actions[t] in near)
    return {k: np.array(v, dtype=np.float64) for k, v in rows.items()}


def _log_probs(
    policy: EmbedConditionedPolicy, frames: np.ndarray, goals: np.ndarray
) -> torch.Tensor:
    """(G, T, n_actions) log-probs of the plain conditioned policy stepping through the frames once
    per goal sequence of `goals` (G, T, D), the G sequences batched as G envs."""
    agent = GuidedAgent(policy, len(goals))
    steps = [
        agent.log_probs(np.repeat(frames[t : t + 1], len(goals), 0), goals[:, t])
        for t in range(len(frames))
    ]
    return torch.stack(steps, dim=1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sampling_dir", type=Path, default=Path("data/samplings"))
    parser.add_argument("--sampling", default="seed1")
    parser.add_argument("--codebook", type=Path, required=True)
    parser.add_argument("--in_model", type=Path, required=True)
    parser.add_argument("--in_weights", type=Path, required=True)
    parser.add_argument("--event", choices=sorted(EVENT_MATERIALS), required=True)
    parser.add_argument("--code", type=int, required=True)
    parser.add_argument("--cond_scale", type=float, default=3.0)
    parser.add_argument("--within", type=int, default=20, help="the event within these frames")
    parser.add_argument("--after", type=int, default=8, help="hindsight window end after it")
    parser.add_argument("--max_ahead", type=int, default=20, help="hindsight goal at most this far")
    parser.add_argument(
        "--only_distance",
        type=int,
        default=None,
        help="probe only frames whose material is this many cells away (default: 2 or more)",
    )
    parser.add_argument(
        "--skip_noise", action="store_true", help="leave out the frames whose action was noise"
    )
    parser.add_argument(
        "--split", choices=("val", "train"), default="val", help="the sampling's episodes to probe"
    )
    parser.add_argument(
        "--max_episodes", type=int, default=None, help="probe only the split's first episodes"
    )
    parser.add_argument("--num_threads", type=int, default=1)
    args = parser.parse_args(argv)
    if args.max_episodes is not None and args.max_episodes < 1:
        parser.error("--max_episodes must be >= 1")
    if args.only_distance is not None and args.only_distance < 2:
        parser.error("--only_distance must be >= 2 (a move must bring the material nearer)")
    codebook, policy = load_rollout_models(args)
    episodes = read_sampling(args.sampling_dir, args.sampling, args.split)[: args.max_episodes]
    out = probe(
        policy,
        episodes,
        codebook.codes[args.code],
        args.event,
        args.cond_scale,
        args.within,
        args.after,
        args.max_ahead,
        args.only_distance,
        args.skip_noise,
    )
    if not len(out["data"]):
        raise SystemExit(
            f"no probed frames for {args.event} in {len(episodes)} {args.split} episodes"
        )
    for name in CONDITIONS:
        p_data, top, near = out[name].mean(axis=0)
        print(
            f"{args.event}, {name:9s}: p(data action) {p_data:.2f}, most likely {top:.2f}, "
            f"p(closer moves) {near:.2f}"
        )
    print(
        f"{args.event}: the data's action is a closer move in {out['data'].mean():.2f} of "
        f"{len(out['data'])} probed frames (code {args.code}, guidance {args.cond_scale:g}, "
        f"{len(episodes)} {args.split} episodes, distance {args.only_distance or '2+'}, "
        f"noise frames {'skipped' if args.skip_noise else 'kept'})"
    )


if __name__ == "__main__":
    main()
