"""Reading and writing VPT's `.model` (pickled kwargs) and `.weights` (flat state dict) files.

`.model`: a pickle of plain builtins; the trunk kwargs sit at `obj["model"]["args"]["net"]["args"]`
and the action-head options at `obj["model"]["args"]["pi_head_opts"]` (temperature read with
`float()`, since some files store an int). Files written here use the same layout and may add
`obj["model"]["args"]["action_space"]` (int or name -> int), which upstream loaders ignore.

`.weights`: a `torch.save`d flat dict name -> tensor with the names of `VPTPolicy.state_dict()`.
Training wrappers leave a leading `policy.` or `module.policy.` on every name; it is stripped.
"""

from __future__ import annotations

import importlib
import os
import pickle
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import torch

from VPT.downloads import require_file
from VPT.heads import ActionSpace, normalize_action_space
from VPT.policy import VPTPolicy
from VPT.presets import MINECRAFT_ACTION_SPACE

WEIGHT_PREFIXES = ("module.policy.", "policy.")

# Globals a `.model` pickle may reference: containers and numpy scalars, nothing executable.
_PICKLE_GLOBALS = {
    ("collections", "OrderedDict"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "complex"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
}


@dataclass
class ModelFile:
    """Contents of a `.model` file."""

    policy_kwargs: dict[str, Any]
    pi_head_kwargs: dict[str, Any]
    action_space: ActionSpace | None = None


class LoadResult(NamedTuple):
    """Keys the model has but the file lacked, and keys the file had but the model lacks."""

    missing: list[str]
    unexpected: list[str]


class WeightsMismatchError(ValueError):
    """A weights file does not fit the model; the message lists every differing key.

    :param header: the first line (default: about `.weights` files and policy kwargs).
    :param max_listed: keys listed per kind of difference; the rest are counted (None: all).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        missing: Mapping[str, torch.Size],
        unexpected: Mapping[str, torch.Size],
        mismatched: Mapping[str, tuple[torch.Size, torch.Size]],
        header: str | None = None,
        max_listed: int | None = None,
    ) -> None:
        header = header or (
            "the weights do not fit the model (built with other policy kwargs, another "
            "action space or another number of codes N?)"
        )
        lines = [f"{path}: {header}"]

        def shape(key: str, size: torch.Size) -> str:
            return f"{key} {_shape(size)}"

        def expects(key: str, sizes: tuple[torch.Size, torch.Size]) -> str:
            return f"{key}: model expects {_shape(sizes[0])}, file has {_shape(sizes[1])}"

        lines += _section("key(s) of the model missing from the file", missing, shape, max_listed)
        lines += _section("unexpected key(s) in the file", unexpected, shape, max_listed)
        lines += _section("shape mismatch(es)", mismatched, expects, max_listed)
        super().__init__("\n".join(lines))
        self.path = str(path)
        self.missing, self.unexpected, self.mismatched = (
            dict(missing),
            dict(unexpected),
            dict(mismatched),
        )


def _section(
    title: str, items: Mapping[str, Any], line: Callable[[str, Any], str], max_listed: int | None
) -> list[str]:
    if not items:
        return []
    shown = list(items.items())[:max_listed]
    lines = [f"  {len(items)} {title}:"] + [f"    {line(key, value)}" for key, value in shown]
    if len(items) > len(shown):
        lines.append(f"    ... and {len(items) - len(shown)} more")
    return lines


def _shape(shape: torch.Size) -> str:
    return str(list(shape))


class _BuiltinsUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _PICKLE_GLOBALS:
            raise pickle.UnpicklingError(
                f"a .model file holds plain kwargs; refusing to load global {module}.{name}"
            )
        return getattr(importlib.import_module(module), name)


def _to_builtin(value: Any) -> Any:
    """Numpy scalars -> python numbers, OrderedDicts -> dicts, tuples -> lists (recursively)."""
    if isinstance(value, Mapping):
        return {k: _to_builtin(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_builtin(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, str | bytes):
        return value.item()
    return value


def load_model_file(path: str | os.PathLike) -> ModelFile:
    """Read a `.model` file (upstream's or ours); a missing official one names its `downloads.sh`
    line."""
    with open(require_file(path, ".model file"), "rb") as f:
        obj = _BuiltinsUnpickler(f).load()
    try:
        args = obj["model"]["args"]
        net_args, pi_opts = args["net"]["args"], args["pi_head_opts"]
    except (KeyError, TypeError, IndexError) as e:
        raise ValueError(
            f"{path}: not a VPT .model file (expected obj['model']['args']['net']['args'] and "
            f"obj['model']['args']['pi_head_opts']; missing {e})"
        ) from None
    pi_head_kwargs = _to_builtin(pi_opts)
    if "temperature" in pi_head_kwargs:
        pi_head_kwargs["temperature"] = float(pi_head_kwargs["temperature"])
    space = args.get("action_space")
    return ModelFile(
        policy_kwargs=_to_builtin(net_args),
        pi_head_kwargs=pi_head_kwargs,
        action_space=None if space is None else normalize_action_space(_to_builtin(space)),
    )


def save_model_file(
    path: str | os.PathLike,
    policy_kwargs: Mapping[str, Any],
    pi_head_kwargs: Mapping[str, Any],
    action_space: ActionSpace | None = None,
) -> None:
    """Write a `.model` file in upstream's nested layout (plain builtins only)."""
    args: dict[str, Any] = {
        "net": {"args": _to_builtin(policy_kwargs)},
        "pi_head_opts": _to_builtin(pi_head_kwargs),
    }
    if action_space is not None:
        args["action_space"] = _to_builtin(normalize_action_space(action_space))
    _atomic_write(path, lambda f: pickle.dump({"model": {"args": args}}, f, protocol=4))


def strip_prefix(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """Remove a leading `module.policy.` or `policy.` from every key that has one."""
    out = {}
    for key, value in state_dict.items():
        for prefix in WEIGHT_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix) :]
                break
        out[key] = value
    return out


def read_weights(
    path: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> dict[str, torch.Tensor]:
    """The state dict of a `.weights` file with wrapper prefixes stripped; a missing official one
    names its `downloads.sh` line."""
    raw = torch.load(
        require_file(path, ".weights file"), map_location=map_location, weights_only=True
    )
    if not isinstance(raw, Mapping) or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise ValueError(f"{path}: not a .weights file (expected a flat dict of name -> tensor)")
    return strip_prefix(raw)


def load_weights(
    policy: torch.nn.Module,
    path: str | os.PathLike,
    strict: bool = True,
    include: Iterable[str] | None = None,
    model_file: str | os.PathLike | None = None,
) -> LoadResult:
    """Load a `.weights` file into `policy`.

    :param strict: any key missing on either side is an error (shape mismatches always are).
    :param include: only load (and check) keys starting with one of these prefixes, e.g.
        `("net.img_process.", "net.recurrent_layer.")` to take VPT's trunk for a new head.
    :param model_file: the `.model` file `policy` was built from, named in the error.
    :raises WeightsMismatchError: naming the file, each differing key and each shape.
    """
    expected = policy.state_dict()
    found = read_weights(path)
    if include is not None:
        prefixes = tuple(include)
        expected = {k: v for k, v in expected.items() if k.startswith(prefixes)}
        found = {k: v for k, v in found.items() if k.startswith(prefixes)}
    missing = {k: v.shape for k, v in expected.items() if k not in found}
    unexpected = {k: v.shape for k, v in found.items() if k not in expected}
    mismatched = {
        k: (expected[k].shape, v.shape)
        for k, v in found.items()
        if k in expected and expected[k].shape != v.shape
    }
    on_meta = any(v.is_meta for v in expected.values())
    # Without `strict` a gap is allowed, except on a meta-built model where it would stay empty.
    report_missing = missing if strict or on_meta else {}
    report_unexpected = unexpected if strict else {}
    if mismatched or report_missing or report_unexpected:
        header = None
        if model_file is not None:
            header = (
                f"the weights do not fit the model built from {model_file} (other policy "
                "kwargs, another action space or another number of codes N?)"
            )
        raise WeightsMismatchError(path, report_missing, report_unexpected, mismatched, header)
    tensors = {k: v.to(expected[k].dtype) for k, v in found.items() if k in expected}
    # A model built on the meta device gets the file's tensors directly (no second copy).
    policy.load_state_dict(tensors, strict=False, assign=on_meta)
    return LoadResult(sorted(missing), sorted(unexpected))


def save_weights(
    policy_or_state_dict: torch.nn.Module | Mapping[str, torch.Tensor],
    path: str | os.PathLike,
    prefix: str = "",
) -> None:
    """Write a flat `.weights` state dict (no prefix by default, like the official files)."""
    if isinstance(policy_or_state_dict, torch.nn.Module):
        state = policy_or_state_dict.state_dict()
    else:
        state = policy_or_state_dict
    tensors = {prefix + k: v.detach().cpu().clone() for k, v in state.items()}
    _atomic_write(path, lambda f: torch.save(tensors, f))


def load_policy(
    model_path: str | os.PathLike,
    weights_path: str | os.PathLike | None = None,
    action_space: ActionSpace | None = None,
    policy_class: type[VPTPolicy] = VPTPolicy,
    strict: bool = True,
    device: str | torch.device = "cpu",
    **net_kwargs: Any,
) -> VPTPolicy:
    """Build a policy from a `.model` file and optionally fill it from a `.weights` file.

    The action space is, in order: the argument, the one stored in the `.model` file, or
    Minecraft's (`camera` 121, `buttons` 8641) since upstream files do not record one.
    With strict loading the model is first built on the meta device, so a 1 GB checkpoint
    does not need twice its size in memory.
    """
    spec = load_model_file(model_path)
    space = action_space if action_space is not None else spec.action_space
    space = MINECRAFT_ACTION_SPACE if space is None else space
    build_device = "meta" if weights_path is not None and strict else device
    with torch.device(build_device):
        policy = policy_class(spec.policy_kwargs, space, spec.pi_head_kwargs, **net_kwargs)
    if weights_path is not None:
        load_weights(policy, weights_path, strict=strict, model_file=model_path)
    return policy.to(device)


def save_policy(
    policy: VPTPolicy, model_path: str | os.PathLike, weights_path: str | os.PathLike
) -> None:
    """Write the `.model` + `.weights` pair that `load_policy` reads back."""
    save_model_file(model_path, policy.policy_kwargs, policy.pi_head_kwargs, policy.action_space)
    save_weights(policy, weights_path)


def _atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Write to a temporary file next to `path`, then rename it into place."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
    os.replace(tmp, path)
