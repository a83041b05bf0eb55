"""Task specifications: load `task_specs.yaml`, validate every entry, and return typed specs.

One schema serves every task: a target (a Crafter achievement, or an item and a quantity), an initial
inventory, `max_steps`, and the simulator. Any Crafter achievement or item becomes a task by adding
YAML only. Every mistake (unknown task, unknown key, wrong type, unknown item) raises
`TaskSpecError` with the valid values in its message.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SPECS_PATH = Path(__file__).with_name("task_specs.yaml")
SIMS = ("crafter", "minedojo")
SPAWNABLE = ("zombie", "skeleton", "cow")
_REQUIRED = object()


class TaskSpecError(ValueError):
    """A task name, key or value in the task specs is invalid; the message lists valid values."""


@dataclass(frozen=True)
class Target:
    """What counts as success: an achievement unlocked, or `quantity` of `item` (or kills) held."""

    achievement: str | None = None
    item: str | None = None
    kill: str | None = None
    quantity: int = 1


@dataclass(frozen=True)
class Spawn:
    """A creature placed in view of the player at every reset (as MineDojo spawns its spider)."""

    object: str
    min_distance: int = 2
    max_distance: int = 4


@dataclass(frozen=True)
class CrafterTaskSpec:
    """A Crafter task; see the comments in `task_specs.yaml` for the meaning of each field."""

    name: str
    target: Target
    max_steps: int
    initial_inventory: dict[str, int] = field(default_factory=dict)
    spawn: tuple[Spawn, ...] = ()
    start_time: int = 0
    size: int = 64
    description: str = ""
    sim: str = "crafter"


@dataclass(frozen=True)
class MinedojoTaskSpec:
    """A MineDojo task with upstream PTGM's fields (built by `tasks.minedojo`)."""

    name: str
    task_id: str
    target: Target
    max_steps: int
    sim_specs: dict[str, Any] = field(default_factory=dict)
    clip_specs: dict[str, Any] = field(default_factory=dict)
    fast_reset: int = 0
    freeze_equipped: bool = False
    description: str = ""
    sim: str = "minedojo"


TaskSpec = CrafterTaskSpec | MinedojoTaskSpec

# key -> (allowed types, default or _REQUIRED); `name` and `sim` are handled separately.
_CRAFTER_KEYS: dict[str, tuple[tuple[type, ...], Any]] = {
    "target": ((dict,), _REQUIRED),
    "max_steps": ((int,), _REQUIRED),
    "initial_inventory": ((dict,), {}),
    "spawn": ((list,), []),
    "start_time": ((int,), 0),
    "size": ((int,), 64),
    "description": ((str,), ""),
}
_MINEDOJO_KEYS: dict[str, tuple[tuple[type, ...], Any]] = {
    "task_id": ((str,), _REQUIRED),
    "target": ((dict,), _REQUIRED),
    "max_steps": ((int,), _REQUIRED),
    "sim_specs": ((dict,), {}),
    "clip_specs": ((dict,), {}),
    "fast_reset": ((int,), 0),
    "freeze_equipped": ((bool,), False),
    "description": ((str,), ""),
}


def load_task_specs(path: Path | str = SPECS_PATH) -> dict[str, TaskSpec]:
    """Read and validate every task in the YAML file; returns name -> spec."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as err:
        raise TaskSpecError(f"{path}: malformed YAML: {err}") from err
    if not isinstance(raw, dict) or not raw:
        raise TaskSpecError(
            f"{path}: expected a mapping of task name -> spec, got {type(raw).__name__}"
        )
    return {name: parse_task_spec(name, entry) for name, entry in raw.items()}


def task_names(path: Path | str = SPECS_PATH) -> list[str]:
    """All task names in the spec file, in file order."""
    return list(load_task_specs(path))


def get_task_spec(name: str, path: Path | str = SPECS_PATH, **overrides: Any) -> TaskSpec:
    """The validated spec of `name`, with `overrides` applied (validated like YAML keys)."""
    specs = load_task_specs(path)
    if name not in specs:
        raise TaskSpecError(f"unknown task {name!r}; valid tasks: {', '.join(specs)}")
    if not overrides:
        return specs[name]
    entry = {k: _as_yaml(v) for k, v in dataclasses.asdict(specs[name]).items() if k != "name"}
    entry.update(overrides)
    return parse_task_spec(name, entry)


def parse_task_spec(name: str, entry: Any) -> TaskSpec:
    """Validate one YAML entry and build its typed spec."""
    if not isinstance(entry, dict):
        raise TaskSpecError(f"task {name!r}: expected a mapping, got {type(entry).__name__}")
    sim = entry.get("sim")
    if sim not in SIMS:
        raise TaskSpecError(f"task {name!r}: sim must be one of {', '.join(SIMS)}, got {sim!r}")
    body = {k: v for k, v in entry.items() if k != "sim"}
    if sim == "crafter":
        values = _check_keys(name, body, _CRAFTER_KEYS)
        return _build_crafter(name, values)
    values = _check_keys(name, body, _MINEDOJO_KEYS)
    return _build_minedojo(name, values)


def _check_keys(name: str, body: dict, schema: dict) -> dict[str, Any]:
    unknown = sorted(set(body) - set(schema))
    if unknown:
        raise TaskSpecError(
            f"task {name!r}: unknown key(s) {unknown}; valid keys: sim, {', '.join(schema)}"
        )
    values = {}
    for key, (types, default) in schema.items():
        if key not in body:
            if default is _REQUIRED:
                raise TaskSpecError(f"task {name!r}: missing required key {key!r}")
            values[key] = default
            continue
        values[key] = _check_type(f"task {name!r}: {key}", body[key], types)
    return values


def _check_type(where: str, value: Any, types: tuple[type, ...]) -> Any:
    # bool is an int subclass; never accept True for a count.
    if isinstance(value, bool) and bool not in types:
        ok = False
    else:
        ok = isinstance(value, types)
    if not ok:
        wanted = " or ".join(t.__name__ for t in types)
        raise TaskSpecError(f"{where}: expected {wanted}, got {type(value).__name__} {value!r}")
    return value


def _crafter_vocab() -> tuple[list[str], list[str]]:
    import crafter.constants  # imported on first use: `import tasks` stays light

    return list(crafter.constants.items), list(crafter.constants.achievements)


def _build_crafter(name: str, v: dict[str, Any]) -> CrafterTaskSpec:
    items, achievements = _crafter_vocab()
    target = _parse_target(name, v["target"], items, achievements, allow_kill=False)
    inventory = _parse_inventory(name, v["initial_inventory"], items)
    if target.item is not None and inventory.get(target.item, 0) >= target.quantity:
        raise TaskSpecError(f"task {name!r}: the initial inventory already satisfies the target")
    spawn = tuple(_parse_spawn(name, i, s) for i, s in enumerate(v["spawn"]))
    _positive(name, "max_steps", v["max_steps"])
    _positive(name, "size", v["size"])
    if v["start_time"] < 0:
        raise TaskSpecError(f"task {name!r}: start_time must be >= 0, got {v['start_time']}")
    return CrafterTaskSpec(
        name=name,
        target=target,
        initial_inventory=inventory,
        spawn=spawn,
        max_steps=v["max_steps"],
        start_time=v["start_time"],
        size=v["size"],
        description=v["description"],
    )


def _build_minedojo(name: str, v: dict[str, Any]) -> MinedojoTaskSpec:
    target = _parse_target(name, v["target"], None, None, allow_kill=True)
    _positive(name, "max_steps", v["max_steps"])
    prompts = v["clip_specs"].get("prompts", [])
    if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
        raise TaskSpecError(f"task {name!r}: clip_specs.prompts must be a list of strings")
    return MinedojoTaskSpec(
        name=name,
        task_id=v["task_id"],
        target=target,
        max_steps=v["max_steps"],
        sim_specs=v["sim_specs"],
        clip_specs=v["clip_specs"],
        fast_reset=v["fast_reset"],
        freeze_equipped=v["freeze_equipped"],
        description=v["description"],
    )


def _parse_target(
    name: str, raw: dict, items: list[str] | None, achievements: list[str] | None, allow_kill: bool
) -> Target:
    kinds = ("achievement", "item", "kill") if allow_kill else ("achievement", "item")
    unknown = sorted(set(raw) - set(kinds) - {"quantity"})
    chosen = [k for k in kinds if k in raw]
    if unknown or len(chosen) != 1:
        raise TaskSpecError(
            f"task {name!r}: target needs exactly one of {', '.join(kinds)} (plus optional "
            f"quantity), got keys {sorted(raw)}"
        )
    kind = chosen[0]
    value = _check_type(f"task {name!r}: target.{kind}", raw[kind], (str,))
    quantity = _check_type(f"task {name!r}: target.quantity", raw.get("quantity", 1), (int,))
    _positive(name, "target.quantity", quantity)
    vocab = {"achievement": achievements, "item": items}.get(kind)
    if vocab is not None and value not in vocab:
        raise TaskSpecError(f"task {name!r}: unknown {kind} {value!r}; valid: {', '.join(vocab)}")
    return Target(**{kind: value}, quantity=quantity)


def _parse_inventory(name: str, raw: dict, items: list[str]) -> dict[str, int]:
    inventory = {}
    for item, count in raw.items():
        if item not in items:
            raise TaskSpecError(
                f"task {name!r}: unknown inventory item {item!r}; valid: {', '.join(items)}"
            )
        count = _check_type(f"task {name!r}: initial_inventory.{item}", count, (int,))
        if not 0 <= count <= 9:
            raise TaskSpecError(f"task {name!r}: initial_inventory.{item} must be in 0..9")
        inventory[item] = count
    return inventory


def _parse_spawn(name: str, index: int, raw: Any) -> Spawn:
    where = f"task {name!r}: spawn[{index}]"
    _check_type(where, raw, (dict,))
    unknown = sorted(set(raw) - {"object", "min_distance", "max_distance"})
    if unknown:
        raise TaskSpecError(
            f"{where}: unknown key(s) {unknown}; valid: object, min_distance, max_distance"
        )
    obj = raw.get("object")
    if obj not in SPAWNABLE:
        raise TaskSpecError(f"{where}: object must be one of {', '.join(SPAWNABLE)}, got {obj!r}")
    lo = _check_type(f"{where}.min_distance", raw.get("min_distance", 2), (int,))
    hi = _check_type(f"{where}.max_distance", raw.get("max_distance", 4), (int,))
    if not 1 <= lo <= hi <= 7:
        raise TaskSpecError(f"{where}: need 1 <= min_distance <= max_distance <= 7 (in view)")
    return Spawn(object=obj, min_distance=lo, max_distance=hi)


def _positive(name: str, key: str, value: int) -> None:
    if value <= 0:
        raise TaskSpecError(f"task {name!r}: {key} must be > 0, got {value}")


def _as_yaml(value: Any) -> Any:
    """Turn a spec field back into its YAML form (targets drop unset kinds, tuples become lists)."""
    if isinstance(value, dict) and set(value) >= {"quantity"} and "achievement" in value:
        return {k: v for k, v in value.items() if v is not None}
    if isinstance(value, tuple):
        return [_as_yaml(v) for v in value]
    return value
