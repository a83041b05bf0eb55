"""Crafter as a gymnasium environment for one task spec.

Observation: `{"pov": uint8 (size, size, 3)}`, Crafter's own rendering (local view + inventory rows).
Actions: `Discrete(17)` in Crafter's order. Reward: 1.0 on the step the target is reached, else 0
(the task reward; Crafter's own achievement/health reward is in `info["crafter_reward"]`).
`terminated` on success or death, `truncated` at `max_steps`.

Seeding: `reset(seed=s)` makes Crafter generate world `hash((s, 1))`, so the same seed and actions
replay the same rollout (stock Crafter does not; see `tasks.crafter.world`); later resets without a
seed continue a deterministic sequence of worlds.

Rendering, world generation and the step run on the project's fast paths
(`tasks.crafter.fast_render`, `fast_worldgen`), byte-identical to stock Crafter and several times
faster; `PTGM_STOCK_CRAFTER=1` in the environment (or `fast_render=False, fast_world=False`) runs
stock Crafter's own code.
"""

from __future__ import annotations

import os
from typing import Any

import crafter
import gymnasium
import numpy as np
from crafter import objects

from tasks.crafter.world import DeterministicCrafter
from tasks.specs import CrafterTaskSpec, Spawn

N_ACTIONS = len(crafter.constants.actions)
ACTION_NAMES: tuple[str, ...] = tuple(crafter.constants.actions)
# The visible world around the player: 9 columns x 7 rows (two more rows show the inventory).
VIEW_HALF_WIDTH, VIEW_HALF_HEIGHT = 4, 3
STOCK_ENV_VAR = "PTGM_STOCK_CRAFTER"
_SPAWN_ON = {"zombie": ("grass",), "cow": ("grass",), "skeleton": ("path",)}


class CrafterTaskEnv(gymnasium.Env):
    """One Crafter task; `self.crafter` is the underlying (deterministic) `crafter.Env`."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        spec: CrafterTaskSpec,
        render_mode: str | None = None,
        fast_render: bool | None = None,
        fast_world: bool | None = None,
    ) -> None:
        """:param fast_render, fast_world: `DeterministicCrafter`'s options (identical results;
        False runs stock Crafter's rendering, or its world generation and step). Unset, both are
        on unless the environment variable `PTGM_STOCK_CRAFTER=1` asks for stock Crafter (for
        any script, without a flag)."""
        stock = os.environ.get(STOCK_ENV_VAR, "0") not in ("", "0")
        fast_render = not stock if fast_render is None else fast_render
        fast_world = not stock if fast_world is None else fast_world
        self.spec_ = spec
        self.render_mode = render_mode
        size = spec.size
        # length=None: the time limit is ours (truncated), not Crafter's `done`.
        self.crafter = DeterministicCrafter(
            size=(size, size), length=None, seed=0, fast_render=fast_render, fast_world=fast_world
        )
        self.observation_space = gymnasium.spaces.Dict(
            {"pov": gymnasium.spaces.Box(0, 255, (size, size, 3), np.uint8)}
        )
        self.action_space = gymnasium.spaces.Discrete(N_ACTIONS)
        self._seeded = False
        self._steps = 0
        self._pov: np.ndarray | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None or not self._seeded:
            # Crafter seeds world k of a sequence with hash((seed, k)); restart the sequence.
            world_seed = seed if seed is not None else int(self.np_random.integers(2**31 - 1))
            self.crafter._seed = world_seed
            self.crafter._episode = 0
            self._seeded = True
        self._pov = self.crafter.reset()
        self._apply_spec()
        self._steps = 0
        return {"pov": self._pov}, self._info(success=False)

    def step(self, action: int) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if self._pov is None:
            raise RuntimeError("call reset() before step()")
        self._pov, crafter_reward, _, info = self.crafter.step(int(action))
        self._steps += 1
        success = self.is_success()
        dead = info["discount"] == 0
        terminated = success or dead
        truncated = not terminated and self._steps >= self.spec_.max_steps
        out = self._info(success=success)
        out["crafter_reward"] = float(crafter_reward)
        out["discount"] = float(info["discount"])
        return {"pov": self._pov}, float(success), terminated, truncated, out

    def render(self) -> np.ndarray | None:
        return self._pov

    def is_success(self) -> bool:
        """Whether the task's target holds now."""
        target, player = self.spec_.target, self.crafter._player
        if target.achievement is not None:
            return player.achievements[target.achievement] >= target.quantity
        return player.inventory[target.item] >= target.quantity

    def _apply_spec(self) -> None:
        env, spec = self.crafter, self.spec_
        if spec.start_time:
            env._step = spec.start_time
            env._update_time()
        for item, count in spec.initial_inventory.items():
            env._player.inventory[item] = count
        for spawn in spec.spawn:
            self._spawn(spawn)
        if spec.start_time or spec.initial_inventory or spec.spawn:
            self._pov = env.render()  # the frame from crafter.reset() predates these changes

    def _spawn(self, spawn: Spawn) -> None:
        world, player = self.crafter._world, self.crafter._player
        cells = _free_cells_in_view(world, player.pos, _SPAWN_ON[spawn.object])
        dist = np.abs(cells - player.pos).sum(axis=1) if len(cells) else np.zeros(0)
        cells = cells[(dist >= spawn.min_distance) & (dist <= spawn.max_distance)]
        if not len(cells):
            return  # rare (e.g. spawned inside a lake); documented: the creature is skipped
        pos = cells[self.np_random.integers(len(cells))]
        if spawn.object == "cow":
            world.add(objects.Cow(world, pos))
        else:
            cls = objects.Zombie if spawn.object == "zombie" else objects.Skeleton
            world.add(cls(world, pos, player))

    def _info(self, success: bool) -> dict[str, Any]:
        player = self.crafter._player
        return {
            "success": bool(success),
            "achievements": dict(player.achievements),
            "inventory": dict(player.inventory),
            "player_pos": player.pos.copy(),
            "steps": self._steps,
        }


def _free_cells_in_view(world: Any, center: np.ndarray, materials: tuple[str, ...]) -> np.ndarray:
    """(n, 2) positions in the visible window whose material is in `materials` and hold no object."""
    ids = [world._mat_ids[m] for m in materials if m in world._mat_ids]
    x0, y0 = center
    cells = []
    for x in range(x0 - VIEW_HALF_WIDTH, x0 + VIEW_HALF_WIDTH + 1):
        for y in range(y0 - VIEW_HALF_HEIGHT, y0 + VIEW_HALF_HEIGHT + 1):
            inside = 0 <= x < world.area[0] and 0 <= y < world.area[1]
            if inside and world._mat_map[x, y] in ids and world._obj_map[x, y] == 0:
                cells.append((x, y))
    return np.array(cells, dtype=np.int64).reshape(-1, 2)


def view_slice(pos: Any) -> tuple[slice, slice]:
    """The map cells in the player's view at `pos` (Crafter's 9x7 local view), as an index of
    the (x, y) material map, clipped at the map's low edges (numpy clips the high ones)."""
    x, y = (int(v) for v in pos)
    hx, hy = VIEW_HALF_WIDTH, VIEW_HALF_HEIGHT
    return slice(max(0, x - hx), x + hx + 1), slice(max(0, y - hy), y + hy + 1)
