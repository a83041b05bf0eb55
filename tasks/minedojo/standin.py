"""A MineDojo stand-in for tests: the structure of MineDojo's sim and meta task, no Minecraft.

`StandInSim` has what this package uses of `MineDojoSim`: `reset()`, `step(action)` and
`execute_cmd(cmd)` with the old gym 4-tuple, observations with `rgb` uint8 (3, 160, 256),
`inventory` (36 names and quantities, "air" for empty), `life_stats.life` and
`location_stats.pos`, `_sim_spec.actionables` (handlers with `to_string()` and `space.no_op()`),
`prev_info`, `is_terminated`, and the start settings a fast reset restores. Its world is scripted:
every `hits_per_item`-th step with `attack` pressed adds one `target` item, the player dies at
step `die_at`, `/kill`, `/replaceitem`, `/tp` and `/spreadplayers` act on the player, and every
`reset()` makes a new world whose spawn differs from the last. It records every command and the
action dict of every step. `StandInTask` is a meta task over it (`is_successful`, reward = increase
of the target count, done on success or when the sim ends).

Frame of step t of an episode: `rgb[c, y, x] = (t + 40c + x // 8 + 3 (y // 8)) mod 256`, so
`rgb[0, 0, 0] == t % 256`.
"""

from __future__ import annotations

import functools
import shlex
from types import SimpleNamespace
from typing import Any

import numpy as np

from tasks.minedojo.actions import HOTBAR_KEYS

BUTTONS = ("forward", "back", "left", "right", "jump", "sneak", "sprint", "use", "attack", "drop")
CRAFT_KEYS = ("craft", "craft_with_table", "smelt")
N_SLOTS = 36


@functools.lru_cache(maxsize=256)
def standin_frame(t: int, height: int = 160, width: int = 256) -> np.ndarray:
    """The stand-in's frame at episode step `t`, uint8 (3, height, width), read-only (cached)."""
    c, y, x = np.ogrid[:3, :height, :width]
    frame = ((t + 40 * c + x // 8 + 3 * (y // 8)) % 256).astype(np.uint8)
    frame.flags.writeable = False
    return frame


def _slot_index(command_slot: str) -> int:
    """`/replaceitem` slot -> stand-in slot; the main hand is hotbar slot 0 (the selected one)."""
    if command_slot == "slot.weapon.mainhand":
        return 0
    kind, index = command_slot.rsplit(".", 1)
    if kind not in ("slot.hotbar", "slot.inventory"):
        raise ValueError(f"the stand-in has no slot {command_slot!r}")
    return int(index) + (9 if kind == "slot.inventory" else 0)


class _Handler:
    def __init__(self, name: str, noop: Any) -> None:
        self.name = name
        self.space = SimpleNamespace(no_op=lambda: _copy(noop))

    def to_string(self) -> str:
        return self.name


def _copy(value: Any) -> Any:
    return value.copy() if hasattr(value, "copy") else value


def standin_actionables() -> list[_Handler]:
    """MineDojo's keyboard-mouse actionables (event_level_control=False) with their no-ops."""
    handlers = [_Handler("camera", np.zeros(2, np.float32))]
    handlers += [_Handler(name, 0) for name in BUTTONS]
    handlers.append(_Handler("swap_slot", {"source_slot": 0, "target_slot": 0}))
    handlers.append(_Handler("pickItem", 0))
    handlers += [_Handler(name, 0) for name in HOTBAR_KEYS]
    handlers += [_Handler(name, "none") for name in CRAFT_KEYS]
    return handlers


class StandInSim:
    """See the module docstring."""

    def __init__(
        self,
        target: str = "log",
        hits_per_item: int = 3,
        die_at: int | None = None,
        start_time: int | None = None,
        initial_weather: str | None = None,
        start_position: dict[str, float] | None = None,
        initial_inventory: dict[int, tuple[str, int]] | None = None,
    ) -> None:
        self.target, self.hits_per_item, self.die_at = target, hits_per_item, die_at
        self.start_time, self.initial_weather = start_time, initial_weather
        self.start_position = start_position
        self.initial_inventory = dict(initial_inventory or {})
        self._sim_spec = SimpleNamespace(actionables=standin_actionables())
        self.worlds = 0
        self.commands: list[str] = []
        self.actions: list[dict[str, Any]] = []
        self.is_terminated = False
        self.prev_info: dict[str, Any] = {}
        self._new_player()

    @property
    def unwrapped(self) -> StandInSim:
        return self

    def reset(self) -> dict[str, Any]:
        """A new world, with its own spawn point."""
        self.worlds += 1
        self.spawn = (100.0 * self.worlds + 0.5, 64.0, -40.0 * self.worlds + 0.5)
        self._new_player()
        self.slots = dict(self.initial_inventory)
        self.t = 0
        return self._observe()

    def step(self, action: dict[str, Any]) -> tuple[dict[str, Any], float, bool, dict]:
        expected = {h.to_string() for h in self._sim_spec.actionables}
        if set(action) != expected:
            raise KeyError(f"the sim takes exactly its actionables, got {sorted(action)}")
        self.actions.append(action)
        self.t += 1
        if action["attack"] == 1:
            self.hits += 1
            if self.hits % self.hits_per_item == 0:
                self._give(self.target, 1)
        if self.die_at is not None and self.t >= self.die_at:
            self.life = 0.0
        return self._observe(), 0.0, self.is_terminated, self.prev_info

    def execute_cmd(self, cmd: str) -> tuple[dict[str, Any], float, bool, dict]:
        self.commands.append(cmd)
        words = shlex.split(cmd.lstrip("/"))
        if words == ["kill"]:
            self._new_player()
            self.slots = {}
        elif words[0] == "replaceitem":
            self.slots[_slot_index(words[3])] = (words[4].removeprefix("minecraft:"), int(words[5]))
        elif words[0] == "tp":
            coords = [w for w in words[1:] if w not in ("@p", "~")]
            self.pos = np.array([float(v) for v in coords[:3]], np.float32)
        elif words[0] == "spreadplayers":  # lands `spreadDistance` blocks east of the centre
            x, z, distance = float(words[1]), float(words[2]), float(words[3])
            self.pos = np.array([x + distance, 70.0, z], np.float32)
        self.t = 0
        return self._observe(), 0.0, False, self.prev_info

    def _new_player(self) -> None:
        self.life, self.hits, self.t = 20.0, 0, 0
        self.pos = np.array(getattr(self, "spawn", (0.0, 64.0, 0.0)), np.float32)
        self.slots: dict[int, tuple[str, int]] = {}

    def _give(self, name: str, count: int) -> None:
        for slot in range(N_SLOTS):
            held = self.slots.get(slot)
            if held is None or held[0] == name:
                self.slots[slot] = (name, (held[1] if held else 0) + count)
                return

    def _observe(self) -> dict[str, Any]:
        names = np.array(["air"] * N_SLOTS, dtype=object)
        quantities = np.zeros(N_SLOTS, np.int64)
        for slot, (name, quantity) in self.slots.items():
            names[slot], quantities[slot] = name.replace("_", " "), quantity  # MineDojo-like names
        self.prev_info = {"t": self.t, "pos": self.pos.copy()}
        return {
            "rgb": standin_frame(self.t),
            "inventory": {"name": names, "quantity": quantities},
            "life_stats": {"life": np.array([self.life], np.float32)},
            "location_stats": {"pos": self.pos.copy()},
        }


class StandInTask:
    """A MineDojo meta task over a `StandInSim`: harvest `quantity` of the sim's target."""

    def __init__(self, sim: StandInSim | None = None, quantity: int = 1) -> None:
        self.env = sim if sim is not None else StandInSim()
        self.quantity = quantity
        self.is_successful = False
        self.closed = False

    @property
    def unwrapped(self) -> Any:
        return self.env.unwrapped

    def reset(self) -> dict[str, Any]:
        obs = self.env.reset()
        self._count = self._target_count(obs)
        self.is_successful = False
        return obs

    def step(self, action: dict[str, Any]) -> tuple[dict[str, Any], float, bool, dict]:
        obs, _, _, info = self.env.step(action)
        count = self._target_count(obs)
        reward, self._count = float(count - self._count), count
        self.is_successful = count >= self.quantity
        return obs, reward, bool(self.env.is_terminated or self.is_successful), info

    def close(self) -> None:
        self.closed = True

    def _target_count(self, obs: dict[str, Any]) -> int:
        target = self.env.unwrapped.target.replace("_", " ")
        inv = obs["inventory"]
        return int(sum(q for n, q in zip(inv["name"], inv["quantity"], strict=True) if n == target))
