"""The goal prior running alongside the envs, and the KL to it.

As in upstream, the prior sees every low-level frame (its training data are consecutive frames)
and its memory is cleared only at an episode start. `log_probs[i]` is its distribution over the
codes after the latest frame of env i: the p(·|s_t) of the KL reward.

Its output is only needed where the high level decides (once every `low_level_steps` frames), so
frames are buffered and run through the prior as one (envs, frames) chunk when `log_probs` is read.
The attention is chunk-invariant (`VPT.masked_attention`), so this gives the distributions of a
frame-by-frame run (up to float rounding) at a fraction of the cost: one batched forward of 50
frames costs a few single-frame forwards.

By default (`fast=True`; `PTGM_FAST_INFERENCE=0` turns it off) the frames go through
`VPT.stepper.ImageEncoder` and only the last frame of a chunk through the heads (the others'
outputs are never read); the same log-probs up to float rounding.
"""

from __future__ import annotations

import numpy as np
import torch

from VPT.policy import IMG_FEATURES_KEY, VPTPolicy, forward_rows
from VPT.stepper import ImageEncoder, fast_default

MAX_CHUNK = 128  # frames per forward when flushing a long buffer (bounds activation memory)


class PriorTracker:
    """Batched, per-env goal-prior state for `n_envs` envs."""

    def __init__(self, prior: VPTPolicy, n_envs: int, fast: bool | None = None) -> None:
        self.prior = prior.eval()
        self.fast = fast_default() if fast is None else bool(fast)
        self.encoder = (
            ImageEncoder(prior.net.img_process, n_envs * 50, compile=False) if self.fast else None
        )
        self.n_envs = n_envs
        self.device = prior.device
        self.state = prior.initial_state(n_envs)
        self._next_first = np.ones(n_envs, bool)
        self._frames: list[list[np.ndarray]] = [[] for _ in range(n_envs)]
        self._first: list[list[bool]] = [[] for _ in range(n_envs)]
        n_codes = int(prior.action_space)  # type: ignore[arg-type]
        self._log_probs = np.full((n_envs, n_codes), -np.log(n_codes), np.float32)

    def reset(self, env_ids: np.ndarray) -> None:
        """Forget the past of these envs (their next frame starts an episode)."""
        self._next_first[np.asarray(env_ids, dtype=np.int64)] = True

    def observe(self, frames: np.ndarray, env_ids: np.ndarray) -> None:
        """Queue the new frames (n, H, W, 3) of envs `env_ids` for the prior."""
        for frame, i in zip(frames, np.asarray(env_ids, dtype=np.int64), strict=True):
            self._frames[i].append(np.array(frame, copy=True))
            self._first[i].append(bool(self._next_first[i]))
            self._next_first[i] = False

    @property
    def log_probs(self) -> np.ndarray:
        """(n_envs, N) log-probs of the prior after each env's latest observed frame."""
        self.flush()
        return self._log_probs

    @torch.inference_mode()
    def flush(self) -> None:
        """Run the queued frames through the prior: one forward per group of envs with the same
        number of queued frames (all of them, except after an episode end)."""
        lengths = np.array([len(f) for f in self._frames])
        for length in np.unique(lengths[lengths > 0]):
            ids = np.flatnonzero(lengths == length)
            for start in range(0, int(length), MAX_CHUNK):
                stop = min(int(length), start + MAX_CHUNK)
                self._forward(ids, start, stop)
        for i in range(self.n_envs):
            self._frames[i].clear()
            self._first[i].clear()

    def _forward(self, ids: np.ndarray, start: int, stop: int) -> None:
        frames = np.stack([np.stack(self._frames[i][start:stop]) for i in ids])
        first = np.array([self._first[i][start:stop] for i in ids])
        img = torch.as_tensor(frames, device=self.device)
        every = len(ids) == self.n_envs
        rows = None if every else torch.as_tensor(ids, dtype=torch.long, device=self.device)
        first_t = torch.as_tensor(first, device=self.device)
        if self.encoder is None:
            out, self.state = forward_rows(self.prior, {"img": img}, self.state, first_t, rows)
            self._log_probs[ids] = out.pi_logits[:, -1].float().cpu().numpy()
            return
        net = self.prior.net
        flat = net.scale_images(img.reshape(-1, *img.shape[2:]))
        features = self.encoder(flat).reshape(*img.shape[:2], -1)
        x, self.state = forward_rows(
            net.recurrent, {IMG_FEATURES_KEY: features}, self.state, first_t, rows
        )
        logits = self.prior.pi_head(net.latent(x[:, -1]))
        self._log_probs[ids] = logits.float().cpu().numpy()


def kl_divergence(log_pi: np.ndarray, log_prior: np.ndarray) -> np.ndarray:
    """KL(π ‖ prior) = Σ_a π(a) (log π(a) − log prior(a)) per row (upstream's direction)."""
    return (np.exp(log_pi) * (log_pi - log_prior)).sum(axis=-1)
