"""`ppo_highlevel.py`'s flags, their per-world defaults, and the run directory.

Flags keep upstream's names. A flag left unset takes the default of the task's world: for a
Crafter task every model path points at the shipped models in `downloads/crafter/` and the
hyper-parameters are the ones measured on Crafter; for a Minecraft task they are upstream's
(README values where its README and argparse disagree, e.g. `kl_reward` 0.05).

Deviations from upstream, on purpose:
- `--discrete` and `--goal_prior` default to on (PTGM proper; `--no-goal_prior` and `--no-discrete`
  give the ablations). Upstream's store_true defaults gave the continuous, prior-free variant.
  The prior is a distribution over codes, so `--no-discrete` turns it off too, and asking for
  both `--no-discrete` and `--goal_prior` is an error (upstream would have crashed mid-run).
- The run directory is `<results_dir>/<name>` with no timestamp, so re-running the same command
  resumes the run (the house rule for every long stage); `--load <run dir>` resumes any run.
  Upstream appended a timestamp and `--load` raised NotImplementedError.
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

import tasks
from hierarchical.models import SHIPPED_FILES
from steve1.utils.io import atomic_write_text

# Values a resumed run may change; every other key must match the saved config.
RESUMABLE_CHANGES = (
    "steps",
    "env_steps",
    "max_env_steps",
    "device",
    "num_threads",
    "load",
    "eval_episodes",
    "eval_at",
    "gif_every",
    "checkpoint_every",
    # Where the run was found, not how it runs: the same directory may be spelled relative to
    # another working directory, or as an absolute path.
    "run_dir",
    "results_dir",
)

WORLD_DEFAULTS: dict[str, dict[str, Any]] = {
    "crafter": {
        **{k: str(v) for k, v in SHIPPED_FILES.items()},
        "weights": str(SHIPPED_FILES["in_weights"]),  # trunk init: the low level's trunk
        "cond_scale": 3.0,
        # upstream's value; within 50 the low level's drink code misses its event too often
        # (experiments/horizon/)
        "low_level_steps": 100,
        "kl_reward": 0.05,
        "steps": 1_000_000,  # high-level steps: in effect no cap, the env-step budget rules
        # 3,200 env steps per PPO iteration, as 8 at 50 steps gave: 8 at 100 learns later
        # (experiments/horizon/)
        "steps_per_iter": 4,
        "batch_size": 32,
        "n_epochs": 5,
        "lr": 1e-3,  # upstream's 1e-4 learns too slowly in 100k env steps (README, experiments/hl_lr)
        "gamma": 0.999,
        "num_envs": 8,
        "trainable": "heads",
        "max_env_steps": 100_000,
        "eval_episodes": 200,
        "eval_at": [100_000],
        "gif_every": 50,
    },
    # Upstream's defaults: STEVE-1's low level (downloads.sh), VPT's trunk; the prior and the
    # codebook where goal_prior/train_goal_prior_minecraft.sh and the README's codebook command
    # write them; MineCLIP for the tasks' shaping reward.
    "minecraft": {
        "in_model": "downloads/2x.model",
        "in_weights": "downloads/steve1/steve1.weights",
        "weights": "downloads/rl-from-foundation-2x.weights",
        "prior_model": "results/goal_prior/weights/trained_with_script.model",
        "prior_weights": "results/goal_prior/weights/trained_with_script_best.weights",
        "codebook": "downloads/codebook/tsne_n100_s1/codebook.npz",
        "mineclip_path": "downloads/mineclip_attn.pth",
        "cond_scale": 7.0,
        "low_level_steps": 100,
        "kl_reward": 0.05,
        "steps": 15000,
        "steps_per_iter": 40,
        "batch_size": 40,
        "n_epochs": 5,
        "lr": 1e-4,
        "gamma": 0.999,
        "num_envs": 1,
        "trainable": "heads",
        "max_env_steps": 0,
        "eval_episodes": 100,
        "eval_at": [],
        "gif_every": 25,
    },
}


class RunConfigError(ValueError):
    """Bad flags or a run directory that does not fit them."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ppo_highlevel.py",
        description="Train PTGM's high-level policy with PPO over the codebook of a pre-trained "
        "goal-conditioned low level. Unset flags take the task world's defaults.",
    )
    add = p.add_argument
    add("--config", default="crafter_cobblestone", help="task name in tasks/task_specs.yaml")
    add("--name", default=None, help="run name (default: ppo_highlevel_<config>_s<seed>)")
    add("--results_dir", default="./results")
    add("--run_dir", default=None, help="exact run directory (overrides results_dir/name)")
    add("--load", default=None, help="run directory to resume (its config is used)")
    bool_flag = argparse.BooleanOptionalAction
    add("--discrete", action=bool_flag, default=True, help="codebook action space (off: goals)")
    add(
        "--goal_prior",
        action=bool_flag,
        default=None,
        help="KL-to-prior reward (default: on with --discrete; the prior is over codes)",
    )
    add("--initialize_with_prior", action=bool_flag, default=None)
    add("--kl_reward", type=float, default=None, help="weight of KL(pi || prior)")
    add("--low_level_steps", type=int, default=None)
    add("--cond_scale", type=float, default=None, help="classifier-free guidance scale")
    add("--steps", type=int, default=None, help="total high-level steps")
    add("--steps_per_iter", type=int, default=None, help="high-level steps per env per rollout")
    add(
        "--batch_size",
        type=int,
        default=None,
        help="high-level steps per minibatch: a multiple of --steps_per_iter (whole env sequences)",
    )
    add("--n_epochs", type=int, default=None)
    add("--lr", type=float, default=None)
    add("--gamma", type=float, default=None)
    add("--in_model", default=None, help="low-level .model")
    add("--in_weights", default=None, help="low-level .weights")
    add("--weights", default=None, help="trunk init of the high-level policy (VPT weights)")
    add("--prior_model", default=None, help="goal-prior .model")
    add("--prior_weights", default=None, help="goal-prior .weights")
    add("--codebook", default=None, help="codebook .npz (or upstream centers.pkl)")
    add(
        "--mineclip_path",
        default=None,
        help="MineCLIP attn checkpoint of a Minecraft task's shaping reward (Minecraft only)",
    )
    add("--trainable", default=None, help="'heads' (upstream), 'all', or comma-separated prefixes")
    add("--num_envs", type=int, default=None)
    add(
        "--max_env_steps",
        type=int,
        default=None,
        help="stop at this many env steps (0: no limit; Crafter default 100000)",
    )
    add("--checkpoint_every", type=int, default=10, help="PPO iterations between checkpoints")
    add("--eval_episodes", type=int, default=None, help="final evaluation episodes (0: none)")
    add(
        "--eval_at",
        type=int,
        nargs="*",
        default=None,
        help="also evaluate (eval_at_<n>.json) when training passes these env steps "
        "(Crafter default: 100000, the issue's target point)",
    )
    add("--gif_every", type=int, default=None, help="PPO iterations between GIFs (0: none)")
    add("--seed", type=int, default=0)
    add("--device", default="auto", help="auto (CUDA when present, else CPU), cpu, cuda, ...")
    add("--num_threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    return p


def resolve(args: argparse.Namespace) -> dict[str, Any]:
    """The full run config: explicit flags, then the world's defaults."""
    spec = tasks.get_task_spec(args.config)
    world = "crafter" if spec.sim == "crafter" else "minecraft"
    config = {k: v for k, v in vars(args).items()}
    for key, value in WORLD_DEFAULTS[world].items():
        if config.get(key) is None:
            config[key] = value
    if config["initialize_with_prior"] is None:
        config["initialize_with_prior"] = False
    config["world"] = world
    if world == "crafter" and config.get("mineclip_path") is not None:
        raise RunConfigError(
            f"--mineclip_path applies to Minecraft tasks; {args.config!r} is Crafter"
        )
    if config["name"] is None:
        config["name"] = f"ppo_highlevel_{args.config}_s{args.seed}"
    if config["goal_prior"] is None:
        config["goal_prior"] = bool(config["discrete"])
    elif config["goal_prior"] and not config["discrete"]:
        raise RunConfigError(
            "--goal_prior needs --discrete: the goal prior is a distribution over the codebook's "
            "codes, so a continuous goal has no KL to it; drop --goal_prior (with --no-discrete "
            "it is off by default)"
        )
    if not config["goal_prior"]:
        config["kl_reward"] = 0.0
    if config["initialize_with_prior"] and not config["discrete"]:
        raise RunConfigError("--initialize_with_prior needs --discrete (the prior's head is N-way)")
    for key in ("steps", "steps_per_iter", "batch_size", "n_epochs", "num_envs", "low_level_steps"):
        if int(config[key]) < 1:
            raise RunConfigError(f"--{key} must be >= 1, got {config[key]}")
    per_iter = config["steps_per_iter"] * config["num_envs"]
    if config["batch_size"] % config["steps_per_iter"] or config["batch_size"] > per_iter:
        raise RunConfigError(
            f"--batch_size {config['batch_size']} must be a multiple of --steps_per_iter "
            f"{config['steps_per_iter']} (minibatches are whole env sequences) and at most "
            f"steps_per_iter x num_envs = {per_iter}"
        )
    return config


def load_run_config(run_dir: Path) -> dict[str, Any]:
    """The saved `config.yaml` of a run directory."""
    path = Path(run_dir) / "config.yaml"
    if not path.exists():
        raise RunConfigError(f"{run_dir}: no config.yaml there; is it a run directory?")
    return yaml.safe_load(path.read_text())


def has_progress(run_dir: Path) -> bool:
    """Whether the run has trained or evaluated anything. A run directory without progress (its
    start failed, e.g. on a model file that did not fit) takes new settings when re-run."""
    done = ("stats.csv", "eval.json")
    return any((run_dir / name).exists() for name in done) or any(
        (run_dir / "checkpoints").glob("timestep_*")
    )


def check_crafter_task(name: str, script: str) -> None:
    """Before any run directory is written: `name` must be a Crafter task (the baselines'
    scripts run Crafter only). An unknown name lists the valid ones (`tasks.TaskSpecError`)."""
    spec = tasks.get_task_spec(name)
    if spec.sim != "crafter":
        crafter = [n for n, s in tasks.load_task_specs().items() if s.sim == "crafter"]
        raise RunConfigError(
            f"{script} runs Crafter tasks only ({', '.join(crafter)}); {name!r} is a "
            f"{spec.sim} task (its high-level RL is ppo_highlevel.py)"
        )


def run_dir_of(config: dict[str, Any]) -> Path:
    if config.get("load"):
        return Path(config["load"])
    if config.get("run_dir"):
        return Path(config["run_dir"])
    return Path(config["results_dir"]) / config["name"]


def prepare_run_dir(config: dict[str, Any], explicit: set[str]) -> tuple[Path, dict[str, Any]]:
    """Create the run directory, or check a resumed one against the flags given.

    :param explicit: flags the user set on the command line; on resume they must agree with the
        saved config except for `RESUMABLE_CHANGES`.
    :returns: the run directory and the config to use (the saved one, updated, on resume).
    """
    run_dir = run_dir_of(config)
    saved_path = run_dir / "config.yaml"
    if saved_path.exists() and (config.get("load") or has_progress(run_dir)):
        saved = load_run_config(run_dir)
        differ = sorted(
            k
            for k in explicit
            if k not in RESUMABLE_CHANGES and k in saved and saved[k] != config[k]
        )
        if not config.get("load"):
            differ += sorted(
                k
                for k, v in saved.items()
                if k not in RESUMABLE_CHANGES and k in config and config[k] != v and k not in differ
            )
        if differ:
            changes = ", ".join(f"{k}: {saved[k]!r} -> {config[k]!r}" for k in differ)
            raise RunConfigError(
                f"{run_dir} holds a run with other settings ({changes}); resume it unchanged, "
                "or give a new --name to start another run"
            )
        for key in RESUMABLE_CHANGES:
            if key in explicit or key == "load":
                saved[key] = config[key]
        config = saved
    elif config.get("load"):
        raise RunConfigError(f"--load {run_dir}: no config.yaml there; is it a run directory?")
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(saved_path, yaml.safe_dump(config, sort_keys=True))
    meta_path = run_dir / "meta.json"
    if not meta_path.exists():
        atomic_write_text(meta_path, json.dumps(run_meta(), indent=1))
    return run_dir, config


def explicit_flags(parser: argparse.ArgumentParser, argv: list[str]) -> set[str]:
    """The destinations of the flags present in `argv`."""
    present = set()
    for action in parser._actions:
        if any(
            arg == opt or arg.startswith(opt + "=") for opt in action.option_strings for arg in argv
        ):
            present.add(action.dest)
    return present


def run_meta() -> dict[str, Any]:
    """Where and with what a run was started (written once, at its creation)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    import stable_baselines3
    import torch

    return {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": " ".join(sys.argv),
        "git_commit": commit or None,
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "stable_baselines3": stable_baselines3.__version__,
        "cuda": torch.cuda.is_available(),
    }


def list_checkpoints(run_dir: Path, suffix: str) -> list[Path]:
    """`checkpoints/timestep_<n><suffix>` of a run, oldest first."""
    paths = (Path(run_dir) / "checkpoints").glob(f"timestep_*{suffix}")
    return sorted(paths, key=lambda p: int(p.name[len("timestep_") : -len(suffix)]))


def latest_checkpoint(run_dir: Path, suffix: str) -> Path:
    """The run's newest checkpoint; an error naming the directory when it has none."""
    found = list_checkpoints(run_dir, suffix)
    if not found:
        raise RunConfigError(
            f"{run_dir}: no checkpoints/timestep_*{suffix}; train the run first (or name one "
            "with --checkpoint)"
        )
    return found[-1]


def checkpoint_path(run_dir: Path, timestep: int, suffix: str) -> Path:
    directory = Path(run_dir) / "checkpoints"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"timestep_{timestep}{suffix}"


def prune_checkpoints(run_dir: Path, suffix: str, keep: int = 2) -> None:
    """Delete all but the newest `keep` checkpoints."""
    for old in list_checkpoints(run_dir, suffix)[:-keep]:
        old.unlink()
