"""Self-describing training checkpoints, written atomically; newest N kept; resume on re-run."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch


def rng_states(np_rng: np.random.Generator) -> dict[str, Any]:
    """Every RNG a run draws from, so that a resumed run continues exactly."""
    return {
        "numpy_generator": np_rng.bit_generator.state,
        "python": random.getstate(),
        "numpy_global": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng_states(states: dict[str, Any], np_rng: np.random.Generator) -> None:
    np_rng.bit_generator.state = states["numpy_generator"]
    random.setstate(states["python"])
    np.random.set_state(states["numpy_global"])
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def save_checkpoint(directory: Path, step: int, payload: dict[str, Any], keep: int = 2) -> Path:
    """Write `ckpt_<step>.pt` via a temporary file + rename, then drop all but the newest `keep`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"ckpt_{step:09d}.pt"
    tmp = directory / f".{path.name}.tmp-{os.getpid()}"
    torch.save(payload, tmp)
    os.replace(tmp, path)
    for old in list_checkpoints(directory)[:-keep]:
        old.unlink()
    return path


def list_checkpoints(directory: Path) -> list[Path]:
    return sorted(directory.glob("ckpt_*.pt")) if directory.is_dir() else []


def load_latest_checkpoint(directory: Path) -> dict[str, Any] | None:
    """The newest checkpoint's payload, or None when the run starts fresh."""
    checkpoints = list_checkpoints(directory)
    if not checkpoints:
        return None
    # Our own file: it holds numpy RNG states and configs, which weights_only cannot load.
    return torch.load(checkpoints[-1], map_location="cpu", weights_only=False)
