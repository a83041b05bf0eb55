"""The experiment runner: run list, skipping finished runs, failures reported, summary table."""

import json
import sys

import numpy as np

from hierarchical import experiments
from hierarchical.experiments import Run, run_all, summarize
from hierarchical.run_logging import COLUMNS, write_csv_atomic


def fake_run(out, task, method, seed, successes, budget=1000):
    d = out / task / method / f"seed{seed}"
    d.mkdir(parents=True)
    if method not in experiments.NO_TRAINING:
        rows = [
            {c: 0 for c in COLUMNS}
            | {"env_steps": budget * (i + 1) // len(successes), "episodes": 100, "success": s}
            for i, s in enumerate(successes)
        ]
        write_csv_atomic(d / "stats.csv", rows, COLUMNS)
    final = successes[-1]
    (d / "eval.json").write_text(json.dumps({"success_rate": final, "env_steps": budget}))
    return d


def test_summary_table_and_curves(tmp_path, monkeypatch):
    monkeypatch.setitem(experiments.BUDGETS, "crafter_log", 1000)
    for seed in (0, 1):
        d = fake_run(tmp_path, "crafter_log", "ptgm", seed, [0.2, 0.6, 0.9])
        (d / "eval_at_100000.json").write_text(json.dumps({"success_rate": 0.5 + 0.2 * seed}))
    fake_run(tmp_path, "crafter_log", "random_codes", 0, [0.1])
    table = summarize(tmp_path, ["crafter_log"], ["ptgm", "random_codes", "flat_ppo"]).read_text()
    assert (
        "| crafter_log | ptgm | 2 | 0.90 ± 0.00 | 0.60 ± 0.10 | 666 (2/2) | 1,000 (2/2) |" in table
    )
    assert "| crafter_log | random_codes | 1 | 0.10 ± 0.00 | - | - | - |" in table
    assert "| task | ptgm | random_codes |\n|---|---|---|\n" in table  # no flat_ppo column
    assert "| crafter_log | 0.90 ± 0.00 (2) | 0.10 ± 0.00 (1) |" in table
    assert "flat_ppo" not in table
    assert (tmp_path / "curves.png").stat().st_size > 1000
    lines = (tmp_path / "curves.csv").read_text().splitlines()
    assert lines[0] == "task,method,env_steps,success" and len(lines) > 2


def test_run_all_skips_finished_and_reports_failures(tmp_path, monkeypatch):
    done = Run("crafter_log", "random_codes", 0, tmp_path, 1000)
    fake_run(tmp_path, "crafter_log", "random_codes", 0, [0.1])
    failing = Run("crafter_log", "ptgm", 0, tmp_path, 1000)
    monkeypatch.setattr(Run, "argv", lambda self: [sys.executable, "-c", "raise SystemExit(3)"])
    assert done.finished() and not failing.finished()
    assert run_all([done, failing], jobs=2) == [failing]
    assert (failing.dir / "log.txt").exists()
    assert np.isclose(json.loads((done.dir / "eval.json").read_text())["success_rate"], 0.1)


def test_archive_copies_small_files_of_finished_runs(tmp_path, monkeypatch):
    out, to = tmp_path / "runs", tmp_path / "archive"
    done = fake_run(out, "crafter_log", "ptgm", 0, [0.2, 0.9], budget=1000)
    (done / "eval_at_100000.json").write_text(json.dumps({"success_rate": 0.5}))
    (done / "checkpoints").mkdir()
    (done / "checkpoints" / "timestep_8.pt").write_bytes(b"x" * 100)
    fake_run(out, "crafter_log", "ptgm", 1, [0.1], budget=10)  # stopped short of the budget
    runs = [Run("crafter_log", "ptgm", s, out, 1000) for s in (0, 1)]
    assert experiments.archive(runs, to) == 1
    copied = sorted(p.name for p in (to / "crafter_log" / "ptgm" / "seed0").iterdir())
    assert copied == ["eval.json", "eval_at_100000.json", "stats.csv"]
    assert not (to / "crafter_log" / "ptgm" / "seed1").exists()
    monkeypatch.setitem(experiments.BUDGETS, "crafter_log", 1000)
    assert "| crafter_log | ptgm | 1 | 0.90" in summarize(to, ["crafter_log"], ["ptgm"]).read_text()


def test_targets_section_checks_each_target(tmp_path, monkeypatch):
    monkeypatch.setitem(experiments.BUDGETS, "crafter_log", 1000)
    # flat PPO ends at 0.6, which PTGM reaches at two thirds of the budget; no prior learns later.
    d = fake_run(tmp_path, "crafter_log", "ptgm", 0, [0.1, 0.6, 0.9])
    (d / "eval_at_100000.json").write_text(json.dumps({"success_rate": 0.95}))
    fake_run(tmp_path, "crafter_log", "flat_ppo", 0, [0.1, 0.3, 0.6])
    fake_run(tmp_path, "crafter_log", "ptgm_no_prior", 0, [0.1, 0.2, 0.9])
    fake_run(tmp_path, "crafter_log", "random_codes", 0, [0.75])
    methods = ["ptgm", "flat_ppo", "ptgm_no_prior", "random_codes"]
    text = summarize(tmp_path, ["crafter_log"], methods, points=3).read_text()
    row = next(line for line in text.splitlines() if line.startswith("| crafter_log | 0.95"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "0.95 (0.9) pass"
    assert cells[2] == "0.60"  # flat PPO's curve at the end of its budget
    assert cells[3] == "667 (0.67 of budget) fail"  # the first grid point with PTGM at 0.6
    # AUC over the grid (333, 666, 1000): PTGM (0.1+0.6+0.9)/3, no prior (0.1+0.2+0.9)/3
    assert cells[4] == "0.533 / 0.400 pass"
    assert cells[5] == "+0.15 fail"
    assert "- PTGM's AUC beats PTGM without the prior: 1 of 1 tasks (not met so far" in text
