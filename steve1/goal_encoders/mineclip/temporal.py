"""MineCLIP's temporal encoder (pool type `attn.d2.nh8.glusw`): per-frame features -> one video
feature.

A small non-causal pre-LayerNorm transformer over the frames: learned absolute positions (scaled
by dim^-0.5 when added), `depth` pairs of [multi-head attention, GLU feed-forward with a SiLU
gate], a final LayerNorm, then the mean over frames. The module tree reproduces the parameter
names the official checkpoint was saved with (an `x-transformers` encoder), e.g.
`attn.model.attn_layers.layers.{i}.0.0.weight` (the pre-norm of layer i) and
`attn.model.attn_layers.layers.{i}.1.to_q.weight` (its attention); layers alternate attention,
feed-forward.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class LearnedPositions(nn.Module):
    """Absolute position table, scaled by dim^-0.5 on the way out."""

    def __init__(self, dim: int, max_len: int) -> None:
        super().__init__()
        self.scale = dim**-0.5
        self.emb = nn.Embedding(max_len, dim)

    def forward(self, length: int, device: torch.device) -> torch.Tensor:
        if length > self.emb.num_embeddings:
            raise ValueError(
                f"{length} frames exceed the temporal encoder's {self.emb.num_embeddings} positions"
            )
        return self.emb(torch.arange(length, device=device)) * self.scale


class Attention(nn.Module):
    """Bias-free multi-head self-attention over frames (`to_q`, `to_k`, `to_v`, `to_out`)."""

    def __init__(self, dim: int, heads: int, dim_head: int) -> None:
        super().__init__()
        self.heads = heads
        inner = heads * dim_head
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_k = nn.Linear(dim, inner, bias=False)
        self.to_v = nn.Linear(dim, inner, bias=False)
        self.to_out = nn.Linear(inner, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        q, k, v = (
            proj(x).reshape(batch, length, self.heads, -1).transpose(1, 2)
            for proj in (self.to_q, self.to_k, self.to_v)
        )
        out = F.scaled_dot_product_attention(q, k, v)  # softmax(q k^T / sqrt(dim_head)) v
        return self.to_out(out.transpose(1, 2).reshape(batch, length, -1))


class GLU(nn.Module):
    """One projection to 2 * hidden, split in halves (value, gate): value * silu(gate)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, 2 * hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.proj(x).chunk(2, dim=-1)
        return value * F.silu(gate)


class FeedForward(nn.Module):
    """GLU-swish feed-forward. Indices 1 and 2 of `net` hold no parameters (identity at inference);
    they keep the output projection at index 3, where the checkpoint has it."""

    def __init__(self, dim: int, mult: int) -> None:
        super().__init__()
        hidden = mult * dim
        self.net = nn.Sequential(
            GLU(dim, hidden), nn.Identity(), nn.Identity(), nn.Linear(hidden, dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class LayerStack(nn.Module):
    """`layers[i] = [[pre-norm], block]`, blocks alternating attention and feed-forward, each
    applied as x + block(norm(x))."""

    def __init__(self, dim: int, depth: int, heads: int, dim_head: int, ff_mult: int) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        for _ in range(depth):
            blocks += [Attention(dim, heads, dim_head), FeedForward(dim, ff_mult)]
        self.layers = nn.ModuleList(
            nn.ModuleList([nn.ModuleList([nn.LayerNorm(dim)]), block]) for block in blocks
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for norms, block in self.layers:
            x = x + block(norms[0](x))
        return x


class TemporalTransformer(nn.Module):
    """(B, L, dim) frame features -> (B, L, dim) contextualised features."""

    def __init__(
        self, dim: int, depth: int, heads: int, dim_head: int, ff_mult: int, max_len: int
    ) -> None:
        super().__init__()
        self.pos_emb = LearnedPositions(dim, max_len)
        self.attn_layers = LayerStack(dim, depth, heads, dim_head, ff_mult)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.pos_emb(x.shape[1], x.device)
        return self.norm(self.attn_layers(x))


class TemporalEncoder(nn.Module):
    """(B, L, dim) per-frame image features -> (B, dim) video feature (mean over the L frames)."""

    def __init__(
        self, dim: int, depth: int, heads: int, dim_head: int, ff_mult: int, max_len: int
    ) -> None:
        super().__init__()
        # The extra `attn.model` level only reproduces the checkpoint's names.
        self.attn = nn.ModuleDict(
            {"model": TemporalTransformer(dim, depth, heads, dim_head, ff_mult, max_len)}
        )

    def forward(self, frame_features: torch.Tensor) -> torch.Tensor:
        return self.attn["model"](frame_features).mean(dim=1)
