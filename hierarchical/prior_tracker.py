"""The goal prior running alongside the envs, one frame at a time, and the KL to it.

As in upstream, the prior sees every low-level frame (its training data are consecutive frames)
and its memory is cleared only at an episode start. `log_probs[i]` is its distribution over the
codes after the latest frame of env i: the p(·|s_t) of the KL reward.
"""

from __future__ import annotations

import numpy as np
import torch

from VPT.policy import VPTPolicy, forward_rows


class PriorTracker:
    """Batched, per-env goal-prior state for `n_envs` envs."""

    def __init__(self, prior: VPTPolicy, n_envs: int) -> None:
        self.prior = prior.eval()
        self.n_envs = n_envs
        self.device = prior.device
        self.state = prior.initial_state(n_envs)
        self.first = torch.ones(n_envs, dtype=torch.bool, device=self.device)
        n_codes = int(prior.action_space)  # type: ignore[arg-type]
        self.log_probs = np.full((n_envs, n_codes), -np.log(n_codes), np.float32)

    def reset(self, env_ids: np.ndarray) -> None:
        """Forget the past of these envs (their next frame starts an episode)."""
        self.first[torch.as_tensor(np.asarray(env_ids), dtype=torch.long)] = True

    @torch.no_grad()
    def observe(self, frames: np.ndarray, env_ids: np.ndarray) -> None:
        """Advance the prior of envs `env_ids` on their new frames (n, H, W, 3)."""
        if len(env_ids) == 0:
            return
        rows = torch.as_tensor(np.asarray(env_ids), dtype=torch.long, device=self.device)
        obs = {"img": torch.as_tensor(frames, device=self.device)[:, None]}
        every = np.array_equal(env_ids, np.arange(self.n_envs))  # no gather/scatter needed
        first = self.first[rows, None]
        out, self.state = forward_rows(self.prior, obs, self.state, first, None if every else rows)
        self.first[rows] = False
        self.log_probs[np.asarray(env_ids)] = out.pi_logits[:, 0].float().cpu().numpy()


def kl_divergence(log_pi: np.ndarray, log_prior: np.ndarray) -> np.ndarray:
    """KL(π ‖ prior) = Σ_a π(a) (log π(a) − log prior(a)) per row (upstream's direction)."""
    return (np.exp(log_pi) * (log_pi - log_prior)).sum(axis=-1)
