"""HF accelerate when installed (multi-GPU, mixed precision), a plain single process otherwise.

`make_accelerator` returns accelerate's `Accelerator` or `PlainAccelerator`, which has the small
part of its interface the training loop uses, so the loop has one code path.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

import torch


class PlainAccelerator:
    """One process on one device: what `Accelerator` does when there is nothing to distribute."""

    is_main_process = True
    process_index = 0
    num_processes = 1

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def prepare(self, *objects: Any) -> tuple[Any, ...]:
        return objects

    def backward(self, loss: torch.Tensor) -> None:
        loss.backward()

    def clip_grad_norm_(self, parameters: Iterable[torch.nn.Parameter], max_norm: float) -> Any:
        return torch.nn.utils.clip_grad_norm_(parameters, max_norm)

    def autocast(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def unwrap_model(self, model: torch.nn.Module) -> torch.nn.Module:
        return model

    def wait_for_everyone(self) -> None:
        pass


def make_accelerator(device: torch.device, use: bool | None, mixed_precision: str) -> Any:
    """`use=None`: accelerate if installed; True: require it; False: the plain process."""
    if use is False:
        return PlainAccelerator(device)
    try:
        from accelerate import Accelerator
    except ImportError:
        if use:
            raise SystemExit(
                "error: --accelerate needs HF accelerate: pip install accelerate"
            ) from None
        return PlainAccelerator(device)
    return Accelerator(cpu=device.type == "cpu", mixed_precision=mixed_precision)
