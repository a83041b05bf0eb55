"""Semi-fast reset: most resets restore the player by chat commands instead of generating a world.

Generating a Minecraft world takes tens of seconds, so upstream (through PKU-RL's MineDojo fork)
resets mostly "fast": kill the player, reset time and weather, restore the initial inventory, kill
every other entity and dropped item, then teleport the player to a random point up to
`teleport_range` blocks from the world's spawn (re-drawn while it stands on leaves). Blocks
changed in earlier episodes stay changed, so every so often a real reset makes a new world.

The counter rule is upstream's: the first reset makes a world; after that, `reset_freq` fast resets
are followed by one real reset, and the real reset does not count, so with `reset_freq` 20 the
worlds are made at resets 1, 21, 42, 63, ... (`is_hard_reset` gives the rule).

`SemifastReset` wraps the MineDojo sim (old gym API, below the meta task) and issues the commands
itself with `execute_cmd`, drawing every teleport from its own seeded generator; upstream drew them
from Python's global `random` inside the fork's fast-reset wrapper. One deliberate difference:
upstream keeps teleporting around the first world's spawn coordinates after a real reset (its real
reset bypasses the fast-reset wrapper that holds them); here every real reset re-anchors the
teleports on the new world's spawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

TELEPORT_RANGE = 200  # blocks; upstream's random_teleport_range
LEAVES_RETRIES = 20  # re-draws of the teleport while the player stands on leaves

# Minecraft 1.11 `/replaceitem` slot names of MineDojo's named inventory slots.
_NAMED_SLOTS = {
    "mainhand": "slot.weapon.mainhand",
    "offhand": "slot.weapon.offhand",
    "head": "slot.armor.head",
    "chest": "slot.armor.chest",
    "legs": "slot.armor.legs",
    "feet": "slot.armor.feet",
}


def command_slot(slot: int | str) -> str:
    """MineDojo inventory slot (0-8 hotbar, 9-35 main inventory, or a named slot) -> command slot."""
    if isinstance(slot, str) and not slot.isdigit():
        if slot not in _NAMED_SLOTS:
            raise ValueError(
                f"unknown inventory slot {slot!r}; valid: 0..35, {', '.join(_NAMED_SLOTS)}"
            )
        return _NAMED_SLOTS[slot]
    index = int(slot)
    if not 0 <= index <= 35:
        raise ValueError(f"inventory slot must be in 0..35, got {index}")
    return f"slot.hotbar.{index}" if index < 9 else f"slot.inventory.{index - 9}"


def fast_reset_commands(
    start_time: int | None = None,
    weather: str | None = None,
    inventory: Sequence[Mapping[str, Any]] = (),
    start_position: Mapping[str, float] | None = None,
) -> list[str]:
    """The commands of one fast reset before the teleport (MineDojo's fast-reset sequence).

    :param inventory: items as `{"slot", "name", "quantity", "variant"}` dicts (`tasks.minedojo.sim`).
    :param start_position: `{"x", "y", "z", "yaw", "pitch"}`, when the task fixes one.
    """
    commands = ["/kill", f"/time set {start_time or 0}", f"/weather {weather or 'normal'}"]
    for item in inventory:
        quantity, variant = item.get("quantity", 1), item.get("variant") or 0
        commands.append(
            f"/replaceitem entity @p {command_slot(item['slot'])} "
            f"minecraft:{item['name']} {quantity} {variant}"
        )
    if start_position is not None:
        p = start_position
        commands.append(f"/tp @p {p['x']} {p['y']} {p['z']} {p['yaw']} {p['pitch']}")
    commands += ["/kill @e[type=!player]", "/kill @e[type=item]"]
    return commands


def teleport_commands(anchor_x: float, anchor_z: float, distance: float) -> list[str]:
    """Spread the player within `distance`+1 blocks of the anchor, then re-spread while on leaves."""
    spread = (
        f"spreadplayers {int(anchor_x)} {int(anchor_z)} {distance:.3f} {distance + 1:.3f} false @p"
    )
    on_leaves = f"/execute @p ~ ~ ~ detect ~ ~-1 ~ minecraft:leaves -1 {spread}"
    return [f"/{spread}", *[on_leaves] * LEAVES_RETRIES]


def is_hard_reset(index: int, reset_freq: int) -> bool:
    """Whether reset number `index` (1-based) of a `SemifastReset` makes a new world."""
    if index < 1:
        raise ValueError(f"reset index is 1-based, got {index}")
    return index == 1 or reset_freq <= 0 or (index - 1) % (reset_freq + 1) == reset_freq


class SemifastReset:
    """The MineDojo sim with semi-fast resets; every other attribute is the sim's.

    :param sim: a MineDojo sim (`reset()`, `execute_cmd(cmd) -> (obs, reward, done, info)`, and
        observations with `location_stats.pos` = [x, y, z]).
    :param reset_freq: fast resets between two real ones (upstream's `fast_reset: 20`).
    :param reset_commands: `fast_reset_commands(...)` of the task.
    :param teleport_range: the teleport distance is uniform in [0, teleport_range]; 0 disables it.
    """

    def __init__(
        self,
        sim: Any,
        reset_freq: int,
        reset_commands: Sequence[str],
        teleport_range: float = TELEPORT_RANGE,
        seed: int | None = None,
    ) -> None:
        self.sim = sim
        self.reset_freq = int(reset_freq)
        self.reset_commands = list(reset_commands)
        self.teleport_range = float(teleport_range)
        self.rng = np.random.default_rng(seed)
        self.count = 0  # upstream's counter: fast resets since the last real one
        self.started = False
        self.anchor: tuple[float, float] | None = None  # (x, z) of the world's spawn
        self.last_start: tuple[float, float, float] | None = None  # where the last teleport landed
        self.hard_resets = 0

    def seed(self, seed: int | None) -> None:
        """Restart the teleport generator (called by the env's `reset(seed=...)`)."""
        self.rng = np.random.default_rng(seed)

    def reset(self, *args: Any, **kwargs: Any) -> Any:
        if self.count < self.reset_freq:
            self.count += 1
            return self._fast_reset() if self.started else self._hard_reset()
        self.count = 0
        return self._hard_reset()

    def _hard_reset(self) -> Any:
        obs = self.sim.reset()
        self.started = True
        self.hard_resets += 1
        x, _, z = _position(obs)
        self.anchor, self.last_start = (x, z), None
        return obs

    def _fast_reset(self) -> Any:
        obs = None
        for command in self.reset_commands:
            obs = self.sim.execute_cmd(command)[0]
        if self.teleport_range > 0:
            if self.last_start is not None:  # upstream returns there first (that area is loaded)
                x, y, z = self.last_start
                obs = self.sim.execute_cmd(f"/tp {x} {y} {z} ~ ~")[0]
            distance = float(self.rng.uniform(0.0, self.teleport_range))
            for command in teleport_commands(*self.anchor, distance):
                obs = self.sim.execute_cmd(command)[0]
            self.last_start = _position(obs)
        return obs

    def __getattr__(self, name: str) -> Any:
        if name == "sim":  # not set yet (e.g. during unpickling): avoid recursing
            raise AttributeError(name)
        return getattr(self.sim, name)


def install_semifast_reset(
    task: Any,
    reset_freq: int,
    reset_commands: Sequence[str],
    teleport_range: float = TELEPORT_RANGE,
    seed: int | None = None,
) -> SemifastReset:
    """Put a `SemifastReset` between a MineDojo meta task and its sim (`task.env`); returns it.

    The meta task must have been made with MineDojo's own `fast_reset=False`, so that it calls the
    sim's plain `reset()`.
    """
    wrapper = SemifastReset(task.env, reset_freq, reset_commands, teleport_range, seed)
    task.env = wrapper
    return wrapper


def _position(obs: Mapping[str, Any]) -> tuple[float, float, float]:
    x, y, z = (float(v) for v in np.asarray(obs["location_stats"]["pos"]).reshape(3))
    return x, y, z
