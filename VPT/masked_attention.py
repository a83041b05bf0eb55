"""Causal self-attention over a memory of past frames, with VPT's relative-position bias.

Each frame attends to itself and to at most `maxlen - 1` earlier frames (VPT's "clipped causal"
mask: the window is the same for every position of a chunk, so results do not depend on how an
episode is cut into chunks). Keys and values of the last `maxlen` frames are carried in the
recurrent state, so a (B, T) chunk in one call and T single-frame calls give the same outputs.

Episode starts (`first`) hide everything before them. VPT itself only honours `first` at the
first index of a chunk (its training chunks never start an episode mid-way); honouring it at every
index is the same on such chunks and also makes chunked and stepwise processing agree elsewhere.

The layer is VPT's `SelfAttentionLayer` with `norm="none"`: its output is `x + proj(attention)`
where `x` is its (already layer-normed) input, logits are scaled by 1/head_dim (muP), and the
bias of query i on key j is `sum_n r_layer(x_i)[head, n] * b_nd[n, i - j]`.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from VPT.layers import normed_linear

N_BASIS = (
    10  # relative-position basis functions per head (VPT's value; fixes r_layer / b_nd shapes)
)
MASKED = -1e9  # additive logit for hidden keys (finite, so a row never becomes NaN)

# State of one attention layer: (valid [B, M] bool, keys [B, M, E], values [B, M, E]), oldest first.
BlockState = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, T, heads * d) -> (B, heads, T, d), head-major like VPT's checkpoints."""
    batch, time, width = x.shape
    return x.reshape(batch, time, heads, width // heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, heads, T, d) -> (B, T, heads * d)."""
    batch, heads, time, dim = x.shape
    return x.transpose(1, 2).reshape(batch, time, heads * dim)


class RelativeSelfAttention(nn.Module):
    """Multi-head attention with relative-position bias (`orc_block` in the checkpoints)."""

    def __init__(self, width: int, heads: int, maxlen: int, init_scale: float = 1.0) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"hidsize {width} is not divisible by attention_heads {heads}")
        s = math.sqrt(init_scale)
        # b_nd is registered first so that it precedes the projections in the state dict.
        self.b_nd = nn.Parameter(torch.randn(N_BASIS, maxlen) * 0.2)
        self.q_layer = normed_linear(width, width, 0.1)
        self.k_layer = normed_linear(width, width, 0.2, bias=False)
        self.v_layer = normed_linear(width, width, s, bias=False)
        self.proj_layer = normed_linear(width, width, s)
        self.r_layer = normed_linear(width, N_BASIS * heads, 0.1)
        self.heads = heads
        self.maxlen = maxlen

    def relative_bias(self, x: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """(B, heads, t, M + t) bias from query features and the query-key offsets (t, M + t)."""
        r = split_heads(self.r_layer(x), self.heads)  # (B, heads, t, N_BASIS)
        inside = (offsets >= 0) & (offsets < self.maxlen)
        table = self.b_nd[:, offsets.clamp(0, self.maxlen - 1)] * inside  # (N_BASIS, t, M + t)
        return torch.einsum("bhin,nij->bhij", r, table)

    def forward(
        self,
        x: torch.Tensor,
        memory_k: torch.Tensor,
        memory_v: torch.Tensor,
        allowed: torch.Tensor,
        offsets: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Attend from x (B, t, E) to [memory, x]; returns (output, all keys, all values)."""
        keys = torch.cat([memory_k, self.k_layer(x)], dim=1)
        values = torch.cat([memory_v, self.v_layer(x)], dim=1)
        q = split_heads(self.q_layer(x), self.heads)
        bias = self.relative_bias(x, offsets)
        bias = bias.masked_fill(~allowed[:, None], MASKED)
        attended = F.scaled_dot_product_attention(
            q,
            split_heads(keys, self.heads),
            split_heads(values, self.heads),
            attn_mask=bias,
            scale=1.0 / q.shape[-1],
        )
        return x + self.proj_layer(merge_heads(attended)), keys, values


class MaskedAttention(nn.Module):
    """Keeps the key/value memory and builds the clipped-causal, episode-aware mask (`r`)."""

    def __init__(
        self, width: int, heads: int, memory_size: int, timesteps: int, init_scale: float = 1.0
    ) -> None:
        super().__init__()
        self.maxlen = memory_size - timesteps
        if self.maxlen < 1:
            raise ValueError(
                f"attention_memory_size ({memory_size}) must exceed timesteps ({timesteps}): "
                "their difference is the number of frames each frame can see"
            )
        self.width = width
        self.orc_block = RelativeSelfAttention(width, heads, self.maxlen, init_scale)

    def initial_state(self, batch_size: int, device: torch.device | None = None) -> BlockState:
        """An empty memory: `maxlen` zero keys/values, all marked invalid."""
        shape = (batch_size, self.maxlen, self.width)
        return (
            torch.zeros(batch_size, self.maxlen, dtype=torch.bool, device=device),
            torch.zeros(shape, device=device),
            torch.zeros(shape, device=device),
        )

    def forward(
        self, x: torch.Tensor, first: torch.Tensor, state: BlockState
    ) -> tuple[torch.Tensor, BlockState]:
        valid, memory_k, memory_v = state
        batch, time = first.shape
        mem = memory_k.shape[1]
        # Frames of one chunk belong to the same episode iff no `first` lies between them; the
        # memory counts as segment 0 (it precedes the chunk).
        segment = first.long().cumsum(dim=1)
        key_segment = torch.cat([segment.new_zeros(batch, mem), segment], dim=1)
        key_valid = torch.cat([valid, valid.new_ones(batch, time)], dim=1)
        query_pos = torch.arange(mem, mem + time, device=first.device)
        key_pos = torch.arange(mem + time, device=first.device)
        offsets = query_pos[:, None] - key_pos[None, :]
        window = (offsets >= 0) & (offsets < self.maxlen)
        allowed = (
            window[None] & key_valid[:, None, :] & (key_segment[:, None, :] == segment[:, :, None])
        )
        out, keys, values = self.orc_block(x, memory_k, memory_v, allowed, offsets)
        # What the last frame may see is exactly the next memory (the newest `maxlen` keys).
        keep = self.maxlen
        new_state = (allowed[:, -1, -keep:], keys[:, -keep:], values[:, -keep:])
        return out, new_state
