"""VPTPPO learns: a color -> action task from pixels (and fails with lr 0); Box actions run."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback

from sb3_vpt import VPTPPO
from tests.test_sb3_vpt_envs import PALETTE, SIZE, GoalEnv, tiny_kwargs, vec_env

N_COLORS = 3


class RolloutRewards(BaseCallback):
    """Mean learning reward of every rollout (the share of correct actions, without a shaper)."""

    def __init__(self) -> None:
        super().__init__()
        self.means: list[float] = []

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self.means.append(float(self.model.rollout_buffer.rewards.mean()))


def train_color_task(learning_rate: float, total_timesteps: int) -> tuple[VPTPPO, list[float]]:
    env = vec_env(8, n_colors=N_COLORS, length=4)  # random colors, 4-step episodes
    model = VPTPPO(
        "VPTPolicy",
        env,
        learning_rate=learning_rate,
        n_steps=8,
        batch_size=16,
        n_epochs=4,
        gamma=0.9,
        policy_kwargs={"vpt_kwargs": tiny_kwargs(), "trainable": "all"},
        device="cpu",
        seed=1,
    )
    rewards = RolloutRewards()
    model.learn(total_timesteps, callback=rewards)
    return model, rewards.means


def greedy_success(model: VPTPPO, episodes: int = 20) -> float:
    """Share of correct greedy actions over fresh 4-step episodes, acting with memory."""
    rng = np.random.default_rng(0)
    correct = 0
    for _ in range(episodes):
        state: Any = None
        for t in range(4):
            color = int(rng.integers(N_COLORS))
            frame = np.broadcast_to(PALETTE[color], (SIZE, SIZE, 3))
            action, state = model.policy.predict(frame, state, np.array([t == 0]), True)
            correct += int(action == color)
    return correct / (episodes * 4)


def test_ppo_learns_which_action_each_color_asks_for() -> None:
    model, means = train_color_task(1e-3, 2000)
    assert means[0] < 0.5  # a near-uniform start: about 1/3 correct
    assert np.mean(means[-4:]) >= 0.85, means
    assert greedy_success(model) >= 0.9


def test_a_learner_that_cannot_learn_fails_the_same_bar() -> None:
    model, means = train_color_task(0.0, 640)
    assert np.mean(means[-4:]) < 0.6, means


def test_box_actions_are_sampled_raw_and_clipped_for_the_env_only() -> None:
    env = vec_env(4, cls=GoalEnv, n_colors=4, length=4)
    model = VPTPPO(
        "VPTPolicy",
        env,
        learning_rate=1e-3,
        n_steps=8,
        batch_size=16,
        n_epochs=2,
        policy_kwargs={"vpt_kwargs": tiny_kwargs()},
        device="cpu",
        seed=0,
    )
    log_std = model.policy.vpt.pi_head.log_std.detach().clone()
    model.learn(64)
    buffer = model.rollout_buffer
    assert buffer.actions.shape == (8, 4, 2) and np.abs(buffer.actions).max() > 1.0
    colors = np.argmax((buffer.frames[:, :, 0, 0, None, :] == PALETTE).all(-1), -1)
    clipped = np.clip(buffer.actions, -1.0, 1.0)
    expected = -((clipped - GoalEnv.TARGETS[colors]) ** 2).sum(-1)
    np.testing.assert_allclose(buffer.rewards, expected, rtol=1e-5, atol=1e-6)
    assert not torch.equal(model.policy.vpt.pi_head.log_std, log_std)
    assert "train/std" in model.logger.name_to_value
    actions, _ = model.predict(buffer.frames[0])
    assert actions.shape == (4, 2) and np.abs(actions).max() <= 1.0
