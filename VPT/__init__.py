"""The VPT policy architecture: ImpalaCNN, masked-attention transformer over past frames, heads.

Also `.model` / `.weights` I/O compatible with the official VPT and STEVE-1 files, and named
presets (`2x`, `crafter`, `tiny`). Imports nothing from the rest of the project.
"""

from VPT.checkpoint import (
    LoadResult,
    ModelFile,
    WeightsMismatchError,
    load_model_file,
    load_policy,
    load_weights,
    read_weights,
    save_model_file,
    save_policy,
    save_weights,
)
from VPT.heads import ActionSpace
from VPT.policy import (
    PolicyOutput,
    State,
    VPTNet,
    VPTPolicy,
    concat_states,
    count_parameters,
    map_state,
)
from VPT.presets import CRAFTER_ACTION_SPACE, MINECRAFT_ACTION_SPACE, PRESETS, Preset, get_preset

__all__ = [
    "CRAFTER_ACTION_SPACE",
    "MINECRAFT_ACTION_SPACE",
    "PRESETS",
    "ActionSpace",
    "LoadResult",
    "ModelFile",
    "PolicyOutput",
    "Preset",
    "State",
    "VPTNet",
    "VPTPolicy",
    "WeightsMismatchError",
    "concat_states",
    "count_parameters",
    "get_preset",
    "load_model_file",
    "load_policy",
    "load_weights",
    "map_state",
    "read_weights",
    "save_model_file",
    "save_policy",
    "save_weights",
]
