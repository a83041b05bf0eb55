"""Grid path finding for the scripted Crafter play agent.

The world is a 64x64 material map. Cells are addressed by a flat index ``x * height + y`` (the
C-order ravel of Crafter's ``[x, y]`` arrays), so numpy masks turn into Python lists with
``ravel().tolist()``. Searches use Dial's algorithm (bucketed Dijkstra with small integer costs),
which is as cheap as a BFS in pure Python and lets digging through a block cost more than walking.
"""

from __future__ import annotations

from collections import deque

import crafter
import numpy as np

MAT: dict[str, int] = {
    name: i for i, name in enumerate([None, *crafter.constants.materials]) if name is not None
}
WALKABLE_IDS: tuple[int, ...] = tuple(MAT[m] for m in crafter.constants.walkable)
# Where Crafter lets a stone be placed (also: the target cell must hold no object).
STONE_PLACEABLE_IDS: tuple[int, ...] = tuple(
    MAT[m] for m in crafter.constants.place["stone"]["where"]
)
WALK_COST = 1
DIG_COST = 3  # turn + `do` + move: digging through a block costs about three steps
DIRS: tuple[tuple[int, int], ...] = ((-1, 0), (1, 0), (0, -1), (0, 1))
MOVE_ACTION: dict[tuple[int, int], int] = {(-1, 0): 1, (1, 0): 2, (0, -1): 3, (0, 1): 4}
MOVES: tuple[int, ...] = tuple(MOVE_ACTION.values())  # move_left, move_right, move_up, move_down
DO = 5  # the `do` action


def facing_plan(
    pos: tuple[int, int],
    facing: tuple[int, int],
    is_target,
    is_free,
    limit: int | None = None,
) -> tuple[int, int] | None:
    """(steps, first action) of the fewest actions from (`pos`, `facing`) to a `do` on a cell with
    `is_target(cell)`; None if there is none within `limit` steps (None: no limit).

    Crafter's move action always turns the player to its direction and moves it only when the cell
    there is free (`is_free(cell)`), so the search runs over (cell, facing) states, every action
    costing one step, and the `do` counts as one. Ties go to the first move in `DIRS` order, so the
    plan is a function of the state alone.
    """
    start = (pos[0], pos[1], facing[0], facing[1])
    first = {start: DO}
    dist = {start: 0}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        x, y, fx, fy = state
        steps = dist[state] + 1  # the `do`
        if limit is not None and steps > limit:
            return None
        if is_target((x + fx, y + fy)):
            return steps, first[state]
        for mx, my in DIRS:
            cell = (x + mx, y + my)
            nxt = (*cell, mx, my) if is_free(cell) else (x, y, mx, my)
            if nxt not in dist:
                dist[nxt] = dist[state] + 1
                first[nxt] = MOVE_ACTION[(mx, my)] if state == start else first[state]
                queue.append(nxt)
    return None


def diggable_ids(inventory: dict[str, int]) -> tuple[int, ...]:
    """Materials that one `do` removes and turns into a walkable cell, given the tools owned."""
    ids = [MAT["tree"]]  # a tree leaves grass
    if inventory["wood_pickaxe"]:
        ids += [MAT["stone"], MAT["coal"]]
    if inventory["stone_pickaxe"]:
        ids.append(MAT["iron"])
    if inventory["iron_pickaxe"]:
        ids.append(MAT["diamond"])
    return tuple(ids)


def cost_grid(
    world: crafter.engine.World, inventory: dict[str, int], dig: bool = True
) -> np.ndarray:
    """Per-cell entry cost (0 = impassable): walk 1, dig-through DIG_COST, lava/objects never."""
    lut = np.zeros(256, np.int16)
    lut[list(WALKABLE_IDS)] = WALK_COST
    if dig:
        lut[list(diggable_ids(inventory))] = DIG_COST
    costs = lut[world._mat_map]
    costs[world._obj_map > 0] = 0  # creatures and plants block; moving ones trigger a replan
    return costs


def dilate4(mask: np.ndarray) -> np.ndarray:
    """Cells 4-adjacent to a True cell (not including the cell itself unless adjacent to another)."""
    out = np.zeros_like(mask)
    out[1:] |= mask[:-1]
    out[:-1] |= mask[1:]
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    return out


def dilate8(mask: np.ndarray) -> np.ndarray:
    """Cells within Chebyshev distance 1 of a True cell (Crafter's `nearby(pos, 1)` box)."""
    out = mask | dilate4(mask)
    return out | dilate4(out)


class GridSearch:
    """Bounded shortest-path search on a fixed-size grid with cached neighbour lists."""

    def __init__(self, area: tuple[int, int]) -> None:
        self.w, self.h = int(area[0]), int(area[1])
        self.size = self.w * self.h
        nbrs: list[tuple[int, ...]] = []
        for x in range(self.w):
            for y in range(self.h):
                cells = [(x + dx, y + dy) for dx, dy in DIRS]
                nbrs.append(
                    tuple(
                        cx * self.h + cy
                        for cx, cy in cells
                        if 0 <= cx < self.w and 0 <= cy < self.h
                    )
                )
        self.nbrs = nbrs

    def index(self, pos) -> int:
        return int(pos[0]) * self.h + int(pos[1])

    def pos(self, index: int) -> tuple[int, int]:
        return divmod(index, self.h)

    def search(
        self,
        costs: list[int],
        start: int,
        goals: list[bool],
        rng: np.random.Generator,
        slack: int = 0,
        max_cost: int = 200,
        max_found: int = 6,
        random_ties: bool = False,
    ) -> list[int] | None:
        """Path (excluding start) to a goal cell, or None if no goal is within `max_cost`.

        All goal cells reached within `slack` of the cheapest one (up to `max_found`) are
        candidates and one is picked at random, so the agent does not always go to the nearest.
        Among the equally cheap ways into a cell the first one found is kept (paths then turn once,
        where they must), or with `random_ties` one drawn uniformly, so that the path zigzags at
        random between equally short walks.
        """
        if goals[start]:
            return []
        inf = 1 << 30
        dist = [inf] * self.size
        parent = [-1] * self.size
        ties = [0] * self.size if random_ties else None
        dist[start] = 0
        buckets: dict[int, list[int]] = {0: [start]}
        found: list[int] = []
        limit = max_cost
        nbrs = self.nbrs
        c = 0
        while c <= limit and buckets:
            bucket = buckets.pop(c, None)
            if bucket:
                for u in bucket:
                    if dist[u] != c:
                        continue
                    if goals[u]:
                        if not found:
                            limit = min(limit, c + slack)
                        found.append(u)
                        if len(found) >= max_found:
                            break
                        continue  # do not expand through goal cells
                    for v in nbrs[u]:
                        w = costs[v]
                        if w:
                            nd = c + w
                            if nd < dist[v]:
                                dist[v] = nd
                                parent[v] = u
                                buckets.setdefault(nd, []).append(v)
                                if ties is not None:
                                    ties[v] = 1
                            elif ties is not None and nd == dist[v]:
                                ties[v] += 1  # keep each of the k ways with probability 1/k
                                if rng.random() * ties[v] < 1.0:
                                    parent[v] = u
                if len(found) >= max_found:
                    break
            c += 1
        if not found:
            return None
        node = found[int(rng.integers(len(found)))]
        path = []
        while node != start:
            path.append(node)
            node = parent[node]
        path.reverse()
        return path


def _shift(padded: np.ndarray, pad: int, dx: int, dy: int, shape: tuple[int, int]) -> np.ndarray:
    """View of `padded` such that out[x, y] == original[x + dx, y + dy] (pad value outside)."""
    w, h = shape
    return padded[pad + dx : pad + dx + w, pad + dy : pad + dy + h]


def shelter_candidates(
    mat: np.ndarray, objmap: np.ndarray, inventory: dict[str, int]
) -> dict[int, tuple[int, int, int, bool]]:
    """Two-cell dens the player can seal itself into, keyed by flat index of the entrance cell.

    A den is a straight corridor E -> A -> B (direction d): the player walks from E into A and B
    (digging them if needed), puts a stone ahead of B if that cell is open, steps back to A,
    which turns it toward E, and seals E with a stone. The four side cells of A and B must already
    be solid (not walkable by zombies, not lava), so that nothing can reach the player while it
    sleeps. Value: (ax, ay, direction index into DIRS, whether a wall is water: drink inside).
    """
    shape = mat.shape
    pad = 2
    walk = np.isin(mat, WALKABLE_IDS)
    free = walk & (objmap == 0)
    dig = np.isin(mat, diggable_ids(inventory)) & (mat != MAT["tree"])
    solid = ~walk & (mat != MAT["lava"])
    placeable = np.isin(mat, STONE_PLACEABLE_IDS) & (objmap == 0) & (mat != MAT["lava"])
    stone = (mat == MAT["stone"]).astype(np.int16)

    def padded(a, value):
        return np.pad(a, pad, constant_values=value)

    free_p, dig_p = padded(free, False), padded(dig, False)
    solid_p, place_p, stone_p = padded(solid, True), padded(placeable, False), padded(stone, 0)
    water_p = padded(mat == MAT["water"], False)
    out: dict[int, tuple[int, int, int, bool]] = {}
    h = shape[1]
    for k, (dx, dy) in enumerate(DIRS):
        lx, ly = -dy, dx  # perpendicular

        def at(a, f, s, dx=dx, dy=dy, lx=lx, ly=ly):
            return _shift(a, pad, f * dx + s * lx, f * dy + s * ly, shape)

        ok = (at(free_p, 0, 0) | at(dig_p, 0, 0)) & (at(free_p, 1, 0) | at(dig_p, 1, 0))
        for f in (0, 1):
            ok &= at(solid_p, f, 1) & at(solid_p, f, -1)
        ok &= at(free_p, -1, 0)
        end_open = ~at(solid_p, 2, 0)
        ok &= ~end_open | at(place_p, 2, 0)
        stones = inventory["stone"] + at(stone_p, 0, 0) + at(stone_p, 1, 0)
        ok &= stones >= 1 + end_open
        wet = at(water_p, 2, 0)
        for f in (0, 1):
            wet = wet | at(water_p, f, 1) | at(water_p, f, -1)
        for ax, ay in np.argwhere(ok):
            entrance = (ax - dx) * h + (ay - dy)
            out.setdefault(int(entrance), (int(ax), int(ay), k, bool(wet[ax, ay])))
    return out


def _mat(mat: np.ndarray, cell: tuple[int, int]) -> int:
    """Material id at `cell`, 0 (solid, like Crafter's out-of-map None) outside the map."""
    x, y = cell
    if 0 <= x < mat.shape[0] and 0 <= y < mat.shape[1]:
        return int(mat[x, y])
    return 0


def walk_region(mat: np.ndarray, start: tuple[int, int], limit: int) -> set | None:
    """Cells reachable from `start` over zombie-walkable ground, or None if more than `limit`."""
    seen = {start}
    stack = [start]
    while stack:
        x, y = stack.pop()
        for dx, dy in DIRS:
            cell = (x + dx, y + dy)
            if cell not in seen and _mat(mat, cell) in WALKABLE_IDS:
                seen.add(cell)
                if len(seen) > limit:
                    return None
                stack.append(cell)
    return seen


def safe_to_dig(mat: np.ndarray, cell: tuple[int, int], origin: tuple[int, int]) -> bool:
    """Digging `cell` from `origin` keeps the den sealed: its other neighbours are solid, no lava."""
    x, y = cell
    for dx, dy in DIRS:
        nb = (x + dx, y + dy)
        if nb == origin:
            continue
        m = _mat(mat, nb)
        if m in WALKABLE_IDS or m == MAT["lava"]:
            return False
    return True
