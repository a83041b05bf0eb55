"""Crafter's world generation on whole arrays: stock's world, objects and random stream, ~10x faster.

Stock `crafter.worldgen.generate_world` visits the 64x64 cells one by one, calling OpenSimplex up to
ten times per cell through Python (about 50 ms per reset with numba, 2.4 s without). Noise is a
pure function of its coordinates, so here every noise field is computed for the whole grid in one
compiled loop and every deterministic branch is a boolean mask. Only the random draws stay
sequential: stock draws `world.random.uniform()` inside its branches, cell after cell, so the cells
that draw are visited in stock's order with numbers taken from a pre-drawn block, after which the
generator is rewound and advanced by exactly the count stock would have used.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import opensimplex
from crafter import constants, objects

_TREE, _COAL, _IRON, _DIAMOND = 0.8, 0.85, 0.75, 0.994  # stock's uniform() thresholds
_COW, _ZOMBIE, _SKELETON = 0.985, 0.993, 0.95


try:  # opensimplex compiles its noise with numba when numba is installed
    import numba
    from opensimplex.internals import _noise3
except ImportError:  # pragma: no cover - numba is in requirements.txt
    numba = None

if numba is not None:
    # opensimplex's own `noise3array` is compiled with `parallel=True`, which would start a thread
    # pool; world generation stays on the caller's core with these serial loops.

    @numba.njit(cache=True)
    def _noise_grid(xs, ys, z, perm, perm_grad_index3):  # pragma: no cover - compiled
        out = np.empty((xs.size, ys.size))
        for i in range(xs.size):
            for j in range(ys.size):
                out[i, j] = _noise3(xs[i], ys[j], z, perm, perm_grad_index3)
        return out

    @numba.njit(cache=True)
    def _first_success(chances, thresholds, numbers):  # pragma: no cover - compiled
        """Per cell, the first chance whose number beats its threshold (-1: none); numbers used."""
        out = np.full(chances.shape[0], -1, np.int64)
        used = 0
        for i in range(chances.shape[0]):
            for k in range(chances.shape[1]):
                if chances[i, k]:
                    used += 1
                    if numbers[used - 1] > thresholds[k]:
                        out[i] = k
                        break
        return out, used


@functools.cache
def available() -> bool:
    """Whether worlds can be generated here: numba is installed and the compiled grid gives
    opensimplex's own values (a guard against another opensimplex version)."""
    simplex = opensimplex.OpenSimplex(seed=1)
    if numba is None or not hasattr(simplex, "_perm"):
        return False
    xs, ys = np.array([0.1, 3.7]), np.array([-2.3, 5.0])
    grid = _noise_grid(xs, ys, 3, simplex._perm, simplex._perm_grad_index3)
    return all(
        grid[i, j] == simplex.noise3(x, y, 3) for i, x in enumerate(xs) for j, y in enumerate(ys)
    )


def generate_world(world: Any, player: Any) -> None:
    """Stock `crafter.worldgen.generate_world(world, player)`: same materials, objects, RNG state."""
    simplex = opensimplex.OpenSimplex(seed=world.random.randint(0, 2**31 - 1))
    fields = _Fields(simplex, world.area, player.pos)
    tunnels = _set_materials(world, fields)
    _add_objects(world, player, fields.dist, tunnels)


class _Fields:
    """`crafter.worldgen._simplex` for every cell at once, indexed [x, y]."""

    def __init__(self, simplex: Any, area: tuple[int, int], center: np.ndarray) -> None:
        self._simplex = simplex
        self.x, self.y = np.arange(area[0]), np.arange(area[1])
        # Stock: np.sqrt((x - player.pos[0]) ** 2 + (y - player.pos[1]) ** 2), int64 inside.
        self.dist = np.sqrt((self.x[:, None] - center[0]) ** 2 + (self.y[None, :] - center[1]) ** 2)

    def __call__(
        self, x: np.ndarray, y: np.ndarray, z: int, sizes: Any, normalize: bool = True
    ) -> np.ndarray:
        if not isinstance(sizes, dict):
            sizes = {sizes: 1}
        value = 0
        for size, weight in sizes.items():
            value = value + weight * self._noise(x / size, y / size, z)
        if normalize:
            value = value / sum(sizes.values())
        return value

    def _noise(self, x: np.ndarray, y: np.ndarray, z: int) -> np.ndarray:
        simplex = self._simplex
        return _noise_grid(x, y, z, simplex._perm, simplex._perm_grad_index3)


def _set_materials(world: Any, noise: _Fields) -> np.ndarray:
    """Stock `_set_material` on every cell; returns the tunnel mask that skeletons spawn in."""
    x, y = noise.x, noise.y
    start = 4 - noise.dist
    start = start + 2 * noise(x, y, 8, 3)
    start = 1 / (1 + np.exp(-start))
    water = noise(x, y, 3, {15: 1, 5: 0.15}, False) + 0.1
    water = water - 2 * start
    mountain = noise(x, y, 0, {15: 1, 5: 0.3})
    mountain = mountain - (4 * start + 0.3 * water)

    ids = world._mat_ids
    mat = np.full(world.area, ids["grass"], np.uint8)  # start > 0.5, and grassland without a tree
    undecided = start <= 0.5
    mount = undecided & (mountain > 0.15)
    undecided &= ~mount
    cave = mount & (noise(x, y, 6, 7) > 0.15) & (mountain > 0.3)
    mount &= ~cave
    h_tunnel = mount & (noise(2 * x, y / 5, 7, 3) > 0.4)
    mount &= ~h_tunnel
    v_tunnel = mount & (noise(x / 5, 2 * y, 7, 3) > 0.4)
    mount &= ~v_tunnel
    tunnels = h_tunnel | v_tunnel
    mat[cave | tunnels] = ids["path"]
    sand = undecided & (0.25 < water) & (water <= 0.35) & (noise(x, y, 4, 9) > -0.2)
    undecided &= ~sand
    lake = undecided & (0.3 < water)
    grassland = undecided & ~lake
    mat[sand], mat[lake] = ids["sand"], ids["water"]

    # The rest of the mountain: coal, iron or diamond by chance, else lava or stone.
    coal = mount & (noise(x, y, 1, 8) > 0)
    iron = mount & (noise(x, y, 2, 6) > 0.4)
    diamond = mount & (mountain > 0.18)
    lava = mount & (mountain > 0.3) & (noise(x, y, 6, 5) > 0.35)
    mat[mount] = ids["stone"]
    mat[lava] = ids["lava"]
    tree = grassland & (noise(x, y, 5, 7) > 0)
    chances = [coal, iron, diamond, tree]
    outcomes = [(_COAL, ids["coal"]), (_IRON, ids["iron"]), (_DIAMOND, ids["diamond"])]
    outcomes.append((_TREE, ids["tree"]))
    _draw_in_order(world.random, mat, chances, outcomes)
    world._mat_map[:] = mat
    return tunnels


def _add_objects(world: Any, player: Any, dist: np.ndarray, tunnels: np.ndarray) -> None:
    """Stock `_set_object` on every cell: cows, zombies and skeletons, added in stock's order."""
    mat, ids = world._mat_map, world._mat_ids
    walkable = np.isin(mat, [ids[m] for m in constants.walkable])
    cow = walkable & (dist > 3) & (mat == ids["grass"])
    zombie = walkable & (dist > 10)
    skeleton = walkable & (mat == ids["path"]) & tunnels
    kinds = np.zeros(world.area, np.uint8)
    outcomes = [(_COW, 1), (_ZOMBIE, 2), (_SKELETON, 3)]
    _draw_in_order(world.random, kinds, [cow, zombie, skeleton], outcomes)
    for cx, cy in zip(*np.nonzero(kinds), strict=True):
        pos, kind = (int(cx), int(cy)), kinds[cx, cy]
        if kind == 1:
            world.add(objects.Cow(world, pos))
        else:
            cls = objects.Zombie if kind == 2 else objects.Skeleton
            world.add(cls(world, pos, player))


def _draw_in_order(
    random: np.random.RandomState,
    out: np.ndarray,
    chances: list[np.ndarray],
    outcomes: list[tuple[float, int]],
) -> None:
    """Stock's `elif c and uniform() > p` chains, cell by cell in row-major ([x, y]) order.

    A cell tries its chances in order; each chance it has draws one number, and the first number
    above its threshold sets `out` to that outcome's value. The numbers come from a block drawn at
    once; the generator is then rewound and advanced by the count actually used, as stock's scalar
    `uniform()` calls would have left it.
    """
    flags = np.stack(chances, axis=-1).reshape(-1, len(chances))
    cells = np.flatnonzero(flags.any(axis=-1))
    state = random.get_state()
    numbers = random.uniform(size=int(flags.sum()))
    thresholds = np.array([threshold for threshold, _ in outcomes])
    choice, used = _first_success(flags[cells], thresholds, numbers)
    random.set_state(state)
    random.uniform(size=used)
    values = np.array([value for _, value in outcomes], out.dtype)
    won = choice >= 0
    out.reshape(-1)[cells[won]] = values[choice[won]]
