"""Train the goal-conditioned low-level policy (behaviour cloning with hindsight goals).

    python -m steve1.train --sampling_dir data/samplings --sampling seed1 \
        --out_weights results/steve1/weights/trained_with_script.weights

`steve1/train_goal_conditioned_policy.sh` runs it with the Crafter settings. Re-running the same
command resumes from `--checkpoint_dir`.
"""

from __future__ import annotations

import argparse
from typing import Any

from steve1.embed_conditioned_policy import EmbedConditionedPolicy
from steve1.goal_conditioned_bc import GoalConditionedBC
from steve1.training.cli import add_loop_args, build_policy, load_data, run_training
from steve1.utils.arg_types import positive_float, positive_int


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_loop_args(
        parser,
        out_weights="results/steve1/weights/trained_with_script.weights",
        checkpoint_dir="results/steve1/training_checkpoint",
        seed=42,
    )
    parser.add_argument(
        "--p_uncond",
        type=float,
        default=0.1,
        help="probability that a whole chunk's goal is zeroed (guidance)",
    )
    parser.add_argument(
        "--change_weight",
        type=positive_float,
        default=1.0,
        help="loss weight of the training frames whose action differs from the previous one "
        "(1: upstream). Validation is never weighted, so `_best` weights track the unweighted "
        "NLL: with a weight, evaluate `_latest`. Weights are not normalised: they also scale the "
        "step",
    )
    parser.add_argument(
        "--event_weight",
        type=positive_float,
        default=1.0,
        help="loss weight of the training frames whose actions lead up to an event (any rise "
        "of an achievement counter, Crafter) within --event_window frames (1: upstream; see "
        "--change_weight on `_best` and normalisation)",
    )
    parser.add_argument("--event_window", type=positive_int, default=8, help="see --event_weight")
    parser.add_argument(
        "--freeze_encoder",
        action="store_true",
        help="keep the image encoder (CNN and its dense layers) of --in_weights fixed and train "
        "the rest (beyond upstream)",
    )
    # Crafter's low level: goals 5-20 frames ahead (measured; see the README), 2.5M frames.
    parser.set_defaults(max_btwn_goals=20, n_frames=2_500_000)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train (or, with `--eval_only`, validate) the low level; returns the last validation
    metrics."""
    args = parse_args(argv)
    caches = load_data(args)
    goal_dim = caches[0].embeds[0].shape[1]
    policy = build_policy(args, EmbedConditionedPolicy, world=caches[0].world, goal_dim=goal_dim)
    if args.freeze_encoder:
        policy.net.img_process.requires_grad_(False)
    return run_training(
        GoalConditionedBC(policy),
        args,
        caches,
        argv,
        p_uncond=args.p_uncond,
        train_weights={
            "change_weight": args.change_weight,
            "event_weight": args.event_weight,
            "event_window": args.event_window,
        },
    )


if __name__ == "__main__":
    main()
