"""The no-RL baselines: screening picks the best code, results land in eval.json once."""

import json

from hierarchical.code_baselines import main
from tests.test_highlevel_env import tiny_models
from VPT.checkpoint import save_policy


def test_fixed_and_random_code_baselines(tmp_path, capsys):
    models = tiny_models()
    save_policy(models.low_level, tmp_path / "ll.model", tmp_path / "ll.weights")
    models.codebook.save(tmp_path / "cb.npz")
    common = ["--config", "crafter_log", "--in_model", str(tmp_path / "ll.model")]
    common += ["--in_weights", str(tmp_path / "ll.weights"), "--codebook", str(tmp_path / "cb.npz")]
    common += ["--num_envs", "2", "--low_level_steps", "50", "--eval_episodes", "2"]
    fixed = tmp_path / "fixed"
    main(
        common
        + ["--method", "fixed_code", "--run_dir", str(fixed), "--screen_episodes", "1"]
        + ["--finalists", "2", "--final_episodes", "1"]
    )
    report = json.loads((fixed / "eval.json").read_text())
    assert report["episodes"] == 2 and 0 <= report["code"] < 5
    assert len(report["screen_rates"]) == 5
    random_dir = tmp_path / "random"
    main(common + ["--method", "random_codes", "--run_dir", str(random_dir)])
    assert json.loads((random_dir / "eval.json").read_text())["episodes"] == 2
    main(common + ["--method", "random_codes", "--run_dir", str(random_dir)])
    assert "nothing to do" in capsys.readouterr().out
