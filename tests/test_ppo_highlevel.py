"""ppo_highlevel.py end to end on tiny models: trains, logs, resumes, refuses changed settings."""

import json

import numpy as np
import pytest

from hierarchical.evaluate import main as evaluate_main
from hierarchical.highlevel_env import HighLevelVecEnv
from hierarchical.models import PretrainedModelError
from hierarchical.run_config import RunConfigError, build_parser, resolve
from hierarchical.run_logging import read_stats
from ppo_highlevel import main
from tests.test_highlevel_env import tiny_models
from VPT.checkpoint import WeightsMismatchError, load_policy, save_policy
from VPT.policy import VPTPolicy
from VPT.presets import get_preset


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


def test_continuous_goals_run_without_the_prior(tmp_path) -> None:
    config = resolve(build_parser().parse_args(["--config", "crafter_log", "--no-discrete"]))
    assert config["goal_prior"] is False and config["kl_reward"] == 0.0
    assert resolve(build_parser().parse_args(["--config", "crafter_log"]))["goal_prior"] is True
    with pytest.raises(RunConfigError, match="--goal_prior needs --discrete"):
        resolve(build_parser().parse_args(["--config", "crafter_log", "--no-discrete",
                                           "--goal_prior"]))  # fmt: skip


def test_models_that_do_not_fit_fail_before_any_env(tmp_path, model_args, monkeypatch):
    """A prior (the high level's architecture) with other kwargs than the low level whose trunk
    starts the high level, or frames of another size: an error naming the files, no env built."""
    import hierarchical.ppo_run as ppo_run

    def no_envs(*args, **kwargs):
        raise AssertionError("an env was built before the files were checked")

    monkeypatch.setattr(ppo_run, "env_from_config", no_envs)
    p = get_preset("tiny")
    wide_kwargs = p.policy_kwargs | {"hidsize": 48}
    wide = VPTPolicy(wide_kwargs, 5, p.pi_head_kwargs)
    save_policy(wide, tmp_path / "wide.model", tmp_path / "wide.weights")
    args = small(tmp_path / "run", "--steps", "4") + model_args
    args += ["--prior_model", str(tmp_path / "wide.model"), "--prior_weights",
             str(tmp_path / "wide.weights")]  # fmt: skip
    with pytest.raises(WeightsMismatchError, match="wide.model") as err:
        main(args)
    assert "ll.weights" in str(err.value) and "shape mismatch" in str(err.value)
    big = VPTPolicy(p.policy_kwargs | {"img_shape": [32, 32, 3]}, 5, p.pi_head_kwargs)
    save_policy(big, tmp_path / "small.model", tmp_path / "small.weights")
    args[-3], args[-1] = str(tmp_path / "small.model"), str(tmp_path / "small.weights")
    with pytest.raises(PretrainedModelError, match=r"small.model: .* 32x32 frames .* 64x64"):
        main(args)


def test_a_weights_file_that_does_not_fit_its_model_names_both(tmp_path, model_args) -> None:
    p = get_preset("tiny")
    other = VPTPolicy(p.policy_kwargs | {"hidsize": 48}, 5, p.pi_head_kwargs)
    save_policy(other, tmp_path / "p.model", tmp_path / "other.weights")
    built_from = r"/p\.weights: .* built from .*/test_a_weights\w*/p\.model"
    with pytest.raises(WeightsMismatchError, match=built_from):
        load_policy(tmp_path / "p.model", model_args[model_args.index("--prior_weights") + 1])


def test_load_refuses_other_settings_and_a_kill_resumes_cleanly(tmp_path, model_args, capsys):
    run = tmp_path / "run"
    main(small(run, "--steps", "16") + model_args)
    with pytest.raises(RunConfigError, match=r"lr: 0\.001 -> 0\.5"):
        main(["--load", str(run), "--lr", "0.5"])
    # Killed after the second iteration's stats row but before its checkpoint: the re-run
    # continues from the first checkpoint and the row is written once.
    (run / "checkpoints" / "timestep_16.pt").unlink()
    (run / "eval.json").unlink()
    capsys.readouterr()
    main(["--load", str(run)])
    assert "resuming" in capsys.readouterr().out
    assert [r["high_level_steps"] for r in read_stats(run / "stats.csv")] == [8, 16]
    # A finished run re-prints its evaluation; more episodes re-evaluate it.
    main(["--load", str(run)])
    assert "over 2 episodes" in capsys.readouterr().out
    main(["--load", str(run), "--eval_episodes", "3"])
    assert json.loads((run / "eval.json").read_text())["episodes"] == 3
    # The saved policy evaluated on its own (the first checkpoint), the run left as it was.
    before = sorted(p.name for p in run.rglob("*"))
    out = tmp_path / "eval8.json"
    result = evaluate_main([str(run), "--episodes", "4", "--checkpoint",
                            str(run / "checkpoints" / "timestep_8.pt"), "--out", str(out)])  # fmt: skip
    assert json.loads(out.read_text())["episodes"] == 4 == result.episodes
    assert "over 4 episodes" in capsys.readouterr().out
    assert sorted(p.name for p in run.rglob("*")) == before


def test_an_episode_without_a_prior_has_no_kl(tmp_path, model_args) -> None:
    env = HighLevelVecEnv("crafter_log", 1, tiny_models(), 3, 1.0, use_prior=False, max_steps=3)
    env.reset()
    env.step_async(np.array([0]))
    info = env.step_wait()[3][0]
    assert "kl" not in info and np.isnan(info["episode"]["kl"])
