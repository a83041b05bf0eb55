"""Learning curves: success rate against environment (low-level) steps, the paper's x-axis.

Runs log success per rollout iteration at irregular env-step counts, so each run is first put on
a common grid: the success rate in a window of recent episodes is a step function of env steps,
read off at the grid points (NaN before the run's first finished episodes). The band across
seeds is mean ± standard error.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from hierarchical.run_logging import read_stats  # noqa: E402


def smoothed_success(
    rows: Sequence[Mapping[str, float]], window: int = 100, min_episodes: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """(env_steps, success rate over the last `window` finished episodes) after each iteration;
    NaN while fewer than `min_episodes` episodes have finished."""
    steps, rates = [], []
    history: list[tuple[float, int]] = []  # (success rate, episodes) per iteration
    for row in rows:
        episodes = int(row["episodes"])
        if episodes:
            history.append((float(row["success"]), episodes))
        total, weight = 0.0, 0
        for rate, n in reversed(history):
            take = min(n, window - weight)
            total += rate * take
            weight += take
            if weight >= window:
                break
        steps.append(float(row["env_steps"]))
        rates.append(total / weight if weight >= max(min_episodes, 1) else np.nan)
    return np.asarray(steps), np.asarray(rates)


def on_grid(steps: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The step function `values` (set at `steps`) read at `grid`; NaN before its first point."""
    if not len(steps):
        return np.full(len(grid), np.nan)
    idx = np.searchsorted(steps, grid, side="right") - 1
    out = np.where(idx >= 0, values[np.clip(idx, 0, None)], np.nan)
    out[grid > steps[-1]] = np.nan  # past the end of the run: not measured
    return out


def steps_to_reach(steps: np.ndarray, rates: np.ndarray, level: float) -> float:
    """First env step at which the smoothed success reaches `level` (NaN if never)."""
    hit = np.flatnonzero(np.nan_to_num(rates, nan=-1.0) >= level)
    return float(steps[hit[0]]) if len(hit) else float("nan")


def run_curve(
    run_dir: Path, window: int = 100, min_episodes: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    """A run's smoothed success curve, from its `stats.csv`; it starts once `min_episodes`
    episodes have finished (a rate over the first one or two episodes says nothing)."""
    return smoothed_success(read_stats(Path(run_dir) / "stats.csv"), window, min_episodes)


def method_band(curves: Sequence[tuple[np.ndarray, np.ndarray]], grid: np.ndarray) -> np.ndarray:
    """(n_runs, len(grid)): each run's (steps, rates) curve read on the grid."""
    return np.asarray([on_grid(steps, rates, grid) for steps, rates in curves])


def plot_panels(
    panels: Mapping[str, Mapping[str, np.ndarray]],
    grid: np.ndarray | Mapping[str, np.ndarray],
    path: Path,
    ncols: int = 3,
) -> Path:
    """One panel per task; per method a mean line and a ±s.e. band over its runs, in the same
    colour in every panel. The legend takes a spare panel when there is one.

    :param grid: the env steps of the curves' columns, or one grid per task.
    """
    n = len(panels)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows), squeeze=False)
    order = list(dict.fromkeys(m for methods in panels.values() for m in methods))
    colours = {m: f"C{i % 10}" for i, m in enumerate(order)}
    lines: dict[str, Any] = {}
    for ax, (task, methods) in zip(axes.flat, panels.items(), strict=False):
        x = grid[task] if isinstance(grid, Mapping) else grid
        for method, curves in methods.items():
            with warnings.catch_warnings():  # grid points no run reached stay NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(curves, axis=0)
                count = np.sum(~np.isnan(curves), axis=0)
                se = np.nanstd(curves, axis=0) / np.sqrt(np.maximum(count, 1))
            (lines[method],) = ax.plot(x, mean, color=colours[method], label=method)
            ax.fill_between(x, mean - se, mean + se, color=colours[method], alpha=0.2)
        ax.set_title(task)
        ax.set_xlabel("environment steps")
        ax.set_ylabel("success rate")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    handles = [lines[m] for m in order]
    if n < len(axes.flat):
        axes.flat[n].legend(handles=handles, loc="center", fontsize=10, title="method")
    else:
        axes.flat[0].legend(handles=handles, fontsize=7, loc="upper left")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
