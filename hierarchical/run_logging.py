"""Per-iteration statistics of an RL run: `stats.csv` and TensorBoard scalars.

One callback for every method (PTGM, its ablations, flat PPO), so their curves share columns:
after each rollout it writes one row with the environment steps so far (low-level steps, the
paper's x-axis), the episodes that ended in the rollout, their success rate, task reward, KL to
the prior and length, and the entropy of the codes chosen during the rollout. `stats.csv` is
rewritten atomically each time, so a killed run leaves a complete file.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from steve1.utils.io import atomic_write_text

COLUMNS = (
    "iteration",
    "env_steps",
    "high_level_steps",
    "episodes",
    "success",
    "task_reward",
    "kl",
    "episode_low_level_steps",
    "code_entropy",
    "rollout_secs",
)


def code_entropy(codes: list[int]) -> float:
    """Entropy (nats) of the empirical distribution of chosen codes; nan when none (flat runs)."""
    codes = [c for c in codes if c >= 0]
    if not codes:
        return float("nan")
    _, counts = np.unique(codes, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def write_csv_atomic(path: Path, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, text.getvalue())


def read_stats(path: Path) -> list[dict[str, Any]]:
    """The rows of a `stats.csv` (counts as ints, rates as floats), to resume or plot a run."""
    with open(path, newline="") as f:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _number(text: str) -> float | int:
    try:
        return int(text)
    except ValueError:
        return float(text) if text else float("nan")


class StatsCallback(BaseCallback):
    """Collects episode ends and chosen codes; writes a row after every rollout.

    :param env_steps: returns the environment (low-level) steps so far; for flat PPO it is the
        algorithm's own timestep count.
    :param rows: rows of a resumed run, kept at the top of the file.
    :param on_row: called with every new row (e.g. to print progress).
    """

    def __init__(
        self,
        path: Path,
        env_steps: Callable[[], int],
        rows: list[dict[str, Any]] | None = None,
        on_row: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.env_steps = env_steps
        self.rows = list(rows or [])
        self.on_row = on_row
        self._reset_rollout()

    def _reset_rollout(self) -> None:
        self.episodes: list[dict[str, Any]] = []
        self.codes: list[int] = []
        self.kls: list[float] = []
        self.started = time.time()

    def _on_rollout_start(self) -> None:
        self._reset_rollout()

    def _on_step(self) -> bool:
        for info, done in zip(self.locals["infos"], self.locals["dones"], strict=True):
            if "code" in info:
                self.codes.append(int(info["code"]))
            if "kl" in info:
                self.kls.append(float(info["kl"]))
            if done and "episode" in info:
                episode = dict(info["episode"])
                episode.setdefault("success", bool(info.get("success", False)))
                self.episodes.append(episode)
        return True

    def _on_rollout_end(self) -> None:
        eps = self.episodes

        def mean(key: str) -> float:
            values = [float(e[key]) for e in eps if key in e]
            return float(np.mean(values)) if values else float("nan")

        row = {
            "iteration": len(self.rows) + 1,
            "env_steps": int(self.env_steps()),
            "high_level_steps": int(self.model.num_timesteps),
            "episodes": len(eps),
            "success": mean("success"),
            "task_reward": mean("r"),
            "kl": float(np.mean(self.kls)) if self.kls else float("nan"),
            "episode_low_level_steps": mean("l"),
            "code_entropy": code_entropy(self.codes),
            "rollout_secs": round(time.time() - self.started, 3),
        }
        self.rows.append(row)
        write_csv_atomic(self.path, self.rows, COLUMNS)
        for key in ("success", "task_reward", "kl", "code_entropy"):
            if not np.isnan(row[key]):
                self.logger.record(f"custom/{key}", row[key])
        self.logger.record("custom/env_steps", row["env_steps"])
        if self.on_row is not None:
            self.on_row(row)
