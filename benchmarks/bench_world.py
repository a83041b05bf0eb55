"""Benchmark the embedded world: stock Crafter vs play-data generation, measured in the same run.

    python -m benchmarks.bench_world --steps 5000 --repeats 3 --core 0

Prints stock Crafter's random-action throughput (steps/s, resets included, as a random agent lives
~170 steps) and its reset time, then the play-data generator's frames/s for one worker (scripted
agent, state capture, goal embedding and compressed atomic writes included), and their ratio.
Runs alternate so that machine load affects both alike; each figure is the median of `--repeats`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import crafter
import numpy as np

from steve1.data.generation.generate_crafter_play import PlayConfig, generate_one
from tasks.crafter.world import DeterministicCrafter


def stock_random(steps: int, seed: int) -> tuple[float, list[float]]:
    """(random-action steps/s including resets, list of reset seconds) of stock Crafter."""
    env = crafter.Env(size=(64, 64), length=1000, seed=seed)
    rng = np.random.default_rng(seed)
    resets = []
    start = time.perf_counter()
    t0 = time.perf_counter()
    env.reset()
    resets.append(time.perf_counter() - t0)
    for _ in range(steps):
        _, _, done, _ = env.step(int(rng.integers(17)))
        if done:
            t0 = time.perf_counter()
            env.reset()
            resets.append(time.perf_counter() - t0)
    return steps / (time.perf_counter() - start), resets


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000, help="steps per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--core", type=int, default=None, help="pin this process to one core")
    args = parser.parse_args(argv)
    if args.core is not None:
        os.sched_setaffinity(0, {args.core})
    crafter.Env().reset()  # warm numba's cache so that its first compile is not timed
    stock, resets, gen = [], [], []
    for r in range(args.repeats):
        sps, reset_times = stock_random(args.steps, args.seed + r)
        stock.append(sps)
        resets.extend(reset_times)
        gen.append(generation(args.steps, args.seed + r))
        print(f"run {r}: stock random {sps:.0f} steps/s, generation {gen[-1]:.0f} frames/s")
    stock_med, gen_med = float(np.median(stock)), float(np.median(gen))
    print(f"stock Crafter, random actions: {stock_med:.0f} steps/s (median of {args.repeats})")
    print(
        f"stock Crafter reset: median {np.median(resets) * 1000:.0f} ms over {len(resets)} resets"
    )
    print(f"play-data generation, one worker: {gen_med:.0f} frames/s (median of {args.repeats})")
    print(f"ratio generation / stock random: {gen_med / stock_med:.2f}")


if __name__ == "__main__":
    main()
