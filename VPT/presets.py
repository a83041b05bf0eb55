"""Named model sizes: the `.model` net kwargs and pi-head options for each.

- `2x`: OpenAI's VPT 2x (as read by VPT, STEVE-1 and PTGM from `2x.model`), 128x128 Minecraft frames.
- `crafter`: a small model for 64x64 Crafter frames, sized by `benchmarks/bench_vpt.py` to train
  on a 2-core CPU (see that script and the README for the measured figures).
- `tiny`: for tests; a training step on a 2 x 8 chunk takes about 20 ms.

The pi-head temperature is 2.0 as in `2x.model` (the low level and the goal prior inherit it;
upstream's high-level policy overrides it with 1.0).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

MINECRAFT_ACTION_SPACE = {"camera": 121, "buttons": 8641}  # order as in the checkpoints
CRAFTER_ACTION_SPACE = 17


@dataclass(frozen=True)
class Preset:
    """Net kwargs (`.model` `net.args`, `img_shape` included) and pi-head options."""

    policy_kwargs: dict[str, Any]
    pi_head_kwargs: dict[str, Any] = field(default_factory=lambda: {"temperature": 2.0})


_VPT_2X = {
    "attention_heads": 16,
    "attention_mask_style": "clipped_causal",
    "attention_memory_size": 256,
    "diff_mlp_embedding": False,
    "hidsize": 2048,
    "img_shape": [128, 128, 3],
    "impala_chans": [16, 32, 32],
    "impala_kwargs": {"post_pool_groups": 1},
    "impala_width": 8,
    "init_norm_kwargs": {"batch_norm": False, "group_norm_groups": 1},
    "n_recurrence_layers": 4,
    "only_img_input": True,
    "pointwise_ratio": 4,
    "pointwise_use_activation": False,
    "recurrence_is_residual": True,
    "recurrence_type": "transformer",
    "timesteps": 128,
    "use_pointwise_layer": True,
    "use_pre_lstm_ln": False,
}


def _small(**overrides: Any) -> dict[str, Any]:
    """2x's structure (norms, mask, MLP ratio) with smaller sizes."""
    return {**copy.deepcopy(_VPT_2X), **overrides}


PRESETS: dict[str, Preset] = {
    "2x": Preset(copy.deepcopy(_VPT_2X)),
    "crafter": Preset(
        _small(
            img_shape=[64, 64, 3],
            impala_width=1,
            impala_chans=[8, 16, 16],
            cnn_outsize=256,
            hidsize=256,
            attention_heads=4,
            n_recurrence_layers=3,
            timesteps=64,
            attention_memory_size=128,
        )
    ),
    "tiny": Preset(
        _small(
            img_shape=[64, 64, 3],
            impala_width=1,
            impala_chans=[4, 8, 8],
            impala_nblock=1,
            cnn_outsize=32,
            hidsize=32,
            attention_heads=2,
            n_recurrence_layers=2,
            timesteps=8,
            attention_memory_size=16,
            pointwise_ratio=2,
        )
    ),
}


def get_preset(name: str) -> Preset:
    """A deep copy of preset `name` (so callers may edit it); unknown names list the valid ones."""
    if name not in PRESETS:
        raise ValueError(f"unknown VPT preset {name!r}; valid: {', '.join(PRESETS)}")
    preset = PRESETS[name]
    return Preset(copy.deepcopy(preset.policy_kwargs), copy.deepcopy(preset.pi_head_kwargs))
