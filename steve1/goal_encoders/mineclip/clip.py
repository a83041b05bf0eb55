"""The CLIP towers inside MineCLIP: a ViT image encoder and a causal text encoder.

Both are CLIP-style pre-LayerNorm transformers. Parameter names follow the official checkpoint
(`conv1`, `cls_token`, `pos_embed`, `blocks.{i}.attn.in_proj_weight`, `mlp.c_fc`, `ln_post`,
`projection`, ...), so `attn.pth` loads into these modules unchanged.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from steve1.goal_encoders.mineclip.config import MineCLIPConfig


class SelfAttention(nn.Module):
    """Multi-head self-attention with one packed q/k/v projection (the layout of
    `nn.MultiheadAttention`'s `in_proj_weight`: rows are q, then k, then v)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * width))
        self.out_proj = nn.Linear(width, width)
        nn.init.normal_(self.in_proj_weight, std=width**-0.5)

    def forward(self, x: torch.Tensor, causal: bool = False) -> torch.Tensor:
        batch, length, width = x.shape
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)
        qkv = qkv.reshape(batch, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_causal=causal)
        return self.out_proj(out.transpose(1, 2).reshape(batch, length, width))


class QuickGELU(nn.Module):
    """x * sigmoid(1.702 x): the GELU approximation the OpenAI CLIP weights were trained with."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class MLP(nn.Module):
    """width -> 4 width -> width, named `c_fc` / `c_proj` as in the checkpoint."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.c_fc = nn.Linear(width, 4 * width)
        self.act = QuickGELU()
        self.c_proj = nn.Linear(4 * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(self.act(self.c_fc(x)))


class ResidualBlock(nn.Module):
    """Pre-LayerNorm transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        # Registration order fixes the state-dict order: attn, ln_1, mlp, ln_2.
        self.attn = SelfAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = MLP(width)
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor, causal: bool = False) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), causal=causal)
        return x + self.mlp(self.ln_2(x))


class VisionTransformer(nn.Module):
    """ViT image encoder: (N, 3, H, W) normalised images -> (N, embed_dim) image features.

    Patches of `patch_size` (a bias-free conv), a class token, a learned position table with one
    row per patch plus one (161 rows at 160x256 with 16 px patches), then `ln_post` of the class
    token times `projection`.
    """

    def __init__(self, cfg: MineCLIPConfig) -> None:
        super().__init__()
        width, self.resolution = cfg.vision_width, cfg.resolution
        scale = width**-0.5
        self.cls_token = nn.Parameter(scale * torch.randn(width))
        self.pos_embed = nn.Parameter(scale * torch.randn(cfg.n_patches + 1, width))
        self.projection = nn.Parameter(scale * torch.randn(width, cfg.embed_dim))
        self.conv1 = nn.Conv2d(3, width, cfg.patch_size, stride=cfg.patch_size, bias=False)
        self.ln_pre = nn.LayerNorm(width)
        self.blocks = nn.ModuleList(
            ResidualBlock(width, cfg.vision_heads) for _ in range(cfg.vision_layers)
        )
        self.ln_post = nn.LayerNorm(width)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if tuple(images.shape[-2:]) != tuple(self.resolution):
            raise ValueError(
                f"MineCLIP expects frames of {self.resolution[0]}x{self.resolution[1]} (H x W), "
                f"got {tuple(images.shape[-2:])}; resize before encoding (it does not resize)"
            )
        x = self.conv1(images).flatten(2).transpose(1, 2)  # (N, patches, width)
        cls = self.cls_token.expand(x.shape[0], 1, -1)
        x = self.ln_pre(torch.cat([cls, x], dim=1) + self.pos_embed)
        for block in self.blocks:
            x = block(x)
        return self.ln_post(x[:, 0]) @ self.projection


class TextTransformer(nn.Module):
    """Causal text encoder: (N, context_length) token ids -> (N, embed_dim) text features.

    The feature is `ln_final` at the end-of-text token (the highest id in every row) times
    `projection`.
    """

    def __init__(self, cfg: MineCLIPConfig) -> None:
        super().__init__()
        width, self.context_length = cfg.text_width, cfg.context_length
        self.pos_embed = nn.Parameter(0.01 * torch.randn(cfg.context_length, width))
        self.projection = nn.Parameter(width**-0.5 * torch.randn(width, cfg.embed_dim))
        self.token_embedding = nn.Embedding(cfg.vocab_size, width)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        self.blocks = nn.ModuleList(
            ResidualBlock(width, cfg.text_heads) for _ in range(cfg.text_layers)
        )
        self.ln_final = nn.LayerNorm(width)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.ndim != 2 or tokens.shape[1] != self.context_length:
            raise ValueError(
                f"expected token ids of shape (N, {self.context_length}), got {tuple(tokens.shape)}"
            )
        x = self.token_embedding(tokens) + self.pos_embed
        for block in self.blocks:
            x = block(x, causal=True)
        x = self.ln_final(x)
        eot = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(dim=-1)]
        return eot @ self.projection


class CLIP(nn.Module):
    """The two towers and the learned temperature (stored as its log, CLIP's convention)."""

    def __init__(self, cfg: MineCLIPConfig) -> None:
        super().__init__()
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.vision_model = VisionTransformer(cfg)
        self.text_model = TextTransformer(cfg)
