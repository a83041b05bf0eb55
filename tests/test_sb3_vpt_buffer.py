"""SequenceRolloutBuffer: GAE by hand (terminated and truncated episodes), whole-sequence batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sb3_vpt import SequenceRolloutBuffer
from tests.test_sb3_vpt_envs import tiny_kwargs
from VPT import VPTPolicy

CPU = torch.device("cpu")


def filled_buffer(
    values: np.ndarray, starts: np.ndarray, **kwargs: object
) -> SequenceRolloutBuffer:
    n_steps, n_envs = values.shape
    buffer = SequenceRolloutBuffer(n_steps, n_envs, (2, 2, 3), (), CPU, **kwargs)  # type: ignore[arg-type]
    buffer.reset([])
    for t in range(n_steps):
        buffer.add(
            np.full((n_envs, 2, 2, 3), t, np.uint8),
            np.arange(n_envs) + 10 * t,
            np.zeros(n_envs),
            starts[t],
            torch.as_tensor(values[t]),
            torch.full((n_envs,), -float(t)),
        )
    return buffer


def test_gae_by_hand_with_terminated_and_truncated_episodes() -> None:
    # env 0: an episode terminates after step 1; the one after runs past the rollout.
    # env 1: an episode is truncated after step 2 (terminal value 2.0); the next one terminates
    # at the rollout's last step.
    values = np.array([[0.5, 0.1], [0.4, 0.2], [0.3, 0.3], [0.2, 0.4]], np.float32)
    starts = np.array([[1, 0], [0, 0], [1, 0], [0, 1]], bool)
    buffer = filled_buffer(values, starts, gamma=0.9, gae_lambda=0.8)
    buffer.rewards[:] = [[1, 0], [0, 1], [2, 0], [1, 1]]
    buffer.terminal_values[2, 1] = 2.0
    buffer.compute_returns_and_advantage(np.array([1.0, 5.0]), np.array([False, True]))
    # delta_t = r_t + 0.9 * next value - V_t; A_t = delta_t + 0.72 * A_{t+1} within an episode.
    # env 0: deltas 0.86, -0.4 (terminated), 1.88, 1.7 (bootstraps last_values 1.0)
    # env 1: deltas 0.08, 1.07, 1.5 (= 0.9 * 2.0 - 0.3, truncated), 0.6 (terminated)
    expected = np.array([[0.572, 1.628], [-0.4, 2.15], [3.104, 1.5], [1.7, 0.6]])
    np.testing.assert_allclose(buffer.advantages, expected, atol=1e-6)
    np.testing.assert_allclose(buffer.returns, expected + values, atol=1e-6)


def test_batches_are_whole_env_sequences_from_their_start_state() -> None:
    policy = VPTPolicy(tiny_kwargs(), 3)
    state = policy.initial_state(3)
    for _, keys, _ in state:
        keys += torch.arange(3.0)[:, None, None]  # row i of the memory holds i
    buffer = SequenceRolloutBuffer(4, 3, (2, 2, 3), (), CPU, feature_size=None)
    buffer.reset(state)
    for t in range(4):
        buffer.add(
            np.full((3, 2, 2, 3), t, np.uint8),
            np.arange(3) + 10 * t,
            np.zeros(3),
            np.array([t == 0, False, t == 2]),
            torch.zeros(3),
            torch.zeros(3),
        )
    buffer.compute_returns_and_advantage(np.zeros(3), np.zeros(3, bool))
    np.random.seed(0)
    batches = list(buffer.sequences(envs_per_batch=2))
    assert [len(b.actions) for b in batches] == [2, 1]
    seen = []
    for batch in batches:
        env_ids = batch.actions[:, 0].tolist()
        seen += env_ids
        assert batch.obs is not None and batch.obs.shape[1:] == (4, 2, 2, 3)
        assert batch.actions[:, 3].tolist() == [i + 30 for i in env_ids]
        assert batch.obs[:, 2].eq(2).all() and batch.first.dtype == torch.bool
        assert batch.state0 is not None
        assert batch.state0[0][1][:, 0, 0].tolist() == [float(i) for i in env_ids]
    assert sorted(seen) == [0, 1, 2]
    first = next(b for b in batches if 2 in b.actions[:, 0].tolist())
    row = first.actions[:, 0].tolist().index(2)
    assert first.first[row].tolist() == [False, False, True, False]


def test_full_buffer_rules() -> None:
    buffer = filled_buffer(np.zeros((2, 1), np.float32), np.zeros((2, 1), bool))
    with pytest.raises(RuntimeError, match="full"):
        buffer.add(np.zeros((1, 2, 2, 3), np.uint8), 0, 0, False, torch.zeros(1), torch.zeros(1))
    buffer.reset([])
    with pytest.raises(RuntimeError, match="0 of 2 steps"):
        next(buffer.sequences(1))
