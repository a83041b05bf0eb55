"""VPT's stack of residual transformer blocks (`recurrent_layer.blocks.<i>`).

One block: `x = pre_r_ln(x)`, then the attention layer adds its output to that normalised `x`
(VPT's attention is residual around its own input, so the pre-norm value, not the block input,
carries on), then an optional residual MLP `x + mlp1(mlp0(x))` where `mlp0` = layer norm, linear
(no bias), ReLU and `mlp1` = linear with bias (ReLU only with `pointwise_use_activation`).
"""

from __future__ import annotations

import torch
from torch import nn

from VPT.layers import FanInLayer
from VPT.masked_attention import BlockState, MaskedAttention


class ResidualRecurrentBlock(nn.Module):
    """Attention over past frames followed by a pointwise MLP."""

    def __init__(
        self,
        hidsize: int,
        timesteps: int,
        attention_heads: int,
        attention_memory_size: int,
        init_scale: float = 1.0,
        is_residual: bool = True,
        use_pointwise_layer: bool = True,
        pointwise_ratio: int = 4,
        pointwise_use_activation: bool = False,
    ) -> None:
        super().__init__()
        s = init_scale
        self.is_residual = is_residual
        self.use_pointwise_layer = use_pointwise_layer
        # The MLP is created before the attention: that fixes the checkpoint's key order.
        if use_pointwise_layer:
            if is_residual:
                s *= 2**-0.5  # the MLP is a second residual branch
            width = hidsize * pointwise_ratio
            self.mlp0 = FanInLayer(hidsize, width, "linear", "layer")
            self.mlp1 = FanInLayer(
                width,
                hidsize,
                "linear",
                "none",
                init_scale=s,
                use_activation=pointwise_use_activation,
            )
        self.pre_r_ln = nn.LayerNorm(hidsize)
        self.r = MaskedAttention(hidsize, attention_heads, attention_memory_size, timesteps, s)

    def forward(
        self, x: torch.Tensor, first: torch.Tensor, state: BlockState
    ) -> tuple[torch.Tensor, BlockState]:
        x, state = self.r(self.pre_r_ln(x), first, state)
        if self.use_pointwise_layer:
            y = self.mlp1(self.mlp0(x))
            x = x + y if self.is_residual else y
        return x, state


class ResidualRecurrentBlocks(nn.Module):
    """`n_block` blocks applied in turn, each with its own memory."""

    def __init__(self, n_block: int, is_residual: bool = True, **block_kwargs: object) -> None:
        super().__init__()
        init_scale = n_block**-0.5 if is_residual else 1.0
        self.blocks = nn.ModuleList(
            ResidualRecurrentBlock(init_scale=init_scale, is_residual=is_residual, **block_kwargs)
            for _ in range(n_block)
        )

    def initial_state(
        self, batch_size: int, device: torch.device | None = None
    ) -> list[BlockState]:
        return [block.r.initial_state(batch_size, device) for block in self.blocks]

    def forward(
        self, x: torch.Tensor, first: torch.Tensor, state: list[BlockState]
    ) -> tuple[torch.Tensor, list[BlockState]]:
        if len(state) != len(self.blocks):
            raise ValueError(f"state has {len(state)} layers, the model {len(self.blocks)}")
        new_state = []
        for block, block_state in zip(self.blocks, state, strict=True):
            x, block_state = block(x, first, block_state)
            new_state.append(block_state)
        return x, new_state
