"""The flat PPO baseline: trains, logs, checkpoints, resumes on re-run, evaluates once."""

import json

import pytest

from hierarchical.code_baselines import main as code_baselines
from hierarchical.evaluate import main as evaluate_main
from hierarchical.run_config import RunConfigError
from hierarchical.run_logging import read_stats
from hierarchical.train_flat import main
from tasks import TaskSpecError


def test_flat_ppo_runs_resumes_and_evaluates(tmp_path, monkeypatch):
    run = tmp_path / "run"
    args = ["--config", "crafter_log", "--run_dir", str(run), "--n_envs", "2", "--n_steps", "32"]
    args += ["--batch_size", "32", "--n_epochs", "1", "--preset", "tiny", "--eval_episodes", "2"]
    args += ["--checkpoint_every", "1", "--num_threads", "1"]
    main(args + ["--env_steps", "64"])
    assert [r["env_steps"] for r in read_stats(run / "stats.csv")] == [64]
    assert json.loads((run / "eval.json").read_text())["env_steps"] == 64
    # A longer budget resumes the same run, found here by a relative path.
    monkeypatch.chdir(tmp_path)
    main([a if a != str(run) else "run" for a in args] + ["--env_steps", "128"])
    assert [r["env_steps"] for r in read_stats(run / "stats.csv")] == [64, 128]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "timestep_128.zip",
        "timestep_64.zip",
    ]
    assert json.loads((run / "eval.json").read_text())["episodes"] == 2
    with pytest.raises(RunConfigError, match="lr"):
        main(args + ["--env_steps", "128", "--lr", "0.1"])
    assert evaluate_main([str(run), "--episodes", "3"]).episodes == 3  # the saved policy alone


@pytest.mark.parametrize("task", ["log_plains", "no_such_task"])
def test_a_task_it_cannot_run_writes_nothing(tmp_path, task):
    run = tmp_path / "run"
    with pytest.raises((RunConfigError, TaskSpecError), match="crafter_log"):
        main(["--config", task, "--run_dir", str(run)])
    with pytest.raises((RunConfigError, TaskSpecError), match="crafter_log"):
        code_baselines(["--method", "random_codes", "--config", task, "--run_dir", str(run)])
    assert not run.exists()
