"""Goal embeddings of every 16-frame window of a frame stream (MineCLIP for contractor data).

The converter takes any `WindowEmbedder`, so tests use a cheap stand-in and never need the
MineCLIP weights. `WindowStream` embeds windows in batches while the video is decoded and keeps
only the frames later windows still need (a whole episode of MineCLIP-size frames would take
~0.6 GB per 5000 frames, which upstream held in memory).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from steve1.data.episode_storage import EMBED_OFFSET
from steve1.goal_encoders.mineclip import DEFAULT_PATH, MineCLIP, load_mineclip


class WindowEmbedder(Protocol):
    """Maps windows of 16 frames to vectors.

    `resolution` is the (height, width) of the frames it takes; `dim` the vector size;
    `describe()` the metadata stored with every episode.
    """

    resolution: tuple[int, int]
    dim: int

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        """uint8 (B, 16, 3, H, W) RGB windows -> float32 (B, dim)."""
        ...

    def describe(self) -> dict[str, Any]: ...


class MineCLIPEmbedder:
    """MineCLIP's video embedding (512-d, not normalised), PTGM's and STEVE-1's goal.

    On CUDA the forward pass runs under fp16 autocast as upstream's; on CPU in float32.
    """

    def __init__(self, model: MineCLIP, device: torch.device | str = "cpu", name: str = "") -> None:
        self.model = model.to(device).eval()
        self.device = torch.device(device)
        self.resolution = tuple(model.config.resolution)
        self.dim = model.config.embed_dim
        self.name = name

    @classmethod
    def load(
        cls, path: Path | str = DEFAULT_PATH, device: torch.device | str = "cpu"
    ) -> MineCLIPEmbedder:
        """The official attn checkpoint at `path` (md5-checked, loaded strictly); a missing file
        raises `FileNotFoundError` naming it and the `downloads.sh` command that fetches it."""
        return cls(load_mineclip(path, device), device, name=os.path.basename(path))

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        video = torch.from_numpy(windows).to(self.device)
        autocast = (
            torch.autocast("cuda", dtype=torch.float16)
            if self.device.type == "cuda"
            else contextlib.nullcontext()
        )
        with torch.no_grad(), autocast:
            return self.model.encode_video(video).float().cpu().numpy()

    def describe(self) -> dict[str, Any]:
        return {
            "name": "mineclip-attn",
            "checkpoint": self.name,
            "dim": self.dim,
            "resolution": list(self.resolution),
        }


class WindowStream:
    """Feed frames one by one; `finish()` returns (L, dim) float32 embeddings, row t embedding
    frames t-15..t and rows 0..14 NaN (the episode-storage convention)."""

    def __init__(self, embedder: WindowEmbedder, batch_size: int = 8) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.embedder, self.batch_size = embedder, batch_size
        self.buffer: list[np.ndarray] = []  # frames first..n_frames-1
        self.first = 0  # episode index of buffer[0]
        self.n_frames = 0
        self.pending: list[int] = []  # last frames of windows not embedded yet
        self.rows: list[np.ndarray] = []

    def push(self, frame: np.ndarray) -> None:
        """Add the next (3, H, W) uint8 frame; embeds a batch once `batch_size` windows are ready."""
        self.buffer.append(frame)
        if self.n_frames >= EMBED_OFFSET:
            self.pending.append(self.n_frames)
        self.n_frames += 1
        if len(self.pending) >= self.batch_size:
            self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        windows = np.stack(
            [
                np.stack(self.buffer[end - EMBED_OFFSET - self.first : end + 1 - self.first])
                for end in self.pending
            ]
        )
        out = np.asarray(self.embedder(windows), np.float32)
        if out.shape != (len(self.pending), self.embedder.dim):
            raise ValueError(
                f"embedder returned shape {out.shape}, expected {(len(self.pending), self.embedder.dim)}"
            )
        self.rows.append(out)
        self.pending = []
        drop = max(len(self.buffer) - EMBED_OFFSET, 0)  # the next window needs the last 15
        self.buffer, self.first = self.buffer[drop:], self.first + drop

    def finish(self) -> np.ndarray:
        self._flush()
        embeds = np.full((self.n_frames, self.embedder.dim), np.nan, np.float32)
        if self.rows:
            embeds[EMBED_OFFSET:] = np.concatenate(self.rows)
        return embeds
