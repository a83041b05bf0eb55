"""Benchmark high-level training against the raw envs it runs on, measured in the same run.

    python -m benchmarks.bench_highlevel --config crafter_cobblestone --num_envs 4 --repeats 3

Prints (1) the raw throughput of `--num_envs` task envs stepped one after the other with random
actions (env steps/s, resets included), and (2) PTGM's high-level PPO training on the same number
of envs with the run defaults of `ppo_highlevel.py` (shipped models for Crafter): environment
(low-level) steps per second over `--iterations` PPO iterations, rollouts and updates included;
then their ratio. The issue's target is a ratio >= 0.7: the low-level and prior forwards must not
dominate the cost of a step. Measurements alternate so that machine load affects both alike; each
figure is the median of `--repeats`. With `--compare_reference` PTGM is also timed on the
reference model path (`PTGM_FAST_INFERENCE=0`, see `VPT.stepper`), alternately with the fast one.
"""

from __future__ import annotations

import argparse
import os
import time
from unittest import mock

import numpy as np
import torch

import tasks
from hierarchical.highlevel_env import env_from_config
from hierarchical.ppo_run import build_model, load_models
from hierarchical.run_config import build_parser, resolve
from steve1.training.loop import resolve_device


def raw_env_steps_per_s(task: str, num_envs: int, steps: int, seed: int) -> float:
    """Random-action env steps/s of `num_envs` task envs stepped in turn (resets included)."""
    envs = [tasks.make(task) for _ in range(num_envs)]
    rng = np.random.default_rng(seed)
    for i, env in enumerate(envs):
        env.reset(seed=seed + i)
    start = time.perf_counter()
    for t in range(steps // num_envs):
        for env in envs:
            _, _, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
            if terminated or truncated:
                env.reset(seed=seed + 1000 + t)
    return (steps // num_envs) * num_envs / (time.perf_counter() - start)


def high_level_env_steps_per_s(config: dict, iterations: int) -> float:
    """Env steps/s of PTGM training (rollouts and PPO updates) over `iterations` iterations."""
    device = resolve_device(str(config["device"]))
    models = load_models(config, device)
    env = env_from_config(config, models, int(config["seed"]), prior=bool(config["goal_prior"]))
    model = build_model(config, env, device)
    env.reset()  # world generation happens before timing, as for the raw envs
    steps = iterations * int(config["steps_per_iter"]) * int(config["num_envs"])
    start = time.perf_counter()
    model.learn(steps)
    seconds = time.perf_counter() - start
    env.close()
    return env.total_low_level_steps / seconds


def high_level_on_path(config: dict, iterations: int, fast: bool) -> float:
    """`high_level_env_steps_per_s` with the fast or the reference model path."""
    with mock.patch.dict(os.environ, {"PTGM_FAST_INFERENCE": "1" if fast else "0"}):
        return high_level_env_steps_per_s(config, iterations)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="crafter_cobblestone", help="task name")
    parser.add_argument("--num_envs", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=2, help="PPO iterations per measurement")
    parser.add_argument("--raw_steps", type=int, default=4000, help="env steps per raw measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num_threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument(
        "--compare_reference",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also time PTGM on the reference model path (PTGM_FAST_INFERENCE=0)",
    )
    parser.add_argument(
        "ppo_flags",
        nargs="*",
        help="extra ppo_highlevel.py flags after --, e.g. -- --no-goal_prior",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.num_threads)
    flags = ["--config", args.config, "--num_envs", str(args.num_envs), "--seed", str(args.seed)]
    config = resolve(build_parser().parse_args(flags + args.ppo_flags))
    raw, high, ref = [], [], []
    for r in range(args.repeats):
        raw.append(raw_env_steps_per_s(args.config, args.num_envs, args.raw_steps, args.seed + r))
        high.append(high_level_env_steps_per_s(config, args.iterations))
        line = f"repeat {r}: raw {raw[-1]:.0f} env steps/s, high level {high[-1]:.0f}"
        if args.compare_reference:
            ref.append(high_level_on_path(config, args.iterations, fast=False))
            line += f", high level on the reference path {ref[-1]:.0f}"
        print(line, flush=True)
    raw_med, high_med = float(np.median(raw)), float(np.median(high))
    print(f"{args.num_envs} raw envs, random actions: {raw_med:.0f} env steps/s")
    print(f"PTGM high-level training, {args.num_envs} envs: {high_med:.0f} env steps/s")
    print(f"ratio: {high_med / raw_med:.2f} (target >= 0.7)")
    if ref:
        ref_med = float(np.median(ref))
        print(f"PTGM on the reference model path: {ref_med:.0f} env steps/s")
        print(
            f"reference path ratio: {ref_med / raw_med:.2f}; fast / reference {high_med / ref_med:.2f}x"
        )


if __name__ == "__main__":
    main()
