"""Derive a variant of a trained model (.model + .weights) to fine-tune: a shorter attention memory,
or pixel boxes of the frame hidden from the CNN.

    python -m VPT.derive_model --in_model downloads/crafter/steve1.model \
        --in_weights downloads/crafter/steve1.weights --out results/derived/steve1_k1 \
        --memory 1                                   # each frame attends to itself only
    python -m VPT.derive_model ... --hide_boxes 49,56,0,28   # Crafter's health/food/drink/energy

`--memory k` keeps the relative-position biases (`b_nd`) of the k nearest frames and sets
`attention_memory_size` to `timesteps + k`, so that each frame attends to itself and the k - 1
frames before it (the first k frames of an episode compute the same as in the source model).
`--hide_boxes top,bottom,left,right ...` sets the trunk's `hide_boxes` (pixels zeroed before the
CNN); `--hide_boxes` with no box clears them (e.g. a goal prior, which should see the vitals, from
the trunk of a low level that hides them). `--goal_film head cnn` (a low level only; one or both)
lets the goal scale and shift the heads' input and/or every CNN stack's channels
(`steve1.embed_conditioned_policy`), zero at first: the derived model acts as the source does
(experiments/goal_film/). Writes `<out>.model` and `<out>.weights` (float32), then fine-tune with
`--in_model` / `--in_weights` (experiments/hidden_vitals/).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch

from VPT.checkpoint import load_model_file, read_weights, save_model_file, save_weights
from VPT.policy import VPTNet, check_boxes


def derive(
    in_model: Path,
    in_weights: Path,
    out: Path,
    memory: int | None = None,
    hide_boxes: list[list[int]] | None = None,
    goal_film: Sequence[str] = (),
) -> dict:
    """Write `<out>.model` / `<out>.weights`; returns the new policy kwargs."""
    spec = load_model_file(in_model)
    kwargs = dict(spec.policy_kwargs)
    tensors = {
        k: v.float() if v.is_floating_point() else v for k, v in read_weights(in_weights).items()
    }
    if memory is not None:
        maxlen = kwargs["attention_memory_size"] - kwargs["timesteps"]
        if not 1 <= memory <= maxlen:
            raise ValueError(f"--memory {memory}: must lie in 1..{maxlen}, the source's memory")
        kwargs["attention_memory_size"] = kwargs["timesteps"] + memory
        tensors = {
            k: v[:, :memory].clone() if k.endswith(".b_nd") else v for k, v in tensors.items()
        }
    if hide_boxes is not None:
        check_boxes(hide_boxes, kwargs["img_shape"])
        kwargs["hide_boxes"] = [list(box) for box in hide_boxes]
    if goal_film:
        tensors.update(_zero_film(kwargs, tensors, goal_film, in_weights))
    out.parent.mkdir(parents=True, exist_ok=True)
    save_model_file(
        out.with_name(out.name + ".model"), kwargs, spec.pi_head_kwargs, spec.action_space
    )
    save_weights(tensors, out.with_name(out.name + ".weights"))
    return kwargs


def _zero_film(
    kwargs: dict, tensors: dict, where: Sequence[str], in_weights: Path
) -> dict[str, torch.Tensor]:
    """Set the goal-FiLM kwargs named in `where` (`head`, `cnn`) and return their zero weights."""
    goal = tensors.get("net.mineclip_embed_linear.weight")
    if goal is None:
        raise ValueError(f"--goal_film: {in_weights} has no goal projection (not a low level)")
    with torch.device("meta"):
        chans = VPTNet(**kwargs).img_process.cnn.chans
    widths = {"head": ("goal_film", 2 * goal.shape[0]), "cnn": ("goal_film_cnn", 2 * sum(chans))}
    out = {}
    for name in where:
        key, width = widths[name]
        if kwargs.get(key):
            raise ValueError(
                f"--goal_film {name}: {in_weights} already has it (trained); deriving would "
                "reset it to zero"
            )
        kwargs[key] = True
        out[f"net.{key}.weight"] = goal.new_zeros(width, goal.shape[1])
    return out


def _box(text: str) -> list[int]:
    parts = text.split(",")
    if len(parts) != 4:
        raise argparse.ArgumentTypeError(f"{text!r}: expected top,bottom,left,right")
    return [int(p) for p in parts]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--in_model", type=Path, required=True)
    parser.add_argument("--in_weights", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="output path without suffix")
    parser.add_argument("--memory", type=int, default=None, help="frames each frame attends to")
    parser.add_argument(
        "--hide_boxes",
        type=_box,
        nargs="*",
        default=None,
        help="top,bottom,left,right per box; the flag with no box shows the whole frame again",
    )
    parser.add_argument(
        "--goal_film",
        nargs="+",
        choices=["head", "cnn"],
        default=(),
        help="a low level only: let the goal scale and shift the heads' input (head) and/or "
        "every CNN stack's channels (cnn); zero at first, so the derived model acts as the source",
    )
    args = parser.parse_args(argv)
    kwargs = derive(
        args.in_model, args.in_weights, args.out, args.memory, args.hide_boxes, args.goal_film
    )
    print(
        f"wrote {args.out}.model / .weights: attention_memory_size "
        f"{kwargs['attention_memory_size']}, hide_boxes {kwargs.get('hide_boxes')}, "
        f"goal_film {list(args.goal_film)}"
    )


if __name__ == "__main__":
    main()
