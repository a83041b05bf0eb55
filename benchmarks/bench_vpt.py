"""Benchmark VPT policy sizes on this CPU: training throughput and single-step inference latency.

    python -m benchmarks.bench_vpt --batch 16 --timesteps 64 --threads 2

For each candidate (the `crafter` preset with overrides) prints its parameter count, training
frames/s for a (batch, timesteps) chunk (forward, cross-entropy on 17 actions, backward, AdamW
step, memory carried and detached between chunks as in truncated BPTT), the hours that 500k frames
x `--epochs` would take, and the latency of one inference step (memory full) at batch 2 and 16,
with `--threads` threads and with one thread (on a busy machine one thread is often faster).
A plain feed-forward CNN (the 0.75M-parameter model of the feasibility run) is timed alternately
with each candidate as the reference; `vs ref` is the candidate's training speed relative to it.
Wall-clock figures suffer when other processes share the cores (each multi-threaded op then waits
for a core); `f/s 1t cpu` (frames per CPU-second on one thread) hardly does, and a quiet 2-core
machine trains at about 1.8x that figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from VPT import VPTPolicy, count_parameters, get_preset, map_state

N_ACTIONS = 17
CANDIDATES: dict[str, dict[str, Any]] = {
    "crafter (preset)": {},
    "L2": {"n_recurrence_layers": 2},
    "L4": {"n_recurrence_layers": 4},
    "mem 32": {"attention_memory_size": 96},
    "h384 L2": {"hidsize": 384, "attention_heads": 6, "n_recurrence_layers": 2},
    "chans 12/24/24": {"impala_chans": [12, 24, 24]},
    "chans 16/32/32": {"impala_chans": [16, 32, 32]},
    "chans 16/32/32 nb1": {"impala_chans": [16, 32, 32], "impala_nblock": 1},
}


class FeedForwardReference(nn.Module):
    """The feasibility run's BC network: 3 strided convs, linear 2304->256, MLP head."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(3, 32, 4, 2), nn.ReLU(), nn.Conv2d(32, 64, 4, 2), nn.ReLU(),
            nn.Conv2d(64, 64, 3, 2), nn.ReLU(), nn.Flatten(), nn.Linear(2304, 256), nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, N_ACTIONS))

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = img.flatten(0, 1).permute(0, 3, 1, 2).float() / 255.0
        return F.log_softmax(self.head(self.convs(x)), -1).unflatten(0, img.shape[:2])


def _batch(batch: int, time_: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    img = torch.randint(0, 256, (batch, time_, 64, 64, 3), dtype=torch.uint8, generator=gen)
    actions = torch.randint(0, N_ACTIONS, (batch, time_), generator=gen)
    return img, actions


def policy_train_step(policy: VPTPolicy, batch: int, time_: int) -> Callable[[], None]:
    """One truncated-BPTT step on a (batch, time_) chunk; memory carried and detached."""
    img, actions = _batch(batch, time_, 0)
    first = torch.zeros(batch, time_, dtype=torch.bool)
    opt = torch.optim.AdamW(policy.parameters(), lr=1e-4)
    state = [policy.initial_state(batch)]

    def step() -> None:
        out, new_state = policy({"img": img}, state[0], first)
        loss = -policy.pi_head.log_prob(out.pi_logits, actions).sum(1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        state[0] = map_state(torch.Tensor.detach, new_state)

    return step


def reference_train_step(batch: int, time_: int) -> Callable[[], None]:
    model = FeedForwardReference()
    img, actions = _batch(batch, time_, 0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step() -> None:
        loss = -model(img).gather(-1, actions[..., None]).sum(1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def _timed(step: Callable[[], None], clock: Callable[[], float] = time.perf_counter) -> float:
    start = clock()
    step()
    return clock() - start


def paired_fps(
    step: Callable[[], None], reference: Callable[[], None], frames: int, iters: int
) -> tuple[float, float]:
    """Median frames/s of `step` and `reference`, timed alternately so that load hits both alike."""
    for _ in range(2):  # warm-up (allocator, oneDNN primitives)
        step()
        reference()
    pairs = [(_timed(step), _timed(reference)) for _ in range(iters)]
    step_times, reference_times = zip(*pairs, strict=True)
    return frames / statistics.median(step_times), frames / statistics.median(reference_times)


def cpu_fps_one_thread(step: Callable[[], None], frames: int, iters: int) -> float:
    """Frames per CPU-second on one thread: hardly affected by other processes' load."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    step()
    seconds = statistics.median(_timed(step, time.process_time) for _ in range(iters))
    torch.set_num_threads(threads)
    return frames / seconds


@torch.no_grad()
def step_latency_ms(policy: VPTPolicy, batch: int, iters: int) -> float:
    """Milliseconds per single-frame step with a full memory."""
    img, _ = _batch(batch, 1, 1)
    first = torch.zeros(batch, 1, dtype=torch.bool)
    state = policy.initial_state(batch)
    _, state = policy(
        {"img": _batch(batch, 64, 2)[0]}, state, torch.zeros(batch, 64, dtype=torch.bool)
    )

    def step() -> None:
        policy({"img": img}, state, first)

    step()
    return 1000 * statistics.median(_timed(step) for _ in range(iters))


def latencies(policy: VPTPolicy, threads: int) -> list[float]:
    """Step latency (ms) at batch 2 and 16, with `threads` and with one thread."""
    out = []
    for n_threads in (threads, 1):
        torch.set_num_threads(n_threads)
        out += [step_latency_ms(policy, 2, 20), step_latency_ms(policy, 16, 20)]
    torch.set_num_threads(threads)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=16, help="sequences per training chunk")
    parser.add_argument("--timesteps", type=int, default=64, help="frames per training chunk")
    parser.add_argument("--iters", type=int, default=5, help="timed training steps per candidate")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5, help="epochs of 500k frames to cost")
    parser.add_argument("--only", nargs="*", default=None, help="candidate names to run")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} threads, chunk {args.batch}x{args.timesteps}")
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    t, e = args.threads, args.epochs
    print(
        f"{'candidate':<20} {'params':>10} {f'f/s {t}t':>8} {f'ref {t}t':>8} {'vs ref':>6} "
        f"{'f/s 1t cpu':>10} {f'h 500k x{e}':>10} {f'ms B=2 {t}t':>10} {f'ms B=16 {t}t':>11} "
        f"{'ms B=2 1t':>10} {'ms B=16 1t':>11}"
    )
    frames = args.batch * args.timesteps
    for name, overrides in CANDIDATES.items():
        if args.only and name not in args.only:
            continue
        preset = get_preset("crafter")
        policy = VPTPolicy({**preset.policy_kwargs, **overrides}, N_ACTIONS, preset.pi_head_kwargs)
        step = policy_train_step(policy, args.batch, args.timesteps)
        fps, ref = paired_fps(
            step, reference_train_step(args.batch, args.timesteps), frames, args.iters
        )
        cpu_fps = cpu_fps_one_thread(step, frames, args.iters)
        lat = latencies(policy.eval(), args.threads)
        hours = 500_000 * e / fps / 3600
        print(
            f"{name:<20} {count_parameters(policy):>10,} {fps:>8.0f} {ref:>8.0f} {fps / ref:>6.2f} "
            f"{cpu_fps:>10.0f} {hours:>10.2f} "
            + " ".join(f"{v:>10.2f}" if i % 2 == 0 else f"{v:>11.2f}" for i, v in enumerate(lat)),
            flush=True,
        )
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
