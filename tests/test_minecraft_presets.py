"""The paper's Minecraft settings of each stage (spec 2.4-2.6, 8), parsed into the stage's config
without training: the two Minecraft training scripts and `ppo_highlevel.py --config <task>`."""

import shlex
from pathlib import Path

import numpy as np
import pytest

import goal_prior.train
import steve1.train
from hierarchical.run_config import build_parser, resolve
from steve1.data.goal_dataset import sample_goal_steps

REPO = Path(__file__).resolve().parents[1]
MINECRAFT_TASKS = ("log_plains", "water_bucket", "cobblestone", "iron_ore", "spider")

# Upstream's Minecraft values shared by the low level and the goal prior (its two scripts).
TRAINING = {
    "T": 640,
    "trunc_t": 64,
    "batch_size": 4,
    "gradient_accumulation_steps": 4,
    "learning_rate": 4e-5,
    "min_btwn_goals": 15,
    "max_btwn_goals": 200,
    "n_frames": 100_000_000,
    "warmup_frames": 10_000_000,
    "weight_decay": 0.039428,
    "max_grad_norm": 5.0,
    "val_freq": 1000,
    "val_freq_begin": 100,
    "val_freq_switch_steps": 500,
    "val_every_nth": 1,
    "snapshot_every_n_frames": 50_000_000,
    "mixed_precision": "bf16",
    "accelerate": True,
    "sampling_dir": Path("downloads/samplings"),
    "sampling": "seed1",
    "in_model": Path("downloads/2x.model"),
    "in_weights": Path("downloads/rl-from-foundation-2x.weights"),
}


def script_args(script: str, module: str) -> list[str]:
    """The flags a stage script passes to `python -m <module>` (without the appended "$@")."""
    text = (REPO / script).read_text().replace("\\\n", " ")
    line = next(ln for ln in text.splitlines() if ln.strip().startswith(f"python -m {module} "))
    words = shlex.split(line)
    assert words[:3] == ["python", "-m", module] and words[-1] == "$@"
    return words[3:-1]


def test_low_level_script_has_the_paper_settings() -> None:
    args = steve1.train.parse_args(
        script_args("steve1/train_goal_conditioned_policy_minecraft.sh", "steve1.train")
    )
    assert {k: getattr(args, k) for k in TRAINING} == TRAINING
    assert (args.p_uncond, args.seed) == (0.1, 42)
    assert args.out_weights == Path("results/steve1/weights/trained_with_script.weights")


def test_goal_prior_script_has_the_paper_settings() -> None:
    args = goal_prior.train.parse_args(
        script_args("goal_prior/train_goal_prior_minecraft.sh", "goal_prior.train")
    )
    assert {k: getattr(args, k) for k in TRAINING} == TRAINING
    assert args.seed == 1
    assert args.codebook_path == "downloads/codebook/tsne_n100_s1/codebook.npz"
    assert args.out_weights == Path("results/goal_prior/weights/trained_with_script.weights")


def test_goals_are_15_to_199_frames_apart() -> None:
    steps = sample_goal_steps(200_000, 15, 200, np.random.default_rng(0))
    gaps = np.diff(steps)[:-1]  # the last goal is the episode's end
    assert gaps.min() == 15 and gaps.max() == 199


@pytest.mark.parametrize("task", MINECRAFT_TASKS)
def test_high_level_minecraft_defaults(task: str) -> None:
    config = resolve(build_parser().parse_args(["--config", task]))
    expected = {
        "world": "minecraft",
        "low_level_steps": 100,
        "kl_reward": 0.05,
        "cond_scale": 7.0,
        "steps": 15000,
        "steps_per_iter": 40,
        "batch_size": 40,
        "n_epochs": 5,
        "lr": 1e-4,
        "gamma": 0.999,
        "trainable": "heads",
        "discrete": True,
        "goal_prior": True,
        "initialize_with_prior": False,
        "in_model": "downloads/2x.model",
        "in_weights": "downloads/steve1/steve1.weights",
        "weights": "downloads/rl-from-foundation-2x.weights",
        "prior_model": "results/goal_prior/weights/trained_with_script.model",
        "prior_weights": "results/goal_prior/weights/trained_with_script_best.weights",
        "codebook": "downloads/codebook/tsne_n100_s1/codebook.npz",
        "mineclip_path": "downloads/mineclip_attn.pth",
        "max_env_steps": 0,  # upstream: the high-level step count ends a run
        "eval_at": [],
    }
    assert {k: config[k] for k in expected} == expected


def test_high_level_minecraft_defaults_are_what_the_stages_write() -> None:
    """The prior and codebook defaults are the files of goal_prior/train_goal_prior_minecraft.sh
    (its `.model` next to its `_best` weights, and the codebook it was trained on)."""
    config = resolve(build_parser().parse_args(["--config", "log_plains"]))
    prior = goal_prior.train.parse_args(
        script_args("goal_prior/train_goal_prior_minecraft.sh", "goal_prior.train")
    )
    out = prior.out_weights
    assert Path(config["prior_model"]) == out.with_suffix(".model")
    assert Path(config["prior_weights"]) == out.with_name(f"{out.stem}_best{out.suffix}")
    assert config["codebook"] == prior.codebook_path
