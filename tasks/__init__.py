"""Task specs and environments: the Crafter tasks (default) and the paper's MineDojo tasks.

`tasks.make(name, **overrides)` returns a gymnasium env for any task in `task_specs.yaml`.
"""

from __future__ import annotations

from typing import Any

import gymnasium

from tasks.specs import (
    CrafterTaskSpec,
    MinedojoTaskSpec,
    TaskSpec,
    TaskSpecError,
    get_task_spec,
    load_task_specs,
    task_names,
)

__all__ = [
    "CrafterTaskSpec",
    "MinedojoTaskSpec",
    "TaskSpec",
    "TaskSpecError",
    "frame_size",
    "get_task_spec",
    "load_task_specs",
    "make",
    "task_names",
]


def frame_size(name: str) -> int:
    """The side of the task's square `pov` frames (Crafter: the spec's `size`; MineDojo: VPT's
    128), known without building the env."""
    spec = get_task_spec(name)
    if isinstance(spec, CrafterTaskSpec):
        return spec.size
    from tasks.minedojo.wrappers import POV_SIZE

    return POV_SIZE


def make(
    name: str, render_mode: str | None = None, clip_model: Any = None, **overrides: Any
) -> gymnasium.Env:
    """Build the env of task `name`; `overrides` replace spec fields (e.g. `max_steps=50`).

    :param clip_model: MineDojo tasks only: the model of the MineCLIP shaping reward
        (`tasks.minedojo.ClipRewardModel`).
    """
    spec = get_task_spec(name, **overrides)
    if isinstance(spec, CrafterTaskSpec):
        if clip_model is not None:
            raise TypeError(
                f"clip_model applies to MineDojo tasks only; {name!r} is a Crafter task"
            )
        from tasks.crafter.env import CrafterTaskEnv

        return CrafterTaskEnv(spec, render_mode=render_mode)
    from tasks.minedojo import make_minedojo_env

    return make_minedojo_env(spec, clip_model=clip_model, render_mode=render_mode)
