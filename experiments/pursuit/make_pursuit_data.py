"""Episodes of the play agent pursuing one event from the steerability's kind of start.

    PYTHONPATH=. python experiments/pursuit/make_pursuit_data.py --out_dir data/pursuit_drink \
        --event collect_drink --episodes 2500 --seed 1000000

Each episode starts as a steerability rollout does (`event_starts`: a fresh world, a wood pickaxe
for stone), on env seeds far from the selection (100000-) and held-out (150000-) seeds, and the
play agent (only what it has seen, exploration noise 0.1) pursues the event for `--steps` steps,
again after each success. The episode begins with 15 copies of the first frame (`noop`, marked as
noise, so they carry no loss): the trainer's chunks start at frame 15 (upstream's offset), so the
first real frame is trained with an empty memory, as a rollout starts. An episode that ends in
death before a training chunk's worth of frames is not written (so the data leans toward
survivors), and it is played again on a re-run.
"""

from __future__ import annotations

import argparse
import multiprocessing
from pathlib import Path

import numpy as np
from tqdm import tqdm

from hierarchical.steerability import _counts, event_starts
from steve1.data.episode_storage import EMBED_OFFSET, is_episode_dir
from steve1.data.generation.crafter_state import ACHIEVEMENTS, capture_state, stack_states
from steve1.data.generation.generate_crafter_play import store_episode
from steve1.data.generation.intentions import NOOP
from steve1.data.generation.play_agent import INTENTIONS, PlayAgent, Task
from steve1.goal_encoders import crafter as crafter_goal


def pursuit_episode(event: str, seed: int, steps: int, epsilon: float) -> dict:
    env = event_starts(event, steps + 1, seed, 1)[0]
    crafter_env = env.crafter
    k = ACHIEVEMENTS.index(event)
    agent = PlayAgent(
        np.random.default_rng(seed), epsilon=epsilon, perception="seen", drink_when_full=True
    )
    agent.reset(crafter_env)
    obs = env.render()
    first = capture_state(crafter_env)
    frames, actions, states = [obs] * EMBED_OFFSET, [NOOP] * EMBED_OFFSET, [first] * EMBED_OFFSET
    intentions = [INTENTIONS.index(event)] * EMBED_OFFSET
    noise = [True] * EMBED_OFFSET
    for _ in range(steps):
        count = int(_counts(env)[k])
        if agent.task is None or agent.task.name != event or agent.task.base != count:
            agent.task = Task(event, deadline=np.iinfo(np.int64).max, base=count)
        states.append(capture_state(crafter_env))
        action = agent.act(crafter_env)
        intentions.append(INTENTIONS.index(agent.intention))
        noise.append(agent.exploring)
        frames.append(obs)
        actions.append(action)
        o, _, _, _, info = env.step(action)
        obs = o["pov"]
        if info["discount"] == 0:
            break
    state_arrays = stack_states(states)
    state_arrays["intention"] = np.array(intentions, np.uint8)
    state_arrays["explore"] = np.array(noise, bool)
    return {
        "frames": np.stack(frames),
        "actions": np.array(actions, np.int64),
        "states": state_arrays,
        "metadata": {
            "world": "crafter",
            "env_seed": seed,
            "generator": {"name": "pursuit", "event": event, "epsilon": epsilon},
            "embedding": crafter_goal.describe(),
            "intentions": list(INTENTIONS),
            "achievements": dict(crafter_env._player.achievements),
            "died": bool(crafter_env._player.health <= 0),
        },
    }


def _one(job: tuple) -> int:
    out_dir, event, seed, steps, epsilon = job
    path = Path(out_dir) / f"pursuit_{event}_{seed}"
    if is_episode_dir(path):
        return 0
    ep = pursuit_episode(event, seed, steps, epsilon)
    if len(ep["actions"]) < EMBED_OFFSET + 64:
        return 0  # died too early for one training chunk
    return store_episode(path, ep)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out_dir", type=Path, required=True)
    parser.add_argument("--event", default="collect_drink")
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1_000_000, help="first env seed")
    parser.add_argument("--steps", type=int, default=70)
    parser.add_argument("--epsilon", type=float, default=0.1)
    parser.add_argument("--num_workers", type=int, default=2)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [
        (args.out_dir, args.event, args.seed + i, args.steps, args.epsilon)
        for i in range(args.episodes)
    ]
    with multiprocessing.get_context("forkserver").Pool(args.num_workers) as pool:
        frames = sum(tqdm(pool.imap_unordered(_one, jobs), total=len(jobs)))
    print(f"wrote {frames} frames to {args.out_dir}")


if __name__ == "__main__":
    main()
