"""The shortest-path ceiling of a steerability rate, on hand-made maps."""

import numpy as np
import pytest

import tasks
from hierarchical.reach import in_view, main, shortest_steps
from tests.helpers import env_with_map


def test_distance_turn_and_do():
    env, player = env_with_map(["P..T"])
    player.facing = (1, 0)
    assert shortest_steps(env, "tree") == 3  # two moves to the tree's neighbour, then do
    env, player = env_with_map(["PT"])
    player.facing = (1, 0)
    assert shortest_steps(env, "tree") == 1  # already facing it
    player.facing = (0, 1)
    assert shortest_steps(env, "tree") == 2  # turn, then do


def test_walls_and_unreachable():
    env, player = env_with_map(["P#T", "..."])
    player.facing = (1, 0)
    assert shortest_steps(env, "tree") == 5  # down, right, right, turn up (blocked), do
    assert shortest_steps(env, "water") is None
    with pytest.raises(ValueError, match="unknown Crafter material"):
        shortest_steps(env, "wood")


def test_real_starts_are_mostly_close():
    env = tasks.make("crafter_log")
    steps = []
    for seed in range(5):
        env.reset(seed=seed)
        steps.append(shortest_steps(env, "tree"))
    assert all(s is not None and 1 <= s < 64 for s in steps)
    assert np.median(steps) < 30


def test_in_view_and_the_report(capsys):
    env, player = env_with_map(["P....T"])  # the tree 5 columns away: out of the 9x7 view
    assert not in_view(env, "tree") and shortest_steps(env, "tree") is not None
    env, player = env_with_map(["P...T"])
    assert in_view(env, "tree")
    main(["--task", "crafter_log", "--material", "tree", "--starts", "3", "--seed", "0"])
    out = capsys.readouterr().out
    assert "crafter_log, tree, 3 starts from seed 0: in view at the start" in out
