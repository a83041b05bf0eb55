"""How many steps a perfect player needs to reach an event from a start: the ceiling of a rate.

A steerability rate (say, drink within 50 steps) means little without the distance the world
puts between the player and the water. `shortest_steps` is a breadth-first search over the start's
map with Crafter's own move rule (a move turns the player and enters the cell when it is grass,
sand or path and free of creatures) until the player faces the material, plus one `do`. It ignores
creatures' moves, darkness and what the agent can see, so it is a lower bound on the steps any
policy needs, and the share of starts within `n` steps is an upper bound on any policy's rate.

    python -m hierarchical.reach --task crafter_log --material water --seed 150000 --starts 50

prints, for the starts of a task (by default the steerability's held-out ones), how often the
material is in the first frame's view and how many steps a perfect player needs.
"""

from __future__ import annotations

import argparse
from typing import Any

import crafter
import numpy as np

import tasks
from steve1.data.generation.navigation import facing_plan
from tasks.crafter.env import view_slice

# Target events that are a `do` on a material; the others (e.g. defeat_zombie) have no bound here.
EVENT_MATERIALS = {"collect_wood": "tree", "collect_drink": "water", "collect_stone": "stone"}


def shortest_steps(env: Any, material: str) -> int | None:
    """Fewest steps from the env's current state to a `do` on `material` (None: unreachable).

    `env` is a task env (its `crafter` attribute is the `crafter.Env`) or a `crafter.Env`.
    """
    crafter_env = getattr(env, "crafter", env)
    world, player = crafter_env._world, crafter_env._player
    mat_map, ids = world._mat_map, world._mat_ids
    if material not in ids:
        raise ValueError(
            f"unknown Crafter material {material!r}; known: {sorted(str(k) for k in ids if k)}"
        )
    target, walkable = ids[material], {ids[m] for m in crafter.constants.walkable}

    def is_target(cell: tuple[int, int]) -> bool:
        return _material(mat_map, *cell) == target

    def is_free(cell: tuple[int, int]) -> bool:
        return _material(mat_map, *cell) in walkable and world[cell][1] is None

    pos = tuple(int(v) for v in player.pos)
    plan = facing_plan(pos, tuple(int(v) for v in player.facing), is_target, is_free)
    return None if plan is None else plan[0]


def _material(mat_map: Any, x: int, y: int) -> int:
    inside = 0 <= x < mat_map.shape[0] and 0 <= y < mat_map.shape[1]
    return int(mat_map[x, y]) if inside else -1


def in_view(env: Any, material: str) -> bool:
    """Whether `material` is in the player's view (Crafter's 9x7 cells around it)."""
    crafter_env = getattr(env, "crafter", env)
    world, player = crafter_env._world, crafter_env._player
    view = world._mat_map[view_slice(player.pos)]
    return bool((view == world._mat_ids[material]).any())


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="How far the starts of a task put a material.")
    p.add_argument("--task", default="crafter_log")
    p.add_argument("--material", default="water", help="tree, water, stone, ...")
    p.add_argument("--seed", type=int, default=150_000, help="first env seed")
    p.add_argument("--starts", type=int, default=50)
    p.add_argument("--steps", type=int, default=50, help="the step limit of the ceiling")
    args = p.parse_args(argv)
    env = tasks.make(args.task)
    needed, seen = [], []
    for seed in range(args.seed, args.seed + args.starts):
        env.reset(seed=seed)
        needed.append(shortest_steps(env, args.material))
        seen.append(in_view(env, args.material))
    reach = np.array([n if n is not None else np.inf for n in needed], float)
    print(
        f"{args.task}, {args.material}, {args.starts} starts from seed {args.seed}: "
        f"in view at the start {int(np.sum(seen))}/{args.starts}; a perfect player needs "
        f"median {np.median(reach):.0f} steps (max {np.max(reach):.0f}); within {args.steps} "
        f"steps: {np.mean(reach <= args.steps):.2f}"
    )


if __name__ == "__main__":
    main()
