"""Benchmark the pre-training stage on this machine: trainer throughput and guided-action latency.

    python -m benchmarks.bench_training --preset crafter --slices 20

Prints training frames/s of the low-level trainer and of the goal-prior trainer (forward, backward
and optimizer step on synthetic chunks of the preset's shape, batch 16 x 32 frames by default) and
the latency of one batched guided low-level action for 1 and 8 envs.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from steve1.agent import GuidedAgent
from steve1.embed_conditioned_policy import GOAL_KEY, EmbedConditionedPolicy
from steve1.training.optim import make_optimizer
from VPT.policy import VPTPolicy
from VPT.presets import get_preset


def train_fps(policy: VPTPolicy, batch: int, trunc_t: int, slices: int, goal_dim: int) -> float:
    """Frames/s of forward + backward + AdamW step on random data."""
    img_shape = policy.policy_kwargs["img_shape"]
    obs = {"img": torch.randint(0, 256, (batch, trunc_t, *img_shape), dtype=torch.uint8)}
    if goal_dim:
        obs[GOAL_KEY] = torch.randn(batch, trunc_t, goal_dim)
    target = torch.randint(0, policy.pi_head.linear_layer.out_features, (batch, trunc_t))
    first = torch.zeros(batch, trunc_t, dtype=torch.bool)
    optimizer = make_optimizer(policy, 1e-4, 0.04)
    state = policy.initial_state(batch)
    times = []
    for _ in range(slices + 2):
        start = time.perf_counter()
        out, state = policy(obs, state, first)
        loss = -policy.pi_head.log_prob(out.pi_logits, target).sum(1).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        state = [tuple(x.detach() for x in block) for block in state]
        times.append(time.perf_counter() - start)
    return batch * trunc_t / float(np.median(times[2:]))


def act_latency(policy: EmbedConditionedPolicy, n_envs: int, steps: int = 30) -> float:
    """Median seconds of one guided action for `n_envs` envs (2 * n_envs streams)."""
    agent = GuidedAgent(policy, n_envs, cond_scale=3.0)
    img_shape = policy.policy_kwargs["img_shape"]
    frames = np.random.default_rng(0).integers(0, 256, (n_envs, *img_shape), dtype=np.uint8)
    goals = np.zeros((n_envs, policy.goal_dim), np.float32)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        agent.act(frames, goals)
        times.append(time.perf_counter() - start)
    return float(np.median(times[3:]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="crafter")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--trunc_t", type=int, default=32)
    parser.add_argument("--slices", type=int, default=20)
    parser.add_argument("--goal_dim", type=int, default=77)
    parser.add_argument("--n_codes", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    preset = get_preset(args.preset)
    low = EmbedConditionedPolicy(
        preset.policy_kwargs, 17, preset.pi_head_kwargs, goal_dim=args.goal_dim
    )
    prior = VPTPolicy(preset.policy_kwargs, args.n_codes, preset.pi_head_kwargs)
    print(
        f"preset {args.preset}, {args.threads} torch threads, batch {args.batch_size} x "
        f"{args.trunc_t} frames"
    )
    fps = train_fps(low, args.batch_size, args.trunc_t, args.slices, args.goal_dim)
    print(f"low-level trainer: {fps:.0f} frames/s")
    fps = train_fps(prior, args.batch_size, args.trunc_t, args.slices, 0)
    print(f"goal-prior trainer: {fps:.0f} frames/s")
    low.eval()
    for n in (1, 8):
        print(f"guided action, {n} env(s): {act_latency(low, n) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
