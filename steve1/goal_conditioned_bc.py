"""The low level's objective: behaviour cloning of play actions given hindsight goals (STEVE-1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from steve1.data.goal_dataset import Chunk
from steve1.embed_conditioned_policy import GOAL_KEY, EmbedConditionedPolicy


class GoalConditionedBC:
    """Chunks -> tensors for `EmbedConditionedPolicy`; validated with and without the goal."""

    obs_keys = ("img", GOAL_KEY)

    def __init__(self, model: EmbedConditionedPolicy) -> None:
        self.model = model

    def collate(self, chunks: list[Chunk], device: torch.device) -> dict[str, Any]:
        return {
            "img": torch.from_numpy(np.stack([c.frames for c in chunks])).to(device),
            GOAL_KEY: torch.from_numpy(np.stack([c.goals for c in chunks])).to(device),
            "target": collate_actions([c.actions for c in chunks], device),
            "mask": torch.from_numpy(np.stack([c.loss_mask for c in chunks])).to(device),
        }

    def val_variants(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        """`cond` (the goal, used for best-weights tracking) and `uncond` (zero goal): their NLL
        gap is how much the goal tells the policy, the health metric of steerability."""
        return {
            "cond": lambda b: b,
            "uncond": lambda b: {**b, GOAL_KEY: torch.zeros_like(b[GOAL_KEY])},
        }


def collate_actions(actions: list[np.ndarray], device: torch.device) -> torch.Tensor:
    """(B, T) int64 action indices (Crafter's discrete actions)."""
    if actions[0].ndim != 1:
        raise NotImplementedError(
            "only discrete action indices are supported here; Minecraft "
            "actions need the VPT action mapping (Minecraft issue)"
        )
    return torch.from_numpy(np.stack(actions).astype(np.int64)).to(device)
