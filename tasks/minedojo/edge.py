"""The one place where MineDojo's old gym API becomes gymnasium.

`MinedojoEdge` wraps a MineDojo meta task (`reset() -> obs`, `step(a) -> (obs, reward, done,
info)`, `is_successful`) as a gymnasium env. Everything above it is gymnasium. It also owns the
action side of upstream's VPT wrapper, which sat outermost there but only ever touched actions:
MineRL action dicts in, the sim's action out (`tasks.minedojo.actions.filter_action`).

Observations are MineDojo's raw dicts (`rgb` uint8 (3, 160, 256) plus inventory, life_stats,
location_stats, ...); only `rgb` is declared in `observation_space`. `terminated` is MineDojo's
`done` (the sim ended, or the task's success criteria hold), `truncated` is always False (the time
limit is `TerminalWrapper`'s). MineDojo's own info dict is kept whole under `info["minedojo"]`, and
`info["success"]` is the meta task's `is_successful`, `info["task_reward"]` its reward.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import gymnasium
import numpy as np

from tasks.minedojo.actions import filter_action, minerl_action_space

IMAGE_SIZE = (160, 256)  # (height, width) of MineDojo's frames, MineCLIP's native resolution


class MinedojoEdge(gymnasium.Env):
    """A MineDojo meta task as a gymnasium env taking MineRL action dicts.

    :param task: the meta task (old gym API).
    :param noops: the sim's actionables and their no-ops (`actionable_noops(task)`).
    :param freeze_equipped: keep drop/swap_slot/pickItem/hotbar at their no-op.
    :param seed_fn: called with the seed of `reset(seed=...)` (MineDojo fixes its world seed at
        construction; the semi-fast reset's teleports are what a reset seed can still control).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(
        self,
        task: Any,
        noops: Mapping[str, Any],
        freeze_equipped: bool = False,
        seed_fn: Callable[[int], None] | None = None,
        render_mode: str | None = None,
        image_size: tuple[int, int] = IMAGE_SIZE,
    ) -> None:
        self.task = task
        self.noops = dict(noops)
        self.freeze_equipped = freeze_equipped
        self.seed_fn = seed_fn
        self.render_mode = render_mode
        frame = gymnasium.spaces.Box(0, 255, (3, *image_size), np.uint8)
        self.observation_space = gymnasium.spaces.Dict({"rgb": frame})
        self.action_space = minerl_action_space()
        self._obs: dict[str, Any] | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None and self.seed_fn is not None:
            self.seed_fn(seed)
        self._obs = self.task.reset()
        return self._obs, {"success": False}

    def step(self, action: Mapping[str, Any]) -> tuple[dict[str, Any], float, bool, bool, dict]:
        if self._obs is None:
            raise RuntimeError("call reset() before step()")
        sim_action = filter_action(action, self.noops, self.freeze_equipped)
        self._obs, reward, done, info = self.task.step(sim_action)
        success = bool(self.task.is_successful)
        out = {"minedojo": info, "success": success, "task_reward": float(reward)}
        return self._obs, float(reward), bool(done), False, out

    def render(self) -> np.ndarray | None:
        """The current frame, uint8 (160, 256, 3)."""
        if self._obs is None:
            return None
        return np.ascontiguousarray(np.transpose(self._obs["rgb"], (1, 2, 0)))

    def close(self) -> None:
        close = getattr(self.task, "close", None)
        if close is not None:
            close()
