"""Benchmark the image encoder's training step (forward + backward) on this machine.

    python -m benchmarks.bench_encoder --preset crafter --batches 8 256 --threads 1

Prints the median milliseconds of forward + backward of a preset's `img_process` for each batch of
frames, for the reference (`ImpalaCNN.reference`: ReLU before max-pool, the frames' own layout) and
the default path (channels-last, max-pool before ReLU), measured alternately in the same process so
that machine load affects both alike. Frames come NCHW as SB3 passes them (the flat PPO baseline)
and NHWC as the VPT trainers pass them. Both paths use `FanInLayer`'s in-place ReLU (bit-identical
to the out-of-place one it replaced, which was another 2-6% slower here).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from VPT.impala_cnn import ImgObsProcess
from VPT.policy import VPTNet
from VPT.presets import get_preset


def frames(batch: int, img_shape: list[int], layout: str) -> torch.Tensor:
    """Random (batch, 1, H, W, C) frames in [0, 1], stored NCHW (`'nchw'`) or NHWC."""
    height, width, channels = img_shape
    x = torch.rand(batch, height, width, channels)
    if layout == "nchw":
        x = x.permute(0, 3, 1, 2).contiguous().permute(0, 2, 3, 1)
    return x[:, None]


def step_seconds(encoder: ImgObsProcess, x: torch.Tensor, reference: bool) -> float:
    """Seconds of one forward + backward (gradients of the parameters only)."""
    encoder.cnn.reference = reference
    start = time.perf_counter()
    encoder(x).square().mean().backward()
    return time.perf_counter() - start


def compare(encoder: ImgObsProcess, x: torch.Tensor, reps: int) -> tuple[float, float]:
    """Median ms of the reference and of the default path, alternating."""
    times: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(reps + 2):
        for reference in (True, False):
            times[reference].append(step_seconds(encoder, x, reference))
    return tuple(1000 * float(np.median(times[r][2:])) for r in (True, False))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="crafter")
    parser.add_argument("--batches", type=int, nargs="+", default=[8, 256])
    parser.add_argument("--reps", type=int, default=0, help="timed steps (0: ~2 s per case)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    kwargs = get_preset(args.preset).policy_kwargs
    encoder = VPTNet(**kwargs).img_process
    print(f"preset {args.preset}, {args.threads} torch thread(s), forward + backward, median ms")
    for batch in args.batches:
        for layout in ("nchw", "nhwc"):
            x = frames(batch, kwargs["img_shape"], layout)
            reps = args.reps or max(5, int(2.0 / max(step_seconds(encoder, x, False), 1e-3)))
            ref_ms, new_ms = compare(encoder, x, reps)
            print(
                f"batch {batch:4d}, {layout} frames: reference {ref_ms:7.1f} ms, "
                f"default {new_ms:7.1f} ms, ratio {new_ms / ref_ms:.2f}"
            )


if __name__ == "__main__":
    main()
