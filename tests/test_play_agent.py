"""Tests of the scripted Crafter play agent (fast: a few short episodes)."""

from __future__ import annotations

import crafter
import numpy as np
import pytest

from steve1.data.generation.play_agent import INTENTIONS, PlayAgent


def _env(seed: int, length: int) -> crafter.Env:
    return crafter.Env(size=(64, 64), length=length, seed=seed)


def test_same_seed_same_actions_in_lockstep() -> None:
    """Two agents with equal seeds choose equal actions on the same states.

    They share one env and step in lockstep: Crafter itself is not bit-reproducible across runs
    (its chunk balancing iterates a set of objects, whose order depends on memory addresses).
    """
    env = _env(seed=3, length=200)
    a, b = PlayAgent(np.random.default_rng(7)), PlayAgent(np.random.default_rng(7))
    env.reset()
    a.reset(env)
    b.reset(env)
    done = False
    while not done:
        action = a.act(env)
        assert b.act(env) == action
        assert a.intention == b.intention
        _, _, done, _ = env.step(action)


def test_actions_in_range_and_intentions_known() -> None:
    env = _env(seed=1, length=300)
    agent = PlayAgent(np.random.default_rng(0), epsilon=0.3)
    env.reset()
    agent.reset(env)
    done = False
    while not done:
        action = agent.act(env)
        assert isinstance(action, int) and 0 <= action < env.action_space.n
        assert agent.intention in INTENTIONS
        _, _, done, _ = env.step(action)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_collects_wood_quickly(seed: int) -> None:
    env = _env(seed=seed, length=150)
    agent = PlayAgent(np.random.default_rng(seed))
    env.reset()
    agent.reset(env)
    done = False
    while not done:
        _, _, done, _ = env.step(agent.act(env))
    assert "collect_wood" in env._unlocked


def test_does_not_touch_env_rng() -> None:
    """Acting must not consume the world's random stream (the dynamics must stay unchanged)."""
    env = _env(seed=5, length=50)
    env.reset()
    agent = PlayAgent(np.random.default_rng(0))
    agent.reset(env)
    key, pos = env._world.random.get_state()[1:3]
    key = key.copy()
    for _ in range(5):
        agent.act(env)
    after = env._world.random.get_state()
    assert np.array_equal(after[1], key) and after[2] == pos


@pytest.mark.parametrize("drink_when_full", [False, True])
def test_a_drink_task_drinks_with_a_full_bar_only_when_asked(drink_when_full: bool) -> None:
    """Crafter counts a drink at full; the play data must show it (every episode starts full)."""
    from steve1.data.generation.play_agent import Task

    env = _env(seed=0, length=300)
    env.reset()
    agent = PlayAgent(np.random.default_rng(0), drink_when_full=drink_when_full)
    agent.reset(env)
    player = env._player
    agent.task = Task(
        "collect_drink", deadline=10**6, amount=2, base=player.achievements["collect_drink"]
    )
    for _ in range(200):
        player.inventory["drink"] = 9  # the bar stays full throughout
        player._thirst = 0
        _, _, done, _ = env.step(agent.act(env))
        if player.achievements["collect_drink"] >= 2 or done:
            break
    assert (player.achievements["collect_drink"] >= 2) == drink_when_full


def test_play_stats_count_drinks_taken_with_a_full_bar(tmp_path) -> None:
    from steve1.data.episode_storage import EpisodeReader, write_episode
    from steve1.data.generation.crafter_state import ACHIEVEMENTS, ITEMS
    from steve1.data.generation.play_stats import drinks_at_full

    length = 6
    inventory = np.zeros((length, 16), np.uint8)
    inventory[:, ITEMS.index("drink")] = [7, 8, 9, 9, 9, 8]
    achievements = np.zeros((length, 22), np.uint16)
    achievements[:, ACHIEVEMENTS.index("collect_drink")] = [0, 1, 2, 3, 3, 3]  # drank at 7, 8, 9
    frames = np.zeros((length, 64, 64, 3), np.uint8)
    path = write_episode(
        tmp_path / "ep",
        frames,
        np.zeros(length, np.int64),
        np.zeros((length, 4), np.float32),
        {"world": "crafter"},
        {"inventory": inventory, "achievements": achievements},
    )
    assert drinks_at_full(EpisodeReader(path)) == (3, 1)
