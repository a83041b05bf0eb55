"""AdamW with upstream's weight-decay split: no decay on biases and LayerNorm/Embedding weights.

Everything else decays, the ImpalaCNN's GroupNorm weights included (as upstream)."""

from __future__ import annotations

import torch
from torch import nn

_NO_DECAY_MODULES = (nn.LayerNorm, nn.Embedding)


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two AdamW groups: decayed weights, and biases + norm/embedding weights without decay."""
    decay, no_decay = [], []
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            if not param.requires_grad:
                continue
            if name.endswith("bias") or isinstance(module, _NO_DECAY_MODULES):
                no_decay.append(param)
            else:
                decay.append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def make_optimizer(
    model: nn.Module, learning_rate: float, weight_decay: float
) -> torch.optim.AdamW:
    """AdamW over the trainable parameters (fused kernels when the device supports them)."""
    groups = param_groups(model, weight_decay)
    device = next(model.parameters()).device
    fused = device.type == "cuda"
    return torch.optim.AdamW(groups, lr=learning_rate, fused=fused)
