"""The Minecraft action space: MineRL-style action dicts to and from VPT's joint action indices.

VPT, STEVE-1 and PTGM act through one pair of categorical heads, `camera` and `buttons` (sizes in
`VPT.presets.MINECRAFT_ACTION_SPACE`), VPT's hierarchical camera mapping with 11 camera bins:

- A MineRL action is a dict of the 24 keys of `ACTION_KEYS`, in the order of upstream's
  `actions.pkl`: 23 buttons (0 or 1) and `camera`, `[pitch, yaw]` in degrees.
- `buttons` enumerates the product of nine mutually exclusive groups, the last varying fastest:
  hotbar (none, 1..9), forward/back, left/right, sprint/sneak, use, drop, attack, jump (each with
  "none" first), then a camera-meta bit (off, on): 8640 classes. Class 8640 is `inventory`, which
  overrides every other button.
- `camera` is `pitch_bin * 11 + yaw_bin`. Each angle is clipped to +-10 degrees, mu-law encoded
  (mu 10) and rounded into bins of width 2 on [-10, 10]; bin 5 holds zero, so 60 is the null camera.
- The camera-meta bit is on exactly when the camera is not null. A buttons class whose bit is off
  decodes to a zero camera whatever the camera index says: the camera head only counts when the
  bit is on. Encoding `inventory` forces the camera to 60; decoding it applies the camera index,
  as VPT's agent does (the class has no meta bit).
- Within a group, forward+back and left+right cancel to "none"; otherwise the later button wins
  (sneak over sprint, the highest hotbar slot). `ESC`, `swapHands` and `pickItem` have no place in
  VPT's space: ignored when encoding, 0 when decoding.

The null action (no button, zero camera) is buttons 0, camera 60. Functions are batched: index
arrays of any shape `S` map to button arrays of shape `S` and cameras of shape `S + (2,)`.

Contractor recordings measure the mouse in units of 360/2400 degree. Upstream stores the camera
in an integer array, truncating each angle toward zero (5.625 -> 5, and any motion under a degree
to none). `contractor_action` keeps float degrees; `truncate_camera=True` reproduces upstream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from VPT.presets import MINECRAFT_ACTION_SPACE

HOTBAR_KEYS = tuple(f"hotbar.{slot}" for slot in range(1, 10))
ACTION_KEYS = (
    *("ESC", "back", "drop", "forward", *HOTBAR_KEYS, "inventory", "jump", "left", "right"),
    *("sneak", "sprint", "swapHands", "camera", "attack", "use", "pickItem"),
)
BUTTON_KEYS = tuple(key for key in ACTION_KEYS if key != "camera")

# Mutually exclusive buttons, in VPT's order; option 0 of every group ("none") is implicit.
BUTTON_GROUPS = (
    HOTBAR_KEYS,
    ("forward", "back"),
    ("left", "right"),
    ("sprint", "sneak"),
    ("use",),
    ("drop",),
    ("attack",),
    ("jump",),
)
_OPPOSITES = (("forward", "back"), ("left", "right"))  # pressed together: neither
_RADICES = (
    *(len(group) + 1 for group in BUTTON_GROUPS),
    2,
)  # the last digit is the camera-meta bit
INVENTORY = int(np.prod(_RADICES))  # the one class after the product
NULL_BUTTONS = 0

CAMERA_MAXVAL = 10.0  # degrees
CAMERA_BINSIZE = 2.0
CAMERA_MU = 10.0
N_CAMERA_BINS = int(2 * CAMERA_MAXVAL / CAMERA_BINSIZE) + 1
CAMERA_NULL_BIN = N_CAMERA_BINS // 2
NULL_CAMERA = CAMERA_NULL_BIN * N_CAMERA_BINS + CAMERA_NULL_BIN

MOUSE_DEGREES = 360.0 / 2400.0  # degrees per contractor mouse unit
_KEYBOARD = {
    "key.keyboard.escape": "ESC",
    "key.keyboard.s": "back",
    "key.keyboard.q": "drop",
    "key.keyboard.w": "forward",
    **{f"key.keyboard.{slot}": f"hotbar.{slot}" for slot in range(1, 10)},
    "key.keyboard.e": "inventory",
    "key.keyboard.space": "jump",
    "key.keyboard.a": "left",
    "key.keyboard.d": "right",
    "key.keyboard.left.shift": "sneak",
    "key.keyboard.left.control": "sprint",
    "key.keyboard.f": "swapHands",
}
_MOUSE_BUTTONS = {0: "attack", 1: "use", 2: "pickItem"}


def camera_to_bins(degrees: ArrayLike) -> np.ndarray:
    """Camera angles (degrees) to bins 0..10: clip to +-10, mu-law encode, round to width-2 bins."""
    x = (
        np.clip(np.asarray(degrees, dtype=np.float64), -CAMERA_MAXVAL, CAMERA_MAXVAL)
        / CAMERA_MAXVAL
    )
    x = np.sign(x) * np.log1p(CAMERA_MU * np.abs(x)) / np.log1p(CAMERA_MU)
    return np.rint((x + 1.0) * CAMERA_MAXVAL / CAMERA_BINSIZE).astype(np.int64)


def bins_to_camera(bins: ArrayLike) -> np.ndarray:
    """Bins 0..10 to the angle (degrees) at each bin's centre: the inverse mu-law of its midpoint."""
    x = np.asarray(bins, dtype=np.float64) * CAMERA_BINSIZE / CAMERA_MAXVAL - 1.0
    return np.sign(x) * np.expm1(np.abs(x) * np.log1p(CAMERA_MU)) / CAMERA_MU * CAMERA_MAXVAL


def action_to_index(action: Mapping[str, ArrayLike]) -> dict[str, np.ndarray]:
    """MineRL action dict (batched, missing keys unpressed) to `{"camera", "buttons"}` indices."""
    pressed, degrees = _read_action(action)
    bins = camera_to_bins(degrees)
    camera = bins[..., 0] * N_CAMERA_BINS + bins[..., 1]
    digits = [_group_choice(pressed, group, camera.shape) for group in BUTTON_GROUPS]
    buttons = np.ravel_multi_index((*digits, (camera != NULL_CAMERA).astype(np.intp)), _RADICES)
    inventory = pressed["inventory"]
    return {
        "camera": np.where(inventory, NULL_CAMERA, camera).astype(np.int64),
        "buttons": np.where(inventory, INVENTORY, buttons).astype(np.int64),
    }


def index_to_action(index: Mapping[str, ArrayLike]) -> dict[str, np.ndarray]:
    """`{"camera", "buttons"}` indices (arrays of one shape) to a MineRL action dict of arrays."""
    buttons, camera = _read_index(index)
    inventory = buttons == INVENTORY
    *choices, meta = np.unravel_index(np.where(inventory, NULL_BUTTONS, buttons), _RADICES)
    action = {key: np.zeros(buttons.shape, np.int64) for key in BUTTON_KEYS}
    for group, choice in zip(BUTTON_GROUPS, choices, strict=True):
        for option, key in enumerate(group, start=1):
            action[key] = (choice == option).astype(np.int64)
    action["inventory"] = inventory.astype(np.int64)
    degrees = bins_to_camera(np.stack(np.divmod(camera, N_CAMERA_BINS), axis=-1))
    action["camera"] = np.where(((meta == 1) | inventory)[..., None], degrees, 0.0)
    return {key: action[key] for key in ACTION_KEYS}


def null_action(shape: tuple[int, ...] = ()) -> dict[str, np.ndarray]:
    """The null MineRL action (nothing pressed, zero camera), batched to `shape`."""
    return index_to_action(
        {"camera": np.full(shape, NULL_CAMERA), "buttons": np.full(shape, NULL_BUTTONS)}
    )


def stack_actions(actions: Sequence[Mapping[str, ArrayLike]]) -> dict[str, np.ndarray]:
    """A list of single actions (as in `actions.pkl`) to one batched dict, keys of the first."""
    if not actions:
        raise ValueError("stack_actions needs at least one action")
    return {key: np.stack([np.asarray(action[key]) for action in actions]) for key in actions[0]}


def contractor_action(
    step: Mapping[str, Any], *, truncate_camera: bool = False
) -> tuple[dict[str, Any], bool]:
    """One line of a contractor `.jsonl` recording to `(MineRL action, is_null)`.

    Keyboard keys and mouse buttons 0/1/2 become buttons; the camera is `[dy, dx]` mouse units in
    degrees. Null means no mapped key, no mouse button and no mouse motion (upstream drops such
    frames). Episode-level fixes (stuck attack, scroll-wheel hotbar changes) are the caller's.

    :param truncate_camera: truncate degrees toward zero into an int array, as upstream does.
    """
    mouse = step["mouse"]
    pressed = [_KEYBOARD[key] for key in step["keyboard"]["keys"] if key in _KEYBOARD]
    pressed += [_MOUSE_BUTTONS[button] for button in mouse["buttons"] if button in _MOUSE_BUTTONS]
    action: dict[str, Any] = {key: int(key in pressed) for key in ACTION_KEYS}
    degrees = np.array([mouse["dy"], mouse["dx"]], dtype=np.float64) * MOUSE_DEGREES
    action["camera"] = np.trunc(degrees).astype(np.int64) if truncate_camera else degrees
    is_null = not pressed and mouse["dx"] == 0 and mouse["dy"] == 0
    return action, is_null


def _group_choice(
    pressed: Mapping[str, np.ndarray], group: tuple[str, ...], shape: tuple[int, ...]
) -> np.ndarray:
    """The option chosen in one group (0 = none); the later pressed button wins, opposites cancel."""
    choice = np.zeros(shape, np.intp)
    for option, key in enumerate(group, start=1):
        choice = np.where(pressed[key], option, choice)
    if group in _OPPOSITES:
        choice = np.where(pressed[group[0]] & pressed[group[1]], 0, choice)
    return choice


def _read_action(action: Mapping[str, ArrayLike]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Validated `(pressed, camera)`: boolean arrays of the batch shape, float degrees `S + (2,)`."""
    unknown = sorted(set(action) - set(ACTION_KEYS))
    if unknown:
        raise ValueError(f"unknown action key(s) {unknown}; valid keys: {', '.join(ACTION_KEYS)}")
    values = {key: np.asarray(value) for key, value in action.items()}
    camera = values.pop("camera", None)
    if camera is not None and (camera.ndim == 0 or camera.shape[-1] != 2):
        raise ValueError(f"camera must have shape (..., 2) [pitch, yaw], got {camera.shape}")
    shape = (
        camera.shape[:-1] if camera is not None else next((v.shape for v in values.values()), ())
    )
    if camera is None:
        camera = np.zeros((*shape, 2))
    if not np.issubdtype(camera.dtype, np.number) or not np.isfinite(camera).all():
        raise ValueError("camera must hold finite numbers of degrees")
    for key, value in values.items():
        if value.shape != shape:
            raise ValueError(f"action[{key!r}] has shape {value.shape}; the batch shape is {shape}")
        if not np.isin(value, (0, 1)).all():
            raise ValueError(f"action[{key!r}] must hold 0 or 1")
    pressed = {
        key: values[key] == 1 if key in values else np.zeros(shape, bool) for key in BUTTON_KEYS
    }
    return pressed, camera.astype(np.float64)


def _read_index(index: Mapping[str, ArrayLike]) -> tuple[np.ndarray, np.ndarray]:
    """Validated `(buttons, camera)` integer arrays of one shape, each within its head's range."""
    if set(index) != set(MINECRAFT_ACTION_SPACE):
        raise ValueError(
            f"index keys must be {sorted(MINECRAFT_ACTION_SPACE)}, got {sorted(index)}"
        )
    arrays = {name: np.asarray(index[name]) for name in MINECRAFT_ACTION_SPACE}
    for name, n in MINECRAFT_ACTION_SPACE.items():
        value = arrays[name]
        if not np.issubdtype(value.dtype, np.integer):
            raise TypeError(f"{name} indices must be integers, got dtype {value.dtype}")
        if value.size and (value.min() < 0 or value.max() >= n):
            raise ValueError(
                f"{name} indices must lie in [0, {n}), got {value.min()}..{value.max()}"
            )
    if arrays["buttons"].shape != arrays["camera"].shape:
        raise ValueError(
            f"buttons {arrays['buttons'].shape} and camera {arrays['camera'].shape} shapes differ"
        )
    return arrays["buttons"].astype(np.int64), arrays["camera"].astype(np.int64)
