"""Train the flat PPO baseline (RL from scratch on low-level actions) on a Crafter task.

    python -m hierarchical.train_flat --config crafter_cobblestone --env_steps 300000 --seed 0

Same run directory as `ppo_highlevel.py` (config.yaml, meta.json, stats.csv, tb/, checkpoints/,
eval.json); re-running the command resumes from the latest checkpoint.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback

from hierarchical.evaluate import EVAL_SEED, EvalResult, covers, evaluate_actor, saved_report
from hierarchical.flat_ppo import FlatActor, FlatConfig, make_flat_env, make_flat_ppo
from hierarchical.run_config import (
    check_crafter_task,
    checkpoint_path,
    explicit_flags,
    latest_checkpoint,
    list_checkpoints,
    load_run_config,
    prepare_run_dir,
    prune_checkpoints,
)
from hierarchical.run_logging import StatsCallback, read_stats
from steve1.training.loop import resolve_device
from steve1.utils.io import atomic_write_text

SUFFIX = ".zip"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="crafter_cobblestone", help="Crafter task name")
    p.add_argument("--name", default=None, help="run name (default: flat_ppo_<config>_s<seed>)")
    p.add_argument("--results_dir", default="./results")
    p.add_argument("--run_dir", default=None)
    p.add_argument("--load", default=None, help="run directory to resume")
    p.add_argument("--env_steps", type=int, default=300_000, help="total environment steps")
    p.add_argument("--checkpoint_every", type=int, default=10, help="PPO iterations")
    p.add_argument("--eval_episodes", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--num_threads", type=int, default=0)
    for field in dataclasses.fields(FlatConfig):
        p.add_argument(f"--{field.name}", type=type(field.default), default=field.default)
    return p


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    check_crafter_task(args.config, "hierarchical.train_flat")
    config = vars(args) | {"method": "flat_ppo"}
    config["name"] = config["name"] or f"flat_ppo_{args.config}_s{args.seed}"
    run_dir, config = prepare_run_dir(config, explicit_flags(parser, argv))
    cfg = FlatConfig(**{f.name: config[f.name] for f in dataclasses.fields(FlatConfig)})
    device = str(resolve_device(config["device"]))
    env = make_flat_env(config["config"], cfg.n_envs, config["seed"])
    latest = list_checkpoints(run_dir, SUFFIX)
    stats_path = run_dir / "stats.csv"
    if latest:
        model = PPO.load(latest[-1], env=env, device=device)
        rows = [r for r in read_stats(stats_path) if r["env_steps"] <= model.num_timesteps]
        print(f"resuming {run_dir} at {model.num_timesteps} env steps", flush=True)
    else:
        model = make_flat_ppo(env, cfg, config["seed"], device, None)
        rows = []
    model.tensorboard_log = str(run_dir / "tb")
    stats = StatsCallback(stats_path, lambda: model.num_timesteps, rows, on_row=_print_row)
    checkpoints = CheckpointCallback(run_dir, config["checkpoint_every"])
    remaining = config["env_steps"] - model.num_timesteps
    if remaining > 0:
        model.learn(remaining, callback=[stats, checkpoints], reset_num_timesteps=not latest)
        save_flat_checkpoint(model, run_dir)
    episodes = config["eval_episodes"]
    if episodes and not covers(saved_report(run_dir / "eval.json"), model.num_timesteps, episodes):
        result = evaluate_flat(model, config["config"], cfg.n_envs, episodes)
        print(f"[eval] {result}", flush=True)
        report = result.as_dict() | {"env_steps": model.num_timesteps, "eval_seed": EVAL_SEED}
        atomic_write_text(run_dir / "eval.json", json.dumps(report, indent=1))


def evaluate_flat(model: PPO, task: str, n_envs: int, episodes: int) -> EvalResult:
    """`model` over `episodes` episodes of `task` on the held-out seeds (`EVAL_SEED`)."""
    env = make_flat_env(task, n_envs, EVAL_SEED)
    try:
        return evaluate_actor(FlatActor(model), env, episodes)
    finally:
        env.close()


def evaluate_saved(
    run_dir: Path, episodes: int, checkpoint: Path | None = None, device: str = "auto"
) -> EvalResult:
    """A saved flat-PPO run (its latest checkpoint, or `checkpoint`) over `episodes` held-out
    episodes; nothing in the run directory changes."""
    config = load_run_config(run_dir)
    checkpoint = checkpoint or latest_checkpoint(run_dir, SUFFIX)
    model = PPO.load(checkpoint, device=str(resolve_device(device)))
    return evaluate_flat(model, config["config"], int(config["n_envs"]), episodes)


def _print_row(row: dict) -> None:
    print(
        f"[iter {row['iteration']}] env steps {row['env_steps']}: success {row['success']:.2f} "
        f"over {row['episodes']} episodes",
        flush=True,
    )


def save_flat_checkpoint(model: PPO, run_dir: Path) -> None:
    """`checkpoints/timestep_<n>.zip` (SB3's format, written atomically); the newest two kept."""
    path = checkpoint_path(run_dir, model.num_timesteps, SUFFIX)
    tmp = path.with_name(f".tmp-{path.name}")
    model.save(tmp)
    tmp.replace(path)
    prune_checkpoints(run_dir, SUFFIX)


class CheckpointCallback(BaseCallback):
    """Saves a checkpoint every `every` rollouts."""

    def __init__(self, run_dir: Path, every: int) -> None:
        super().__init__()
        self.run_dir, self.every, self.rollouts = Path(run_dir), max(1, every), 0

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self.rollouts += 1
        if self.rollouts % self.every == 0:
            save_flat_checkpoint(self.model, self.run_dir)


if __name__ == "__main__":
    main()
