"""One high-level PPO run: build everything from a resolved config, train, resume, evaluate.

`ppo_highlevel.py` parses flags and calls `train_high_level`. The run directory holds
`config.yaml`, `meta.json`, `stats.csv` (one row per PPO iteration), `tb/` (TensorBoard),
`checkpoints/timestep_<n>.pt` (atomic; the latest two kept), `gifs/iter_<k>.gif` (env 0 with the
code it follows), `eval_at_<n>.json` (held-out seeds, at the first iteration boundary at or after
`n` env steps for each `--eval_at n`) and at the end `eval.json` and `curve.png`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import configure

import tasks
from hierarchical.curves import plot_panels, smoothed_success
from hierarchical.evaluate import EVAL_SEED, EvalResult, covers, evaluate_actor, saved_report
from hierarchical.gifs import write_gif
from hierarchical.highlevel_env import HighLevelVecEnv, env_from_config
from hierarchical.models import (
    PretrainedModelError,
    PretrainedModels,
    load_pretrained,
    require_file,
)
from hierarchical.run_config import (
    checkpoint_path,
    latest_checkpoint,
    list_checkpoints,
    load_run_config,
    prune_checkpoints,
)
from hierarchical.run_logging import StatsCallback, read_stats
from sb3_vpt.checkpoint import load_checkpoint, save_checkpoint
from sb3_vpt.policy import VPTActorCriticPolicy, trunk_prefixes
from sb3_vpt.ppo import VPTPPO
from sb3_vpt.trainable import DEFAULT_TRAINABLE
from steve1.training.loop import resolve_device
from steve1.utils.io import atomic_write_text
from VPT.checkpoint import load_model_file, load_weights
from VPT.policy import VPTPolicy

KEEP_CHECKPOINTS = 2
SUFFIX = ".pt"


class PolicyActor:
    """A trained high-level policy as an `evaluate.Actor` (codes sampled, as in training)."""

    def __init__(self, policy: VPTActorCriticPolicy, deterministic: bool = False) -> None:
        self.policy, self.deterministic = policy, deterministic
        self.state = None

    def reset(self, n_envs: int) -> None:
        self.state = None

    def act(self, frames: np.ndarray, first: np.ndarray) -> np.ndarray:
        actions, self.state = self.policy.predict(frames, self.state, first, self.deterministic)
        return actions


def trainable_of(config: dict[str, Any]) -> Any:
    value = str(config["trainable"])
    if value == "heads":
        return DEFAULT_TRAINABLE
    if value == "all":
        return "all"
    return tuple(p.strip() for p in value.split(",") if p.strip())


def load_models(config: dict[str, Any], device: torch.device) -> PretrainedModels:
    """The run's frozen models, MineCLIP included for a Minecraft task (loaded once, shared by
    the training and evaluation envs)."""
    use_prior = bool(config["goal_prior"])
    mineclip = config.get("mineclip_path")
    return load_pretrained(
        Path(config["in_model"]),
        Path(config["in_weights"]),
        Path(config["codebook"]),
        Path(config["prior_model"]) if use_prior else None,
        Path(config["prior_weights"]) if use_prior else None,
        device=device,
        mineclip=Path(mineclip) if mineclip else None,
    )


def check_before_envs(config: dict[str, Any], models: PretrainedModels) -> None:
    """Files that do not fit fail here, by name, before any env exists (a MineDojo env takes
    minutes to start): the frame size of the low level and of the high-level network (the goal
    prior's architecture) against the task's, and the weights the high level starts from
    (`--weights`' trunk, or the whole prior with `--initialize_with_prior`) against that network.
    The codebook against the low level and the prior is checked by `load_pretrained`."""
    size = tasks.frame_size(config["config"])
    prior_model = require_file(Path(config["prior_model"]), "goal-prior .model")
    spec = load_model_file(prior_model)
    for what, path, kwargs in (
        ("low level", config["in_model"], models.low_level.policy_kwargs),
        ("high-level policy (built from the goal prior's .model)", prior_model, spec.policy_kwargs),
    ):
        shape = tuple(int(v) for v in kwargs["img_shape"][:2])
        if shape != (size, size):
            raise PretrainedModelError(
                f"{path}: the {what} takes {shape[0]}x{shape[1]} frames but task "
                f"{config['config']!r} gives {size}x{size}; use models trained on this world's frames"
            )
    with torch.device("meta"):  # shapes only: nothing is allocated
        net = VPTPolicy(spec.policy_kwargs, models.codebook.N, spec.pi_head_kwargs)
    if config["initialize_with_prior"]:
        path = require_file(Path(config["prior_weights"]), "goal-prior .weights")
        load_weights(net, path, strict=True, model_file=prior_model)
    elif config.get("weights"):
        path = require_file(Path(config["weights"]), "trunk .weights")
        load_weights(net, path, strict=True, include=trunk_prefixes(net), model_file=prior_model)


def build_model(config: dict[str, Any], env: HighLevelVecEnv, device: torch.device) -> VPTPPO:
    """VPTPPO with the high-level policy: the prior's architecture, initialised per the flags."""
    net_kwargs = load_model_file(
        require_file(Path(config["prior_model"]), "goal-prior .model")
    ).policy_kwargs
    policy_kwargs: dict[str, Any] = {"vpt_kwargs": net_kwargs, "trainable": trainable_of(config)}
    if config["initialize_with_prior"]:
        policy_kwargs["prior_weights"] = str(
            require_file(Path(config["prior_weights"]), "goal-prior .weights")
        )
    elif config.get("weights"):
        policy_kwargs["vpt_weights"] = str(require_file(Path(config["weights"]), "trunk .weights"))
    shaper = None
    if config["goal_prior"] and float(config["kl_reward"]):
        kl_reward = float(config["kl_reward"])
        shaper = lambda dist, _env: -kl_reward * env.kl_to_prior(dist)  # noqa: E731
    steps = int(config["steps_per_iter"])
    model = VPTPPO(
        VPTActorCriticPolicy,
        env,
        learning_rate=float(config["lr"]),
        n_steps=steps,
        batch_size=int(config["batch_size"]),
        n_epochs=int(config["n_epochs"]),
        gamma=float(config["gamma"]),
        reward_shaper=shaper,
        policy_kwargs=policy_kwargs,
        seed=int(config["seed"]),
        device=device,
    )
    return model


class RunCallback(BaseCallback):
    """Checkpoints, GIFs, progress lines and the env-step budget of a run."""

    def __init__(
        self,
        run_dir: Path,
        env: HighLevelVecEnv,
        config: dict[str, Any],
        stats: StatsCallback,
        models: PretrainedModels,
    ) -> None:
        super().__init__()
        self.run_dir, self.env, self.config, self.stats = run_dir, env, config, stats
        self.models = models
        self.budget = int(config.get("max_env_steps") or 0)
        self.gif_every = int(config.get("gif_every") or 0)
        self.checkpoint_every = int(config.get("checkpoint_every") or 10)
        self.stop = False

    def _iteration(self) -> int:
        return len(self.stats.rows)

    def _on_rollout_start(self) -> None:
        # The budget is checked between rollouts, so every rollout is trained on; SB3 can only
        # stop from a step, so the first step of the next rollout stops the run.
        self.stop = bool(self.budget and self.env.total_low_level_steps >= self.budget)
        self._evaluate_milestones()
        if self.gif_every and self._iteration() % self.gif_every == 0 and not self.stop:
            self.env.start_recording()

    def _on_step(self) -> bool:
        return not self.stop

    def _evaluate_milestones(self) -> None:
        if self.stop or not int(self.config.get("eval_episodes") or 0):
            return  # the final evaluation (`finish`) also stands for milestones it passed
        steps = self.env.total_low_level_steps
        for path in milestone_paths(self.config, self.run_dir, steps):
            with torch.random.fork_rng():  # training's random stream stays as without it
                result = evaluate_policy(self.config, self.models, self.model)
            report = result.as_dict() | {"env_steps": steps, "eval_seed": EVAL_SEED}
            atomic_write_text(path, json.dumps(report, indent=1))
            print(f"[eval at {steps:,} env steps] {self.config['config']}: {result}", flush=True)

    def _on_rollout_end(self) -> None:
        frames = self.env.stop_recording()
        k = self._iteration()
        if frames:
            write_gif(frames, self.run_dir / "gifs" / f"iter_{k}.gif")
        row = self.stats.rows[-1] if self.stats.rows else None
        if row is not None:
            print(
                f"[iter {k}] env steps {row['env_steps']:,}: success {row['success']:.2f} over "
                f"{row['episodes']} episodes, KL {row['kl']:.3f}, code entropy "
                f"{row['code_entropy']:.2f}",
                flush=True,
            )
        if k % self.checkpoint_every == 0:
            save_run_checkpoint(self.model, self.run_dir, self.env)


def save_run_checkpoint(model: VPTPPO, run_dir: Path, env: HighLevelVecEnv) -> Path:
    path = checkpoint_path(run_dir, model.num_timesteps, SUFFIX)
    save_checkpoint(model, path, {"total_low_level_steps": int(env.total_low_level_steps)})
    prune_checkpoints(run_dir, SUFFIX, KEEP_CHECKPOINTS)
    return path


def train_high_level(config: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """Train (or resume) the run in `run_dir`, then evaluate it; returns the evaluation."""
    if config.get("num_threads"):
        torch.set_num_threads(int(config["num_threads"]))
    device = resolve_device(str(config["device"]))
    models = load_models(config, device)
    check_before_envs(config, models)
    env = env_from_config(config, models, int(config["seed"]), prior=bool(config["goal_prior"]))
    model = build_model(config, env, device)
    model.set_logger(configure(str(run_dir / "tb"), ["tensorboard"]))
    stats_path = run_dir / "stats.csv"
    rows: list[dict[str, Any]] = []
    checkpoints = list_checkpoints(run_dir, SUFFIX)
    if checkpoints:
        extra = load_checkpoint(model, checkpoints[-1])
        env.total_low_level_steps = int(extra["total_low_level_steps"])
        rows = [r for r in read_stats(stats_path) if r["high_level_steps"] <= model.num_timesteps]
        print(
            f"resuming {run_dir} from {checkpoints[-1].name} ({env.total_low_level_steps:,} env steps)",
            flush=True,
        )
    stats = StatsCallback(stats_path, lambda: env.total_low_level_steps, rows)
    callback = RunCallback(run_dir, env, config, stats, models)
    total = int(config["steps"])
    budget = int(config.get("max_env_steps") or 0)
    if model.num_timesteps < total and not (budget and env.total_low_level_steps >= budget):
        # SB3 adds num_timesteps to the total when reset_num_timesteps is False.
        model.learn(
            total - model.num_timesteps, callback=[stats, callback], reset_num_timesteps=False
        )
        save_run_checkpoint(model, run_dir, env)
    env.close()
    return finish(config, run_dir, model, models, env.total_low_level_steps)


def evaluate_saved(
    run_dir: Path, episodes: int, checkpoint: Path | None = None, device: str = "auto"
) -> EvalResult:
    """A saved run's policy (its latest checkpoint, or `checkpoint`) over `episodes` episodes
    on the held-out seeds; nothing in the run directory changes."""
    config = load_run_config(run_dir)
    checkpoint = checkpoint or latest_checkpoint(run_dir, SUFFIX)
    torch_device = resolve_device(device)
    models = load_models(config | {"goal_prior": False}, torch_device)  # evaluation: no KL
    check_before_envs(config, models)
    env = env_from_config(config, models, EVAL_SEED, prior=False)
    try:
        model = build_model(config, env, torch_device)
        load_checkpoint(model, checkpoint)
        return evaluate_actor(PolicyActor(model.policy), env, episodes)
    finally:
        env.close()


def milestone_paths(config: dict[str, Any], run_dir: Path, env_steps: int) -> list[Path]:
    """`eval_at_<n>.json` of each `--eval_at n` that `env_steps` has reached and that is not
    written yet."""
    reached = [int(n) for n in config.get("eval_at") or [] if int(n) <= env_steps]
    paths = [run_dir / f"eval_at_{n}.json" for n in reached]
    return [p for p in paths if not p.exists()]


def evaluate_policy(config: dict[str, Any], models: PretrainedModels, model: VPTPPO) -> Any:
    """The policy's success over `eval_episodes` episodes on the held-out seeds (`EVAL_SEED`)."""
    env = env_from_config(config, models, EVAL_SEED, prior=False)
    try:
        return evaluate_actor(PolicyActor(model.policy), env, int(config.get("eval_episodes") or 0))
    finally:
        env.close()


def finish(
    config: dict[str, Any], run_dir: Path, model: VPTPPO, models: PretrainedModels, env_steps: int
) -> dict[str, Any]:
    """Evaluate on held-out seeds (once per training length) and draw the run's curve."""
    path = run_dir / "eval.json"
    report = saved_report(path)
    episodes = int(config.get("eval_episodes") or 0)
    if episodes and not covers(report, env_steps, episodes):
        result = evaluate_policy(config, models, model)
        report = result.as_dict() | {"env_steps": env_steps, "eval_seed": EVAL_SEED}
        atomic_write_text(path, json.dumps(report, indent=1))
        print(f"[eval] {config['config']}: {result}", flush=True)
    elif report:
        print(
            f"[eval] {config['config']}: {EvalResult.from_dict(report)} (from {path})", flush=True
        )
    if report:
        for milestone in milestone_paths(config, run_dir, env_steps):
            atomic_write_text(milestone, json.dumps(report, indent=1))
    rows = read_stats(run_dir / "stats.csv") if (run_dir / "stats.csv").exists() else []
    if rows:
        steps, rates = smoothed_success(rows)
        plot_panels({config["config"]: {config["name"]: rates[None]}}, steps, run_dir / "curve.png")
        print(f"curve: {run_dir / 'curve.png'}", flush=True)
    return report
