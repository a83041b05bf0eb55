"""STEVE-1's goal-conditioned policy: VPT plus a linear goal projection added to the image features.

The only new layer is `net.mineclip_embed_linear = Linear(goal_dim, hidsize)` (default PyTorch
init, as upstream: official VPT weights leave it untouched). The goal enters through the obs key
`mineclip_embed`, shaped (B, T, goal_dim), un-normalised; an all-zero goal is the unconditioned
input used for classifier-free guidance. `goal_dim` is 512 for MineCLIP; Crafter's goal encoder
has its own size. In a `.model` file it is the net kwarg `mineclip_embed_dim` (STEVE-1's name).

Beyond STEVE-1, two net kwargs (Crafter experiments; off by default, so STEVE-1's files are
unchanged) let the goal scale and shift features (FiLM), both zero at init:
- `goal_film=True`: `net.goal_film = Linear(goal_dim, 2 * hidsize, bias=False)`; the heads' input
  becomes `latent * (1 + gamma) + beta` with `gamma, beta` the two halves of `goal_film(goal)`;
- `goal_film_cnn=True`: `net.goal_film_cnn = Linear(goal_dim, 2 * sum(CNN channels), bias=False)`;
  the output of every CNN stack is scaled and shifted per channel, so the image features depend
  on the goal (the two guidance streams then need two CNN passes).
A zero goal leaves every feature as it is, so the unconditioned stream of classifier-free guidance
is unchanged, and a model derived from trained weights starts where they are.

A third, `goal_experts=K` (with `goal_expert_rank=r`, default 32), lets the goal pick among K
low-rank corrections of the heads' input, a soft mixture of action heads: with
`g = softmax(goal_gate(goal))`, `latent + sum_k g_k (expert_out_k @ expert_in_k @ latent +
expert_bias_k)`. The heads are linear, so each expert k is its own action head for the goals
that select it (experiments/goal_experts/). `goal_expert_out` and `goal_expert_bias` start at
zero (the model acts as before), `goal_gate` and `goal_expert_in` at random, which lets the
experts specialise. The zero goal gets the gate's bias: a fixed mixture, trained on the
unconditioned chunks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from VPT.heads import ActionSpace, Logits
from VPT.policy import VPTNet, VPTPolicy

GOAL_KEY = "mineclip_embed"
MINECLIP_DIM = 512


class EmbedConditionedNet(VPTNet):
    """VPT trunk whose transformer input is `img_process(img) + mineclip_embed_linear(goal)`."""

    def __init__(
        self,
        *,
        mineclip_embed_dim: int = MINECLIP_DIM,
        goal_film: bool = False,
        goal_film_cnn: bool = False,
        goal_experts: int = 0,
        goal_expert_rank: int = 32,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.goal_dim = int(mineclip_embed_dim)
        # Created after the trunk so it follows `final_ln` in the state dict, as in STEVE-1.
        self.mineclip_embed_linear = nn.Linear(self.goal_dim, self.hidsize)
        self.goal_film = None
        if goal_film:
            self.goal_film = nn.Linear(self.goal_dim, 2 * self.hidsize, bias=False)
            nn.init.zeros_(self.goal_film.weight)
        self.goal_film_cnn = None
        if goal_film_cnn:
            chans = self.img_process.cnn.chans
            self.goal_film_cnn = nn.Linear(self.goal_dim, 2 * sum(chans), bias=False)
            nn.init.zeros_(self.goal_film_cnn.weight)
        self.goal_gate = None
        if goal_experts:
            k, r, h = int(goal_experts), int(goal_expert_rank), self.hidsize
            self.goal_gate = nn.Linear(self.goal_dim, k)
            self.goal_expert_in = nn.Parameter(torch.randn(k, h, r) / h**0.5)
            self.goal_expert_out = nn.Parameter(torch.zeros(k, r, h))
            self.goal_expert_bias = nn.Parameter(torch.zeros(k, h))

    def encode_obs(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.encode_images(obs["img"], self.cnn_film(self._goal(obs)))

    def conditioned_features(
        self, img: torch.Tensor, goal: torch.Tensor, plain: torch.Tensor
    ) -> torch.Tensor:
        """Image features (B, T, hidsize) of frames `img` (B, T, H, W, C) for the stream that
        follows `goal` (B, T, goal_dim): `plain`, the zero goal's features already computed,
        unless `goal_film_cnn` lets the goal shape them (a second CNN pass)."""
        if self.goal_film_cnn is None:
            return plain
        return self.encode_images(img, self.cnn_film(goal))

    def cnn_film(self, goal: torch.Tensor) -> list[torch.Tensor] | None:
        """Per CNN stack, the goal's (..., 2 * channels) scale and shift; None without
        `goal_film_cnn` (the plain CNN)."""
        if self.goal_film_cnn is None:
            return None
        sizes = [2 * c for c in self.img_process.cnn.chans]
        film = self.goal_film_cnn(goal.to(self.goal_film_cnn.weight.dtype))
        return list(film.split(sizes, dim=-1))

    def input_residual(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.mineclip_embed_linear(self._goal(obs))

    def modulate_latent(
        self, latent: torch.Tensor, obs: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        if self.goal_film is None and self.goal_gate is None:
            return latent
        goal = self._goal(obs)
        if self.goal_film is not None:
            gamma, beta = self.goal_film(goal).chunk(2, dim=-1)
            latent = latent * (1.0 + gamma) + beta
        if self.goal_gate is not None:
            latent = latent + self.expert_correction(latent, goal)
        return latent

    def expert_correction(self, latent: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        """`sum_k g_k (expert_out_k @ expert_in_k @ latent + expert_bias_k)`, (..., hidsize)."""
        gate = torch.softmax(self.goal_gate(goal), dim=-1)  # (..., K)
        low = torch.einsum("...h,khr->...kr", latent, self.goal_expert_in) * gate[..., None]
        k, r, h = self.goal_expert_out.shape
        return (
            low.flatten(-2) @ self.goal_expert_out.reshape(k * r, h) + gate @ self.goal_expert_bias
        )

    def _goal(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """`obs[GOAL_KEY]` checked and cast to the weights' dtype."""
        if GOAL_KEY not in obs:
            raise KeyError(
                f"goal-conditioned policy needs obs[{GOAL_KEY!r}] (B, T, {self.goal_dim})"
            )
        goal = obs[GOAL_KEY]
        if goal.shape[-1] != self.goal_dim:
            raise ValueError(
                f"obs[{GOAL_KEY!r}] has {goal.shape[-1]} features, the policy {self.goal_dim}"
            )
        return goal.to(self.mineclip_embed_linear.weight.dtype)


class EmbedConditionedPolicy(VPTPolicy):
    """`VPTPolicy` with `EmbedConditionedNet`.

    :param goal_dim: goal size; overrides `mineclip_embed_dim` in `policy_kwargs` (default 512).
    """

    net_class = EmbedConditionedNet

    def __init__(
        self,
        policy_kwargs: Mapping[str, Any],
        action_space: ActionSpace,
        pi_head_kwargs: Mapping[str, Any] | None = None,
        goal_dim: int | None = None,
    ) -> None:
        extra = {} if goal_dim is None else {"mineclip_embed_dim": goal_dim}
        super().__init__(policy_kwargs, action_space, pi_head_kwargs, **extra)
        self.policy_kwargs["mineclip_embed_dim"] = (
            self.net.goal_dim
        )  # recorded in saved .model files

    @property
    def goal_dim(self) -> int:
        return self.net.goal_dim


def guided_log_probs(cond: Logits, uncond: Logits, cond_scale: float) -> Logits:
    """Classifier-free guidance per head: log_softmax((1 + s) * cond - s * uncond).

    Upstream samples from the unnormalised combination with Gumbel-max; renormalising does not
    change that distribution and makes the result usable as log-probabilities.
    """
    if isinstance(cond, dict):
        return {k: guided_log_probs(cond[k], uncond[k], cond_scale) for k in cond}  # type: ignore[index]
    return torch.log_softmax((1.0 + cond_scale) * cond - cond_scale * uncond, dim=-1)
