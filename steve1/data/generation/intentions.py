"""Skills of the scripted play agent and recursive prerequisite resolution.

`Skills` reads Crafter's privileged world state once per step (`bind`) and offers low-level
behaviours (walk to a material, hunt a creature, place an item in front, craft at a table). Each
skill returns an action index, or None when it cannot make progress (nothing reachable, blocked),
so the caller can drop the intention. `obtain` resolves prerequisites recursively: it returns the
label of the sub-intention it is working on plus the action.
"""

from __future__ import annotations

from functools import lru_cache

import crafter
import numpy as np

from steve1.data.generation.navigation import (
    DIRS,
    DO,
    MAT,
    MOVE_ACTION,
    WALKABLE_IDS,
    GridSearch,
    cost_grid,
    dilate4,
    dilate8,
    facing_plan,
)
from tasks.crafter.env import view_slice

NOOP, SLEEP = 0, 6
PLACE_ACTION = {"stone": 7, "table": 8, "furnace": 9, "plant": 10}
MAKE_ACTION = {
    "wood_pickaxe": 11,
    "stone_pickaxe": 12,
    "iron_pickaxe": 13,
    "wood_sword": 14,
    "stone_sword": 15,
    "iron_sword": 16,
}
PERCEPTIONS = ("full", "seen")  # what the agent may know of the map (see `Skills.known`)
ARRIVED = -1  # sentinel of `navigate`: the path is done (never a real action)
REPLAN_EVERY = 40  # refresh cached paths now and then so they pick up world changes
FAIL_COOLDOWN = 15  # steps before retrying a search that found nothing (full searches are slow)

# Inventory item -> material that yields it when hit with `do`.
SOURCE = {"wood": "tree", "stone": "stone", "coal": "coal", "iron": "iron", "diamond": "diamond"}
SOURCE["drink"] = "water"
TOOL_FOR = {
    item: next(iter(crafter.constants.collect[mat]["require"]), None)
    for item, mat in SOURCE.items()
}
RECIPES: dict[str, dict] = crafter.constants.make
PLACES: dict[str, dict] = crafter.constants.place
TABLE_REUSE_DIST = 14  # walk back to a known table within this L1 distance instead of building one


@lru_cache(maxsize=4)
def shared_grid(area: tuple[int, int]) -> GridSearch:
    """One GridSearch per world size: its neighbour table takes a few ms to build."""
    return GridSearch(area)


class Skills:
    """Low-level behaviours over privileged Crafter state; all randomness from `self.rng`."""

    def __init__(
        self,
        rng: np.random.Generator,
        perception: str = "full",
        near_steps: int = 0,
        random_paths: bool = False,
    ) -> None:
        """:param near_steps: with a known material to collect at most this many actions away,
        take the first action of the fewest-actions plan (`facing_plan`) instead of the cached
        path (0: never, the shipped data).
        :param random_paths: walk a shortest path drawn at random (`GridSearch.search`'s
        `random_ties`), which zigzags, instead of the first one found, which turns once (the
        shipped data)."""
        if perception not in PERCEPTIONS:
            raise ValueError(f"unknown perception {perception!r}; choose from {PERCEPTIONS}")
        if near_steps < 0:
            raise ValueError(f"near_steps must be >= 0, got {near_steps}")
        self.rng = rng
        self.perception = perception
        self.near_steps = int(near_steps)
        self.random_paths = bool(random_paths)
        self.seen: np.ndarray | None = None  # "seen": cells that have been in view this episode
        self.nav_key: object = None
        self.nav_path: list[int] = []
        self.nav_goal = -1
        self.nav_time = -(10**9)
        self.failed: dict[object, int] = {}

    # ----------------------------------------------------------------------------- state
    def bind(self, env: crafter.Env) -> None:
        """Cache the per-step views of the world that every skill reads."""
        self.env = env
        self.world = env._world
        self.player = env._player
        self.inv = self.player.inventory
        self.mat = self.world._mat_map
        self.objmap = self.world._obj_map
        self.pos = (int(self.player.pos[0]), int(self.player.pos[1]))
        self.facing = tuple(int(v) for v in self.player.facing)
        self.t = int(env._step or 0)
        self.grid = shared_grid(tuple(self.world.area))
        self._costs: list[int] | None = None
        if self.perception == "seen":
            if self.seen is None or self.seen.shape != self.mat.shape:
                self.seen = np.zeros(self.mat.shape, bool)
            self.seen[self.view_slice()] = True

    def view_slice(self) -> tuple[slice, slice]:
        """The map cells in the player's view (Crafter's 9x7 local view around it)."""
        return view_slice(self.pos)

    def known(self, mask: np.ndarray, now: bool = False) -> np.ndarray:
        """`mask` limited to what the agent knows: everything with "full" perception; with
        "seen", the cells seen this episode (or, with `now`, the cells in view now)."""
        if self.perception == "full":
            return mask
        visible = np.zeros_like(mask)
        if now:
            visible[self.view_slice()] = True
        else:
            visible = self.seen if self.seen is not None else visible
        return mask & visible

    def search(self, key: object) -> int | None:
        """With "seen" perception and no known target: walk to the nearest seen walkable cell next
        to unseen ground, so that the agent looks for what it needs rather than wander."""
        if self.perception == "full" or self.seen is None:
            return None
        seen = self.seen

        def frontier() -> np.ndarray:
            return seen & np.isin(self.mat, WALKABLE_IDS) & dilate4(~seen)

        def valid(goal: int) -> bool:
            return bool(dilate4(~seen)[self.grid.pos(goal)])

        action = self.navigate(("search", key), frontier, valid=valid, max_cost=80, slack=2)
        return None if action == ARRIVED else action

    def inside(self, cell: tuple[int, int]) -> bool:
        return 0 <= cell[0] < self.grid.w and 0 <= cell[1] < self.grid.h

    def mat_at(self, cell: tuple[int, int]) -> int:
        return int(self.mat[cell]) if self.inside(cell) else 0

    def obj_at(self, cell: tuple[int, int]):
        if not self.inside(cell):
            return None
        return self.world._objects[self.objmap[cell]]

    def free(self, cell: tuple[int, int]) -> bool:
        """Walkable material and no object: a move there succeeds."""
        return self.mat_at(cell) in WALKABLE_IDS and self.obj_at(cell) is None

    def front(self) -> tuple[int, int]:
        return (self.pos[0] + self.facing[0], self.pos[1] + self.facing[1])

    def costs(self) -> list[int]:
        if self._costs is None:
            self._costs = cost_grid(self.world, self.inv).ravel().tolist()
        return self._costs

    def objects_of(self, cls) -> list:
        return [o for o in self.world.objects if isinstance(o, cls)]

    def object_mask(self, cls, accept=None) -> np.ndarray:
        mask = np.zeros(self.mat.shape, bool)
        for obj in self.objects_of(cls):
            if accept is not None and not accept(obj):
                continue
            mask[obj.pos[0], obj.pos[1]] = True
        return mask

    # ----------------------------------------------------------------------- navigation
    def navigate(self, key, goal_fn, valid=None, max_cost: int = 150, slack: int = 4) -> int | None:
        """Action along a cached path to a goal cell; ARRIVED at the goal; None if unreachable.

        The path is replanned only when the key changes, the agent left the path (epsilon
        actions), the next cell got blocked, `valid(goal)` fails (target moved or gone) or the
        path is old, so most steps cost no search at all.
        """
        here = self.grid.index(self.pos)
        if self.nav_key == key and self.t - self.nav_time < REPLAN_EVERY:
            while self.nav_path and self.nav_path[0] == here:
                self.nav_path.pop(0)
            if valid is None or valid(self.nav_goal):
                action = self._follow()
                if action is not None:
                    return action
        if self.failed.get(key, -1) > self.t:
            return None
        goals = goal_fn().ravel().tolist()
        slack = int(self.rng.integers(0, slack + 1)) if slack else 0
        path = self.grid.search(
            self.costs(), here, goals, self.rng, slack, max_cost, random_ties=self.random_paths
        )
        if path is None:
            self.failed[key] = self.t + FAIL_COOLDOWN
            self.nav_key = None
            return None
        self.nav_key, self.nav_path, self.nav_time = key, path, self.t
        self.nav_goal = path[-1] if path else here
        return self._follow()

    def _follow(self) -> int | None:
        """Next action on the cached path: move, or turn + dig through a diggable block."""
        if not self.nav_path:
            return ARRIVED
        nx, ny = self.grid.pos(self.nav_path[0])
        d = (nx - self.pos[0], ny - self.pos[1])
        if abs(d[0]) + abs(d[1]) != 1 or self.obj_at((nx, ny)) is not None:
            return None
        mat = int(self.mat[nx, ny])
        if mat in WALKABLE_IDS:
            return MOVE_ACTION[d]
        if self.costs()[self.nav_path[0]]:  # diggable with the tools we have
            return DO if self.facing == d else MOVE_ACTION[d]
        return None

    def near_cell(self, index: int, pred) -> bool:
        """Whether a 4-neighbour of flat cell `index` satisfies `pred(cell)`."""
        x, y = self.grid.pos(index)
        return any(pred((x + dx, y + dy)) for dx, dy in DIRS)

    # ----------------------------------------------------------------- interaction skills
    def face_and_do(self, pred) -> int | None:
        """`do` on the front cell if `pred(front)`, else turn toward an adjacent matching cell."""
        if pred(self.front()):
            return DO
        for d in DIRS:
            cell = (self.pos[0] + d[0], self.pos[1] + d[1])
            if pred(cell) and not self.free(cell):  # turning works only toward blocked cells
                return MOVE_ACTION[d]
        return None

    def collect_material(self, ids: tuple[int, ...], max_cost: int = 150) -> int | None:
        """Walk next to a cell of one of `ids` and hit it."""

        def pred(cell):
            return self.mat_at(cell) in ids

        def targets():
            return self.known(np.isin(self.mat, ids))

        if self.near_steps:
            plan = facing_plan(
                self.pos, self.facing, self._known_pred(pred), self.free, self.near_steps
            )
            if plan is not None:
                return plan[1]
        return self._reach_and_hit(("mat", ids), pred, targets, max_cost, slack=4, search=True)

    def _known_pred(self, pred):
        """`pred` limited to cells the agent knows (`known`): all with "full" perception."""
        if self.perception == "full":
            return pred
        return lambda cell: self.inside(cell) and bool(self.seen[cell]) and pred(cell)

    def hunt(self, cls, max_cost: int = 80, accept=None, search: bool = False) -> int | None:
        """Walk next to an object of class `cls` (and `accept(obj)`) and hit it.

        Moving targets invalidate the cached path (goal no longer adjacent) and trigger a replan.
        None when no such object is known and reachable, unless `search` (with "seen"
        perception: then walk to unseen ground to look for one).
        """

        def pred(cell):
            obj = self.obj_at(cell)
            return isinstance(obj, cls) and (accept is None or accept(obj))

        def targets():
            return self.known(self.object_mask(cls, accept), now=True)  # creatures move

        return self._reach_and_hit(("obj", cls), pred, targets, max_cost, slack=2, search=search)

    def _reach_and_hit(
        self, key, pred, targets_fn, max_cost: int, slack: int, search: bool
    ) -> int | None:
        """`do` on an adjacent cell that satisfies `pred`, else a step toward the known targets
        (`targets_fn()`, a map mask; creatures move, so objects are known only while in view);
        with none known or reachable, a search step when `search`, else None."""
        action = self.face_and_do(pred)
        if action is not None:
            return action
        targets = targets_fn()
        action = None
        if self.perception == "full" or targets.any():  # "full": exactly the original calls
            action = self.navigate(
                key,
                lambda: dilate4(targets),
                valid=lambda g: self.near_cell(g, pred),
                max_cost=max_cost,
                slack=slack,
            )
        if action is None:
            return self.search(key) if search else None
        return self.face_and_do(pred) if action == ARRIVED else action

    def goto_cell(self, cell: tuple[int, int], max_cost: int = 120) -> int | None:
        """Walk onto `cell`; ARRIVED when there."""
        index = self.grid.index(cell)

        def goals():
            mask = np.zeros(self.mat.shape, bool)
            mask[cell] = True
            return mask

        return self.navigate(("cell", index), goals, max_cost=max_cost, slack=0)

    def shuffled_dirs(self) -> list[tuple[int, int]]:
        order = self.rng.permutation(4)
        return [DIRS[i] for i in order]

    def face_valid_front(self, ok) -> int | None:
        """Make the front cell satisfy `ok(cell)`: step so that the next cell ahead does, or turn."""
        if ok(self.front()):
            return None
        x, y = self.pos
        for d in self.shuffled_dirs():
            one, two = (x + d[0], y + d[1]), (x + 2 * d[0], y + 2 * d[1])
            if not self.free(one) and ok(one):
                return MOVE_ACTION[d]  # blocked cell (e.g. water): the move only turns
            if self.free(one) and ok(two):
                return MOVE_ACTION[d]
        moves = [d for d in DIRS if self.free((x + d[0], y + d[1]))]
        if not moves:
            return None
        return MOVE_ACTION[moves[int(self.rng.integers(len(moves)))]]

    def place(self, item: str) -> int | None:
        """Place `item` on the front cell, first moving so that the front cell is allowed."""
        where = tuple(MAT[m] for m in PLACES[item]["where"])

        def ok(cell):
            return self.mat_at(cell) in where and self.obj_at(cell) is None and self.inside(cell)

        if ok(self.front()):
            return PLACE_ACTION[item]
        return self.face_valid_front(ok)

    def place_stone_at(self, cell: tuple[int, int]) -> int | None:
        """Face the free cell `cell` (possible only by arriving from the far side) and put a stone."""
        if self.front() == cell:
            return PLACE_ACTION["stone"] if self.obj_at(cell) is None else NOOP
        cx, cy = cell
        px, py = self.pos
        if abs(cx - px) + abs(cy - py) == 1:  # adjacent but turned away: back off one step
            back = (px - (cx - px), py - (cy - py))
            if self.free(back):
                return MOVE_ACTION[(back[0] - px, back[1] - py)]

        def goals():
            mask = np.zeros(self.mat.shape, bool)
            for dx, dy in DIRS:
                mid, start = (cx - dx, cy - dy), (cx - 2 * dx, cy - 2 * dy)
                if self.free(mid) and self.inside(start) and self.mat_at(start) in WALKABLE_IDS:
                    mask[start] = True
            return mask

        action = self.navigate(("place_at", cell), goals, max_cost=40, slack=0)
        if action == ARRIVED:
            d = ((cx - px) // 2, (cy - py) // 2)
            return (
                MOVE_ACTION[d] if d in MOVE_ACTION and self.free((px + d[0], py + d[1])) else None
            )
        return action

    # ------------------------------------------------------------------------- crafting
    def station_cells(self, name: str) -> np.ndarray:
        return self.mat == MAT[name]

    def near_station(self, names) -> bool:
        """Whether every station in `names` is inside the 3x3 box around the player."""
        x, y = self.pos
        box = self.mat[max(x - 1, 0) : x + 2, max(y - 1, 0) : y + 2]
        return all((box == MAT[n]).any() for n in names)

    def station_within(self, name: str, dist: int) -> bool:
        cells = np.argwhere(self.station_cells(name))
        if not len(cells):
            return False
        return int(np.abs(cells - np.array(self.pos)).sum(1).min()) <= dist

    def goto_stations(self, names) -> int | None:
        """Walk to a cell whose 3x3 box holds all `names` (e.g. table and furnace)."""

        def goals():
            mask = np.ones(self.mat.shape, bool)
            for n in names:
                mask &= dilate8(self.station_cells(n))
            return mask

        return self.navigate(("station", tuple(names)), goals, max_cost=60, slack=1)

    # -------------------------------------------------------------- prerequisite resolution
    def obtain(self, item: str, amount: int = 1) -> tuple[str, int | None]:
        """(label, action) of the next step toward holding `amount` of `item` (recursive)."""
        if item in SOURCE:
            tool = TOOL_FOR[item]
            if tool and not self.inv[tool]:
                return self.obtain(tool, 1)
            return f"collect_{item}", self.collect_material((MAT[SOURCE[item]],))
        if item == "sapling":
            return "collect_sapling", self.collect_sapling()
        if item in RECIPES:
            return self.make(item)
        raise ValueError(item)

    def make(self, item: str) -> tuple[str, int | None]:
        """Craft `item`: gather the ingredients, reach (or build) the stations, then craft."""
        recipe = RECIPES[item]
        stations = tuple(recipe["nearby"])
        label = f"make_{item}"
        near = self.near_station(stations)
        table_known = near or self.station_within("table", TABLE_REUSE_DIST)
        furnace_known = near or "furnace" not in stations or self._furnace_by_table()
        needs = dict(recipe["uses"])
        for known, place in ((table_known, "table"), (furnace_known, "furnace")):
            if not known:
                for name, count in PLACES[place]["uses"].items():
                    needs[name] = needs.get(name, 0) + count
        for name, count in needs.items():
            if self.inv[name] < count:
                return self.obtain(name, count)
        if near:
            return label, MAKE_ACTION[item]
        if not table_known:
            return "place_table", self.place("table")
        if not furnace_known:
            if self.near_station(("table",)):
                return "place_furnace", self.place("furnace")
            return label, self.goto_stations(("table",))
        return label, self.goto_stations(stations)

    def _furnace_by_table(self) -> bool:
        """A known table has a furnace within reach of one standing cell."""
        both = dilate8(self.station_cells("table")) & dilate8(self.station_cells("furnace"))
        cells = np.argwhere(both)
        return bool(len(cells)) and int(np.abs(cells - np.array(self.pos)).sum(1).min()) <= 20

    def collect_sapling(self) -> int | None:
        """Hit grass in front (10% chance of a sapling per hit); step so grass is in front."""

        def grass(cell):
            return self.mat_at(cell) == MAT["grass"] and self.obj_at(cell) is None

        if grass(self.front()):
            return DO
        return self.face_valid_front(grass)
