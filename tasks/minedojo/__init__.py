"""MineDojo environments for the paper's five Minecraft tasks, with upstream's wrappers.

`make_minedojo_env(spec, clip_model=...)` (or `tasks.make(name, clip_model=...)`) returns a
gymnasium env. Actions are MineRL action dicts (`VPT.actions.index_to_action` gives them from
VPT's indices); observations are `{"pov": uint8 (128, 128, 3)}`; `info` holds `success`, `steps`,
`life`, `dead`, `inventory` (name -> count), `task_reward`, MineDojo's own info under `minedojo`,
and, with the shaping reward, `clip_reward` and `clip_score`. The reward is MineDojo's task reward
plus the MineCLIP shaping bonus. `terminated` on success, death or the sim's end; `truncated` at
`max_steps`.

The stack, inside out: the MineDojo meta task with its sim behind `SemifastReset` (reset.py) ->
`MinedojoEdge`, the single old gym -> gymnasium adapter, which also filters MineRL actions to the
sim's and applies `freeze_equipped` (edge.py, actions.py) -> `TerminalWrapper` -> `ClipRewardWrapper`
(clip_reward.py) -> `PovWrapper` (wrappers.py). `sim.py` builds it; `standin.py` is a MineDojo
stand-in for tests. MineDojo is imported in one function only (`sim._import_minedojo`); without it,
building a task raises `MinecraftUnavailableError` naming `requirements-minecraft.txt`.
"""

from tasks.minedojo.actions import FROZEN_KEYS, MINERL_ACTION_KEYS, filter_action
from tasks.minedojo.clip_reward import ClipRewardModel, ClipRewardWrapper, ClipShaping
from tasks.minedojo.edge import MinedojoEdge
from tasks.minedojo.reset import SemifastReset, is_hard_reset
from tasks.minedojo.sim import (
    MinecraftUnavailableError,
    make_minedojo_env,
    minedojo_kwargs,
    wrap_minedojo_task,
)
from tasks.minedojo.wrappers import PovWrapper, TerminalWrapper

__all__ = [
    "FROZEN_KEYS",
    "MINERL_ACTION_KEYS",
    "ClipRewardModel",
    "ClipRewardWrapper",
    "ClipShaping",
    "MinecraftUnavailableError",
    "MinedojoEdge",
    "PovWrapper",
    "SemifastReset",
    "TerminalWrapper",
    "filter_action",
    "is_hard_reset",
    "make_minedojo_env",
    "minedojo_kwargs",
    "wrap_minedojo_task",
]
