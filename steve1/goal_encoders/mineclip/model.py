"""MineCLIP (attn variant): 16-frame video embeddings, text embeddings and the reward-head logits.

Two uses in PTGM:
- **goal embeddings**: `encode_video(frames)` = per-frame image features -> temporal encoder ->
  mean over frames (512-d, not L2-normalised, the video adapter not applied);
- **shaping reward**: the same split run step by step: `image_features` of each new frame kept in
  a `FeatureWindow` of 16, `video_features(window)`, then `reward_logits(video, text)`.

One `CLIP` module is reachable as `image_encoder` (its vision tower), `clip_model` and
`reward_head.clip_model`, exactly as in the official model, so `state_dict()` lists those tensors
under every path and the official `attn.pth` loads strictly.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from steve1.goal_encoders.mineclip.clip import CLIP
from steve1.goal_encoders.mineclip.config import N_FRAMES, PIXEL_MEAN, PIXEL_STD, MineCLIPConfig
from steve1.goal_encoders.mineclip.temporal import TemporalEncoder
from steve1.goal_encoders.mineclip.tokenizer import ClipTokenizer


def normalize_frames(frames: torch.Tensor) -> torch.Tensor:
    """(..., 3, H, W) RGB in 0..255 (uint8 or float) -> float32 divided by 255 and normalised with
    MineCLIP's mean and std."""
    mean = torch.tensor(PIXEL_MEAN, device=frames.device).view(3, 1, 1)
    std = torch.tensor(PIXEL_STD, device=frames.device).view(3, 1, 1)
    return (frames.float() / 255.0 - mean) / std


class RewardHead(nn.Module):
    """Scores video features against text features for the shaping reward.

    The video feature passes a 2-layer adapter (`video_adapter.0`, ReLU, `.3`) and is mixed with
    its input: s * video + (1 - s) * adapter(video), s = sigmoid(video_residual_weight). Logits are
    cosine similarities times exp(`clip_model.logit_scale`). Texts get no adapter (`t0`).
    """

    def __init__(self, clip: CLIP, dim: int) -> None:
        super().__init__()
        self.video_residual_weight = nn.Parameter(torch.tensor(4.0))
        self.clip_model = clip
        # Index 2 holds no parameters; the second Linear sits at index 3 as in the checkpoint.
        self.video_adapter = nn.Sequential(
            nn.Linear(dim, dim), nn.ReLU(), nn.Identity(), nn.Linear(dim, dim)
        )

    def adapt_video(self, video_features: torch.Tensor) -> torch.Tensor:
        keep = torch.sigmoid(self.video_residual_weight)
        return keep * video_features + (1 - keep) * self.video_adapter(video_features)

    def forward(self, video_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
        video = F.normalize(self.adapt_video(video_features), dim=-1)
        text = F.normalize(text_features, dim=-1)
        return self.clip_model.logit_scale.exp() * video @ text.T


class MineCLIP(nn.Module):
    """MineCLIP with the official parameter names; build with `MineCLIPConfig()` for `attn.pth`.

    Frames are (B, L, 3, H, W), RGB, raw 0..255 values, H x W = `config.resolution` (160x256);
    the model normalises but does not resize. Wrap calls in `torch.no_grad()` for inference.
    """

    def __init__(self, config: MineCLIPConfig | None = None) -> None:
        super().__init__()
        cfg = self.config = config or MineCLIPConfig()
        clip = CLIP(cfg)
        # Registration order reproduces the official state-dict order.
        self.image_encoder = clip.vision_model
        self.temporal_encoder = TemporalEncoder(
            cfg.embed_dim,
            cfg.temporal_layers,
            cfg.temporal_heads,
            cfg.temporal_dim_head,
            cfg.temporal_ff_mult,
            cfg.max_frames,
        )
        self.reward_head = RewardHead(clip, cfg.embed_dim)
        self.clip_model = clip
        self._tokenizer: ClipTokenizer | None = None

    def image_features(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, L, 3, H, W) raw frames -> (B, L, D) per-frame features (cacheable per frame)."""
        if frames.ndim != 5 or frames.shape[2] != 3:
            raise ValueError(f"expected frames of shape (B, L, 3, H, W), got {tuple(frames.shape)}")
        batch, length = frames.shape[:2]
        images = normalize_frames(frames.flatten(0, 1))
        return self.image_encoder(images).reshape(batch, length, -1)

    def video_features(self, image_features: torch.Tensor) -> torch.Tensor:
        """(B, L, D) per-frame features -> (B, D): temporal encoder, then mean over the L frames."""
        return self.temporal_encoder(image_features)

    def encode_video(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, 16, 3, H, W) raw frames -> (B, D) video embedding: PTGM's and STEVE-1's goal."""
        return self.video_features(self.image_features(frames))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.encode_video(frames)

    def encode_text(
        self, text: Sequence[str] | torch.Tensor, vocab_path: str | None = None
    ) -> torch.Tensor:
        """Prompts (or (P, context_length) token ids) -> (P, D) text features.

        Strings need CLIP's BPE vocabulary (see `tokenizer.find_bpe_vocab`); a missing vocabulary
        raises `FileNotFoundError` naming the file and where to get it.
        """
        if isinstance(text, torch.Tensor):
            tokens = text
        else:
            if self._tokenizer is None or vocab_path is not None:
                self._tokenizer = ClipTokenizer(vocab_path)
            tokens = self._tokenizer(list(text), self.config.context_length)
        device = self.clip_model.logit_scale.device
        return self.clip_model.text_model(tokens.to(device))

    def reward_logits(
        self, video_features: torch.Tensor, text_features: torch.Tensor
    ) -> torch.Tensor:
        """(B, D) video features x (P, D) text features -> (B, P) reward-head logits."""
        return self.reward_head(video_features, text_features)


class FeatureWindow:
    """The last `length` per-frame image features of each of B streams, zero-filled before the
    first frame (the shaping reward's rolling buffer); feed the window to `video_features`."""

    def __init__(
        self,
        batch: int,
        dim: int,
        length: int = N_FRAMES,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.window = torch.zeros(batch, length, dim, device=device, dtype=dtype)

    def reset(self, index: int | None = None) -> None:
        """Zero every stream, or only stream `index` (one env of a vector env starting over)."""
        if index is None:
            self.window.zero_()
        else:
            self.window[index].zero_()

    def push(self, features: torch.Tensor) -> torch.Tensor:
        """Append (B, D) features of the newest frames; returns the (B, length, D) window."""
        self.window = torch.cat([self.window[:, 1:], features[:, None].to(self.window)], dim=1)
        return self.window
