"""The observation convention of the SB3 glue: one uint8 RGB frame per step, channels last.

An env's observation space is either a `Box(0, 255, (H, W, C), uint8)` (the frame itself) or a
`Dict` holding such a Box under the key `"pov"` (MineRL/MineDojo's name; other keys are ignored).
(H, W, C) must equal the VPT model's `img_shape`: frames go to VPT as they are, never transposed
to channels first (`VPTPPO` does not wrap envs in SB3's `VecTransposeImage`) and never resized.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

POV_KEY = "pov"


class ObservationSpaceError(ValueError):
    """The env's observations do not follow the convention above; the message says the fix."""


def image_space(observation_space: spaces.Space) -> spaces.Box:
    """The frame's Box: the space itself, or its `"pov"` entry for a Dict space."""
    space = observation_space
    if isinstance(space, spaces.Dict):
        if POV_KEY not in space.spaces:
            raise ObservationSpaceError(
                f"a Dict observation space needs the frame under the key {POV_KEY!r}; it has "
                f"{sorted(space.spaces)}"
            )
        space = space.spaces[POV_KEY]
    if not (isinstance(space, spaces.Box) and space.dtype == np.uint8 and len(space.shape) == 3):
        raise ObservationSpaceError(
            "sb3_vpt needs observations that are a uint8 image Box (H, W, C) or a Dict with such "
            f"a Box under {POV_KEY!r}; got {observation_space}"
        )
    return space


def check_image_shape(space: spaces.Box, img_shape: Sequence[int]) -> None:
    """Fail unless the frames are exactly the model's (H, W, C) input."""
    expected, got = tuple(int(v) for v in img_shape), tuple(space.shape)
    if got == expected:
        return
    if got == (expected[2], expected[0], expected[1]):
        raise ObservationSpaceError(
            f"frames are channels-first {got}; VPT takes channels-last {expected}: do not wrap "
            "the env in VecTransposeImage (VPTPPO does not add it)"
        )
    raise ObservationSpaceError(
        f"frames are {got} but the VPT model takes img_shape {expected}: resize the frames in "
        "the env, or build the policy with vpt_kwargs['img_shape'] matching the env"
    )


def frames(obs: np.ndarray | Mapping[str, Any]) -> np.ndarray:
    """The uint8 frame(s) of an observation (its `"pov"` entry for a dict)."""
    if isinstance(obs, Mapping):
        obs = obs[POV_KEY]
    return np.asarray(obs)


def frames_tensor(obs: np.ndarray | Mapping[str, Any], device: torch.device) -> torch.Tensor:
    """`frames(obs)` as a uint8 tensor on `device`."""
    return torch.as_tensor(frames(obs), dtype=torch.uint8, device=device)
