"""The classifier-free-guidance agent: the low level acting toward goals in several envs at once.

For N envs it keeps a recurrent state for 2N streams: the conditioned stream of every env (its
goal) and the unconditioned one (zero goal), each with its own transformer memory. One batched
forward per step; per head, guided log-probs `(1 + λ)·ℓ_cond − λ·ℓ_uncond` (λ = `cond_scale`;
λ = 0 is the plain conditioned policy), then a sample. Memory is cleared only by `reset`.

By default (`fast=True`) the network runs through `VPT.stepper` (`ImageEncoder`,
`TransformerStepper`): the reference path's log-probs up to float rounding, at about 0.7x its
cost per step on a CPU. `fast=False` (or the environment variable `PTGM_FAST_INFERENCE=0`) runs
the plain `VPT.policy.forward_rows` path; `tests/test_fast_inference.py` checks that they agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from steve1.embed_conditioned_policy import GOAL_KEY, EmbedConditionedPolicy, guided_log_probs
from VPT.policy import IMG_FEATURES_KEY, State, forward_rows
from VPT.stepper import ImageEncoder, TransformerStepper, fast_default


class GuidedAgent:
    """Batched guided acting; `act(frames, goals)` -> one action per env.

    :param fast: step the transformer with `TransformerStepper` (default: `fast_default()`).
    """

    def __init__(
        self,
        policy: EmbedConditionedPolicy,
        n_envs: int,
        cond_scale: float = 0.0,
        seed: int = 0,
        fast: bool | None = None,
    ) -> None:
        self.policy = policy.eval()
        self.n_envs, self.cond_scale = n_envs, float(cond_scale)
        self.device = policy.device
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.fast = fast_default() if fast is None else bool(fast)
        if self.fast:
            with torch.inference_mode():
                net = policy.net
                self.encoder = ImageEncoder(net.img_process, n_envs)
                self.stepper = TransformerStepper(net.recurrent_layer, 2 * n_envs, self.device)
        else:
            self.state: State = policy.initial_state(2 * n_envs)
            self._first = torch.ones(2 * n_envs, dtype=torch.bool, device=self.device)

    def reset(self, env_ids: Any = None) -> None:
        """Clear the memory of the given envs (all when None) before their next frame."""
        if env_ids is None:
            env_ids = np.arange(self.n_envs)
        elif np.asarray(env_ids).dtype == bool:  # a `dones` mask
            env_ids = np.flatnonzero(env_ids)
        ids = torch.as_tensor(np.asarray(env_ids), dtype=torch.long)
        rows = torch.cat([ids, ids + self.n_envs])
        if self.fast:
            with torch.inference_mode():
                self.stepper.reset(rows.to(self.device))
        else:
            self._first[rows] = True

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
        with torch.inference_mode():
            guided = self.log_probs(frames, goals, env_ids)
            return _to_numpy(self._sample(guided, deterministic))

    def log_probs(self, frames: np.ndarray, goals: np.ndarray, env_ids: Any = None) -> Any:
        """The guided log-probs (n, ...) that `act` samples from; advances the memory likewise."""
        with torch.inference_mode():
            img = torch.as_tensor(frames, device=self.device)
            goal = torch.as_tensor(goals, dtype=torch.float32, device=self.device)
            every = env_ids is None or np.array_equal(env_ids, np.arange(self.n_envs))
            ids = None if every else np.asarray(env_ids, dtype=np.int64)
            if self.fast:
                return self._guide(self._fast_logits(img, goal, ids), len(img))
            net = self.policy.net
            features = net.encode_images(img[:, None])  # shared by both streams, unless
            cond = net.conditioned_features(img[:, None], goal[:, None], features)  # FiLM
            return self._guide(self._reference_logits(cond, features, goal, ids), len(img))

    def _reference_logits(
        self,
        cond: torch.Tensor,
        uncond: torch.Tensor,
        goal: torch.Tensor,
        ids: np.ndarray | None,
    ) -> Any:
        """Log-probs (2n, ...) of the acting streams through `forward_rows` (cond rows first),
        from the image features of each stream."""
        obs = {
            IMG_FEATURES_KEY: torch.cat([cond, uncond]),
            GOAL_KEY: torch.cat([goal, torch.zeros_like(goal)])[:, None],
        }
        if ids is None:
            rows = torch.arange(2 * self.n_envs, device=self.device)
        else:
            ids_t = torch.as_tensor(ids, device=self.device)
            rows = torch.cat([ids_t, ids_t + self.n_envs])
        first = self._first[rows, None]
        out, self.state = forward_rows(
            self.policy, obs, self.state, first, None if ids is None else rows
        )
        self._first[rows] = False
        return _drop_time(out.pi_logits)

    def _fast_logits(self, img: torch.Tensor, goal: torch.Tensor, ids: np.ndarray | None) -> Any:
        """Same as `_reference_logits` from the frames, through `VPT.stepper`: the encoder on
        the n frames (a second, goal-shaped pass for the conditioned streams with
        `goal_film_cnn`), then one `TransformerStepper` step for all 2n streams."""
        net, n = self.policy.net, self.n_envs
        x = self.encoder(net.scale_images(img))  # shared by both streams, unless
        cond = net.conditioned_features(img[:, None], goal[:, None], x[:, None])[:, 0]  # FiLM
        goals = torch.cat([goal, torch.zeros_like(goal)])
        inputs = torch.cat([cond, x]) + net.input_residual({GOAL_KEY: goals[:, None]})[:, 0]
        inactive = None
        if ids is not None:  # envs that sit out: zero inputs, memory held, outputs dropped
            rows = torch.as_tensor(np.concatenate([ids, ids + n]), device=self.device)
            full = inputs.new_zeros(2 * n, inputs.shape[-1])
            full[rows] = inputs
            inputs = full
            mask = torch.ones(2 * n, dtype=torch.bool, device=self.device)
            mask[rows] = False
            inactive = mask.nonzero()[:, 0]
        if net.pre_lstm_ln is not None:
            inputs = net.pre_lstm_ln(inputs)
        latent = net.latent(self.stepper.step(inputs, inactive))
        if ids is not None:
            latent = latent[rows]
        return self.policy.pi_head(net.modulate_latent(latent, {GOAL_KEY: goals}))

    def _guide(self, logits: Any, n: int) -> Any:
        cond, uncond = _split(logits, 0, n), _split(logits, n, 2 * n)
        return guided_log_probs(cond, uncond, self.cond_scale) if self.cond_scale else cond

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
