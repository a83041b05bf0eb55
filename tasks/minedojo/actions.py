"""Actions of the MineDojo tasks: MineRL-style action dicts in, MineDojo's keyboard-mouse dict out.

The envs take the MineRL action dict that VPT's action heads decode to (`VPT.actions.index_to_action`
maps VPT's joint indices to it; `tasks/` does not import `VPT/`, so the key names are repeated here
and a test checks that they agree). With `event_level_control=False` MineDojo's actionables are
camera, forward/back/left/right/jump/sneak/sprint/use/attack/drop, swap_slot, pickItem,
hotbar.1-9, craft, smelt and craft_with_table. `filter_action` builds the sim's action from the
actionables' no-ops, copying in every MineRL key the sim knows: `inventory`, `ESC` and
`swapHands` are dropped, as upstream dropped them. With `freeze_equipped` the keys that could
change or lose the item in hand (drop, swap_slot, pickItem, hotbar.*) stay at their no-op, so the
tool a task starts with stays in hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium
import numpy as np

HOTBAR_KEYS = tuple(f"hotbar.{slot}" for slot in range(1, 10))
# MineRL's 24 keys, in the order of VPT's actions.pkl (the same tuple as VPT.actions.ACTION_KEYS).
MINERL_ACTION_KEYS = (
    *("ESC", "back", "drop", "forward", *HOTBAR_KEYS, "inventory", "jump", "left", "right"),
    *("sneak", "sprint", "swapHands", "camera", "attack", "use", "pickItem"),
)
FROZEN_KEYS = ("drop", "swap_slot", "pickItem", *HOTBAR_KEYS)
CAMERA_LIMIT = 180.0  # degrees per step, MineRL's camera bounds


def minerl_action_space() -> gymnasium.spaces.Dict:
    """The env's action space: every MineRL button Discrete(2), `camera` [pitch, yaw] in degrees."""
    spaces: dict[str, gymnasium.Space] = {
        key: gymnasium.spaces.Discrete(2) for key in MINERL_ACTION_KEYS if key != "camera"
    }
    spaces["camera"] = gymnasium.spaces.Box(-CAMERA_LIMIT, CAMERA_LIMIT, (2,), np.float32)
    return gymnasium.spaces.Dict(spaces)


def actionable_noops(task: Any) -> dict[str, Any]:
    """Name -> no-op of every action the MineDojo sim under `task` accepts (its sim spec's handlers)."""
    handlers = task.unwrapped._sim_spec.actionables
    return {handler.to_string(): handler.space.no_op() for handler in handlers}


def filter_action(
    action: Mapping[str, Any], noops: Mapping[str, Any], freeze_equipped: bool = False
) -> dict[str, Any]:
    """MineRL action dict -> the sim's action: its no-ops, overwritten by the keys it accepts.

    Missing MineRL keys mean "not pressed". Buttons may be Python or numpy scalars or size-1 arrays
    (a batch of one); the camera is cast to float32 degrees.

    :param noops: the sim's actionables and their no-ops (`actionable_noops`).
    :param freeze_equipped: keep drop, swap_slot, pickItem and hotbar.* at their no-op.
    """
    unknown = sorted(set(action) - set(MINERL_ACTION_KEYS))
    if unknown:
        raise ValueError(
            f"unknown action key(s) {unknown}; valid keys: {', '.join(MINERL_ACTION_KEYS)}"
        )
    frozen = FROZEN_KEYS if freeze_equipped else ()
    sim_action = dict(noops)
    for key, value in action.items():
        if key in noops and key not in frozen:
            sim_action[key] = _camera(value) if key == "camera" else _button(key, value)
    return sim_action


def _button(key: str, value: Any) -> int:
    array = np.asarray(value)
    if array.size != 1 or array.reshape(-1)[0] not in (0, 1):
        raise ValueError(f"action[{key!r}] must be 0 or 1 (one action, not a batch), got {value!r}")
    return int(array.reshape(-1)[0])


def _camera(value: Any) -> np.ndarray:
    camera = np.asarray(value, dtype=np.float32).reshape(-1)
    if camera.shape != (2,) or not np.isfinite(camera).all():
        raise ValueError(f"action['camera'] must be finite [pitch, yaw] degrees, got {value!r}")
    return camera
