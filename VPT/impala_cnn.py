"""The image encoder: an IMPALA-style CNN, a dense layer and a projection to the model width.

Layout (names as in the official checkpoints): `cnn.stacks.<i>` = `firstconv` (3x3 conv, its input
normalised except in stack 0), 3x3/2 max-pool, group norm `n`, then `blocks.<j>` residual blocks of
two normalised 3x3 convs; `cnn.dense` (layer norm over the flattened C*H*W map, linear, ReLU);
`linear` (layer norm, linear to `hidsize`, ReLU).

The conv stacks run on several frames in channels-last memory (oneDNN's fast layout on a CPU; the
frames arrive NHWC from VPT callers, NCHW from SB3's, and are converted once), and each stack
max-pools its first conv's output *before* the ReLU: the two commute (max of ReLUs = ReLU of the
max, and the gradient reaches the same element), so the ReLU touches a quarter of the elements.
Measured by `benchmarks/bench_encoder.py`; `PTGM_REFERENCE_ENCODER=1` (or `reference = True` on an
`ImpalaCNN`) runs the layers as written above instead, in the frames' own layout.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from VPT.layers import FanInLayer
from VPT.switches import env_flag


def reference_default() -> bool:
    """Whether new `ImpalaCNN`s run the reference layer order and layout: only when the
    environment says `PTGM_REFERENCE_ENCODER=1` (for benchmarks and checks)."""
    return env_flag("PTGM_REFERENCE_ENCODER", default=False)


def _max_pool(x: torch.Tensor) -> torch.Tensor:
    return F.max_pool2d(x, kernel_size=3, stride=2, padding=1)


class CnnBasicBlock(nn.Module):
    """Residual block `x + conv1(conv0(x))`; shape preserving."""

    def __init__(self, channels: int, norm: str, groups: int | None, init_scale: float) -> None:
        super().__init__()
        s = math.sqrt(init_scale)
        self.conv0 = FanInLayer(channels, channels, "conv", norm, groups, init_scale=s)
        self.conv1 = FanInLayer(channels, channels, "conv", norm, groups, init_scale=s)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv1(self.conv0(x))


class CnnDownStack(nn.Module):
    """First conv to `out_channels`, max-pool /2, optional group norm `n`, `nblock` residual blocks."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        nblock: int,
        norm: str,
        groups: int | None,
        first_conv_norm: bool,
        post_pool_groups: int | None,
        init_scale: float,
        pool: bool = True,
    ) -> None:
        super().__init__()
        self.firstconv = FanInLayer(
            in_channels, out_channels, "conv", norm if first_conv_norm else "none", groups
        )
        self.pool = pool
        if post_pool_groups is not None:
            self.n = nn.GroupNorm(post_pool_groups, out_channels)
        else:
            self.n = None
        block_scale = init_scale / math.sqrt(nblock)
        self.blocks = nn.ModuleList(
            CnnBasicBlock(out_channels, norm, groups, block_scale) for _ in range(nblock)
        )

    def forward(self, x: torch.Tensor, reference: bool = False) -> torch.Tensor:
        """:param reference: ReLU then pool, as written (the default pools first: same result)."""
        if not self.pool:
            x = self.firstconv(x)
        elif reference:
            x = _max_pool(self.firstconv(x))
        else:
            x = self.firstconv.activate(_max_pool(self.firstconv.preactivation(x)))
        if self.pool and self.n is not None:
            x = self.n(x)
        for block in self.blocks:
            x = block(x)
        return x


class ImpalaCNN(nn.Module):
    """Stacks of `CnnDownStack` then a dense layer; maps (B, T, H, W, C) floats to (B, T, outsize)."""

    def __init__(
        self,
        img_shape: Sequence[int],
        chans: Sequence[int],
        outsize: int,
        nblock: int,
        norm: str,
        groups: int | None,
        first_conv_norm: bool = False,
        post_pool_groups: int | None = None,
        pool: bool = True,
    ) -> None:
        super().__init__()
        height, width, channels = (int(v) for v in img_shape)
        self.chans = [int(c) for c in chans]
        self.stacks = nn.ModuleList()
        for i, out_channels in enumerate(chans):
            self.stacks.append(
                CnnDownStack(
                    channels,
                    out_channels,
                    nblock,
                    norm,
                    groups,
                    first_conv_norm=first_conv_norm if i == 0 else True,
                    post_pool_groups=post_pool_groups,
                    init_scale=math.sqrt(len(chans)),
                    pool=pool,
                )
            )
            channels = out_channels
            if pool:
                height, width = (height + 1) // 2, (width + 1) // 2
        flat = channels * height * width
        dense_norm = "layer" if norm != "none" else "none"
        self.dense = FanInLayer(flat, outsize, "linear", dense_norm, init_scale=1.4)
        self.outsize = outsize
        self.reference = reference_default()

    def forward(self, x: torch.Tensor, film: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        """:param film: per stack, (B, T, 2 * channels): each stack's output `x` becomes
        `x * (1 + gamma) + beta` (its two halves, per channel); none: the plain CNN."""
        batch, time = x.shape[:2]
        x = x.reshape(batch * time, *x.shape[2:]).permute(0, 3, 1, 2)  # NHWC -> NCHW view
        if not self.reference and x.shape[0] > 1:
            # Channels-last for several frames (a no-op for NHWC frames); one frame runs faster
            # in whatever layout it comes in (measured by benchmarks/bench_encoder.py).
            x = x.contiguous(memory_format=torch.channels_last)
        for i, stack in enumerate(self.stacks):
            x = stack(x, reference=self.reference)
            if film is not None:
                gamma, beta = film[i].reshape(batch * time, -1, 1, 1).chunk(2, dim=1)
                x = x * (1.0 + gamma) + beta
        # Flatten channel-major (C, H, W), the order of the official dense weights.
        x = x.reshape(batch, time, -1)
        return self.dense(x)


class ImgObsProcess(nn.Module):
    """`cnn` (ImpalaCNN to `cnn_outsize`) followed by `linear` to `hidsize`."""

    def __init__(
        self,
        img_shape: Sequence[int],
        chans: Sequence[int],
        cnn_outsize: int,
        hidsize: int,
        nblock: int,
        norm: str,
        groups: int | None,
        first_conv_norm: bool = False,
        post_pool_groups: int | None = None,
        pool: bool = True,
    ) -> None:
        super().__init__()
        self.cnn = ImpalaCNN(
            img_shape,
            chans,
            cnn_outsize,
            nblock,
            norm,
            groups,
            first_conv_norm=first_conv_norm,
            post_pool_groups=post_pool_groups,
            pool=pool,
        )
        dense_norm = "layer" if norm != "none" else "none"
        self.linear = FanInLayer(cnn_outsize, hidsize, "linear", dense_norm)

    def forward(
        self, img: torch.Tensor, film: Sequence[torch.Tensor] | None = None
    ) -> torch.Tensor:
        return self.linear(self.cnn(img, film))
