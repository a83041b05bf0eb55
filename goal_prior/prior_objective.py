"""The goal prior's objective: predict, from frames, the code nearest the hindsight goal.

Label of frame t = argmax over codes of the cosine similarity between the frame's hindsight goal
embedding (spec 4.1) and each code (spec 4.4). `label_space="raw"` (upstream, the default)
measures it on the raw embeddings; `"clustering"` in the space the codebook was clustered in
(z-scored for a codebook built with `--standardize`, whose statistics it stores). In Crafter the
raw space is dominated by what is in view and faced; z-scored labels weigh the window's events and
inventory changes as much, which a single frame shows less of: measured, they were harder for the
prior to predict (see the README).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from goal_prior.codebook import Codebook
from steve1.data.goal_dataset import Chunk
from VPT.policy import VPTPolicy


def nearest_codes(goals: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Index of the code with the highest cosine similarity to each goal, shape goals.shape[:-1]."""
    g = goals / np.maximum(np.linalg.norm(goals, axis=-1, keepdims=True), 1e-8)
    c = codes / np.maximum(np.linalg.norm(codes, axis=-1, keepdims=True), 1e-8)
    return np.argmax(g @ c.T, axis=-1)


LABEL_SPACES = ("raw", "clustering")


class GoalPriorObjective:
    """Chunks -> (frames, code labels) for a VPT policy with an N-way head."""

    obs_keys = ("img",)

    def __init__(self, model: VPTPolicy, codebook: Codebook, label_space: str = "raw") -> None:
        self.model, self.codebook = model, codebook
        self.labels = code_labeller(codebook, label_space)

    def collate(self, chunks: list[Chunk], device: torch.device) -> dict[str, Any]:
        labels = self.labels(np.stack([c.goals for c in chunks]))
        return {
            "img": torch.from_numpy(np.stack([c.frames for c in chunks])).to(device),
            "target": torch.from_numpy(labels.astype(np.int64)).to(device),
            "mask": torch.from_numpy(np.stack([c.loss_mask for c in chunks])).to(device),
        }

    def val_variants(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {"prior": lambda b: b}


def code_labeller(
    codebook: Codebook, label_space: str = "raw"
) -> Callable[[np.ndarray], np.ndarray]:
    """The prior's labelling: hindsight goals (..., D) -> index of the nearest code (...)."""
    if label_space not in LABEL_SPACES:
        raise ValueError(f"label_space must be one of {LABEL_SPACES}, got {label_space!r}")
    space = codebook.clustering_space if label_space == "clustering" else _identity
    codes = space(codebook.codes.astype(np.float32))
    return lambda goals: nearest_codes(space(goals), codes)


def _identity(x: np.ndarray) -> np.ndarray:
    return x
