"""Benchmark the frozen models of a high-level step: the guided low-level action and the goal prior.

    python -m benchmarks.bench_lowlevel --envs 1 4 8 --repeats 5

For each number of envs prints the milliseconds of one guided action (`GuidedAgent.act`, 2 x envs
streams, memory full) and of one goal-prior update over a high-level step's frames
(`PriorTracker.flush` of `--frames` buffered frames per env), on the fast path (`VPT.stepper`) and
on the reference path (`PTGM_FAST_INFERENCE=0`), measured alternately in the same process so that
machine load affects both alike; each figure is the median of `--repeats` blocks. Uses the shipped
Crafter models (`downloads/crafter/`).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from hierarchical.models import SHIPPED_FILES, PretrainedModels, load_pretrained
from hierarchical.prior_tracker import PriorTracker
from steve1.agent import GuidedAgent


def shipped_models() -> PretrainedModels:
    """The shipped Crafter low level, codebook and goal prior."""
    f = SHIPPED_FILES
    return load_pretrained(
        f["in_model"], f["in_weights"], f["codebook"], f["prior_model"], f["prior_weights"]
    )


def block_ms(fn: Callable[[], None], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e3


def agent_step(models: PretrainedModels, n: int, fast: bool, seed: int) -> Callable[[], None]:
    """One guided action per call on random frames, after filling the memory."""
    agent = GuidedAgent(models.low_level, n, cond_scale=3.0, seed=seed, fast=fast)
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (8, n, 64, 64, 3), dtype=np.uint8)
    goals = models.codebook.codes[rng.integers(models.codebook.N, size=n)].astype(np.float32)
    counter = iter(range(10**9))

    def step() -> None:
        agent.act(frames[next(counter) % len(frames)], goals)

    for _ in range(80):  # more than the memory length: full memory, buffers wrapped
        step()
    return step


def prior_update(
    models: PretrainedModels, n: int, frames: int, fast: bool, seed: int
) -> Callable[[], None]:
    """One prior flush of `frames` buffered frames per env per call."""
    assert models.prior is not None
    tracker = PriorTracker(models.prior, n, fast=fast)
    clip = np.random.default_rng(seed).integers(0, 256, (frames, n, 64, 64, 3), dtype=np.uint8)
    ids = np.arange(n)
    tracker.reset(ids)

    def update() -> None:
        for frame in clip:
            tracker.observe(frame, ids)
        tracker.flush()

    update()
    return update


def compare(name: str, fns: dict[str, Callable[[], None]], calls: int, repeats: int) -> None:
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            times[key].append(block_ms(fn, calls))
    med = {k: statistics.median(v) for k, v in times.items()}
    figures = ", ".join(f"{k} {v:.2f} ms" for k, v in med.items())
    print(f"{name}: {figures}, reference / fast {med['reference'] / med['fast']:.2f}x", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--repeats", type=int, default=5, help="timed blocks per path")
    parser.add_argument("--calls", type=int, default=30, help="guided actions per block")
    parser.add_argument("--frames", type=int, default=50, help="frames per prior update")
    parser.add_argument("--num_threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.num_threads)
    models = shipped_models()
    for n in args.envs:
        fns = {k: agent_step(models, n, k == "fast", args.seed) for k in ("fast", "reference")}
        compare(f"guided action, {n} envs", fns, args.calls, args.repeats)
    for n in args.envs:
        fns = {
            k: prior_update(models, n, args.frames, k == "fast", args.seed)
            for k in ("fast", "reference")
        }
        compare(f"prior update ({args.frames} frames), {n} envs", fns, 1, args.repeats)


if __name__ == "__main__":
    main()
