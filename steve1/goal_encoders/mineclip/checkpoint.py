"""Reading and writing MineCLIP checkpoints in the official `attn.pth` layout.

The file is a `torch.save`d dict whose `state_dict` maps `model.<name>` to tensors, `<name>` being
the names of `MineCLIP.state_dict()` (788 entries, aliases included; other top-level keys and keys
without the prefix are ignored, as upstream's loader does). Loading checks the md5 of the official
file, strips the prefix, compares every name and shape with the model, and loads strictly.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Mapping
from pathlib import Path

import torch

from steve1.goal_encoders.mineclip.config import MineCLIPConfig
from steve1.goal_encoders.mineclip.model import MineCLIP
from VPT.checkpoint import WeightsMismatchError
from VPT.downloads import MissingDownloadError, download_hint

ATTN_MD5 = "b5ece9198337cfd117a3bfbd921e56da"
AVG_MD5 = "d97a07f2830095a2016a8da22abcff52"  # the `avg` variant, recognised only to say so
DEFAULT_PATH = Path("downloads/mineclip_attn.pth")
PREFIX = "model."
_LISTED = 30  # keys listed per kind of mismatch; the rest are counted


class MineCLIPCheckpointError(ValueError):
    """A checkpoint that is not the expected MineCLIP file (md5, layout, names or shapes)."""


class StateDictMismatchError(MineCLIPCheckpointError, WeightsMismatchError):
    """The checkpoint's names or shapes differ from the model's; the message lists them."""

    def __init__(
        self,
        path: str | os.PathLike,
        missing: Mapping[str, torch.Size],
        unexpected: Mapping[str, torch.Size],
        mismatched: Mapping[str, tuple[torch.Size, torch.Size]],
    ) -> None:
        WeightsMismatchError.__init__(
            self,
            path,
            missing,
            unexpected,
            mismatched,
            header="the checkpoint does not fit MineCLIP (attn variant, the given config)",
            max_listed=_LISTED,
        )


def file_md5(path: str | os.PathLike) -> str:
    """Hex md5 of a file, read in 1 MiB chunks."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_md5(path: Path, expected: str) -> None:
    actual = file_md5(path)
    if actual == expected:
        return
    hint = " It is the `avg` variant's md5, not attn's." if actual == AVG_MD5 else ""
    raise MineCLIPCheckpointError(
        f"{path}: md5 {actual} differs from the expected {expected} (the official MineCLIP "
        f"attn.pth).{hint} The file may be partial or another checkpoint: fetch it again with "
        "`bash downloads.sh`, or pass check_md5=False to load it anyway."
    )


def _torch_load(path: Path, trusted: bool) -> object:
    """`torch.load` with `weights_only=True`; full unpickling only for a file whose md5 matched."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if not trusted:
            raise MineCLIPCheckpointError(
                f"{path}: holds objects beyond tensors and plain containers and its md5 was not "
                f"checked, so it is not unpickled ({err}). Load it with the md5 check on."
            ) from err
        return torch.load(path, map_location="cpu", weights_only=False)


def read_checkpoint(path: str | os.PathLike, trusted: bool = False) -> dict[str, torch.Tensor]:
    """The model tensors of a MineCLIP checkpoint file, `model.` prefix stripped.

    :param trusted: the file's md5 was verified, so objects beyond tensors may be unpickled.
    """
    return model_tensors(_torch_load(Path(path), trusted), path)


def model_tensors(
    ckpt: object, source: str | os.PathLike = "checkpoint"
) -> dict[str, torch.Tensor]:
    """`ckpt["state_dict"]` entries starting with `model.`, prefix stripped (upstream's rule)."""
    if not isinstance(ckpt, Mapping) or "state_dict" not in ckpt:
        found = list(ckpt)[:10] if isinstance(ckpt, Mapping) else type(ckpt).__name__
        raise MineCLIPCheckpointError(
            f"{source}: expected a dict with a 'state_dict' entry (MineCLIP's layout), found {found}"
        )
    state = {k[len(PREFIX) :]: v for k, v in ckpt["state_dict"].items() if k.startswith(PREFIX)}
    if not state:
        raise MineCLIPCheckpointError(
            f"{source}: no key of its state_dict starts with {PREFIX!r}; not a MineCLIP checkpoint"
        )
    return state


def check_state_dict(
    model: torch.nn.Module, state: Mapping[str, torch.Tensor], path: str | os.PathLike
) -> None:
    """Raise `StateDictMismatchError` unless `state` has exactly the model's names and shapes."""
    expected = {k: v.shape for k, v in model.state_dict().items()}
    found = {k: v.shape for k, v in state.items()}
    missing = {k: s for k, s in expected.items() if k not in found}
    unexpected = {k: s for k, s in found.items() if k not in expected}
    mismatched = {k: (s, found[k]) for k, s in expected.items() if k in found and found[k] != s}
    if missing or unexpected or mismatched:
        raise StateDictMismatchError(path, missing, unexpected, mismatched)


def load_mineclip(
    path: str | os.PathLike = DEFAULT_PATH,
    device: torch.device | str = "cpu",
    *,
    check_md5: bool = True,
    md5: str = ATTN_MD5,
    config: MineCLIPConfig | None = None,
) -> MineCLIP:
    """MineCLIP in eval mode with the weights of `path` (the official `attn.pth` by default).

    :param check_md5: verify the file against `md5` first (off for re-saved or converted files).
    :param config: architecture; the official attn sizes by default.
    """
    path = Path(path)
    if not path.is_file():
        hint = download_hint(DEFAULT_PATH) or "`bash downloads.sh` fetches it."
        raise MissingDownloadError(
            f"MineCLIP checkpoint not found: {path}. The official attn.pth belongs at "
            f"{DEFAULT_PATH}. {hint}"
        )
    if check_md5:
        _check_md5(path, md5)
    state = read_checkpoint(path, trusted=check_md5)
    return mineclip_from_state_dict(state, device, config, source=path)


def mineclip_from_state_dict(
    state: Mapping[str, torch.Tensor],
    device: torch.device | str = "cpu",
    config: MineCLIPConfig | None = None,
    source: str | os.PathLike = "state dict",
) -> MineCLIP:
    """MineCLIP in eval mode holding `state` (prefix already stripped), loaded strictly as float32.

    The model is built on the meta device and takes the tensors over, so the 158M parameters are
    never randomly initialised only to be overwritten.
    """
    with torch.device("meta"):
        model = MineCLIP(config)
    check_state_dict(model, state, source)
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True, assign=True)
    return model.to(device).eval()


def save_mineclip(model: MineCLIP, path: str | os.PathLike) -> None:
    """Write `model` in the official layout (`{"state_dict": {"model.<name>": tensor}}`),
    atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {PREFIX + k: v.detach().cpu() for k, v in model.state_dict().items()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        torch.save({"state_dict": state}, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
