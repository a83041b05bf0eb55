"""Episode storage shared by both worlds: one directory per episode, written atomically.

An episode directory holds
    frames.npz      uint8 frames (L, H, W, 3), RGB, in zip-deflated chunks of `FRAME_CHUNK` frames
                    named `chunk_00000`, ... (lossless; a frame range reads only its chunks)
    actions.npy     the action taken at each frame, shape (L, ...) (Crafter: (L,) int64 indices;
                    Minecraft: (L,) records, one field per MineRL key, see `pack_dict_actions`)
    embeds.npy      float32 (L, D) goal embeddings; row t embeds frames t-15..t, rows 0..14 are NaN
    states.npz      optional world-specific per-step arrays, each (L, ...) (Crafter: privileged
                    state from which the goal embedding is recomputed without replaying the episode)
    len.txt         L
    metadata.json   seed, world, generator and embedding versions, achievements, ... (written last)
Frame t is the observation the action at t was chosen from. A directory appears under its final name
only once complete (written in a hidden temporary directory, then renamed), so a killed writer never
leaves a partial episode behind.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import sys
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

EMBED_OFFSET = 15  # the first goal embedding covers frames 0..15, so it sits at row 15
FRAME_CHUNK = 256
FORMAT_VERSION = 1
# What a damaged file raises while being read.
_READ_ERRORS = (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile, zlib.error)
_REQUIRED_FILES = ("frames.npz", "actions.npy", "embeds.npy", "len.txt", "metadata.json")


class CorruptEpisodeError(RuntimeError):
    """An episode directory is unreadable or inconsistent; the message names the path and why."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"corrupt episode {path}: {reason}")
        self.path, self.reason = Path(path), reason


def write_episode(
    path: Path | str,
    frames: np.ndarray,
    actions: np.ndarray,
    embeds: np.ndarray,
    metadata: dict[str, Any],
    states: dict[str, np.ndarray] | None = None,
) -> Path:
    """Write one complete episode to `path` atomically (temporary directory, then rename)."""
    path = Path(path)
    length = len(frames)
    _check_lengths(path, length, actions=actions, embeds=embeds, **(states or {}))
    tmp = path.parent / f".tmp-{path.name}-{socket.gethostname()}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        _write_frames(tmp / "frames.npz", frames)
        np.save(tmp / "actions.npy", actions)
        np.save(tmp / "embeds.npy", embeds.astype(np.float32))
        if states:
            np.savez_compressed(tmp / "states.npz", **states)
        (tmp / "len.txt").write_text(f"{length}\n")
        meta = {"format_version": FORMAT_VERSION, "length": length, **metadata}
        (tmp / "metadata.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _write_frames(path: Path, frames: np.ndarray) -> None:
    # Level 1 deflate: Crafter frames shrink ~7x at a third of the cost of numpy's level 6.
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for i, start in enumerate(range(0, len(frames), FRAME_CHUNK)):
            buffer = io.BytesIO()
            np.save(buffer, np.ascontiguousarray(frames[start : start + FRAME_CHUNK]))
            archive.writestr(f"chunk_{i:05d}.npy", buffer.getvalue())


def _check_lengths(path: Path, length: int, **arrays: np.ndarray) -> None:
    for name, array in arrays.items():
        if len(array) != length:
            raise ValueError(f"{path}: {name} has {len(array)} rows, frames have {length}")


def pack_dict_actions(actions: Mapping[str, ArrayLike]) -> np.ndarray:
    """Dict actions batched over L steps (key -> (L, ...) array, e.g. MineRL's) as one structured
    array of L records with a field per key, in the dict's order: `actions.npy` stays one plain
    array (no pickle) whose rows line up with the frames."""
    columns = {key: np.asarray(value) for key, value in actions.items()}
    dtype = np.dtype([(key, col.dtype, col.shape[1:]) for key, col in columns.items()])
    lengths = {len(col) for col in columns.values()}
    if len(lengths) != 1:
        raise ValueError(f"need action columns of one length, got lengths {sorted(lengths)}")
    records = np.empty(lengths.pop(), dtype)
    for key, col in columns.items():
        records[key] = col
    return records


def unpack_dict_actions(records: np.ndarray) -> dict[str, np.ndarray]:
    """The inverse of `pack_dict_actions`: key -> (L, ...) array (what VPT.actions takes)."""
    if records.dtype.names is None:
        raise ValueError("these actions are not dict actions (no record fields)")
    return {key: np.asarray(records[key]) for key in records.dtype.names}


class EpisodeReader:
    """Validated read access to one episode directory; raises CorruptEpisodeError on open."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        missing = [f for f in _REQUIRED_FILES if not (self.path / f).is_file()]
        if missing:
            raise CorruptEpisodeError(self.path, f"missing {', '.join(missing)}")
        try:
            self.metadata: dict[str, Any] = json.loads((self.path / "metadata.json").read_text())
            self.length = int((self.path / "len.txt").read_text().strip())
        except (ValueError, OSError) as err:
            raise CorruptEpisodeError(self.path, f"bad metadata.json or len.txt: {err}") from err
        self._check_shapes()

    def __len__(self) -> int:
        return self.length

    def _check_shapes(self) -> None:
        try:
            actions = np.load(self.path / "actions.npy", mmap_mode="r")
            embeds = np.load(self.path / "embeds.npy", mmap_mode="r")
            with zipfile.ZipFile(self.path / "frames.npz") as archive:
                n_chunks = len(archive.namelist())
        except _READ_ERRORS as err:
            raise CorruptEpisodeError(self.path, f"unreadable array file: {err}") from err
        expected_chunks = -(-self.length // FRAME_CHUNK)
        if len(actions) != self.length or len(embeds) != self.length:
            raise CorruptEpisodeError(
                self.path,
                f"len.txt says {self.length}, actions {len(actions)}, embeds {len(embeds)}",
            )
        if n_chunks != expected_chunks:
            raise CorruptEpisodeError(self.path, f"{n_chunks} frame chunks, need {expected_chunks}")
        self.embed_dim = int(embeds.shape[1]) if embeds.ndim == 2 else 0

    def load_frames(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Frames [start, stop) as uint8 (n, H, W, 3); reads only the chunks that hold them."""
        stop = self.length if stop is None else stop
        if not 0 <= start <= stop <= self.length:
            raise IndexError(
                f"{self.path}: frame range [{start}, {stop}) outside [0, {self.length})"
            )
        first, last = start // FRAME_CHUNK, max(start, stop - 1) // FRAME_CHUNK
        try:
            with np.load(self.path / "frames.npz") as archive:
                parts = [archive[f"chunk_{i:05d}"] for i in range(first, last + 1)]
        except _READ_ERRORS as err:
            raise CorruptEpisodeError(self.path, f"frames.npz: {err}") from err
        frames = np.concatenate(parts) if len(parts) > 1 else parts[0]
        offset = first * FRAME_CHUNK
        return frames[start - offset : stop - offset]

    def load_actions(self) -> np.ndarray:
        return np.load(self.path / "actions.npy")

    def load_embeds(self) -> np.ndarray:
        """(L, D) float32; rows before EMBED_OFFSET are NaN (no full 16-frame window yet)."""
        return np.load(self.path / "embeds.npy")

    def load_states(self) -> dict[str, np.ndarray]:
        """World-specific per-step arrays (empty dict if the episode has none)."""
        if not (self.path / "states.npz").is_file():
            return {}
        try:
            with np.load(self.path / "states.npz") as archive:
                return {k: archive[k] for k in archive.files}
        except _READ_ERRORS as err:
            raise CorruptEpisodeError(self.path, f"states.npz: {err}") from err


def is_episode_dir(path: Path) -> bool:
    """A finished episode directory (hidden temporary directories are not)."""
    return path.is_dir() and not path.name.startswith(".") and (path / "metadata.json").exists()


def check_output_dir(path: Path) -> None:
    """Fail before any work if `path` cannot be created or written; remove stale temporaries."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write_test-{socket.gethostname()}-{os.getpid()}"  # workers may share it
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        raise SystemExit(
            f"error: output dir {path} is not writable ({err}); choose another --output_dir"
        ) from err
    # Only this machine's dead writers: another machine may share the directory.
    for stale in path.glob(f".tmp-*-{socket.gethostname()}-*"):
        if not _pid_alive(int(stale.name.rsplit("-", 1)[-1])):
            shutil.rmtree(stale, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def list_episodes(root: Path | str) -> list[Path]:
    """Episode directories under `root`, sorted by name (no validation)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset directory {root} does not exist")
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def open_episodes(paths: Iterable[Path | str], report: bool = True) -> list[EpisodeReader]:
    """Open every episode; corrupt ones are reported by path and skipped, with a count at the end."""
    readers, corrupt = [], []
    for path in paths:
        try:
            readers.append(EpisodeReader(path))
        except CorruptEpisodeError as err:
            corrupt.append(err)
            if report:
                print(f"skipping {err}", file=sys.stderr)
    if corrupt and report:
        print(
            f"skipped {len(corrupt)} corrupt episode(s) of {len(readers) + len(corrupt)}",
            file=sys.stderr,
        )
    return readers
