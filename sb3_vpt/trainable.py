"""Which parameters PPO trains: module-name prefixes, everything else frozen.

PTGM's high level trains only the heads and the last trunk layers (`DEFAULT_TRAINABLE`); the
ImpalaCNN and the transformer stay as loaded. `"all"` trains everything. The value head's EWMA
statistics (`value_head.normalizer`) are never trained: they are running statistics, not weights,
and the high level does not use them.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

DEFAULT_TRAINABLE = ("pi_head", "value_head", "net.lastlayer", "net.final_ln")
NEVER_TRAINED = ("value_head.normalizer",)
# Trunk stages in front of the transformer's output; when none of them trains, their output for a
# rollout is fixed and is computed once, while acting (see `VPTActorCriticPolicy.trunk_frozen`).
RECURRENT_TRUNK = ("net.img_process", "net.pre_lstm_ln", "net.recurrent_layer")

Trainable = str | Sequence[str]


def _under(name: str, prefixes: Sequence[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def trainable_names(module: nn.Module, trainable: Trainable) -> list[str]:
    """Names of the parameters of `module` selected by `trainable` (prefixes or `"all"`)."""
    names = [n for n, _ in module.named_parameters() if not _under(n, NEVER_TRAINED)]
    if isinstance(trainable, str):
        if trainable != "all":
            raise ValueError(
                f"trainable must be 'all' or a list of module-name prefixes, got {trainable!r}"
            )
        return names
    prefixes = [p.rstrip(".") for p in trainable]
    unknown = [p for p in prefixes if not any(_under(n, [p]) for n in names)]
    if unknown:
        modules = sorted({".".join(n.split(".")[:2]) for n in names})
        raise ValueError(
            f"trainable prefixes {unknown} match no parameter; valid prefixes include "
            f"{', '.join(modules)} (or 'all')"
        )
    return [n for n in names if _under(n, prefixes)]


def freeze_except_(module: nn.Module, trainable: Trainable) -> list[str]:
    """Set `requires_grad` on exactly the selected parameters; returns their names."""
    selected = set(trainable_names(module, trainable))
    for name, param in module.named_parameters():
        param.requires_grad_(name in selected)
    return [n for n, _ in module.named_parameters() if n in selected]


def any_trainable_under(module: nn.Module, prefixes: Sequence[str]) -> bool:
    """Whether some parameter under one of `prefixes` requires grad."""
    return any(p.requires_grad for n, p in module.named_parameters() if _under(n, prefixes))
