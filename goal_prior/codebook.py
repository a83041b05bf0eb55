"""The codebook: N goal embeddings, each the embedding of a real 16-frame window.

Stored as `codebook.npz` (data, not a pickle): `codes` float32 (N, D), the source window of every
code (`source_episode`, `source_step` = the frame t whose embedding covers t-15..t), cluster sizes,
and a JSON `metadata` string (method, N, seed, embedding source, feature settings). Upstream's
`centers.pkl` (a pickled list of N float64 arrays of shape (1, 512)) is read too.
"""

from __future__ import annotations

import io
import json
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

OPTIONAL_ARRAYS = ("source_episode", "source_step", "cluster_sizes", "embed_mean", "embed_std")


class CodebookError(ValueError):
    """A codebook file is missing, malformed or does not fit the model it is used with."""


@dataclass
class Codebook:
    """N codes of dimension D; `get_code(i)` is the goal given to the low level for action i."""

    codes: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    source_episode: np.ndarray | None = None
    source_step: np.ndarray | None = None
    cluster_sizes: np.ndarray | None = None
    # z-score statistics of the goal embeddings the codebook was clustered on (`--standardize`)
    embed_mean: np.ndarray | None = None
    embed_std: np.ndarray | None = None

    @property
    def N(self) -> int:  # noqa: N802 (upstream's name)
        return len(self.codes)

    @property
    def dim(self) -> int:
        return self.codes.shape[1]

    def get_code(self, index: int) -> np.ndarray:
        """Code `index` as float32 (1, D), as upstream's `KMeansCodebook.get_code`."""
        return self.codes[index : index + 1].astype(np.float32)

    def clustering_space(self, goals: np.ndarray) -> np.ndarray:
        """Goal embeddings as the codebook's clustering saw them: z-scored with its statistics
        when it was built with `--standardize`, unchanged otherwise (upstream)."""
        if self.embed_mean is None or self.embed_std is None:
            return goals
        return (goals - self.embed_mean) / self.embed_std

    def check_dim(self, expected: int, what: str) -> None:
        """Raise a clear error when the code size does not match `what` (e.g. the policy's goal)."""
        if self.dim != expected:
            raise CodebookError(
                f"codebook codes have {self.dim} dims but {what} expects {expected}"
            )

    def save(self, path: Path | str) -> Path:
        """Write `.npz` atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {
            "codes": self.codes.astype(np.float32),
            "metadata": np.array(json.dumps(self.metadata, sort_keys=True)),
        }
        for name in OPTIONAL_ARRAYS:
            value = getattr(self, name)
            if value is not None:
                arrays[name] = np.asarray(value)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_bytes(buffer.getvalue())
        os.replace(tmp, path)
        return path


def load_codebook(path: Path | str) -> Codebook:
    """Read a codebook from `.npz` (ours) or `.pkl` (upstream's `centers.pkl`)."""
    path = Path(path)
    if not path.is_file():
        raise CodebookError(
            f"codebook {path} not found; build one with python -m goal_prior.generate_codebook"
        )
    if path.suffix == ".pkl":
        return _load_upstream_pickle(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            optional = {k: data[k] for k in OPTIONAL_ARRAYS if k in data.files}
            codes, metadata = data["codes"], json.loads(str(data["metadata"]))
    except (OSError, ValueError, KeyError) as err:
        raise CodebookError(f"codebook {path} is not a valid codebook .npz: {err}") from err
    if codes.ndim != 2 or not len(codes):
        raise CodebookError(f"codebook {path}: codes must be (N, D), got {codes.shape}")
    return Codebook(codes=codes.astype(np.float32), metadata=metadata, **optional)


def _load_upstream_pickle(path: Path) -> Codebook:
    with open(path, "rb") as f:
        entries = pickle.load(f)  # upstream format; only open files you trust
    try:
        codes = np.concatenate([np.asarray(e, np.float64).reshape(1, -1) for e in entries])
    except (TypeError, ValueError) as err:
        raise CodebookError(
            f"{path}: expected a list of (1, D) arrays (upstream centers.pkl)"
        ) from err
    return Codebook(
        codes=codes.astype(np.float32),
        metadata={"method": "upstream centers.pkl", "N": len(codes), "source": str(path)},
    )
