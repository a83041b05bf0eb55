"""Night shelter of the scripted play agent: find a den, seal it, sleep, mine safely inside.

A den is a two-cell dead-end corridor with solid side walls (see `shelter_candidates`). The agent
walks in, seals the entrance with a stone and is then unreachable for zombies (they walk only on
grass, sand and path) and arrows. While awake inside it drinks from a water wall or mines blocks
whose other neighbours are solid, so the den never opens up.
"""

from __future__ import annotations

import crafter
import numpy as np

from steve1.data.generation.intentions import ARRIVED, DO, NOOP, SLEEP
from steve1.data.generation.navigation import (
    DIRS,
    MAT,
    MOVE_ACTION,
    STONE_PLACEABLE_IDS,
    WALKABLE_IDS,
    diggable_ids,
    safe_to_dig,
    shelter_candidates,
    walk_region,
)

Zombie, Plant = crafter.objects.Zombie, crafter.objects.Plant
DEN_CELLS = 6  # a sealed den may grow (night mining) up to this many walkable cells


class ShelterMixin:
    """Den behaviour for `PlayAgent` (uses its `skills`, `rng`, `task`, `den*` and `_run_task`)."""

    def _den_near(self, max_cost: int) -> bool:
        """Whether a den entrance is within `max_cost` steps (one bounded search)."""
        s = self.skills
        goals = self._den_goals("any").ravel().tolist()
        here = s.grid.index(s.pos)
        return s.grid.search(s.costs(), here, goals, self.rng, 0, max_cost, 1) is not None

    def _zombie_within(self, dist: int) -> bool:
        s = self.skills
        px, py = s.pos
        return any(
            abs(int(z.pos[0]) - px) + abs(int(z.pos[1]) - py) <= dist for z in s.objects_of(Zombie)
        )

    def _enclosed(self) -> bool:
        """True if the walkable region around the player is tiny (sealed den): zombies can't come.

        At most DEN_CELLS cells, so no cell is 7+ steps away, where a skeleton could spawn.
        """
        s = self.skills
        return walk_region(s.mat, s.pos, DEN_CELLS) is not None

    def _shelter(self) -> tuple[str, int | None]:
        """Reach a den, seal it and sleep; if no den exists, get a pickaxe or stay awake."""
        s, inv = self.skills, self.skills.inv
        if self._enclosed():
            self.den = None
            return self._in_den()
        if self.den is not None:
            action = self._enter_den()
            if action is not None:
                return "shelter", action
            self.den = None
        # Prefer dens with a water wall (drink without leaving), then any den.
        # Prefer a den near a growing plant (it only grows while we are near), then one with
        # a water wall (drink without leaving), then any den.
        for tier, max_cost in (("garden", 30), ("wet", 35), ("any", 80)):
            if tier == "garden" and not self._young_plants():
                continue
            action = s.navigate(
                ("den", tier),
                lambda tier=tier: self._den_goals(tier),
                valid=lambda g, tier=tier: g in self.den_cands.get(tier, {}),
                max_cost=max_cost,
                slack=2,
            )
            if action == ARRIVED:
                self.den = self.den_cands[tier].get(s.grid.index(s.pos))
                action = self._enter_den() if self.den else None
            if action is not None:
                return "shelter", action
        if not inv["wood_pickaxe"]:
            return s.obtain("wood_pickaxe")
        if inv["energy"] <= 1:
            return "sleep", SLEEP  # exhausted and nowhere safe: sleep in the open
        if self.task is not None and self.task.name == "sleep":
            self.task.stage = "done"  # a nap without a den: give it up
            return "explore", None
        return self._run_task()

    def _den_goals(self, tier: str) -> np.ndarray:
        s = self.skills
        cands = shelter_candidates(s.mat, s.objmap, s.inv)
        if tier == "wet":
            cands = {k: v for k, v in cands.items() if v[3]}
        elif tier == "garden":
            plants = [p.pos for p in self._young_plants()]
            cands = {
                k: v
                for k, v in cands.items()
                if min(abs(v[0] - int(p[0])) + abs(v[1] - int(p[1])) for p in plants) <= 14
            }
        self.den_cands[tier] = cands
        mask = np.zeros(s.mat.size, bool)
        mask[list(cands)] = True
        return mask.reshape(s.mat.shape)

    def _young_plants(self) -> list:
        return [p for p in self.skills.objects_of(Plant) if not p.ripe]

    def _in_den(self) -> tuple[str, int | None]:
        """Inside a sealed den: sleep when possible, else drink from a water wall or mine safely."""
        s, inv = self.skills, self.skills.inv
        if inv["energy"] < 9:
            return "sleep", SLEEP
        region = walk_region(s.mat, s.pos, DEN_CELLS) or {s.pos}
        water = (MAT["water"],)
        if inv["drink"] < 9:
            action = self._den_reach(region, lambda c, o: s.mat_at(c) in water)
            if action is not None:
                return "collect_drink", action
        digs = (MAT["stone"], MAT["coal"], MAT["iron"], MAT["diamond"])
        diggable = set(diggable_ids(inv)) & set(digs)
        if len(region) < DEN_CELLS:

            def minable(cell, origin):
                return s.mat_at(cell) in diggable and safe_to_dig(s.mat, cell, origin)

            action = self._den_reach(region, minable)
            if action is not None:
                front = s.mat_at(s.front())
                item = {MAT["coal"]: "coal", MAT["iron"]: "iron"}.get(front, "stone")
                return f"collect_{item}", action
        return "sleep", NOOP

    def _den_reach(self, region: set, pred) -> int | None:
        """`do` on / turn to a cell next to the player matching `pred`, or step to a den cell that has one."""
        s = self.skills
        x, y = s.pos
        if pred(s.front(), s.pos):
            return DO
        for d in DIRS:
            cell = (x + d[0], y + d[1])
            if pred(cell, s.pos) and not s.free(cell):
                return MOVE_ACTION[d]
        for d in DIRS:
            cell = (x + d[0], y + d[1])
            if cell in region and s.free(cell):
                if any(pred((cell[0] + e[0], cell[1] + e[1]), cell) for e in DIRS):
                    return MOVE_ACTION[d]
        return None

    def _enter_den(self) -> int | None:
        """Scripted entry: E -> A -> B, block beyond B if open, back to A, seal E."""
        s = self.skills
        ax, ay, k, _ = self.den
        d = DIRS[k]
        a, b = (ax, ay), (ax + d[0], ay + d[1])
        e, end = (ax - d[0], ay - d[1]), (b[0] + d[0], b[1] + d[1])
        back = (-d[0], -d[1])
        if s.pos == e:
            return self._step_or_dig(a, d)
        if s.pos == a:
            if s.facing == back:
                if s.obj_at(e) is not None:
                    return NOOP  # a creature in the doorway; the reflex hits zombies
                return 7 if s.inv["stone"] and s.mat_at(e) in STONE_PLACEABLE_IDS else None
            return self._step_or_dig(b, d)
        if s.pos == b:
            if s.mat_at(end) in WALKABLE_IDS or s.mat_at(end) in STONE_PLACEABLE_IDS:
                if s.facing != d:
                    return None
                if s.obj_at(end) is not None:
                    return NOOP
                return 7 if s.inv["stone"] else None
            return MOVE_ACTION[back] if s.free(a) else None
        return None

    def _step_or_dig(self, cell: tuple[int, int], d: tuple[int, int]) -> int | None:
        s = self.skills
        if s.free(cell):
            return MOVE_ACTION[d]
        if s.obj_at(cell) is not None or s.mat_at(cell) in WALKABLE_IDS:
            return NOOP
        if s.mat_at(cell) not in (MAT["stone"], MAT["coal"], MAT["iron"], MAT["tree"]):
            return None
        return DO if s.facing == d else MOVE_ACTION[d]
