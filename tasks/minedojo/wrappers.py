"""Gymnasium wrappers over `MinedojoEdge`: episode end and step count, and the agent's `pov`.

`TerminalWrapper` is upstream's terminal wrapper (`max_steps` low-level steps, death) in the house
convention: death (life 0) is `terminated`, as is MineDojo's own `done` (success); the step limit
is `truncated`. `PovWrapper` turns MineDojo's `rgb` (3, 160, 256) into the agent's observation
`{"pov": uint8 (128, 128, 3)}`, resized as VPT's agent does (bilinear, OpenCV). Upstream declared
that observation as a float32 Box, which kept SB3 from treating it as an image; it is uint8 here.
"""

from __future__ import annotations

from typing import Any

import cv2
import gymnasium
import numpy as np

POV_SIZE = 128  # VPT's agent resolution


def inventory_counts(obs: dict[str, Any]) -> dict[str, int]:
    """Item name -> count held, from MineDojo's `inventory` (names with spaces or underscores)."""
    inventory = obs["inventory"]
    counts: dict[str, int] = {}
    for name, quantity in zip(inventory["name"], inventory["quantity"], strict=True):
        name = str(name).replace(" ", "_")
        if name != "air":
            counts[name] = counts.get(name, 0) + int(quantity)
    return counts


def life(obs: dict[str, Any]) -> float:
    """The player's health (0 when dead)."""
    return float(np.asarray(obs["life_stats"]["life"]).reshape(-1)[0])


def resize_frame(rgb: np.ndarray, size: int = POV_SIZE) -> np.ndarray:
    """MineDojo's (3, H, W) frame -> uint8 (size, size, 3), bilinear as VPT's `resize_image`."""
    frame = np.ascontiguousarray(np.transpose(np.asarray(rgb, dtype=np.uint8), (1, 2, 0)))
    return cv2.resize(frame, (size, size), interpolation=cv2.INTER_LINEAR)


class TerminalWrapper(gymnasium.Wrapper):
    """Counts low-level steps; ends the episode on death (`terminated`) or at `max_steps` (`truncated`).

    Adds `steps`, `life`, `dead` and `inventory` (name -> count) to every info.
    """

    def __init__(self, env: gymnasium.Env, max_steps: int, on_death: bool = True) -> None:
        super().__init__(env)
        if max_steps <= 0:
            raise ValueError(f"max_steps must be > 0, got {max_steps}")
        self.max_steps = int(max_steps)
        self.on_death = on_death
        self.steps = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self.steps = 0
        return obs, self._info(obs, info, dead=False)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        dead = life(obs) <= 0
        terminated = bool(terminated or (self.on_death and dead))
        truncated = bool(not terminated and (truncated or self.steps >= self.max_steps))
        return obs, reward, terminated, truncated, self._info(obs, info, dead)

    def _info(self, obs: dict[str, Any], info: dict[str, Any], dead: bool) -> dict[str, Any]:
        info = dict(info)
        info.update(steps=self.steps, life=life(obs), dead=bool(dead))
        info["inventory"] = inventory_counts(obs)
        return info


class PovWrapper(gymnasium.ObservationWrapper):
    """MineDojo's raw observation -> `{"pov": uint8 (size, size, 3)}`."""

    def __init__(self, env: gymnasium.Env, size: int = POV_SIZE) -> None:
        super().__init__(env)
        self.size = size
        pov = gymnasium.spaces.Box(0, 255, (size, size, 3), np.uint8)
        self.observation_space = gymnasium.spaces.Dict({"pov": pov})

    def observation(self, observation: dict[str, Any]) -> dict[str, np.ndarray]:
        return {"pov": resize_frame(observation["rgb"], self.size)}
