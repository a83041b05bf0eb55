"""Rewrite a `.weights` file in another dtype or without wrapper prefixes (e.g. to ship it small).

    python -m VPT.convert_weights --in_weights a.weights --out_weights b.weights --dtype float16

Loading casts every tensor to the model's dtype, so a float16 file loads into a float32 model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from VPT.checkpoint import read_weights, save_weights

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}


def convert(in_weights: Path, out_weights: Path, dtype: str) -> int:
    """Write `in_weights` (prefixes stripped) as `dtype`; returns the output size in bytes."""
    tensors = {
        k: v.to(DTYPES[dtype]) if v.is_floating_point() else v
        for k, v in read_weights(in_weights).items()
    }
    out_weights.parent.mkdir(parents=True, exist_ok=True)
    save_weights(tensors, out_weights)
    return out_weights.stat().st_size


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--in_weights", type=Path, required=True)
    parser.add_argument("--out_weights", type=Path, required=True)
    parser.add_argument("--dtype", choices=list(DTYPES), default="float16")
    args = parser.parse_args(argv)
    size = convert(args.in_weights, args.out_weights, args.dtype)
    print(f"wrote {args.out_weights} ({size / 1e6:.1f} MB, {args.dtype})")


if __name__ == "__main__":
    main()
