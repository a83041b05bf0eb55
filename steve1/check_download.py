"""Check that an official Minecraft file fits this project's architecture (run by `downloads.sh`).

    python -m steve1.check_download model downloads/2x.model
    python -m steve1.check_download vpt downloads/rl-from-foundation-2x.weights
    python -m steve1.check_download steve1 downloads/steve1/steve1.weights

No checksum is published for these files. Reading the `.model` kwargs, and loading every tensor of
a `.weights` file strictly (each name and shape) into the `2x` architecture, is the strongest check
there is without the official numbers; it also catches a truncated file or an HTML error page.
Prints one `ok:` line, or the mismatch and exit status 1.
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

from steve1.embed_conditioned_policy import MINECLIP_DIM, EmbedConditionedPolicy
from VPT.checkpoint import WeightsMismatchError, load_model_file, load_weights
from VPT.policy import VPTPolicy, count_parameters
from VPT.presets import MINECRAFT_ACTION_SPACE, get_preset

KINDS = ("model", "vpt", "steve1")


def check_model_file(path: str | os.PathLike, preset: str = "2x") -> str:
    """Compare a `.model` file's net kwargs with the preset's; raise ValueError on a difference."""
    spec = load_model_file(path)
    expected = get_preset(preset).policy_kwargs
    differ = sorted(
        k
        for k in set(expected) | set(spec.policy_kwargs)
        if spec.policy_kwargs.get(k) != expected.get(k)
    )
    if differ:
        lines = [
            f"{k}: file {spec.policy_kwargs.get(k)!r}, preset {expected.get(k)!r}" for k in differ
        ]
        raise ValueError(f"{path}: kwargs differ from the {preset} preset: " + "; ".join(lines))
    temperature = spec.pi_head_kwargs.get("temperature")
    return f"{path}: net kwargs equal the {preset} preset (pi-head temperature {temperature})"


def check_weights(path: str | os.PathLike, kind: str, preset: str = "2x") -> str:
    """Load a `.weights` file strictly into VPT (`vpt`) or STEVE-1 (`steve1`) built from `preset`.

    The model is built on the meta device, so the file's tensors are the only copy in memory.
    :raises VPT.WeightsMismatchError: listing every missing, unexpected or mis-shaped key.
    """
    p = get_preset(preset)
    with torch.device("meta"):
        if kind == "steve1":
            policy: VPTPolicy = EmbedConditionedPolicy(
                p.policy_kwargs, MINECRAFT_ACTION_SPACE, p.pi_head_kwargs, goal_dim=MINECLIP_DIM
            )
        else:
            policy = VPTPolicy(p.policy_kwargs, MINECRAFT_ACTION_SPACE, p.pi_head_kwargs)
    try:
        load_weights(policy, path, strict=True)
    except WeightsMismatchError:
        raise
    except Exception as err:  # torch.load of a truncated or foreign file fails in many ways
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"{path}: not a readable torch state dict (truncated, or not a .weights file): {first}"
        ) from err
    n_tensors = len(policy.state_dict())
    return (
        f"{path}: all {n_tensors} tensors ({count_parameters(policy):,} parameters) load strictly "
        f"into {'STEVE-1' if kind == 'steve1' else 'VPT'} {preset}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=KINDS, help="model: a .model file; vpt, steve1: .weights")
    parser.add_argument("path")
    parser.add_argument(
        "--preset", default="2x", help="architecture to check against (tests: tiny)"
    )
    args = parser.parse_args(argv)
    try:
        if args.kind == "model":
            message = check_model_file(args.path, args.preset)
        else:
            message = check_weights(args.path, args.kind, args.preset)
    except Exception as err:  # any failure to read or fit the file is the answer
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"ok: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
