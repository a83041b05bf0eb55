"""A rollout buffer of whole env sequences, with the memory each env had when the rollout began.

Per (step, env) it stores the uint8 frame, the action, the reward used for learning (env reward
plus the shaping term), the shaping term alone, the episode-start flag of the frame, the value and
log-prob from acting, and for truncated episodes the value of the terminal observation. Per env
it stores the transformer memory at the rollout's start (`start_state`): re-running an env's
n_steps frames from it rebuilds exactly the memory the policy had when acting, including the part
of the episode played in earlier rollouts. (Upstream rebuilt the memory at minibatch sequence
starts from the current rollout only, zero-padding earlier context, so even the first epoch's
ratios were not 1.) With a frozen trunk the transformer outputs from acting (`features`) are kept
too, and training skips the trunk.

Returns and advantages are GAE(lambda). An episode ends after step t when the next frame starts
an episode (`episode_starts[t + 1]`, or `dones` after the last step): its next value is 0, except
for a truncated episode (SB3's `infos[i]["TimeLimit.truncated"]`), whose next value is the value
of `infos[i]["terminal_observation"]` given the episode's memory (`terminal_values`). SB3 adds
that bootstrap into the reward; it is kept apart here so `rewards` stay what the env and the
shaper gave.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np
import torch

from VPT.policy import State, map_state


class SequenceBatch(NamedTuple):
    """B whole env sequences of T = n_steps; every tensor is batch-first (B, T, ...).

    `obs` and `state0` are None when `features` (the frozen trunk's outputs) are given."""

    obs: torch.Tensor | None
    actions: torch.Tensor
    first: torch.Tensor
    state0: State | None
    features: torch.Tensor | None
    old_values: torch.Tensor
    old_log_probs: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor


class SequenceRolloutBuffer:
    """Rollout storage for `n_envs` recurrent streams over `n_steps` steps (see module docstring).

    :param img_shape: (H, W, C) of the uint8 frames.
    :param action_shape: () for Discrete (int64 actions), (d,) for a Box (float32).
    :param feature_size: the transformer's width when the trunk is frozen (features are kept),
        else None.
    """

    def __init__(
        self,
        n_steps: int,
        n_envs: int,
        img_shape: Sequence[int],
        action_shape: tuple[int, ...],
        device: torch.device,
        gamma: float = 0.999,
        gae_lambda: float = 0.95,
        feature_size: int | None = None,
    ) -> None:
        self.n_steps, self.n_envs = n_steps, n_envs
        self.device, self.gamma, self.gae_lambda = device, gamma, gae_lambda
        shape = (n_steps, n_envs)
        self.frames = np.zeros((*shape, *img_shape), np.uint8)
        action_dtype = np.int64 if action_shape == () else np.float32
        self.actions = np.zeros((*shape, *action_shape), action_dtype)
        self.rewards = np.zeros(shape, np.float32)
        self.shaping = np.zeros(shape, np.float32)
        self.episode_starts = np.zeros(shape, bool)
        self.values = np.zeros(shape, np.float32)
        self.log_probs = np.zeros(shape, np.float32)
        self.terminal_values = np.zeros(shape, np.float32)
        self.advantages = np.zeros(shape, np.float32)
        self.returns = np.zeros(shape, np.float32)
        self.features = (
            None
            if feature_size is None
            else torch.zeros(*shape, feature_size, dtype=torch.float32, device=device)
        )
        self.start_state: State | None = None
        self.pos = 0

    @property
    def full(self) -> bool:
        return self.pos == self.n_steps

    def reset(self, start_state: State) -> None:
        """Start a rollout whose envs have memory `start_state` (detached, kept as given)."""
        self.start_state = map_state(torch.Tensor.detach, start_state)
        self.pos = 0
        for array in (self.rewards, self.shaping, self.terminal_values):
            array.fill(0.0)

    def add(
        self,
        frames: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        episode_starts: np.ndarray,
        values: torch.Tensor,
        log_probs: torch.Tensor,
        shaping: np.ndarray | None = None,
        terminal_values: np.ndarray | None = None,
        features: torch.Tensor | None = None,
    ) -> None:
        """Store one step of every env; `rewards` already include `shaping`."""
        if self.full:
            raise RuntimeError("the rollout buffer is full: call reset() before adding steps")
        t = self.pos
        self.frames[t] = frames
        self.actions[t] = actions
        self.rewards[t] = rewards
        self.episode_starts[t] = episode_starts
        self.values[t] = values.detach().cpu().numpy()
        self.log_probs[t] = log_probs.detach().cpu().numpy()
        if shaping is not None:
            self.shaping[t] = shaping
        if terminal_values is not None:
            self.terminal_values[t] = terminal_values
        if self.features is not None:
            if features is None:
                raise ValueError("this buffer keeps the frozen trunk's features: pass features")
            self.features[t] = features.detach()
        self.pos += 1

    def compute_returns_and_advantage(self, last_values: np.ndarray, dones: np.ndarray) -> None:
        """GAE over the rollout. `last_values`: values of the frames after the last step
        (given the memory); `dones`: whether the last step ended each env's episode."""
        last_gae = np.zeros(self.n_envs, np.float32)
        for t in reversed(range(self.n_steps)):
            if t == self.n_steps - 1:
                ends, next_values = np.asarray(dones, bool), np.asarray(last_values, np.float32)
            else:
                ends, next_values = self.episode_starts[t + 1], self.values[t + 1]
            going_on = 1.0 - ends.astype(np.float32)
            bootstrap = next_values * going_on + self.terminal_values[t]
            delta = self.rewards[t] + self.gamma * bootstrap - self.values[t]
            last_gae = delta + self.gamma * self.gae_lambda * going_on * last_gae
            self.advantages[t] = last_gae
        self.returns = self.advantages + self.values

    def sequences(self, envs_per_batch: int) -> Iterator[SequenceBatch]:
        """Minibatches of whole env sequences, envs in a random order (numpy's global RNG)."""
        if not self.full:
            raise RuntimeError(f"the rollout holds {self.pos} of {self.n_steps} steps")
        order = np.random.permutation(self.n_envs)
        for start in range(0, self.n_envs, envs_per_batch):
            yield self.batch(order[start : start + envs_per_batch])

    def batch(self, env_ids: np.ndarray) -> SequenceBatch:
        """The full sequences of the envs `env_ids`."""
        ids = np.asarray(env_ids)
        ids_t = torch.as_tensor(ids, dtype=torch.long, device=self.device)

        def seq(array: np.ndarray, dtype: torch.dtype | None = None) -> torch.Tensor:
            return torch.as_tensor(array[:, ids].swapaxes(0, 1), dtype=dtype, device=self.device)

        if self.features is None:
            assert self.start_state is not None
            obs, features = seq(self.frames), None
            state0 = map_state(lambda x: x[ids_t], self.start_state)
        else:
            obs, state0, features = None, None, self.features[:, ids_t].transpose(0, 1)
        return SequenceBatch(
            obs=obs,
            actions=seq(self.actions),
            first=seq(self.episode_starts, torch.bool),
            state0=state0,
            features=features,
            old_values=seq(self.values),
            old_log_probs=seq(self.log_probs),
            advantages=seq(self.advantages),
            returns=seq(self.returns),
        )
