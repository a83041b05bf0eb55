"""Contractor episodes to the project's episode directories: the library behind
`convert_from_contractor`.

Per episode: fetch and parse the recording (`.jsonl`); if fewer than `min_timesteps` actions are
not null, stop there (the video is never fetched); else fetch the video, decode it frame by frame
alongside the recording, drop the frames of null actions, draw the cursor on GUI frames, keep a
128x128 copy and embed every 16-frame window with the `WindowEmbedder`, and write the episode
atomically as `contractor_<8_x>_<idx>_contractor_nmFrm<K>_term` (upstream's name, K kept frames).

Bookkeeping in the output directory, shared safely by workers on one machine:
    failed.jsonl     episodes whose last attempt failed: stage (download, parse, decode, embed,
                     write) and reason; retried on every run, removed once converted
    too_short.jsonl  episodes with fewer kept frames than the run's `min_timesteps`; skipped
                     without a download while `min_timesteps` stays above their count
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from steve1.data.episode_storage import (
    check_output_dir,
    is_episode_dir,
    pack_dict_actions,
    write_episode,
)
from steve1.data.generation.contractor_actions import (
    ContractorStep,
    kept_steps,
    parse_steps,
    read_jsonl,
)
from steve1.data.generation.contractor_embed import WindowEmbedder, WindowStream
from steve1.data.generation.contractor_frames import (
    AGENT_RESOLUTION,
    agent_frame,
    draw_cursor,
    mineclip_frame,
    read_video,
)
from steve1.data.generation.contractor_source import ContractorEpisode, fetch
from VPT.actions import stack_actions

GENERATOR = "convert_from_contractor"
GENERATOR_VERSION = 1
FAILED_LOG = "failed.jsonl"
SHORT_LOG = "too_short.jsonl"
_EPISODE_NAME = re.compile(r"^(contractor_\d+_x_\d+)_contractor_nmFrm\d+_term$")


@dataclass(frozen=True)
class ConvertConfig:
    """Settings of one conversion run (the flags of `convert_from_contractor`)."""

    output_dir: Path = Path("downloads/dataset_contractor")
    cache_dir: Path = Path("downloads/contractor_cache")
    batch_size: int = 8  # 16-frame windows per embedder call
    min_timesteps: int = 1000  # episodes with fewer kept frames are skipped
    truncate_camera: bool = False  # upstream's integer-degree cameras


class EpisodeFailure(Exception):
    """An episode that could not be converted, with the stage that failed and why."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(f"{stage}: {reason}")
        self.stage, self.reason = stage, reason


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    """Turn any error inside into an `EpisodeFailure` of stage `name` (inner stages win)."""
    try:
        yield
    except EpisodeFailure:
        raise
    except Exception as err:
        raise EpisodeFailure(name, f"{type(err).__name__}: {err}") from err


@dataclass
class Decoded:
    """The kept part of an episode."""

    frames: np.ndarray  # uint8 (K, 128, 128, 3) RGB
    actions: list[dict[str, Any]]  # K MineRL actions
    embeds: np.ndarray  # float32 (K, D), rows 0..14 NaN
    missing_frames: int  # recording lines after the video's last readable frame


@dataclass
class Summary:
    """What a run did."""

    converted: int = 0
    frames: int = 0
    already_done: int = 0
    too_short: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)

    def line(self, cfg: ConvertConfig) -> str:
        text = (
            f"converted {self.converted} episode(s) ({self.frames} frames), "
            f"{self.already_done} already converted, {self.too_short} too short "
            f"(< {cfg.min_timesteps} kept frames), {len(self.failed)} failed"
        )
        if self.failed:
            text += f" (listed in {cfg.output_dir / FAILED_LOG}; a re-run retries them)"
        return text


def episode_dir_name(key: str, n_frames: int) -> str:
    return f"{key}_contractor_nmFrm{n_frames}_term"


def converted_keys(output_dir: Path) -> set[str]:
    """Keys (`contractor_8_x_123`) of the finished episode directories under `output_dir`."""
    if not output_dir.is_dir():
        return set()
    matches = (_EPISODE_NAME.match(p.name) for p in output_dir.iterdir() if is_episode_dir(p))
    return {m.group(1) for m in matches if m}


def decode_episode(
    video: Path, steps: Sequence[ContractorStep], embedder: WindowEmbedder, batch_size: int
) -> Decoded:
    """Frames of `video` paired with the recording's steps; null steps dropped with their frame."""
    frames, actions = [], []
    windows = WindowStream(embedder, batch_size)
    n_read = 0
    with contextlib.closing(read_video(video)) as video_frames:
        # Steps first: no frame is read past the last step; a short video ends the episode early.
        for step, bgr in zip(steps, video_frames, strict=False):
            n_read += 1
            if step.is_null:
                continue
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            if step.gui_open:
                draw_cursor(rgb, *step.cursor)
            frames.append(agent_frame(rgb))
            actions.append(step.action)
            with stage("embed"):
                windows.push(mineclip_frame(rgb, embedder.resolution))
    with stage("embed"):
        embeds = windows.finish()
    stacked = np.stack(frames) if frames else np.zeros((0, *AGENT_RESOLUTION, 3), np.uint8)
    return Decoded(stacked, actions, embeds, len(steps) - n_read)


def store_actions(actions: Sequence[dict[str, Any]]) -> np.ndarray:
    """MineRL actions as the structured array of `actions.npy`: buttons uint8, camera as given
    (float degrees, or int64 when truncated)."""
    batched = stack_actions(actions)
    return pack_dict_actions(
        {k: v if k == "camera" else v.astype(np.uint8) for k, v in batched.items()}
    )


def convert_episode(
    episode: ContractorEpisode, cfg: ConvertConfig, embedder: WindowEmbedder
) -> tuple[str, int]:
    """Convert one episode: `("converted", K)` or `("too_short", K)`; raises `EpisodeFailure`."""
    downloaded: list[Path] = []
    try:
        with stage("download"):
            path, fresh = fetch(episode.recording, cfg.cache_dir / f"{episode.key}.jsonl")
            downloaded += [path] if fresh else []
        with stage("parse"):
            steps = parse_steps(read_jsonl(path), truncate_camera=cfg.truncate_camera)
        if kept_steps(steps) < cfg.min_timesteps:
            return "too_short", kept_steps(steps)
        with stage("download"):
            path, fresh = fetch(episode.video, cfg.cache_dir / f"{episode.key}.mp4")
            downloaded += [path] if fresh else []
        with stage("decode"):
            decoded = decode_episode(path, steps, embedder, cfg.batch_size)
        if len(decoded.frames) < cfg.min_timesteps:
            return "too_short", len(decoded.frames)
        with stage("write"):
            _write(episode, cfg, embedder, steps, decoded)
        return "converted", len(decoded.frames)
    finally:
        for fetched in downloaded:
            fetched.unlink(missing_ok=True)


def _write(
    episode: ContractorEpisode,
    cfg: ConvertConfig,
    embedder: WindowEmbedder,
    steps: Sequence[ContractorStep],
    decoded: Decoded,
) -> None:
    metadata = {
        "world": "minecraft",
        "contractor_version": episode.version,
        "contractor_index": episode.idx,
        "source": episode.video,
        "generator": {
            "name": GENERATOR,
            "version": GENERATOR_VERSION,
            "truncate_camera": cfg.truncate_camera,
        },
        "recording_lines": len(steps),
        "null_actions_dropped": len(steps) - decoded.missing_frames - len(decoded.frames),
        "missing_frames": decoded.missing_frames,
        "embedding": embedder.describe(),
    }
    path = cfg.output_dir / episode_dir_name(episode.key, len(decoded.frames))
    write_episode(path, decoded.frames, store_actions(decoded.actions), decoded.embeds, metadata)


class EpisodeLog:
    """A JSON-lines table, one object per episode keyed by `episode`. Every change rewrites it
    atomically under an exclusive lock, so workers sharing the directory lose no entry; the file
    is removed when it empties."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, dict[str, Any]]:
        if not self.path.is_file():
            return {}
        entries = {}
        for line in self.path.read_text().splitlines():
            with contextlib.suppress(json.JSONDecodeError, KeyError, TypeError):
                entry = json.loads(line)
                entries[entry["episode"]] = entry
        return entries

    def put(self, key: str, entry: dict[str, Any]) -> None:
        self._update(lambda entries: entries.__setitem__(key, {"episode": key, **entry}))

    def drop(self, key: str) -> None:
        self._update(lambda entries: entries.pop(key, None))

    def _update(self, change: Callable[[dict[str, dict[str, Any]]], object]) -> None:
        lock_path = self.path.with_name(f".{self.path.name}.lock")
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = self.read()
            change(entries)
            if not entries:
                self.path.unlink(missing_ok=True)
                return
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in entries.values()))
            os.replace(tmp, self.path)


def convert(
    episodes: Sequence[ContractorEpisode], cfg: ConvertConfig, embedder: WindowEmbedder
) -> Summary:
    """Convert every episode not yet converted (nor known too short); failures are reported,
    logged to `failed.jsonl` and do not stop the run."""
    check_output_dir(cfg.output_dir)
    cfg.cache_dir.mkdir(parents=True, exist_ok=True)
    done = converted_keys(cfg.output_dir)
    failed_log = EpisodeLog(cfg.output_dir / FAILED_LOG)
    short_log = EpisodeLog(cfg.output_dir / SHORT_LOG)
    failed_before, short_before = failed_log.read(), short_log.read()
    summary = Summary()
    todo = []
    for episode in episodes:
        if episode.key in done:
            summary.already_done += 1
        elif short_before.get(episode.key, {}).get("kept", sys.maxsize) < cfg.min_timesteps:
            summary.too_short += 1
        else:
            todo.append(episode)
    for episode in tqdm(
        todo, desc="contractor episodes", unit="ep", disable=not sys.stderr.isatty()
    ):
        try:
            status, n_frames = convert_episode(episode, cfg, embedder)
        except EpisodeFailure as failure:
            _record_failure(episode, failure, failed_log, summary)
            continue
        if episode.key in failed_before:
            failed_log.drop(episode.key)
        if status == "too_short":
            short_log.put(episode.key, {"kept": n_frames})
            summary.too_short += 1
        else:
            if episode.key in short_before:
                short_log.drop(episode.key)
            summary.converted += 1
            summary.frames += n_frames
    return summary


def _record_failure(
    episode: ContractorEpisode, failure: EpisodeFailure, log: EpisodeLog, summary: Summary
) -> None:
    entry = {
        "version": episode.version,
        "idx": episode.idx,
        "stage": failure.stage,
        "reason": failure.reason,
        "video": episode.video,
        "recording": episode.recording,
    }
    log.put(episode.key, entry)
    summary.failed.append({"episode": episode.key, **entry})
    tqdm.write(f"failed {episode.key} ({failure.stage}): {failure.reason}", file=sys.stderr)
