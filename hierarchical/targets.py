"""The high-level issue's targets, checked on the experiment grid's results.

Each target is computed from what `hierarchical.experiments` collects per (task, method):

- success at 100k environment steps: PTGM's evaluation when training passed 100,000 steps
  (`eval_at_100000.json`, mean over seeds) against a per-task threshold;
- sample efficiency: flat PPO's final success (its mean training curve at the end of the budget:
  the success over its last 100 training episodes, averaged over seeds), and the first step at
  which PTGM's mean training curve reaches it; the target asks for at most a third of the budget.
  Both sides use the same estimator (training episodes with the stochastic policy);
- area under the curve, PTGM against PTGM without the prior: the mean of each run's curve over the
  grid (0 where a run has no rate yet, before its first 20 episodes), averaged over seeds;
- PTGM's final evaluated success minus the random-code high level's, target >= 0.2.

A target over tasks counts only tasks where both methods have results.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from hierarchical.curves import steps_to_reach

AT_100K = {
    "crafter_log": 0.9,
    "crafter_water": 0.9,
    "crafter_cobblestone": 0.9,
    "crafter_spider": 0.6,
    "crafter_iron": 0.3,
}
SPEEDUP = 3.0  # PTGM must reach flat PPO's final success within budget / SPEEDUP steps
MARGIN_OVER_RANDOM = 0.2


@dataclass
class MethodResult:
    """One method's runs on one task."""

    finals: list[float]  # evaluated final success per run
    at_100k: list[float]  # evaluated success at 100k steps per run (PTGM runs)
    band: np.ndarray | None  # (runs, grid points) smoothed training success, NaN where unknown
    grid: np.ndarray  # env steps of the band's columns
    runs: int = 0  # run directories found (finished or not)

    def mean_curve(self) -> np.ndarray:
        with warnings.catch_warnings():  # columns no run reached stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(self.band, axis=0)

    def final_training_success(self) -> float:
        """The mean curve's last known value."""
        curve = self.mean_curve()
        known = curve[~np.isnan(curve)]
        return float(known[-1]) if len(known) else float("nan")

    def steps_to(self, level: float) -> float:
        """First grid step at which the mean curve reaches `level` (NaN if never)."""
        return steps_to_reach(self.grid, self.mean_curve(), level)

    def auc(self) -> float:
        """Mean over runs of each curve's mean over the grid, unknown points counted as 0."""
        return float(np.mean(np.nan_to_num(self.band, nan=0.0).mean(axis=1)))


def _has_curve(result: MethodResult | None) -> bool:
    return result is not None and result.band is not None and len(result.band) > 0


def _verdict(passed: int, counted: int, need: int) -> str:
    state = "met" if passed >= need else ("not met" if counted >= 5 else "not met so far")
    return f"{passed} of {counted} tasks ({state}; target: {need} of 5)"


def target_report(
    results: Mapping[str, Mapping[str, MethodResult]], budgets: Mapping[str, int]
) -> str:
    """A markdown table (one row per task) and one line per target."""
    lines = [
        "| task | PTGM at 100k (target) | flat PPO final (training) | PTGM steps to it "
        f"(target <= budget/{SPEEDUP:g}) | AUC PTGM / no prior | PTGM - random codes (final, "
        f"target >= {MARGIN_OVER_RANDOM}) |",
        "|---|---|---|---|---|---|",
    ]
    tally = {"at_100k": [], "speed": [], "auc": [], "random": []}
    for task, methods in results.items():
        ptgm = methods.get("ptgm")
        cells = []
        if ptgm is not None and ptgm.at_100k and task in AT_100K:
            value, need = float(np.mean(ptgm.at_100k)), AT_100K[task]
            tally["at_100k"].append(value >= need)
            cells.append(f"{value:.2f} ({need}) {'pass' if value >= need else 'fail'}")
        else:
            cells.append("-")
        flat = methods.get("flat_ppo")
        if _has_curve(ptgm) and _has_curve(flat):
            level, budget = flat.final_training_success(), budgets[task]
            steps = ptgm.steps_to(level)
            ok = not np.isnan(steps) and steps <= budget / SPEEDUP
            tally["speed"].append(ok)
            reached = (
                "never" if np.isnan(steps) else f"{steps:,.0f} ({steps / budget:.2f} of budget)"
            )
            cells += [f"{level:.2f}", f"{reached} {'pass' if ok else 'fail'}"]
        else:
            cells += ["-", "-"]
        no_prior = methods.get("ptgm_no_prior")
        if _has_curve(ptgm) and _has_curve(no_prior):
            ok = ptgm.auc() > no_prior.auc()
            tally["auc"].append(ok)
            cells.append(f"{ptgm.auc():.3f} / {no_prior.auc():.3f} {'pass' if ok else 'fail'}")
        else:
            cells.append("-")
        rand = methods.get("random_codes")
        if ptgm is not None and ptgm.finals and rand is not None and rand.finals:
            gap = float(np.mean(ptgm.finals) - np.mean(rand.finals))
            tally["random"].append(gap >= MARGIN_OVER_RANDOM)
            cells.append(f"{gap:+.2f} {'pass' if gap >= MARGIN_OVER_RANDOM else 'fail'}")
        else:
            cells.append("-")
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"- PTGM at 100k steps reaches its threshold on {sum(tally['at_100k'])} of "
        f"{len(tally['at_100k'])} tasks (target: all five).",
        f"- PTGM reaches flat PPO's final success within a third of the budget: "
        f"{_verdict(sum(tally['speed']), len(tally['speed']), 4)}.",
        f"- PTGM's AUC beats PTGM without the prior: "
        f"{_verdict(sum(tally['auc']), len(tally['auc']), 4)}.",
        f"- PTGM beats random codes by >= {MARGIN_OVER_RANDOM}: "
        f"{_verdict(sum(tally['random']), len(tally['random']), 3)}.",
    ]
    return "\n".join(lines) + "\n"
