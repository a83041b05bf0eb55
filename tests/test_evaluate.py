"""Evaluation: exact episode quota per env, fixed and random code actors, the Wilson interval."""

import numpy as np
import pytest

from hierarchical.evaluate import FixedCodeActor, RandomCodeActor, evaluate_actor, wilson_interval
from tests.test_highlevel_env import make_env


def test_wilson_interval():
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-3) and high == pytest.approx(0.5962, abs=1e-3)


def test_evaluation_counts_each_envs_quota_once():
    env = make_env(n_envs=2, max_steps=4, low_level_steps=3)
    result = evaluate_actor(FixedCodeActor(2), env, episodes=3, progress=False)
    assert result.episodes == 3 and 0 <= result.successes <= 3
    assert result.low_level_steps <= 4
    assert result.as_dict()["ci95_low"] <= result.success_rate <= result.as_dict()["ci95_high"]


def test_random_code_actor_is_seeded_and_in_range():
    a, b = RandomCodeActor(5, seed=1), RandomCodeActor(5, seed=1)
    frames = np.zeros((4, 8, 8, 3), np.uint8)
    first = np.ones(4, bool)
    codes = [a.act(frames, first) for _ in range(20)]
    np.testing.assert_array_equal(codes, [b.act(frames, first) for _ in range(20)])
    assert np.concatenate(codes).min() >= 0 and np.concatenate(codes).max() < 5
