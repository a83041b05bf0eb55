"""The classifier-free-guidance agent: the low level acting toward goals in several envs at once.

For N envs it keeps a recurrent state for 2N streams: the conditioned stream of every env (its
goal) and the unconditioned one (zero goal), each with its own transformer memory. One batched
forward per step; per head, guided log-probs `(1 + λ)·ℓ_cond − λ·ℓ_uncond` (λ = `cond_scale`;
λ = 0 is the plain conditioned policy), then a sample. Memory is cleared only by `reset`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from steve1.embed_conditioned_policy import GOAL_KEY, EmbedConditionedPolicy, guided_log_probs
from VPT.policy import IMG_FEATURES_KEY, State, forward_rows


class GuidedAgent:
    """Batched guided acting; `act(frames, goals)` -> one action per env."""

    def __init__(
        self, policy: EmbedConditionedPolicy, n_envs: int, cond_scale: float = 0.0, seed: int = 0
    ) -> None:
        self.policy = policy.eval()
        self.n_envs, self.cond_scale = n_envs, float(cond_scale)
        self.device = policy.device
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.state: State = policy.initial_state(2 * n_envs)
        self._first = torch.ones(2 * n_envs, dtype=torch.bool, device=self.device)

    def reset(self, env_ids: Any = None) -> None:
        """Clear the memory of the given envs (all when None) before their next frame."""
        if env_ids is None:
            env_ids = np.arange(self.n_envs)
        elif np.asarray(env_ids).dtype == bool:  # a `dones` mask
            env_ids = np.flatnonzero(env_ids)
        ids = torch.as_tensor(np.asarray(env_ids), dtype=torch.long)
        self._first[ids] = True
        self._first[ids + self.n_envs] = True

    @torch.no_grad()
    def act(
        self,
        frames: np.ndarray,
        goals: np.ndarray,
        deterministic: bool = False,
        env_ids: Any = None,
    ) -> Any:
        """`frames` uint8 (n, H, W, 3), `goals` float (n, D) -> actions (n,) (or a dict of them).

        With `env_ids` (n indices) only those envs act and advance their memory; the others
        (e.g. envs whose episode ended inside a high-level step) are left untouched.
        """
        img = torch.as_tensor(frames, device=self.device)
        goal = torch.as_tensor(goals, dtype=torch.float32, device=self.device)
        features = self.policy.net.encode_images(img[:, None])  # once for both streams
        obs = {
            IMG_FEATURES_KEY: torch.cat([features, features]),
            GOAL_KEY: torch.cat([goal, torch.zeros_like(goal)])[:, None],
        }
        every = env_ids is None or np.array_equal(env_ids, np.arange(self.n_envs))
        if every:
            rows = torch.arange(2 * self.n_envs, device=self.device)
        else:
            ids = torch.as_tensor(np.asarray(env_ids), dtype=torch.long, device=self.device)
            rows = torch.cat([ids, ids + self.n_envs])
        first = self._first[rows, None]
        out, self.state = forward_rows(self.policy, obs, self.state, first, None if every else rows)
        self._first[rows] = False
        logits = _drop_time(out.pi_logits)
        n = len(img)
        cond, uncond = _split(logits, 0, n), _split(logits, n, 2 * n)
        guided = guided_log_probs(cond, uncond, self.cond_scale) if self.cond_scale else cond
        return _to_numpy(self._sample(guided, deterministic))

    def _sample(self, logits: Any, deterministic: bool) -> Any:
        if isinstance(logits, dict):
            return {k: self._sample(v, deterministic) for k, v in logits.items()}
        if deterministic:
            return logits.argmax(-1)
        u = torch.rand(logits.shape, generator=self.generator, device=self.device)
        return (logits - torch.log(-torch.log(u.clamp_(1e-10, 1 - 1e-7)))).argmax(-1)


def _drop_time(logits: Any) -> Any:
    return {k: v[:, 0] for k, v in logits.items()} if isinstance(logits, dict) else logits[:, 0]


def _split(logits: Any, start: int, stop: int) -> Any:
    if isinstance(logits, dict):
        return {k: v[start:stop] for k, v in logits.items()}
    return logits[start:stop]


def _to_numpy(action: Any) -> Any:
    if isinstance(action, dict):
        return {k: v.cpu().numpy() for k, v in action.items()}
    return action.cpu().numpy()
