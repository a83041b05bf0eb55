"""Save and resume a `VPTPPO` run: one self-describing file, written atomically.

The file (a `torch.save`d dict of tensors and builtins, read back with `weights_only=True`) holds:
the architecture (VPT kwargs, head options, action and frame spaces, the trainable parameter
names), the trainable parameters, a SHA-256 digest of the frozen ones (which come from the init
weights and are not stored: a 2x model's frozen trunk is 1 GB), the optimizer state, the counters
(`num_timesteps`, `_n_updates`), the torch / numpy / python RNG states and an optional `extra`
dict for the caller (config, best score, ...).

Not stored: the envs' recurrent state, last observations and episode starts. A resumed run starts
fresh episodes (`learn(..., reset_num_timesteps=False)` resets the envs once).

`load_checkpoint` checks the architecture and the frozen digest first and fails naming every
difference, so a checkpoint never loads into a model built differently (another N, preset,
trainable set or init weights).
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from sb3_vpt.policy import VPTActorCriticPolicy
    from sb3_vpt.ppo import VPTPPO

FORMAT = "sb3_vpt.checkpoint/1"


class CheckpointMismatchError(ValueError):
    """The checkpoint was written by a differently built model; the message lists what differs."""


def architecture(policy: VPTActorCriticPolicy) -> dict[str, Any]:
    """What a model must share with a checkpoint to load it (plain builtins)."""
    return _builtin(
        {
            "vpt_kwargs": policy.vpt_kwargs,
            "pi_head_kwargs": policy.pi_head_kwargs,
            "action_space": _describe_space(policy.action_space),
            "observation_space": _describe_space(policy.observation_space),
            "trainable_names": list(policy.trainable_names),
        }
    )


def frozen_digest(policy: VPTActorCriticPolicy) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of the parameters PPO does not train."""
    trained = set(policy.trainable_names)
    digest = hashlib.sha256()
    for name, tensor in [*policy.vpt.named_parameters(), *policy.vpt.named_buffers()]:
        if name in trained:
            continue
        data = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}:{data.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(data.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save_checkpoint(
    model: VPTPPO, path: str | os.PathLike, extra: Mapping[str, Any] | None = None
) -> None:
    """Write `model`'s resumable state to `path` (temporary file, then rename).

    :param extra: the caller's own state, returned by `load_checkpoint`; plain builtins and
        tensors only (the file is read with `weights_only=True`).
    """
    policy = model.policy
    params = dict(policy.vpt.named_parameters())
    state = {
        "format": FORMAT,
        "architecture": architecture(policy),
        "frozen_digest": frozen_digest(policy),
        "trainable": {n: params[n].detach().cpu().clone() for n in policy.trainable_names},
        "optimizer": policy.optimizer.state_dict(),
        "counters": {"num_timesteps": model.num_timesteps, "n_updates": model._n_updates},
        "rng": _rng_state(),
        "extra": dict(extra or {}),
    }
    _atomic_torch_save(state, Path(path))


def load_checkpoint(model: VPTPPO, path: str | os.PathLike) -> dict[str, Any]:
    """Restore a checkpoint into a model built like the one that wrote it; returns `extra`.

    :raises CheckpointMismatchError: naming each architecture field or the frozen weights
        that differ.
    """
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointMismatchError(f"{path}: not an sb3_vpt checkpoint ({FORMAT})")
    policy = model.policy
    _check_architecture(path, state["architecture"], architecture(policy))
    if state["frozen_digest"] != frozen_digest(policy):
        raise CheckpointMismatchError(
            f"{path}: the frozen (not trained) weights differ from the checkpoint's: build the "
            "model from the same init weights (vpt_weights / prior_weights) and seed as the run "
            "that wrote it"
        )
    params = dict(policy.vpt.named_parameters())
    with torch.no_grad():
        for name, value in state["trainable"].items():
            params[name].copy_(value)
    policy.optimizer.load_state_dict(state["optimizer"])
    model.num_timesteps = int(state["counters"]["num_timesteps"])
    model._n_updates = int(state["counters"]["n_updates"])
    _set_rng_state(state["rng"])
    return dict(state["extra"])


def _check_architecture(path: Any, saved: dict[str, Any], current: dict[str, Any]) -> None:
    diffs = [
        f"  {key}: checkpoint {saved.get(key)!r}, this model {current.get(key)!r}"
        for key in sorted(set(saved) | set(current))
        if saved.get(key) != current.get(key)
    ]
    if diffs:
        raise CheckpointMismatchError(
            f"{path} was written by a differently built model; build VPTPPO with the same "
            "policy_kwargs (preset, codebook size N, trainable) and env spaces. Differences:\n"
            + "\n".join(diffs)
        )


def _describe_space(space: Any) -> dict[str, Any]:
    if hasattr(space, "n"):
        return {"type": type(space).__name__, "n": int(space.n)}
    if hasattr(space, "spaces"):
        return {
            "type": type(space).__name__,
            "spaces": {k: _describe_space(v) for k, v in space.spaces.items()},
        }
    desc: dict[str, Any] = {"type": type(space).__name__, "shape": list(space.shape)}
    if hasattr(space, "low"):
        desc.update(
            dtype=str(space.dtype),
            low=np.asarray(space.low).min().item(),
            high=np.asarray(space.high).max().item(),
        )
    return desc


def _builtin(value: Any) -> Any:
    """Tuples -> lists, numpy scalars -> python numbers, recursively (comparable after a load)."""
    if isinstance(value, Mapping):
        return {str(k): _builtin(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_builtin(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _rng_state() -> dict[str, Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": (name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(_tuples(state["python"]))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuples(value: Any) -> Any:
    """`random.setstate` needs tuples where a round trip may have produced lists."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list | tuple) else value


def _atomic_torch_save(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
