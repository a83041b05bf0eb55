"""Scripted "play" agent that generates the task-agnostic Crafter play dataset.

It plays like a contractor playing freely: it draws intentions at random (per-episode random
weights, random durations and amounts) from a repertoire covering the whole game, resolves their
prerequisites recursively (`Skills.obtain`), and is interrupted by needs (thirst, hunger, night,
fatigue, low health) and reflexes (hit an adjacent zombie). At night it digs a two-cell den into
solid ground, seals it with a stone and sleeps, which is what keeps it alive. It reads Crafter's
privileged state but draws all randomness from its own generator, so the same agent seed and env
seed reproduce the same actions, and the env's RNG stream is never touched.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

import crafter
import numpy as np

from steve1.data.generation.intentions import (
    ARRIVED,
    DO,
    NOOP,
    SLEEP,
    Skills,
)
from steve1.data.generation.navigation import (
    DIRS,
    MAT,
    MOVE_ACTION,
    WALKABLE_IDS,
)
from steve1.data.generation.shelter import ShelterMixin

Cow, Zombie, Skeleton = crafter.objects.Cow, crafter.objects.Zombie, crafter.objects.Skeleton
Plant = crafter.objects.Plant

# Intentions sampled for free play (roughly uniform weights; needs override them when urgent).
REPERTOIRE: tuple[str, ...] = (
    "explore",
    "idle",
    "collect_wood",
    "collect_drink",
    "collect_sapling",
    "place_plant",
    "eat_plant",
    "eat_cow",
    "place_table",
    "make_wood_pickaxe",
    "make_wood_sword",
    "collect_stone",
    "place_stone",
    "place_furnace",
    "make_stone_pickaxe",
    "make_stone_sword",
    "collect_coal",
    "collect_iron",
    "make_iron_pickaxe",
    "make_iron_sword",
    "collect_diamond",
    "defeat_zombie",
    "defeat_skeleton",
    "sleep",
)
# Every label `intention` can report: the repertoire plus sub-intentions used by needs/prereqs.
INTENTIONS: tuple[str, ...] = REPERTOIRE + ("shelter", "protect_plant", "survive")

DUSK, NIGHT_START, NIGHT_END, DAY = 110, 140, 280, 300  # steps within Crafter's 300-step day cycle
DAWN_END, DAWN_WATCH = 50, 8  # until this phase, wait in the den while a zombie is this close
RANDOM_ACTIONS = tuple(a for a in range(17) if a != SLEEP)  # random sleep would waste the night


@dataclass
class Task:
    """One sampled intention with its stopping rule."""

    name: str
    deadline: int
    amount: int = 1
    base: int = 0  # achievement count when the task started
    stage: str = ""
    data: dict = field(default_factory=dict)
    stuck: int = 0


class PlayAgent(ShelterMixin):
    """Intention-driven scripted Crafter player (see module docstring)."""

    def __init__(
        self,
        rng: np.random.Generator,
        epsilon: float = 0.1,
        perception: str = "full",
        drink_when_full: bool = False,
        near_steps: int = 0,
        random_paths: bool = False,
    ) -> None:
        """:param perception: "full" navigates on the whole map (privileged); "seen" only toward
        materials seen this episode and creatures in view, and otherwise searches unseen ground,
        so that the data shows how to find what is out of sight.
        :param drink_when_full: pursue a `collect_drink` intention with a full drink bar. By default
        (the shipped data) a collect intention ends when its item is at 9, so the data almost
        never drinks at full (52 of 17,614 drinks); but every episode starts full, Crafter counts
        a drink at full, and a low level that sees the bar learns to drink less at full
        (experiments/drink_when_full/).
        :param near_steps: walk the last steps to a material by the fewest actions (see `Skills`).
        :param random_paths: walk shortest paths drawn at random, which zigzag (see `Skills`)."""
        self.rng = rng
        self.drink_when_full = drink_when_full
        self.epsilon = float(epsilon)
        # a fresh `Skills` per episode, with these settings
        self._new_skills = functools.partial(Skills, rng, perception, near_steps, random_paths)
        self.skills = self._new_skills()
        self._label = "explore"
        self.time_spent = 0.0
        self.steps = 0

    # ---------------------------------------------------------------------- public API
    @property
    def intention(self) -> str:
        """Label of what the agent is currently doing (the innermost sub-intention)."""
        return self._label

    def reset(self, env: crafter.Env) -> None:
        """Start an episode: draw this episode's play style (intention weights, thresholds)."""
        rng = self.rng
        self.skills = self._new_skills()
        weights = rng.dirichlet(np.full(len(REPERTOIRE), 3.0))
        self.weights = weights / weights.sum()
        self.drink_low = int(rng.integers(3, 6))
        self.food_low = int(rng.integers(3, 6))
        self.rest_health = int(rng.integers(3, 5))
        self.upgrade_order = 1 if rng.random() < 0.5 else -1
        self.task: Task | None = None
        self.need: str | None = None
        self.need_until = 0
        self.den: tuple[int, int, int, bool] | None = None
        self.den_cands: dict[str, dict] = {}
        self.early_night = -1  # day index on which the agent heads for a den early (none near)
        self.garden: Task | None = None
        self.burst = 0
        self.resting = False
        self._label = "explore"
        self.exploring = False  # whether the last action was exploration noise (see `_epsilon`)
        self.decision = NOOP  # the last action before exploration noise (see `act`)

    def act(self, env: crafter.Env) -> int:
        """Choose the action for the current step (call once per env.step)."""
        start = time.perf_counter()
        self.skills.bind(env)
        label, action = self._decide()
        if action is None or action == ARRIVED:
            action = self._random_move()
        self._label = label
        self.decision = chosen = int(action)  # the agent's own choice, before exploration noise
        action = self._epsilon(action)
        self.exploring = action != chosen
        self.time_spent += time.perf_counter() - start
        self.steps += 1
        return int(action)

    # ------------------------------------------------------------------ decision layers
    def _decide(self) -> tuple[str, int | None]:
        s = self.skills
        if s.player.sleeping:
            return "sleep", NOOP  # the env ignores actions while asleep
        reflex = self._reflex()
        if reflex is not None:
            return reflex
        need = self._needs()
        if need is not None:
            return need
        return self._run_task()

    def _reflex(self) -> tuple[str, int] | None:
        """Hit an adjacent zombie or skeleton (it would hit us anyway)."""
        s = self.skills
        for d in DIRS:
            obj = s.obj_at((s.pos[0] + d[0], s.pos[1] + d[1]))
            if isinstance(obj, (Zombie, Skeleton)):
                label = "defeat_zombie" if isinstance(obj, Zombie) else "defeat_skeleton"
                return label, DO if s.facing == d else MOVE_ACTION[d]
        return None

    def _needs(self) -> tuple[str, int | None] | None:
        """Survival interrupts: drink, eat, arm, shelter at night / when tired or hurt."""
        s, inv = self.skills, self.skills.inv
        phase = s.t % DAY
        evening = NIGHT_START - 70 <= phase < NIGHT_START
        # Top up before the night: in the den thirst and hunger keep running.
        drink_low = max(self.drink_low, 6) if evening else self.drink_low
        food_low = max(self.food_low, 5) if evening else self.food_low
        if self.need == "drink" and (inv["drink"] >= 9 or s.t > self.need_until):
            self.need = None
        if self.need == "food" and (inv["food"] >= 8 or s.t > self.need_until):
            self.need = None
        if self.need is None:
            if inv["drink"] <= drink_low:
                self.need, self.need_until = "drink", s.t + 150
            elif inv["food"] <= food_low:
                self.need, self.need_until = "food", s.t + 200
        shelter = self._wants_shelter()
        if shelter and self._enclosed():
            # Leaving the den at night is deadlier than a little thirst or hunger.
            starving = inv["drink"] == 0 or inv["food"] == 0
            critical = starving and (inv["health"] <= 5 or not NIGHT_START <= phase < NIGHT_END)
        else:
            critical = inv["drink"] <= 2 or inv["food"] <= 2
        if self.need and (critical or not shelter):
            action = self._satisfy(self.need)
            if action is not None:
                return action
        garden = self._garden()
        if garden is not None:
            return garden
        if shelter:
            return self._shelter()
        return self._arm()

    def _garden(self) -> tuple[str, int | None] | None:
        """Eat a ripe plant close by; in the evening, plant a carried sapling.

        The den is then chosen near the plant, so it grows overnight (plants only grow while
        the player is within 18 steps) behind its stone wall.
        """
        s = self.skills
        ripe = [p for p in s.objects_of(Plant) if p.ripe and s.player.distance(p) <= 20]
        if ripe:
            action = s.hunt(Plant, max_cost=40, accept=lambda p: p.ripe)
            if action is not None:
                return "eat_plant", action
        phase = s.t % DAY
        if not DUSK - 40 <= phase < NIGHT_START:
            return None
        task = self.garden
        if task is None or task.deadline < s.t:
            if not s.inv["sapling"] or self._young_plants():
                return None
            task = self.garden = Task("place_plant", s.t + 60)
        if task.stage == "done":
            return None
        label, action = self._plant(task)
        return (label, action) if action is not None else None

    def _arm(self) -> tuple[str, int | None] | None:
        """Upgrade tools when a table is close and the materials are at hand.

        Swords make zombies die in 3 hits (2 with stone); pickaxes open up stone and iron.
        """
        s, inv = self.skills, self.skills.inv
        if inv["wood_pickaxe"] and not inv["stone_pickaxe"] and inv["stone"] >= 1:
            return s.obtain("stone_pickaxe")  # worth a detour (and a new table) any time
        if inv["wood"] < 1 or not s.station_within("table", 8):
            return None
        if not inv["wood_pickaxe"]:
            return s.obtain("wood_pickaxe")
        has_stone = inv["stone"] >= 1
        if not inv["wood_sword"] and not inv["stone_sword"] and not has_stone:
            return s.obtain("wood_sword")
        for tool in ("stone_pickaxe", "stone_sword")[:: self.upgrade_order]:
            if not inv[tool] and has_stone:
                return s.obtain(tool)
        return None

    def _satisfy(self, need: str) -> tuple[str, int | None] | None:
        s = self.skills
        if need == "drink":
            return s.obtain("drink")
        ripe = s.hunt(Plant, max_cost=60, accept=lambda p: p.ripe)
        if ripe is not None:
            return "eat_plant", ripe
        cow = s.hunt(Cow, max_cost=150, search=True)
        return ("eat_cow", cow) if cow is not None else None

    def _wants_shelter(self) -> bool:
        """Night, exhaustion, or low health (rest in a den until healed)."""
        s, inv = self.skills, self.skills.inv
        if inv["health"] <= self.rest_health:
            self.resting = True
        elif inv["health"] >= 7:
            self.resting = False
        phase = s.t % DAY
        if NIGHT_START <= phase < NIGHT_END or inv["energy"] <= 2 or self.resting:
            return True
        if phase == DUSK and not self._den_near(12):
            self.early_night = s.t // DAY
        if DUSK <= phase < NIGHT_START and self.early_night == s.t // DAY:
            return True  # no den close by: start walking before the zombies come out
        # At dawn, peek out: stay in the den while zombies still roam nearby.
        dawn = phase >= NIGHT_END or phase < DAWN_END
        return dawn and self._enclosed() and self._zombie_within(DAWN_WATCH)

    # ----------------------------------------------------------------------- free play
    def _new_task(self) -> Task:
        s = self.skills
        for _ in range(10):
            name = REPERTOIRE[int(self.rng.choice(len(REPERTOIRE), p=self.weights))]
            if not self._pointless(name):
                break
        long = name.startswith(("collect_iron", "make_iron", "collect_diamond", "make_stone"))
        span = (150, 450) if long else (60, 250)
        task = Task(name, s.t + int(self.rng.integers(*span)))
        if name == "idle":
            task.deadline = s.t + int(self.rng.integers(3, 20))
        task.amount = int(self.rng.integers(1, 4))
        if name.startswith("collect_"):
            task.amount = int(self.rng.integers(1, 6))
        task.base = self._count(name)
        return task

    def _pointless(self, name: str) -> bool:
        """Skip (most of the time) intentions that would only repeat something already owned."""
        inv = self.skills.inv
        if name.startswith("make_") and inv[name[5:]] > 0:
            return self.rng.random() < 0.85
        if name == "sleep":
            return inv["energy"] >= 7
        return False

    def _count(self, name: str) -> int:
        ach = self.skills.player.achievements
        return ach.get(name, 0)

    def _run_task(self) -> tuple[str, int | None]:
        s = self.skills
        task = self.task
        if task is None or s.t >= task.deadline or self._task_done(task) or task.stuck >= 3:
            task = self.task = self._new_task()
        label, action = self._task_step(task)
        task.stuck = task.stuck + 1 if action is None else 0
        return label, action

    def _task_done(self, task: Task) -> bool:
        name, inv = task.name, self.skills.inv
        if name in ("explore", "idle", "sleep") or task.stage == "protect":
            return task.stage == "done"
        full = name.startswith("collect_") and inv.get(name[8:], 0) >= 9
        if full and not (self.drink_when_full and name == "collect_drink"):
            return True
        return self._count(name) - task.base >= task.amount

    def _task_step(self, task: Task) -> tuple[str, int | None]:
        s, inv, name = self.skills, self.skills.inv, self.task.name
        if name == "explore":
            return name, self._explore(task)
        if name == "idle":
            return name, NOOP if self.rng.random() < 0.8 else self._random_move()
        if name == "sleep":
            if self._enclosed() and inv["energy"] >= 9:
                task.stage = "done"
            return self._shelter()
        if name.startswith("collect_"):
            return s.obtain(name[8:], task.amount)
        if name.startswith("make_"):
            return s.obtain(name[5:])
        if name in ("place_table", "place_furnace", "place_stone"):
            item = name[6:]
            for need, count in crafter.constants.place[item]["uses"].items():
                if inv[need] < count:
                    return s.obtain(need, count)
            return name, s.place(item)
        if name == "place_plant":
            return self._plant(task)
        if name == "eat_plant":
            return self._eat_plant(task)
        if name == "eat_cow":
            return name, s.hunt(Cow, max_cost=150, search=True)
        if name == "defeat_zombie":
            action = s.hunt(Zombie, max_cost=60)
            return (name, action) if action is not None else ("explore", self._explore(task))
        if name == "defeat_skeleton":
            if not (inv["wood_sword"] or inv["stone_sword"]) and self.rng.random() < 0.99:
                return s.obtain("wood_sword")
            return name, s.hunt(Skeleton, max_cost=200)
        raise ValueError(name)

    def _explore(self, task: Task) -> int | None:
        """Walk to random cells (near the garden if a plant is growing), a few in a row."""
        s = self.skills
        target = task.data.get("target")
        if target is not None:
            action = s.goto_cell(target)
            if action is not None and action != ARRIVED:
                return action
            task.data["hops"] = task.data.get("hops", 0) + 1
            if task.name == "explore" and task.data["hops"] >= task.amount + 1:
                task.stage = "done"
        centre, radius = self._home()
        for _ in range(20):
            x = int(np.clip(centre[0] + self.rng.integers(-radius, radius + 1), 0, s.grid.w - 1))
            y = int(np.clip(centre[1] + self.rng.integers(-radius, radius + 1), 0, s.grid.h - 1))
            if s.mat_at((x, y)) in WALKABLE_IDS and (x, y) != s.pos:
                task.data["target"] = (x, y)
                return s.goto_cell((x, y))
        return None

    def _home(self) -> tuple[tuple[int, int], int]:
        """Where to wander: around a growing plant (it only grows while we are near), else anywhere."""
        s = self.skills
        plants = self._young_plants()
        if plants:
            p = plants[0].pos
            return (int(p[0]), int(p[1])), 7
        return s.pos, int(self.rng.integers(6, 20))

    def _plant(self, task: Task) -> tuple[str, int | None]:
        """Plant a sapling, then wall it in with stones so that cows and zombies can't eat it."""
        s = self.skills
        if task.stage != "protect":
            if not s.inv["sapling"]:
                return s.obtain("sapling")
            front = s.front()
            if s.mat_at(front) == MAT["grass"] and s.obj_at(front) is None:
                task.stage, task.data["plant"] = "protect", front
                return "place_plant", 10
            return "place_plant", s.place("plant")
        return self._protect(task)

    def _protect(self, task: Task) -> tuple[str, int | None]:
        s = self.skills
        px, py = task.data["plant"]
        if not isinstance(s.obj_at((px, py)), Plant):
            task.stage = "done"
            return "protect_plant", None
        open_cells = [
            (px + dx, py + dy) for dx, dy in DIRS if s.mat_at((px + dx, py + dy)) in WALKABLE_IDS
        ]
        if not open_cells:
            task.stage = "done"
            return "protect_plant", NOOP
        if s.inv["stone"] < len(open_cells):
            if not s.inv["wood_pickaxe"]:
                task.stage = "done"
                return "protect_plant", None
            return s.obtain("stone", len(open_cells))
        open_cells.sort(key=lambda c: c == s.pos)  # seal the cell we stand on last
        return "protect_plant", s.place_stone_at(open_cells[0])

    def _eat_plant(self, task: Task) -> tuple[str, int | None]:
        s = self.skills
        action = s.hunt(Plant, max_cost=120, accept=lambda p: p.ripe)
        if action is not None:
            return "eat_plant", action
        if s.objects_of(Plant):
            return "eat_plant", self._explore(task)  # stay close while it ripens
        return self._plant(task)

    # ---------------------------------------------------------------------- randomness
    def _danger(self) -> bool:
        """A zombie or skeleton within two steps."""
        s = self.skills
        x, y = s.pos
        idx = s.objmap[max(x - 2, 0) : x + 3, max(y - 2, 0) : y + 3]
        for i in idx[idx > 0]:
            obj = s.world._objects[i]
            if isinstance(obj, (Zombie, Skeleton)) and abs(obj.pos - s.player.pos).sum() <= 2:
                return True
        return False

    def _random_move(self) -> int:
        s = self.skills
        moves = [
            MOVE_ACTION[d]
            for d in DIRS
            if s.mat_at((s.pos[0] + d[0], s.pos[1] + d[1])) != MAT["lava"]
        ]
        return moves[int(self.rng.integers(len(moves)))] if moves else NOOP

    def _epsilon(self, action: int) -> int:
        """Replace the action by random ones in short bursts (about `epsilon` of all steps)."""
        s = self.skills
        if s.player.sleeping or (self._label == "sleep" and self._enclosed()) or self._danger():
            self.burst = 0  # no fooling around while asleep, in the den, or in a fight
            return action
        if self.burst == 0 and self.rng.random() < self.epsilon / 2:
            self.burst = int(self.rng.integers(1, 4))
        if self.burst == 0:
            return action
        self.burst -= 1
        random_action = RANDOM_ACTIONS[int(self.rng.integers(len(RANDOM_ACTIONS)))]
        if 1 <= random_action <= 4:
            d = DIRS[random_action - 1]
            if s.mat_at((s.pos[0] + d[0], s.pos[1] + d[1])) == MAT["lava"]:
                return action
        return random_action
