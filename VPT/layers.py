"""Basic layers of the VPT network: a norm -> conv/linear -> ReLU unit with fan-in initialisation.

VPT normalises the *input* of a layer (not its output) and drops the layer's bias whenever a norm is
present; the parameter names `norm` and `layer` are those of the official checkpoints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F


@torch.no_grad()
def fan_in_init_(layer: nn.Linear | nn.Conv2d, scale: float = 1.0) -> None:
    """Give every output unit a weight vector of norm `scale` and a zero bias.

    With ReLU units this keeps activations near unit scale without depending on the fan-in.
    """
    weight = layer.weight
    norm = weight.norm(dim=tuple(range(1, weight.ndim)), p=2, keepdim=True)
    weight.mul_(scale / norm)
    if layer.bias is not None:
        layer.bias.zero_()


def normed_linear(
    in_features: int, out_features: int, scale: float, bias: bool = True
) -> nn.Linear:
    """An `nn.Linear` whose rows start with norm `scale` (VPT's attention projections)."""
    layer = nn.Linear(in_features, out_features, bias=bias)
    fan_in_init_(layer, scale)
    return layer


def make_norm(
    kind: str, channels: int, groups: int | None = None
) -> nn.GroupNorm | nn.LayerNorm | None:
    """`'group'` (over C, H, W with per-channel affine), `'layer'` (last axis) or `'none'`."""
    if kind == "group":
        return nn.GroupNorm(groups or 1, channels)
    if kind == "layer":
        return nn.LayerNorm(channels)
    if kind == "none":
        return None
    raise ValueError(f"unknown norm {kind!r}; expected 'group', 'layer' or 'none'")


def norm_kind(norm_kwargs: Mapping[str, Any]) -> tuple[str, int | None]:
    """Translate VPT's `init_norm_kwargs` (`group_norm_groups`, `layer_norm`, `batch_norm`)."""
    if norm_kwargs.get("batch_norm"):
        raise NotImplementedError(
            "init_norm_kwargs batch_norm=True is not supported (the official VPT models use "
            "group_norm_groups=1)"
        )
    if norm_kwargs.get("group_norm_groups") is not None:
        return "group", int(norm_kwargs["group_norm_groups"])
    if norm_kwargs.get("layer_norm"):
        return "layer", None
    return "none", None


class FanInLayer(nn.Module):
    """Optional norm of the input, then a conv or linear layer (bias only without norm), then ReLU.

    :param kind: `'conv'` (3x3, padding 1 unless overridden) or `'linear'`.
    :param norm: see `make_norm`; the norm acts on `in_features` channels.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        kind: str = "conv",
        norm: str = "none",
        groups: int | None = None,
        init_scale: float = 1.0,
        use_activation: bool = True,
        kernel_size: int = 3,
        padding: int = 1,
    ) -> None:
        super().__init__()
        self.norm = make_norm(norm, in_features, groups)
        bias = self.norm is None
        if kind == "conv":
            self.layer: nn.Module = nn.Conv2d(
                in_features, out_features, kernel_size, padding=padding, bias=bias
            )
        elif kind == "linear":
            self.layer = nn.Linear(in_features, out_features, bias=bias)
        else:
            raise ValueError(f"unknown layer kind {kind!r}")
        self.use_activation = use_activation
        fan_in_init_(self.layer, init_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activate(self.preactivation(x))

    def preactivation(self, x: torch.Tensor) -> torch.Tensor:
        """The norm and the conv/linear layer, without the ReLU."""
        if self.norm is not None:
            x = self.norm(x)
        return self.layer(x)

    def activate(self, x: torch.Tensor) -> torch.Tensor:
        """The ReLU (if any), in place: `x` is a fresh layer output that autograd does not keep."""
        return F.relu_(x) if self.use_activation else x
