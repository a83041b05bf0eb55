"""Building a MineDojo task env from a `MinedojoTaskSpec`.

`minedojo_kwargs` turns a spec (and MineDojo's template for its `task_id`) into the meta task's
keyword arguments, as upstream did: the template's values, then the settings every task forces
(160x256 frames, MineDojo's own fast reset off, keyboard-mouse control, no voxels, no lidar), then
the spec's `sim_specs`. Inventories are plain dicts until the one function that imports MineDojo
turns them into its `InventoryItem`s. Besides MineDojo's own keys, `sim_specs` may hold
`initial_mainhand: <item>` (one of that item in the main hand, replacing the template's) and give
`initial_inventory` as a list of `{slot, name, quantity, variant}` or upstream's
`{slot: {name, ...}}` mapping; a given `initial_inventory` replaces the template's whole.

`wrap_minedojo_task` stacks the wrappers on a meta task (the real one or a stand-in), inside out:
semi-fast reset under the meta task, `MinedojoEdge` (old gym -> gymnasium, MineRL actions,
`freeze_equipped`), `TerminalWrapper`, `ClipRewardWrapper`, `PovWrapper`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import gymnasium
import numpy as np

from tasks.minedojo.actions import actionable_noops
from tasks.minedojo.clip_reward import ClipRewardModel, ClipRewardWrapper, ClipShaping
from tasks.minedojo.edge import IMAGE_SIZE, MinedojoEdge
from tasks.minedojo.reset import TELEPORT_RANGE, fast_reset_commands, install_semifast_reset
from tasks.minedojo.wrappers import PovWrapper, TerminalWrapper
from tasks.specs import MinedojoTaskSpec, load_task_specs

FORCED_SIM_KWARGS = {
    "image_size": IMAGE_SIZE,
    "fast_reset": False,  # the semi-fast reset replaces MineDojo's own
    "event_level_control": False,  # keyboard and mouse, as VPT acts
    "use_voxel": False,
    "use_lidar": False,
}
_ITEM_KEYS = ("slot", "name", "quantity", "variant")


class MinecraftUnavailableError(ImportError, NotImplementedError):
    """MineDojo is not installed. An ImportError, and a NotImplementedError for older callers."""


def minedojo_kwargs(
    spec: MinedojoTaskSpec, template: Mapping[str, Any] | None = None
) -> tuple[str, dict[str, Any]]:
    """`(meta task class name, keyword arguments)` of the spec's MineDojo task.

    :param template: MineDojo's entry for `spec.task_id` (`minedojo.tasks.ALL_TASKS_SPECS`) as a
        plain dict, or None when `task_id` names a meta task (e.g. "harvest").
    """
    kwargs = copy.deepcopy(dict(template or {}))
    kwargs.pop("prompt", None)
    meta_task = kwargs.pop("__cls__", spec.task_id)
    kwargs.update(FORCED_SIM_KWARGS)
    sim_specs = dict(spec.sim_specs)
    mainhand = sim_specs.pop("initial_mainhand", None)
    kwargs.update(sim_specs)
    inventory = normalize_inventory(kwargs.pop("initial_inventory", None), spec.name)
    if mainhand is not None:
        inventory = [item for item in inventory if item["slot"] != "mainhand"]
        inventory.append({"slot": "mainhand", "name": str(mainhand), "quantity": 1})
    kwargs["initial_inventory"] = inventory or None
    if kwargs.get("use_lidar"):  # upstream's ray fan: pitch -30..25, yaw -45..40, 99 blocks
        kwargs["lidar_rays"] = [
            (np.pi * pitch / 180, np.pi * yaw / 180, 99)
            for pitch in range(-30, 30, 5)
            for yaw in range(-45, 45, 5)
        ]
    return str(meta_task), kwargs


def normalize_inventory(raw: Any, task: str = "?") -> list[dict[str, Any]]:
    """An inventory in either of MineDojo's YAML forms -> a list of `{slot, name, quantity, ...}`."""
    if raw is None:
        return []
    if isinstance(raw, Mapping):
        raw = [{"slot": slot, **dict(item)} for slot, item in raw.items()]
    items = []
    for item in raw:
        item = dict(item)
        unknown = sorted(set(item) - set(_ITEM_KEYS))
        if unknown or "slot" not in item or "name" not in item:
            raise ValueError(
                f"task {task!r}: an inventory item needs slot and name (optional quantity, "
                f"variant), got keys {sorted(item)}"
            )
        item.setdefault("quantity", 1)
        items.append(item)
    return items


def wrap_minedojo_task(
    task: Any,
    spec: MinedojoTaskSpec,
    clip_model: ClipRewardModel | None = None,
    initial_inventory: Sequence[Mapping[str, Any]] = (),
    render_mode: str | None = None,
    teleport_range: float = TELEPORT_RANGE,
) -> gymnasium.Env:
    """The gymnasium env of a MineDojo meta task (real or stand-in), with upstream's wrappers.

    :param task: the meta task, made with MineDojo's own `fast_reset=False`; its sim is `task.env`.
    :param clip_model: the shaping reward's model; required when the spec has clip prompts.
    :param initial_inventory: what every fast reset restores (`minedojo_kwargs(...)` inventory).
    """
    prompts = spec.clip_specs.get("prompts")
    if prompts and clip_model is None:
        raise ValueError(_NO_CLIP_MODEL.format(name=spec.name))
    seed_fn = None
    if spec.fast_reset > 0:
        sim = task.env
        commands = fast_reset_commands(
            getattr(sim, "start_time", None),
            getattr(sim, "initial_weather", None),
            initial_inventory,
            getattr(sim, "start_position", None),
        )
        seed_fn = install_semifast_reset(task, spec.fast_reset, commands, teleport_range).seed
    noops = actionable_noops(task)
    env: gymnasium.Env = MinedojoEdge(task, noops, spec.freeze_equipped, seed_fn, render_mode)
    env = TerminalWrapper(env, spec.max_steps)
    if prompts:
        env = ClipRewardWrapper(env, ClipShaping.from_specs(clip_model, spec.clip_specs))
    return PovWrapper(env)


def make_minedojo_env(
    spec: MinedojoTaskSpec,
    clip_model: ClipRewardModel | None = None,
    render_mode: str | None = None,
) -> gymnasium.Env:
    """The gymnasium env of a MineDojo task: MineRL action dicts in, `{"pov": uint8 128x128x3}` out.

    Needs the Minecraft stack (`requirements-minecraft.txt`); without it raises
    `MinecraftUnavailableError` saying so. Tasks with clip prompts need `clip_model` (see
    `ClipRewardModel`); override `clip_specs={}` to build one without the shaping reward.
    """
    minedojo = _import_minedojo(spec.name)
    prompts = spec.clip_specs.get("prompts")
    if prompts and clip_model is None:
        raise ValueError(_NO_CLIP_MODEL.format(name=spec.name))
    template = minedojo.ALL_TASKS_SPECS.get(spec.task_id)
    if template is not None and minedojo.OmegaConf.is_config(template):
        template = minedojo.OmegaConf.to_container(template)
    meta_task, kwargs = minedojo_kwargs(spec, template)
    inventory = kwargs["initial_inventory"] or []
    if inventory:
        kwargs["initial_inventory"] = [minedojo.InventoryItem(**item) for item in inventory]
    task = minedojo.meta_task_make(meta_task, **kwargs)
    return wrap_minedojo_task(task, spec, clip_model, inventory, render_mode)


def _import_minedojo(task: str) -> SimpleNamespace:
    """The only place that imports MineDojo."""
    try:
        from minedojo.sim.inventory import InventoryItem
        from minedojo.tasks import ALL_TASKS_SPECS, _meta_task_make
        from omegaconf import OmegaConf
    except ImportError as err:
        crafter = [name for name, s in load_task_specs().items() if s.sim == "crafter"]
        raise MinecraftUnavailableError(
            f"task {task!r} runs in MineDojo, which cannot be imported here ({err}). Install the "
            "Minecraft stack (JDK 8, PKU-RL's MineDojo fork, xvfb on a headless machine): "
            "pip install -r requirements-minecraft.txt. The Crafter tasks need none of it: "
            f"{', '.join(crafter)}.",
            name="minedojo",
        ) from err
    return SimpleNamespace(
        ALL_TASKS_SPECS=ALL_TASKS_SPECS,
        meta_task_make=_meta_task_make,
        InventoryItem=InventoryItem,
        OmegaConf=OmegaConf,
    )


_NO_CLIP_MODEL = (
    "task {name!r} adds upstream's MineCLIP shaping reward (its clip_specs has prompts), so it "
    "needs clip_model=<a ClipRewardModel, see tasks.minedojo.clip_reward>; pass clip_specs={{}} "
    "as an override to build it without the shaping reward"
)
