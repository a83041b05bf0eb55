"""Per-step privileged Crafter state recorded with each play episode.

These arrays let the Crafter goal encoder be recomputed from a stored episode without replaying it
(see `steve1.goal_encoders.crafter`). Semantic ids follow Crafter's `SemanticView`: 0 outside the
map, 1-12 materials (water, grass, stone, path, sand, tree, lava, coal, iron, diamond, table,
furnace), 13-18 objects (player, cow, zombie, skeleton, arrow, plant).
"""

from __future__ import annotations

from typing import Any

import crafter
import numpy as np

ITEMS: tuple[str, ...] = tuple(crafter.constants.items)
ACHIEVEMENTS: tuple[str, ...] = tuple(crafter.constants.achievements)
VIEW_SHAPE = (9, 7)  # columns x rows of the visible world, as Crafter's LocalView draws it
N_SEMANTIC = 19
_OBJECT_IDS = {
    crafter.objects.Player: 13,
    crafter.objects.Cow: 14,
    crafter.objects.Zombie: 15,
    crafter.objects.Skeleton: 16,
    crafter.objects.Arrow: 17,
    crafter.objects.Plant: 18,
}


def local_semantic_view(env: crafter.Env) -> np.ndarray:
    """uint8 (9, 7) semantic ids of the cells the player sees, indexed [dx + 4, dy + 3]."""
    world, (px, py) = env._world, env._player.pos
    hx, hy = VIEW_SHAPE[0] // 2, VIEW_SHAPE[1] // 2
    x0, y0 = px - hx, py - hy
    view = np.zeros(VIEW_SHAPE, np.uint8)
    w, h = world.area
    xs, ys = slice(max(x0, 0), min(px + hx + 1, w)), slice(max(y0, 0), min(py + hy + 1, h))
    dst = (slice(xs.start - x0, xs.stop - x0), slice(ys.start - y0, ys.stop - y0))
    view[dst] = world._mat_map[xs, ys]
    obj_idx = world._obj_map[xs, ys]
    for ix, iy in zip(*np.nonzero(obj_idx), strict=True):
        obj = world._objects[obj_idx[ix, iy]]
        view[ix + dst[0].start, iy + dst[1].start] = _OBJECT_IDS[type(obj)]
    return view


def capture_state(env: crafter.Env) -> dict[str, Any]:
    """The privileged state at the current frame, as fixed-size arrays (one row of `states.npz`)."""
    player = env._player
    return {
        "inventory": np.array([player.inventory[k] for k in ITEMS], np.uint8),
        "achievements": np.array([player.achievements[k] for k in ACHIEVEMENTS], np.uint16),
        "local_view": local_semantic_view(env),
        "pos": np.asarray(player.pos, np.int16),
        "facing": np.asarray(player.facing, np.int8),
        "sleeping": np.bool_(player.sleeping),
        "daylight": np.float16(env._world.daylight),
    }


def stack_states(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Stack per-step state dicts into (L, ...) arrays."""
    return {key: np.stack([row[key] for row in rows]) for key in rows[0]}
