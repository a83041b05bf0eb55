"""Run every method on the Crafter tasks over several seeds, then plot and tabulate the results.

    python -m hierarchical.experiments run --tasks all --seeds 0 1 2 --jobs 2
    python -m hierarchical.experiments plot
    python -m hierarchical.experiments archive --archive experiments/crafter
    python -m hierarchical.experiments plot --out experiments/crafter

Each (task, method, seed) is one run directory `<out>/<task>/<method>/seed<k>/` made by the
method's own script (`ppo_highlevel.py`, `hierarchical.train_flat`, `hierarchical.code_baselines`)
with the same environment-step budget. `run` skips runs whose `eval.json` is complete and resumes
the others (each script resumes when re-run), `--jobs` at a time, one torch thread each; a
failed run is reported with its log path and does not stop the others. `plot` draws success rate
against environment steps (one panel per task, a band per method) to `curves.png` and
`curves.csv`, and writes `results.md`: final evaluation success per method and task, and the
environment steps each method needs to reach 50% and 80% success, followed by the high-level
issue's targets (`hierarchical.targets`). `archive` copies the small files
of every finished run (`config.yaml`, `meta.json`, `stats.csv`, `eval*.json`; no checkpoints) to a
directory kept in git, so that the figures survive the machine and `plot --out <archive>` redraws
them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hierarchical.curves import method_band, plot_panels, run_curve, steps_to_reach
from hierarchical.run_logging import write_csv_atomic
from hierarchical.targets import MethodResult, target_report
from steve1.utils.io import atomic_write_text

TASKS = ("crafter_log", "crafter_water", "crafter_cobblestone", "crafter_iron", "crafter_spider")
# Environment-step budget per task (every method gets the same).
BUDGETS = {
    "crafter_log": 100_000,
    "crafter_water": 100_000,
    "crafter_cobblestone": 200_000,
    "crafter_iron": 400_000,
    "crafter_spider": 100_000,
}
# method -> how to run it (argv after the interpreter); "{...}" fields are filled per run.
METHODS: dict[str, list[str]] = {
    "ptgm": ["ppo_highlevel.py"],
    "ptgm_no_prior": ["ppo_highlevel.py", "--no-goal_prior"],
    "ptgm_continuous": ["ppo_highlevel.py", "--no-discrete", "--no-goal_prior"],
    "flat_ppo": ["-m", "hierarchical.train_flat"],
    "fixed_code": ["-m", "hierarchical.code_baselines", "--method", "fixed_code"],
    "random_codes": ["-m", "hierarchical.code_baselines", "--method", "random_codes"],
}
NO_TRAINING = ("fixed_code", "random_codes")
TARGET_STEPS = 100_000  # PTGM runs are also evaluated here (ppo_highlevel.py --eval_at)


@dataclass(frozen=True)
class Run:
    task: str
    method: str
    seed: int
    out: Path
    budget: int

    @property
    def dir(self) -> Path:
        return self.out / self.task / self.method / f"seed{self.seed}"

    def argv(self) -> list[str]:
        args = [sys.executable, *METHODS[self.method], "--config", self.task]
        args += ["--run_dir", str(self.dir), "--seed", str(self.seed), "--num_threads", "1"]
        if self.method.startswith("ptgm"):
            # The env-step budget ends the run, not a count of high-level steps (those are
            # short where episodes are, e.g. crafter_spider).
            args += ["--max_env_steps", str(self.budget), "--steps", str(10**6)]
        elif self.method == "flat_ppo":
            args += ["--env_steps", str(self.budget)]
        return args

    def finished(self) -> bool:
        path = self.dir / "eval.json"
        if not path.exists():
            return False
        steps = json.loads(path.read_text()).get("env_steps", 0)
        return self.method in NO_TRAINING or steps >= self.budget


def run_all(runs: list[Run], jobs: int) -> list[Run]:
    """Run the unfinished runs, `jobs` at a time; returns the ones that failed."""
    todo = [r for r in runs if not r.finished()]
    print(f"{len(runs) - len(todo)} of {len(runs)} runs already finished", flush=True)
    running: list[tuple[Run, subprocess.Popen]] = []
    failed: list[Run] = []
    while todo or running:
        while todo and len(running) < jobs:
            run = todo.pop(0)
            run.dir.mkdir(parents=True, exist_ok=True)
            log = open(run.dir / "log.txt", "a")  # noqa: SIM115 (closed with the process)
            print(f"start {run.task} {run.method} seed {run.seed}", flush=True)
            running.append((run, subprocess.Popen(run.argv(), stdout=log, stderr=log)))
        time.sleep(2)
        for item in list(running):
            run, proc = item
            if proc.poll() is None:
                continue
            running.remove(item)
            ok = proc.returncode == 0 and run.finished()
            print(
                f"{'done' if ok else 'FAILED'} {run.task} {run.method} seed {run.seed}", flush=True
            )
            if not ok:
                failed.append(run)
                print(f"  see {run.dir / 'log.txt'}", flush=True)
    return failed


ARCHIVED = ("config.yaml", "meta.json", "stats.csv", "eval.json", "eval_at_*.json")


def archive(runs: list[Run], to: Path) -> int:
    """Copy the small files of the finished runs into `to` (same layout); returns how many."""
    count = 0
    for run in runs:
        if not run.finished():
            continue
        dest = to / run.dir.relative_to(run.out)
        dest.mkdir(parents=True, exist_ok=True)
        for pattern in ARCHIVED:
            for path in run.dir.glob(pattern):
                shutil.copy2(path, dest / path.name)
        count += 1
    return count


def collect(out: Path, task: str, method: str, grid: np.ndarray) -> tuple[MethodResult, list]:
    """One method's runs on one task (every `seed*` directory, finished or not), and each run's
    (steps, rates) training curve."""
    runs = sorted((out / task / method).glob("seed*"))
    finals = [
        json.loads((r / "eval.json").read_text())["success_rate"]
        for r in runs
        if (r / "eval.json").exists()
    ]
    at_100k = [
        json.loads(p.read_text())["success_rate"]
        for r in runs
        if (p := r / f"eval_at_{TARGET_STEPS}.json").exists()
    ]
    curves = [run_curve(r) for r in runs if (r / "stats.csv").exists()]
    if method in NO_TRAINING and finals:  # a flat line at the evaluated success
        band = np.tile(np.array(finals)[:, None], (1, len(grid)))
    else:
        band = method_band(curves, grid) if curves else None
    return MethodResult(finals, at_100k, band, grid, len(runs)), curves


def summarize(out: Path, tasks: list[str], methods: list[str], points: int = 50) -> Path:
    """curves.png, curves.csv and results.md (with the issue's targets) from the run directories
    under `out`."""
    results: dict[str, dict[str, MethodResult]] = {}
    lines = [
        "| task | method | runs | final success (eval, mean ± s.d.) | at 100k steps (eval) | "
        "steps to 50% | steps to 80% |",
        "|---|---|---|---|---|---|---|",
    ]
    csv_rows = []
    grids = {task: np.linspace(0, BUDGETS[task], points + 1)[1:] for task in tasks}
    for task in tasks:
        grid = grids[task]
        results[task] = {}
        for method in methods:
            result, curves = collect(out, task, method, grid)
            if not result.runs:
                continue
            results[task][method] = result
            reach = {
                level: [steps_to_reach(steps, rates, level) for steps, rates in curves]
                for level in (0.5, 0.8)
            }
            lines.append(
                f"| {task} | {method} | {result.runs} | {_mean_sd(result.finals)} | "
                f"{_mean_sd(result.at_100k)} | {_reach(reach[0.5], method)} | "
                f"{_reach(reach[0.8], method)} |"
            )
            if result.band is not None:
                csv_rows += [
                    {"task": task, "method": method, "env_steps": int(x), "success": y}
                    for x, y in zip(grid, result.mean_curve(), strict=True)
                ]
    panels = {
        t: {m: r.band for m, r in ms.items() if r.band is not None} for t, ms in results.items()
    }
    filled = {t: m for t, m in panels.items() if m}
    if filled:
        plot_panels(filled, {t: grids[t] for t in filled}, out / "curves.png")
    write_csv_atomic(out / "curves.csv", csv_rows, ("task", "method", "env_steps", "success"))
    note = (
        "\nFinal success: evaluation of the final policy on held-out seeds (eval.json). At 100k "
        "steps: the same evaluation when training passed 100,000 environment steps "
        "(eval_at_100000.json; PTGM runs, the issue's target point). Steps to "
        "50% / 80%: first environment step at which the success rate over the last 100 training "
        "episodes (once at least 20 have finished) reaches the level, median over seeds that "
        "reach it (k/n: how many do).\n"
    )
    text = "## Final success (evaluated; mean ± s.d. over seeds, seeds in brackets)\n\n"
    text += final_matrix(results, methods) + "\n## Per task and method\n\n" + "\n".join(lines)
    targets = "\n## The high-level issue's targets\n\n" + target_report(results, BUDGETS)
    return atomic_write_text(out / "results.md", text + "\n" + note + targets)


def final_matrix(results: dict[str, dict[str, MethodResult]], methods: list[str]) -> str:
    """Tasks x methods: the final evaluated success, mean ± s.d. (number of evaluated runs)."""
    shown = [m for m in methods if any(m in r for r in results.values())]
    lines = ["| task | " + " | ".join(shown) + " |", "|---" * (len(shown) + 1) + "|"]
    for task, by_method in results.items():
        cells = []
        for method in shown:
            finals = by_method[method].finals if method in by_method else []
            cells.append(f"{_mean_sd(finals)} ({len(finals)})" if finals else "-")
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _mean_sd(values: list[float]) -> str:
    return f"{np.mean(values):.2f} ± {np.std(values):.2f}" if values else "-"


def _reach(values: list[float], method: str) -> str:
    if method in NO_TRAINING or not values:
        return "-"
    hit = [v for v in values if not np.isnan(v)]
    if not hit:
        return f"never (0/{len(values)})"
    return f"{np.median(hit):,.0f} ({len(hit)}/{len(values)})"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("command", choices=("run", "plot", "archive"))
    p.add_argument("--tasks", nargs="+", default=["all"])
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--out", type=Path, default=Path("results/experiments"))
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument(
        "--archive", type=Path, default=Path("experiments/crafter"), help="archive's directory"
    )
    p.add_argument("--budget_scale", type=float, default=1.0, help="multiply every budget")
    args = p.parse_args(argv)
    tasks = list(TASKS) if args.tasks == ["all"] else args.tasks
    unknown = [t for t in tasks if t not in BUDGETS]
    if unknown:
        raise SystemExit(f"unknown task(s) {unknown}; choose from {list(TASKS)} or 'all'")
    runs = [
        Run(t, m, s, args.out, int(BUDGETS[t] * args.budget_scale))
        for t in tasks
        for m in args.methods
        for s in (args.seeds if m != "fixed_code" else args.seeds[:1])
    ]
    if args.command == "archive":
        print(f"archived {archive(runs, args.archive)} finished runs to {args.archive}")
        return
    if args.command == "run":
        failed = run_all(runs, args.jobs)
        if failed:
            raise SystemExit(f"{len(failed)} run(s) failed")
    print(summarize(args.out, tasks, args.methods).read_text())


if __name__ == "__main__":
    main()
