"""The Crafter goal embedding: what a 16-frame window shows and what happens in it.

The counterpart of MineCLIP's video embedding. It is computed from the privileged per-step state
stored with every play episode (`steve1.data.generation.crafter_state`), so a new version can be
applied to old data without replaying it (`python -m steve1.goal_encoders.reembed`).

Version 2, for the window of frames t-15..t (row t of the episode's `embeds.npy`), 75 numbers:
    events     22  1 if the achievement's counter rose within the window (collect_wood, ...)
    inventory  16  change of each item over the window, clip(delta, -2, 2) / 2 (health, wood, ...)
    view       17  sqrt(share of the 9x7 visible cells) per material/creature in frame t
    facing     18  one-hot of the material/creature in front of the player in frame t
    motion      1  share of the window's steps in which the player moved
    sleep       1  share of the window's frames spent asleep
Favouring what happens over absolute state is deliberate: a version with the absolute inventory let
a low-level policy ignore its goal (shared/reference/crafter_feasibility.md).

Version 1 also held the window's net displacement (dx, dy). A hindsight goal's displacement tells
the policy in which direction the goal lies, so the v1 low level learned to walk in its goal's
direction rather than to find what the goal shows; a code, one real window, then sends the player
the way that window went, wherever the trees or water of a new world are. Measured on the v1 low
level: its wood, drink and stone codes lose most of their effect when only their dx, dy are zeroed
(stone 0.58 -> 0.06; README, "Goal content"). Version 2 drops the direction.
"""

from __future__ import annotations

import numpy as np

from steve1.data.episode_storage import EMBED_OFFSET
from steve1.data.generation.crafter_state import ACHIEVEMENTS, ITEMS, N_SEMANTIC

NAME = "crafter-window"
VERSION = 2
WINDOW = EMBED_OFFSET + 1
_PLAYER_ID = 13
VIEW_IDS = tuple(i for i in range(1, N_SEMANTIC) if i != _PLAYER_ID)
FACING_IDS = tuple(i for i in range(N_SEMANTIC) if i != _PLAYER_ID)
_SEMANTIC_NAMES = (
    "none water grass stone path sand tree lava coal iron diamond table furnace "
    "player cow zombie skeleton arrow plant"
).split()


def feature_names() -> list[str]:
    """Name of every embedding dimension, e.g. `event:collect_wood`, `view:tree`."""
    return (
        [f"event:{a}" for a in ACHIEVEMENTS]
        + [f"inventory:{i}" for i in ITEMS]
        + [f"view:{_SEMANTIC_NAMES[i]}" for i in VIEW_IDS]
        + [f"facing:{_SEMANTIC_NAMES[i]}" for i in FACING_IDS]
        + ["motion:moved", "sleep"]
    )


EMBED_DIM = len(feature_names())


def describe() -> dict[str, object]:
    """Metadata stored with episodes and codebooks."""
    return {"name": NAME, "version": VERSION, "dim": EMBED_DIM}


def encode_episode(states: dict[str, np.ndarray]) -> np.ndarray:
    """(L, EMBED_DIM) float32 embeddings of every window; rows 0..14 are NaN (no full window)."""
    length = len(states["inventory"])
    out = np.full((length, EMBED_DIM), np.nan, np.float32)
    if length < WINDOW:
        return out
    out[EMBED_OFFSET:] = np.concatenate(
        [
            _events(states["achievements"]),
            _inventory_delta(states["inventory"]),
            _view(states["local_view"]),
            _facing(states["local_view"], states["facing"]),
            _motion(states["pos"]),
            _window_mean(states["sleeping"].astype(np.float32)),
        ],
        axis=1,
    )
    return out


def _delta(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float32)
    return x[EMBED_OFFSET:] - x[:-EMBED_OFFSET]


def _events(achievements: np.ndarray) -> np.ndarray:
    return (_delta(achievements) > 0).astype(np.float32)


def _inventory_delta(inventory: np.ndarray) -> np.ndarray:
    return np.clip(_delta(inventory), -2, 2) / 2


def _view(local_view: np.ndarray) -> np.ndarray:
    view = local_view[EMBED_OFFSET:].reshape(-1, local_view[0].size)
    counts = np.stack([(view == i).sum(axis=1) for i in VIEW_IDS], axis=1)
    return np.sqrt(counts / view.shape[1]).astype(np.float32)


def _facing(local_view: np.ndarray, facing: np.ndarray) -> np.ndarray:
    cx, cy = local_view.shape[1] // 2, local_view.shape[2] // 2
    rows = np.arange(EMBED_OFFSET, len(local_view))
    front = local_view[rows, cx + facing[rows, 0], cy + facing[rows, 1]]
    return (front[:, None] == np.array(FACING_IDS)[None, :]).astype(np.float32)


def _motion(pos: np.ndarray) -> np.ndarray:
    moved = np.concatenate([[0.0], np.any(pos[1:] != pos[:-1], axis=1).astype(np.float32)])
    return _window_sum(moved)[:, None] / EMBED_OFFSET


def _window_sum(x: np.ndarray) -> np.ndarray:
    """Sum of x over the transitions inside each window (rows t-14..t)."""
    c = np.concatenate([[0.0], np.cumsum(x)])
    return (c[EMBED_OFFSET + 1 :] - c[1 : len(x) - EMBED_OFFSET + 1]).astype(np.float32)


def _window_mean(x: np.ndarray) -> np.ndarray:
    """Mean of x over the 16 frames of each window, as a column."""
    c = np.concatenate([[0.0], np.cumsum(x)])
    return ((c[WINDOW:] - c[: len(x) - EMBED_OFFSET]) / WINDOW).astype(np.float32)[:, None]
