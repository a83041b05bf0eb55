"""Sizes of the MineCLIP model: the official `attn` variant and a tiny one for tests."""

from __future__ import annotations

from dataclasses import dataclass

# Pixel statistics MineCLIP normalises with, after dividing by 255 (RGB order).
PIXEL_MEAN = (0.3331, 0.3245, 0.3051)
PIXEL_STD = (0.2439, 0.2493, 0.2873)

# Frames in one video window: STEVE-1's frame buffer, its goal embeddings and the shaping reward.
N_FRAMES = 16


@dataclass(frozen=True)
class MineCLIPConfig:
    """Architecture sizes. The defaults are the official `attn` checkpoint's
    (`vit_base_p16_fz.v2.t2`, `attn.d2.nh8.glusw`, `v0-2.t0`, 160x256); `tiny()` is for tests."""

    resolution: tuple[int, int] = (160, 256)  # (height, width) of every frame
    patch_size: int = 16
    vision_width: int = 768
    vision_layers: int = 12
    vision_heads: int = 12
    embed_dim: int = 512  # image, video and text features (hidden_dim = image_feature_dim)
    text_width: int = 512
    text_layers: int = 12
    text_heads: int = 8
    context_length: int = 77
    vocab_size: int = 49408
    temporal_layers: int = 2  # attention + feed-forward pairs
    temporal_heads: int = 8
    temporal_dim_head: int = 64
    temporal_ff_mult: int = 4  # GLU hidden size = ff_mult * embed_dim
    max_frames: int = 32  # rows of the temporal encoder's position table

    def __post_init__(self) -> None:
        height, width = self.resolution
        if height % self.patch_size or width % self.patch_size:
            raise ValueError(f"resolution {self.resolution} is not a multiple of patch_size")
        if self.vision_width % self.vision_heads or self.text_width % self.text_heads:
            raise ValueError("vision_width / text_width must be divisible by their head counts")

    @property
    def n_patches(self) -> int:
        height, width = self.resolution
        return (height // self.patch_size) * (width // self.patch_size)

    @classmethod
    def tiny(cls) -> MineCLIPConfig:
        """A few-thousand-parameter model with the same structure (and names), for CPU tests."""
        return cls(
            resolution=(32, 48),
            vision_width=32,
            vision_layers=2,
            vision_heads=2,
            embed_dim=16,
            text_width=24,
            text_layers=1,
            text_heads=2,
            context_length=12,
            vocab_size=64,
            temporal_heads=2,
            temporal_dim_head=8,
        )
