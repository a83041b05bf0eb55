"""The play agent's "seen" perception: it only heads for what it has seen, else it searches."""

from __future__ import annotations

import numpy as np
import pytest

from steve1.data.generation.generate_crafter_play import PlayConfig, play_episode
from steve1.data.generation.intentions import Skills
from steve1.data.generation.navigation import MAT
from tasks.crafter.world import DeterministicCrafter


def fresh(seed: int) -> DeterministicCrafter:
    env = DeterministicCrafter(size=(64, 64), length=1000, seed=seed)
    env.reset()
    return env


def test_searches_until_the_water_was_seen():
    water = (MAT["water"],)
    for seed in range(20):  # a start with water out of view
        env = fresh(seed)
        skills = Skills(np.random.default_rng(0), "seen")
        skills.bind(env)
        if not skills.known(np.isin(skills.mat, water)).any():
            break
    else:
        pytest.skip("no start with water out of view")
    assert skills.seen.sum() == 9 * 7  # the view around the player
    action = skills.collect_material(water)
    assert action is not None and skills.nav_key[0] == "search"
    goal = skills.grid.pos(skills.nav_goal)
    assert skills.seen[goal]  # it walks to the edge of what it has seen
    skills.seen[:] = True  # once the water has been seen, it heads for it
    skills.collect_material(water)
    assert skills.nav_key == ("mat", water)


def test_full_perception_knows_everything_and_unknown_perception_fails():
    skills = Skills(np.random.default_rng(0))
    skills.bind(fresh(0))
    mask = np.ones((64, 64), bool)
    assert skills.seen is None and skills.known(mask).all() and skills.search("x") is None
    with pytest.raises(ValueError, match="unknown perception"):
        Skills(np.random.default_rng(0), "psychic")


def test_seen_episode_records_its_perception():
    ep = play_episode(PlayConfig(output_dir=None, max_steps=120, perception="seen"), 0)
    assert ep["metadata"]["generator"]["perception"] == "seen"
    assert len(ep["actions"]) == 120 or ep["metadata"]["died"]
