"""What a low level's goal experts learnt: how sharply the gate picks experts for each code, and
how large the experts' correction of the heads' input is.

    PYTHONPATH=. python experiments/goal_experts/gate_report.py \
        --codebook data/codebook_seen/tsne_n50_s1/codebook.npz \
        --in_model results/mem/init_hide_k8_gx16.model \
        --in_weights results/gx16_s1/weights/trained_with_script_best.weights --codes 19 31 0

Prints the gate's mean entropy over the codebook's codes (against log K for a uniform gate), the
mean weight of each code's top expert, the top three experts of `--codes`, and the size of the
correction for the first of `--codes` relative to the latent, over random unit-variance latents.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch

from goal_prior.codebook import load_codebook
from steve1.embed_conditioned_policy import EmbedConditionedPolicy
from VPT.checkpoint import load_policy


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codebook", required=True)
    parser.add_argument("--in_model", required=True)
    parser.add_argument("--in_weights", required=True)
    parser.add_argument("--codes", type=int, nargs="+", default=[19, 31, 0])
    args = parser.parse_args(argv)
    codebook = load_codebook(args.codebook)
    codes = torch.as_tensor(codebook.codes.astype(np.float32))
    net = load_policy(args.in_model, args.in_weights, policy_class=EmbedConditionedPolicy).net
    if net.goal_gate is None:
        raise SystemExit(f"error: {args.in_model} has no goal experts (net kwarg goal_experts)")
    torch.manual_seed(0)
    with torch.no_grad():
        gate = torch.softmax(net.goal_gate(codes), -1)
        entropy = -(gate * gate.clamp_min(1e-12).log()).sum(-1).mean()
        k = gate.shape[-1]
        print(
            f"gate entropy over the {codebook.N} codes {entropy:.2f} (uniform {math.log(k):.2f}); "
            f"top expert's weight, mean {gate.max(-1).values.mean():.2f}"
        )
        for c in args.codes:
            top = gate[c].argsort(descending=True)[:3]
            print(f"  code {c}: " + ", ".join(f"expert {int(i)} {gate[c, i]:.2f}" for i in top))
        latent = torch.randn(100, net.hidsize)
        correction = net.expert_correction(latent, codes[args.codes[0]].expand(100, -1))
        ratio = correction.norm(dim=-1).mean() / latent.norm(dim=-1).mean()
        print(f"  correction / latent (code {args.codes[0]}): {ratio:.3f}")


if __name__ == "__main__":
    main()
