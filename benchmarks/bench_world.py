"""Benchmark the embedded world: stock Crafter vs ours vs play-data generation, in the same run.

    python -m benchmarks.bench_world --steps 5000 --repeats 3 --core 0

Prints random-action throughput of stock `crafter.Env` and of the project's `DeterministicCrafter`
(its fast rendering, world generation and step, byte-identical to stock) at `--size`, with the same
seeds: steps/s counting `step` only and counting resets too (a random agent lives ~170 steps), the
reset time, and the ratios ours / stock. Then the play-data generator's frames/s for one worker
(scripted agent, state capture, goal embedding and compressed atomic writes included) and its ratio
to stock. Runs alternate so that machine load affects all alike; each figure is the median of
`--repeats`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import crafter
import numpy as np

from steve1.data.generation.generate_crafter_play import PlayConfig, generate_one
from tasks.crafter.world import DeterministicCrafter


@dataclass
class RandomRun:
    """Throughput of random actions: `step` time only, wall time with resets, each reset's time."""

    step_sps: float = 0.0
    wall_sps: float = 0.0
    resets: list[float] = field(default_factory=list)


def random_actions(env: crafter.Env, steps: int, seed: int) -> RandomRun:
    """Step `env` with uniformly random actions, resetting when an episode ends."""
    rng = np.random.default_rng(seed)
    run, stepping = RandomRun(), 0.0
    start = time.perf_counter()
    run.resets.append(_timed(env.reset))
    for _ in range(steps):
        t0 = time.perf_counter()
        _, _, done, _ = env.step(int(rng.integers(env.action_space.n)))
        stepping += time.perf_counter() - t0
        if done:
            run.resets.append(_timed(env.reset))
    run.step_sps, run.wall_sps = steps / stepping, steps / (time.perf_counter() - start)
    return run


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def generation(steps: int, seed: int) -> float:
    """Frames/s of one generation worker writing whole episodes until `steps` frames are done."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = PlayConfig(output_dir=Path(tmp), seed=seed)
        env = DeterministicCrafter(size=(64, 64))
        frames, index, start = 0, 0, time.perf_counter()
        while frames < steps:
            frames += generate_one(cfg, index, env)
            index += 1
        return frames / (time.perf_counter() - start)


def _summary(name: str, runs: list[RandomRun]) -> tuple[float, float, float]:
    """Print and return the medians (step steps/s, wall steps/s, reset seconds) of `runs`."""
    step = float(np.median([r.step_sps for r in runs]))
    wall = float(np.median([r.wall_sps for r in runs]))
    resets = [t for r in runs for t in r.resets]
    reset = float(np.median(resets))
    print(
        f"{name}: {step:.0f} steps/s (step only), {wall:.0f} steps/s with resets, "
        f"reset {reset * 1000:.1f} ms (median of {len(resets)})"
    )
    return step, wall, reset


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000, help="steps per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=64, help="observation size (pixels)")
    parser.add_argument("--core", type=int, default=None, help="pin this process to one core")
    parser.add_argument(
        "--generation",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure play-data generation",
    )
    args = parser.parse_args(argv)
    if args.core is not None:
        os.sched_setaffinity(0, {args.core})
    size = (args.size, args.size)
    for env in (crafter.Env(size=size), DeterministicCrafter(size=size)):
        env.reset()  # load numba's caches so that no compile is timed
    stock, ours, gen = [], [], []
    for r in range(args.repeats):
        seed = args.seed + r
        for runs, make_env in ((stock, crafter.Env), (ours, DeterministicCrafter)):
            env = make_env(size=size, length=1000, seed=seed)
            runs.append(random_actions(env, args.steps, seed))
        line = f"run {r}: stock {stock[-1].step_sps:.0f} / ours {ours[-1].step_sps:.0f} steps/s"
        if args.generation:
            gen.append(generation(args.steps, seed))
            line += f", generation {gen[-1]:.0f} frames/s"
        print(line)
    print(f"random actions at {args.size}x{args.size}, medians of {args.repeats} runs:")
    stock_step, stock_wall, stock_reset = _summary("stock Crafter", stock)
    ours_step, ours_wall, ours_reset = _summary("ours (DeterministicCrafter)", ours)
    print(
        f"ratio ours / stock: step {ours_step / stock_step:.2f}x, with resets "
        f"{ours_wall / stock_wall:.2f}x, reset {stock_reset / ours_reset:.1f}x faster"
    )
    if args.generation:
        gen_med = float(np.median(gen))
        print(
            f"play-data generation, one worker: {gen_med:.0f} frames/s (median of {args.repeats})"
        )
        print(f"ratio generation / stock random (with resets): {gen_med / stock_wall:.2f}")


if __name__ == "__main__":
    main()
