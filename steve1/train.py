"""Train the goal-conditioned low-level policy (behaviour cloning with hindsight goals).

    python -m steve1.train --sampling_dir data/samplings --sampling seed1 \
        --out_weights results/steve1/weights/trained_with_script.weights

`steve1/train_goal_conditioned_policy.sh` runs it with the Crafter settings. Re-running the same
command resumes from `--checkpoint_dir`.
"""

from __future__ import annotations

import argparse
import sys

import torch

from steve1.data.goal_dataset import EpisodeCache, HindsightGoalChunks
from steve1.data.sampling.generate_sampling import read_sampling
from steve1.embed_conditioned_policy import EmbedConditionedPolicy
from steve1.goal_conditioned_bc import GoalConditionedBC
from steve1.training.cli import add_loop_args, build_policy, loop_config
from steve1.training.loop import Trainer
from steve1.utils.run_info import write_meta
from steve1.utils.seeding import set_seed


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
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    set_seed(args.seed)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    train_cache = EpisodeCache.from_paths(read_sampling(args.sampling_dir, args.sampling, "train"))
    val_cache = EpisodeCache.from_paths(read_sampling(args.sampling_dir, args.sampling, "val"))
    goal_dim = train_cache.embeds[0].shape[1]
    policy = build_policy(args, EmbedConditionedPolicy, world=train_cache.world, goal_dim=goal_dim)
    train = HindsightGoalChunks(
        train_cache, args.T, args.min_btwn_goals, args.max_btwn_goals, args.p_uncond
    )
    val = HindsightGoalChunks(val_cache, args.T, args.min_btwn_goals, args.max_btwn_goals)
    cfg = loop_config(args)
    write_meta(
        cfg.out_weights.parent / "meta.json",
        argv if argv is not None else sys.argv,
        config=vars(args),
    )
    metrics = Trainer(GoalConditionedBC(policy), train, val, cfg).run()
    print(f"done: {metrics}")


if __name__ == "__main__":
    main()
