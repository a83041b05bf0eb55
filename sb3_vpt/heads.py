"""The continuous action head and PTGM's re-initialisation of the policy and value heads.

`DiagGaussianHead` is VPT's diagonal-Gaussian action head (upstream `DiagGaussianActionHead`,
checkpoint names `pi_head.linear_layer`, `pi_head.log_std`): a linear mean from the latent and a
state-independent log standard deviation. Its distribution parameters are one tensor
(..., d, 2) holding `[mean, log_std]` in the last axis, as upstream; it offers the same
`log_prob` / `entropy` / `sample` interface as VPT's categorical head, so the policy treats both
heads alike. Actions are unbounded; clipping to the action `Box` happens on the env side only.

`reset_heads_` is upstream's high-level initialisation when no goal prior is loaded: the action
layer orthogonal with gain 0.01 and every row scaled to norm 0.01 (a near-uniform policy, or a
near-zero Gaussian mean), the value layer orthogonal with rows of norm 1, biases zero.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from VPT.policy import VPTPolicy

PI_HEAD_SCALE = 0.01  # upstream's gain for the re-initialised action layer
VALUE_HEAD_SCALE = 1.0


class DiagGaussianHead(nn.Module):
    """Linear mean and a learned, state-independent `log_std` over `dim` action dimensions."""

    def __init__(self, in_features: int, dim: int, log_std_init: float = 0.0) -> None:
        super().__init__()
        self.linear_layer = nn.Linear(in_features, dim)
        self.log_std = nn.Parameter(torch.full((dim,), float(log_std_init)))
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., in_features) -> (..., dim, 2) with `[mean, log_std]` in the last axis."""
        mean = self.linear_layer(x)
        return torch.stack([mean, self.log_std.expand_as(mean)], dim=-1)

    def log_prob(self, params: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Log density of `action` (..., dim), summed over dimensions."""
        mean, log_std = params.unbind(-1)
        z = (action - mean) * torch.exp(-log_std)
        return (-0.5 * z**2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)

    def entropy(self, params: torch.Tensor) -> torch.Tensor:
        log_std = params[..., 1]
        return (log_std + 0.5 * math.log(2 * math.pi * math.e)).sum(-1)

    def sample(self, params: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
        """The mean when deterministic, else mean + std * standard normal noise."""
        mean, log_std = params.unbind(-1)
        if deterministic:
            return mean
        return mean + torch.exp(log_std) * torch.randn_like(mean)


@torch.no_grad()
def orthogonal_rows_(layer: nn.Linear, norm: float) -> None:
    """Orthogonal init with gain `norm`, then every row scaled to exactly `norm`; bias zero."""
    nn.init.orthogonal_(layer.weight, gain=norm)
    layer.weight.mul_(norm / layer.weight.norm(dim=1, keepdim=True))
    if layer.bias is not None:
        layer.bias.zero_()


def reset_heads_(vpt: VPTPolicy) -> None:
    """Upstream's fresh high-level heads (see the module docstring)."""
    orthogonal_rows_(_action_layer(vpt), PI_HEAD_SCALE)
    orthogonal_rows_(vpt.value_head.linear, VALUE_HEAD_SCALE)


def _action_layer(vpt: VPTPolicy) -> nn.Linear:
    layer = getattr(vpt.pi_head, "linear_layer", None)
    if not isinstance(layer, nn.Linear):
        raise TypeError(
            "the high-level policy needs a single action head with a `linear_layer` (a Discrete "
            f"or Box action space); got {type(vpt.pi_head).__name__}"
        )
    return layer
