"""Success rate of a uniformly random policy on a task: the floor every method must beat.

python -m tasks.random_baseline --config crafter_log --episodes 200 --seed 0
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from tqdm import tqdm

import tasks


def random_success(name: str, episodes: int, seed: int, **overrides: object) -> dict[str, float]:
    """Run `episodes` random-action episodes (env seeds seed, seed+1, ...); success rate, lengths."""
    env = tasks.make(name, **overrides)
    rng = np.random.default_rng(seed)
    successes, lengths, deaths = [], [], []
    for episode in tqdm(range(episodes), desc=name, disable=not sys.stderr.isatty()):
        env.reset(seed=seed + episode)
        done, info, steps, terminated = False, {}, 0, False
        while not done:
            _, _, terminated, truncated, info = env.step(int(rng.integers(env.action_space.n)))
            done, steps = terminated or truncated, steps + 1
        successes.append(info["success"])
        deaths.append(terminated and not info["success"])
        lengths.append(steps)
    return {
        "success": float(np.mean(successes)),
        "mean_length": float(np.mean(lengths)),
        "died": float(np.mean(deaths)),
        "episodes": episodes,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="task name in tasks/task_specs.yaml")
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0, help="first env seed; numpy rng seed")
    parser.add_argument("--max_steps", type=int, default=None, help="override the spec's max_steps")
    args = parser.parse_args(argv)
    overrides = {} if args.max_steps is None else {"max_steps": args.max_steps}
    try:
        stats = random_success(args.config, args.episodes, args.seed, **overrides)
    except tasks.TaskSpecError as err:
        parser.error(str(err))
    print(
        f"{args.config}: random success {stats['success']:.3f} over {args.episodes} episodes "
        f"(mean length {stats['mean_length']:.1f}, died {stats['died']:.2f}, seed {args.seed})"
    )


if __name__ == "__main__":
    main()
