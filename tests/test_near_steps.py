"""The play agent's `near_steps`: the last steps to a material by the fewest actions, turns counted."""

from __future__ import annotations

import numpy as np
import pytest

from hierarchical.reach import shortest_steps
from steve1.data.generation.generate_crafter_play import PlayConfig, main, play_episode
from steve1.data.generation.intentions import Skills
from steve1.data.generation.navigation import DO, MAT, MOVE_ACTION, facing_plan
from tests.helpers import env_with_map

# Water to the left of the player and above that; the player faces left:
#   y=0  W W W .
#   y=1  W W . P
ROWS = ["WWW.", "WW.P"]
WATER = {(0, 0), (1, 0), (2, 0), (0, 1), (1, 1)}
FREE = {(3, 0), (2, 1)}


def test_facing_plan_counts_the_turn():
    left, up = (-1, 0), (0, -1)
    # One move left faces the water: move, do. Up leaves it to the side: move, turn, do.
    assert facing_plan((3, 1), left, WATER.__contains__, FREE.__contains__) == (
        2,
        MOVE_ACTION[left],
    )
    # Facing up, the same two actions still win (the move left turns the player too).
    assert facing_plan((3, 1), up, WATER.__contains__, FREE.__contains__) == (2, MOVE_ACTION[left])
    assert facing_plan((2, 1), left, WATER.__contains__, FREE.__contains__) == (1, DO)
    assert facing_plan((3, 1), left, WATER.__contains__, FREE.__contains__, limit=1) is None
    assert facing_plan((3, 1), left, lambda c: False, FREE.__contains__) is None


def drink_from_map(near_steps: int, seed: int) -> list[int]:
    """The perfect player's count before each of the agent's actions, until it drinks."""
    env, player = env_with_map(ROWS)
    player.facing = (0, 1)  # down, into lava
    player.inventory["drink"] = 5
    skills = Skills(np.random.default_rng(seed), "full", near_steps=near_steps)
    counts = []
    while player.inventory["drink"] == 5 and len(counts) < 6:
        counts.append(shortest_steps(env, "water"))
        skills.bind(env.crafter)
        env.step(skills.collect_material((MAT["water"],)))
    assert player.inventory["drink"] == 6
    return counts


def test_near_steps_takes_the_fewest_actions_to_the_water():
    # Every action cuts the count by one: move left (it faces the water), do.
    assert all(drink_from_map(8, seed) == [2, 1] for seed in range(5))
    # Without it the agent walks to any cell beside the water, and moving up costs a turn.
    assert any(drink_from_map(0, seed) == [2, 2, 1] for seed in range(5))


def test_seen_perception_plans_only_to_water_it_has_seen():
    env, player = env_with_map(ROWS)
    player.facing = (0, 1)
    skills = Skills(np.random.default_rng(0), "seen", near_steps=8)
    skills.bind(env.crafter)
    skills.seen[:] = False  # forget the view: the water next to it is unknown
    # No plan toward the unseen water (and, having seen nothing, nowhere to search).
    assert skills.collect_material((MAT["water"],)) is None
    skills.bind(env.crafter)  # the view is seen again
    assert skills.collect_material((MAT["water"],)) == MOVE_ACTION[(-1, 0)]


def test_near_steps_is_recorded_and_checked(capsys):
    cfg = PlayConfig(output_dir=None, max_steps=60, near_steps=8)
    assert play_episode(cfg, 0)["metadata"]["generator"]["near_steps"] == 8
    with pytest.raises(ValueError, match="near_steps must be >= 0"):
        Skills(np.random.default_rng(0), near_steps=-1)
    with pytest.raises(SystemExit):
        main(["--output_dir", "unused", "--near_steps", "-1"])
    assert "argument --near_steps: must be >= 0" in capsys.readouterr().err
