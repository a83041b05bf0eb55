"""Crafter's observation image from cached tiles: stock's bytes at several times stock's speed.

Stock `crafter.Env.render` draws each of the 63 visible cells and every inventory slot in Python
(a texture lookup and a slice copy or float32 alpha blend per cell), then runs the day/night effect
through PIL. Every cell's pixels depend only on what is in it, so this renderer computes each
distinct cell once with stock's own drawing functions (a material tile, an object blended over a
material, an inventory slot) and then assembles frames by array indexing. The lighting is
`tasks.crafter.lighting`, which draws the night noise from the world's generator as stock does.

Sizes or views this cannot reproduce (a unit under one pixel, an inventory slot drawn outside its
cell, a Pillow whose colour enhance differs) fall back to stock with a one-line warning.
"""

from __future__ import annotations

import warnings
from typing import Any

import crafter
import numpy as np
from crafter import engine

from tasks.crafter import lighting


class UnsupportedRender(ValueError):
    """This size or view cannot be rendered identically by the fast renderer (stock is used)."""


class FastRenderer:
    """`crafter.Env.render` for one env, byte-identical, with stock as the fallback per size."""

    def __init__(self, env: crafter.Env) -> None:
        self._env = env
        self._frames: dict[tuple[int, int], _Frame | None] = {}

    def __call__(self, size: Any = None) -> np.ndarray:
        env = self._env
        frame = self._frame(size)
        image = None if frame is None else frame.render(env._world, env._player)
        return crafter.Env.render(env, size) if image is None else image

    def supports(self, size: Any = None) -> bool:
        """Whether frames of `size` (default: the env's) come from the fast path."""
        return self._frame(size) is not None

    def _frame(self, size: Any) -> _Frame | None:
        size = size or self._env._size  # the same expression (and errors) as stock
        key = (int(size[0]), int(size[1]))
        if key not in self._frames:
            try:
                self._frames[key] = _Frame(self._env, key)
            except UnsupportedRender as error:
                warnings.warn(
                    f"fast Crafter rendering: {error}; using stock rendering", stacklevel=4
                )
                self._frames[key] = None
        return self._frames[key]


class _Frame:
    """Renders frames of one size: tiles of the local view, inventory slots, the border."""

    def __init__(self, env: crafter.Env, size: tuple[int, int]) -> None:
        _check_stock_views(env)
        view = np.asarray(env._view)
        unit = np.asarray(size) // view
        if unit.min() < 1:
            raise UnsupportedRender(
                f"size {size} has under one pixel per cell of view {view.tolist()}"
            )
        if env._local_view._grid.min() < 1:
            rows = env._item_view._grid[1]
            raise UnsupportedRender(
                f"view {view.tolist()} leaves no rows above the {rows} item rows"
            )
        if not lighting.matches_pil():
            raise UnsupportedRender("the installed Pillow's colour enhance differs from stock's")
        self._size = size
        self._border = tuple(int(b) for b in (np.asarray(size) - unit * view) // 2)
        self._local = _LocalTiles(env, unit)
        self._items = _ItemTiles(env, unit)

    def render(self, world: engine.World, player: Any) -> np.ndarray | None:
        """The observation ([y, x] as stock's), or None when only stock can draw this inventory."""
        items = self._items.canvas(player.inventory)
        if items is None:
            return None
        if world.daylight < 0.5:
            local = self._local.lit_by_night(world, player)
        else:
            local = self._local.lit_by_day(world, player)
        image = np.zeros((self._size[1], self._size[0], 3), np.uint8)
        (bx, by), (height, width) = self._border, local.shape[:2]
        image[by : by + height, bx : bx + width] = local
        image[by + height : by + height + items.shape[0], bx : bx + width] = items
        return image


def _check_stock_views(env: crafter.Env) -> None:
    views = {"_local_view": engine.LocalView, "_item_view": engine.ItemView}
    for name, cls in views.items():
        if type(getattr(env, name)) is not cls:
            raise UnsupportedRender(f"env.{name} is not crafter's {cls.__name__}")
    if type(env._textures) is not engine.Textures:
        raise UnsupportedRender("env._textures is not crafter's Textures")


class _LocalTiles:
    """The local view from an atlas of cell tiles: each material, grey (outside the world), and each
    (material, object texture) pair met so far, drawn once by stock's own functions.

    Tiles are planar `(3, unit_y, unit_x)`, the layout `tasks.crafter.lighting` works in.
    """

    def __init__(self, env: crafter.Env, unit: np.ndarray) -> None:
        self._textures = env._textures
        self._unit = unit
        self._grid = tuple(int(g) for g in env._local_view._grid)
        self._offset = tuple(int(g) // 2 for g in self._grid)
        self._n_materials = -1
        self._atlas = np.zeros(0)
        self._blended: dict[tuple[int, str], int] = {}

    def lit_by_day(self, world: engine.World, player: Any) -> np.ndarray:
        """[y, x, rgb] lit view: by day a pixel's light depends on its tile only, so only the
        distinct tiles in view are lit, then placed."""
        ids = self._tile_ids(world, player)
        used = sorted(set(ids.ravel().tolist()))
        lit = lighting.light(self._atlas[used], world.daylight, world.random)
        if player.sleeping:
            lit = lighting.sleep(lit)
        lit = np.ascontiguousarray(lit.astype(np.uint8).transpose(0, 2, 3, 1))  # (tile, y, x, rgb)
        position = np.empty(len(self._atlas), np.intp)
        position[used] = np.arange(len(used))
        (gx, gy), (ux, uy) = self._grid, self._unit
        return lit[position[ids]].transpose(0, 2, 1, 3, 4).reshape(gy * uy, gx * ux, 3)

    def lit_by_night(self, world: engine.World, player: Any) -> np.ndarray:
        """[y, x, rgb] lit view: the night noise covers the whole view at once."""
        (gx, gy), (ux, uy) = self._grid, self._unit
        ids = self._tile_ids(world, player)  # may grow the atlas, so before indexing it
        tiles = self._atlas[ids]  # (gy, gx, 3, uy, ux)
        canvas = tiles.transpose(2, 0, 3, 1, 4).reshape(3, gy * uy, gx * ux)
        lit = lighting.light(canvas, world.daylight, world.random)
        if player.sleeping:
            lit = lighting.sleep(lit)
        lit = lit.astype(np.uint8)  # truncates, as stock's assignment into its uint8 canvas
        image = np.empty((gy * uy, gx * ux, 3), np.uint8)
        for channel in range(3):  # interleaving per channel is several times faster than .T
            image[..., channel] = lit[channel]
        return image

    def _tile_ids(self, world: engine.World, player: Any) -> np.ndarray:
        """(gy, gx) atlas indices of the cells in view, as stock's LocalView would draw them."""
        if len(world._mat_names) != self._n_materials:
            self._build_material_tiles(world)
        gx, gy = self._grid
        x0, y0 = (int(v) - o for v, o in zip(player.pos, self._offset, strict=True))
        xa, xb = max(x0, 0), min(x0 + gx, world.area[0])
        ya, yb = max(y0, 0), min(y0 + gy, world.area[1])
        ids = np.full((gy, gx), self._n_materials)  # grey: stock's background outside the world
        if xa >= xb or ya >= yb:
            return ids
        ids[ya - y0 : yb - y0, xa - x0 : xb - x0] = world._mat_map[xa:xb, ya:yb].T
        indices = world._obj_map[xa:xb, ya:yb]
        for cx, cy in zip(*np.nonzero(indices), strict=True):
            texture = world._objects[indices[cx, cy]].texture
            x, y = cx + xa - x0, cy + ya - y0
            ids[y, x] = self._object_tile(int(ids[y, x]), texture)
        return ids

    def _build_material_tiles(self, world: engine.World) -> None:
        """Stock draws materials without alpha (`engine._draw`); material None is 'unknown'."""
        self._n_materials = len(world._mat_names)
        unit = self._unit
        tiles = [
            self._textures.get(world._mat_names[i], unit)[..., :3] for i in range(self._n_materials)
        ]
        tiles.append(np.full((*unit, 3), 127, np.uint8))
        self._atlas = np.ascontiguousarray(np.stack(tiles).transpose(0, 3, 2, 1))
        self._blended.clear()

    def _object_tile(self, material: int, texture: str) -> int:
        """Atlas index of `texture` alpha-blended over `material` by stock's `_draw_alpha`."""
        key = (material, texture)
        if key not in self._blended:
            cell = np.ascontiguousarray(self._atlas[material].transpose(2, 1, 0))  # [x, y, rgb]
            engine._draw_alpha(cell, (0, 0), self._textures.get(texture, self._unit))
            self._atlas = np.concatenate([self._atlas, cell.transpose(2, 1, 0)[None]])
            self._blended[key] = len(self._atlas) - 1
        return self._blended[key]


class _ItemTiles:
    """The inventory rows: one tile per (slot, item, amount), one canvas per inventory seen."""

    _MAX_CANVASES = 4096

    def __init__(self, env: crafter.Env, unit: np.ndarray) -> None:
        self._view = env._item_view
        self._unit = unit
        self._grid = tuple(int(g) for g in self._view._grid)
        self._shape = (self._grid[0] * int(unit[0]), self._grid[1] * int(unit[1]), 3)
        self._check_slots_stay_in_cells()
        self._tiles: dict[tuple[int, str, Any], np.ndarray] = {}
        self._canvases: dict[tuple, np.ndarray] = {}

    def canvas(self, inventory: dict[str, Any]) -> np.ndarray | None:
        """uint8 [y, x] inventory rows; None if the inventory has more entries than slots."""
        key = tuple(inventory.items())
        canvas = self._canvases.get(key)
        if canvas is not None:
            return canvas
        if len(key) > self._grid[0] * self._grid[1]:
            return None
        if len(self._canvases) >= self._MAX_CANVASES:
            self._canvases.clear()
        canvas = np.zeros(self._shape, np.uint8)
        ux, uy = (int(u) for u in self._unit)
        for index, (item, amount) in enumerate(key):
            if amount < 1:
                continue
            x, y = index % self._grid[0], index // self._grid[0]
            canvas[x * ux : (x + 1) * ux, y * uy : (y + 1) * uy] = self._tile(index, item, amount)
        canvas = self._canvases[key] = np.ascontiguousarray(canvas.transpose(1, 0, 2))
        return canvas

    def _tile(self, index: int, item: str, amount: Any) -> np.ndarray:
        """Slot `index` drawn by stock's own `_item` and `_amount` on an empty canvas, [x, y]."""
        key = (index, item, amount)
        if key not in self._tiles:
            canvas = np.zeros(self._shape, np.uint8)
            self._view._item(canvas, index, item, self._unit)
            self._view._amount(canvas, index, amount, self._unit)
            ux, uy = (int(u) for u in self._unit)
            x, y = index % self._grid[0], index // self._grid[0]
            self._tiles[key] = canvas[x * ux : (x + 1) * ux, y * uy : (y + 1) * uy].copy()
        return self._tiles[key]

    def _check_slots_stay_in_cells(self) -> None:
        """Slots are cached per cell, so stock's icon and digit must fall inside their cell."""
        unit = self._unit
        for index in range(self._grid[0] * self._grid[1]):
            cell = np.array((index % self._grid[0], index // self._grid[0]))
            for offset, scale in ((0.1, 0.8), (0.4, 0.6)):  # stock's _item and _amount
                start = (cell * unit + offset * unit).astype(np.int32)
                stop = start + np.array([int(s) for s in scale * unit])
                if (start < cell * unit).any() or (stop > (cell + 1) * unit).any():
                    raise UnsupportedRender(
                        f"inventory slot {index} overflows its cell at unit {unit}"
                    )
