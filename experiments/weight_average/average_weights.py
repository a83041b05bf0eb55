"""Average the weights of low levels fine-tuned from the same start (a "model soup").

    PYTHONPATH=. python experiments/weight_average/average_weights.py --out soup.weights \
        results/clean_k8/weights/trained_with_script_best.weights \
        results/clean_k8_s2/weights/trained_with_script_best.weights

Every input must have the same parameter names and shapes (the same `.model`); floating-point
tensors are averaged, others must be equal. The result loads with the inputs' `.model`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from VPT.checkpoint import read_weights, save_weights


def average(paths: list[Path]) -> dict[str, torch.Tensor]:
    states = [read_weights(p) for p in paths]
    for path, state in zip(paths[1:], states[1:], strict=True):
        if state.keys() != states[0].keys():
            raise ValueError(f"{path}: parameter names differ from {paths[0]}")
    out = {}
    for name, first in states[0].items():
        tensors = [s[name] for s in states]
        if any(t.shape != first.shape for t in tensors):
            raise ValueError(f"{name}: shapes differ: {[tuple(t.shape) for t in tensors]}")
        if first.is_floating_point():
            out[name] = torch.stack(tensors).mean(0)
        elif all(torch.equal(t, first) for t in tensors):
            out[name] = first
        else:
            raise ValueError(f"{name}: non-float tensors differ between the inputs")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if len(args.weights) < 2:
        parser.error("give at least two .weights files")
    save_weights(average(args.weights), args.out)
    print(f"wrote {args.out}: the mean of {len(args.weights)} weight files")


if __name__ == "__main__":
    main()
