"""MineCLIP as the model of the MineDojo tasks' shaping reward (`tasks.minedojo.ClipRewardModel`).

`tasks/` imports no model package. It scores frames through a two-method protocol, numpy in and
numpy out, and this adapter implements that protocol with the project's MineCLIP:

- `image_features(frame)`: one uint8 (3, 160, 256) MineDojo frame -> its (D,) image feature;
- `prompt_logits(window, prompts)`: (16, D) features, oldest first -> the (P,) reward-head logits
  (temporal encoder, then the video adapter and cosine similarity times the learned logit scale).

The prompts' text features are computed once per prompt list and cached, because every step of
every env scores the same task prompts. The BPE vocabulary is read when the adapter is built, so
a missing file stops a run at start-up and not at its first step. One adapter serves all the envs
of a run: it holds no per-episode state (that is `ClipShaping`'s).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch

from steve1.goal_encoders.mineclip.checkpoint import DEFAULT_PATH, load_mineclip
from steve1.goal_encoders.mineclip.config import N_FRAMES
from steve1.goal_encoders.mineclip.model import MineCLIP
from steve1.goal_encoders.mineclip.tokenizer import ClipTokenizer


class MineCLIPShaping:
    """A `MineCLIP` behind the `ClipRewardModel` protocol, on the model's device.

    :param model: MineCLIP in eval mode (e.g. `load_mineclip(...)`), already on its device.
    :param vocab_path: CLIP's BPE vocabulary; by default `downloads/` and installed CLIP packages
        are searched (`tokenizer.find_bpe_vocab`).
    """

    def __init__(self, model: MineCLIP, vocab_path: str | os.PathLike | None = None) -> None:
        self.model = model.eval()
        self.device = model.clip_model.logit_scale.device
        self.resolution = tuple(model.config.resolution)
        self.tokenizer = ClipTokenizer(vocab_path)
        self._text: dict[tuple[str, ...], torch.Tensor] = {}

    @classmethod
    def load(
        cls,
        path: str | os.PathLike = DEFAULT_PATH,
        device: torch.device | str = "cpu",
        vocab_path: str | os.PathLike | None = None,
    ) -> MineCLIPShaping:
        """The official attn checkpoint at `path`, md5-checked and loaded strictly. A missing file
        raises `MissingDownloadError` naming the `downloads.sh` line that fetches it."""
        return cls(load_mineclip(path, device), vocab_path)

    @torch.no_grad()
    def image_features(self, frame: np.ndarray) -> np.ndarray:
        """uint8 (3, H, W) RGB frame at MineCLIP's resolution -> float32 (D,) image feature."""
        frame = np.asarray(frame)
        if frame.shape != (3, *self.resolution):
            raise ValueError(
                f"MineCLIP takes frames of shape (3, {self.resolution[0]}, {self.resolution[1]}) "
                f"(MineDojo's image_size), got {frame.shape}"
            )
        # torch.tensor copies: MineDojo's (and the stand-in's) frames may be read-only.
        pixels = torch.tensor(frame, device=self.device)[None, None]
        return self.model.image_features(pixels)[0, 0].float().cpu().numpy()

    @torch.no_grad()
    def prompt_logits(self, window: np.ndarray, prompts: Sequence[str]) -> np.ndarray:
        """(16, D) image features, oldest first -> float32 (P,) reward-head logits, one per prompt."""
        features = torch.as_tensor(np.asarray(window), dtype=torch.float32, device=self.device)
        if features.ndim != 2 or features.shape[0] != N_FRAMES:
            raise ValueError(
                f"expected a window of {N_FRAMES} features (16, D), got {features.shape}"
            )
        video = self.model.video_features(features[None])
        logits = self.model.reward_logits(video, self.text_features(prompts))
        return logits[0].float().cpu().numpy()

    @torch.no_grad()
    def text_features(self, prompts: Sequence[str]) -> torch.Tensor:
        """(P, D) text features of `prompts`, computed on the first call and then cached."""
        key = tuple(prompts)
        if key not in self._text:
            tokens = self.tokenizer(list(key), self.model.config.context_length)
            self._text[key] = self.model.encode_text(tokens.to(self.device))
        return self._text[key]
