"""ppo_highlevel.py end to end on tiny models: trains, logs, resumes, refuses changed settings."""

import json

import pytest

from hierarchical.run_config import RunConfigError, build_parser, resolve
from hierarchical.run_logging import read_stats
from ppo_highlevel import main
from tests.test_highlevel_env import tiny_models
from VPT.checkpoint import save_policy


@pytest.fixture(scope="module")
def model_args(tmp_path_factory):
    return save_models(tiny_models(), tmp_path_factory.mktemp("models"))


def save_models(models, d):
    """Write the models' files into `d`; returns the ppo_highlevel.py flags that name them."""
    save_policy(models.low_level, d / "ll.model", d / "ll.weights")
    save_policy(models.prior, d / "p.model", d / "p.weights")
    models.codebook.save(d / "cb.npz")
    return [
        "--in_model", str(d / "ll.model"), "--in_weights", str(d / "ll.weights"),
        "--prior_model", str(d / "p.model"), "--prior_weights", str(d / "p.weights"),
        "--codebook", str(d / "cb.npz"), "--weights", str(d / "ll.weights"),
    ]  # fmt: skip


def small(run_dir, *extra):
    return ["--config", "crafter_log", "--run_dir", str(run_dir), "--num_envs", "2"]  + [
        "--steps_per_iter", "4", "--batch_size", "4", "--n_epochs", "1", "--low_level_steps", "10",
        "--eval_episodes", "2", "--gif_every", "1", "--checkpoint_every", "1", "--eval_at",
        *extra,
    ]  # fmt: skip


def test_train_resume_and_evaluate(tmp_path, model_args):
    run = tmp_path / "run"
    main(small(run, "--steps", "8") + model_args)
    rows = read_stats(run / "stats.csv")
    assert [r["high_level_steps"] for r in rows] == [8]
    assert rows[0]["env_steps"] > 0 and rows[0]["kl"] == rows[0]["kl"]  # KL logged (not NaN)
    assert (run / "gifs" / "iter_1.gif").exists() and (run / "curve.png").exists()
    report = json.loads((run / "eval.json").read_text())
    assert report["episodes"] == 2 and report["env_steps"] == rows[0]["env_steps"]
    assert not list(run.glob("eval_at_*"))  # no --eval_at given: the tiny run sets []
    main(small(run, "--steps", "16", "--eval_at", "1", "100000") + model_args)  # longer: resumes
    rows = read_stats(run / "stats.csv")
    assert [r["high_level_steps"] for r in rows] == [8, 16]
    # Evaluated when the second iteration started (the first boundary after 1 env step); the
    # 100000 milestone was never reached.
    at_1 = json.loads((run / "eval_at_1.json").read_text())
    assert at_1["env_steps"] == rows[0]["env_steps"] and at_1["episodes"] == 2
    assert not (run / "eval_at_100000.json").exists()
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "timestep_16.pt",
        "timestep_8.pt",
    ]
    main(["--load", str(run)])  # nothing left to do; evaluation already done
    assert len(read_stats(run / "stats.csv")) == 2
    with pytest.raises(RunConfigError, match="kl_reward"):
        main(small(run, "--steps", "16", "--kl_reward", "2") + model_args)


def test_ablations_and_budget(tmp_path, model_args):
    run = tmp_path / "cont"
    main(small(run, "--steps", "100", "--no-discrete", "--no-goal_prior", "--max_env_steps", "30",
               "--eval_at", "30") + model_args)  # fmt: skip
    rows = read_stats(run / "stats.csv")
    assert rows == [] or rows[-1]["env_steps"] < 100
    # The budget stopped the run at the milestone: the final evaluation stands for it.
    assert (run / "eval_at_30.json").read_text() == (run / "eval.json").read_text()
    config = (run / "config.yaml").read_text()
    assert "discrete: false" in config and "kl_reward: 0.0" in config
    with pytest.raises(RunConfigError, match="multiple of --steps_per_iter"):
        main(small(tmp_path / "bad", "--batch_size", "6") + model_args)


def test_crafter_runs_end_at_their_env_step_budget() -> None:
    """The README's main command: 100k env steps, evaluated there (the targets' point)."""
    config = resolve(build_parser().parse_args(["--config", "crafter_cobblestone"]))
    assert config["max_env_steps"] == 100_000 and config["eval_at"] == [100_000]
    assert config["steps"] * config["low_level_steps"] > 10 * config["max_env_steps"]
    flags = ["--config", "crafter_log", "--max_env_steps", "0", "--eval_at"]
    config = resolve(build_parser().parse_args(flags))
    assert config["max_env_steps"] == 0 and config["eval_at"] == []
