"""Train the goal prior: a VPT backbone with an N-way head over the codebook (spec 4.4).

    python -m goal_prior.train --codebook_path data/codebook/tsne_n50_s1/codebook.npz \
        --sampling_dir data/samplings --sampling seed1

`goal_prior/train_goal_prior.sh` runs it with the Crafter settings; re-running resumes. With
`--in_weights` (e.g. VPT's), only the image encoder and transformer are copied, as upstream.
"""

from __future__ import annotations

import argparse
import sys

import torch

from goal_prior.codebook import CodebookError, load_codebook
from goal_prior.prior_objective import GoalPriorObjective
from steve1.data.goal_dataset import EpisodeCache, HindsightGoalChunks
from steve1.data.sampling.generate_sampling import read_sampling
from steve1.training.cli import add_loop_args, build_policy, loop_config
from steve1.training.loop import Trainer
from steve1.utils.run_info import write_meta
from steve1.utils.seeding import set_seed
from VPT.checkpoint import load_weights
from VPT.policy import VPTPolicy

TRUNK = ("net.img_process.", "net.recurrent_layer.")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_loop_args(
        parser,
        out_weights="results/goal_prior/weights/trained_with_script.weights",
        checkpoint_dir="results/goal_prior/training_checkpoint",
        seed=1,
    )
    parser.add_argument("--codebook_path", required=True, help="codebook .npz (or centers.pkl)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    set_seed(args.seed)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    train_cache = EpisodeCache.from_paths(read_sampling(args.sampling_dir, args.sampling, "train"))
    val_cache = EpisodeCache.from_paths(read_sampling(args.sampling_dir, args.sampling, "val"))
    try:
        codebook = load_codebook(args.codebook_path)
        codebook.check_dim(train_cache.embeds[0].shape[1], "the episodes' goal embeddings")
    except CodebookError as err:
        raise SystemExit(f"error: {err}") from err
    weights, args.in_weights = args.in_weights, None
    policy = build_policy(args, VPTPolicy, world=train_cache.world, action_space=codebook.N)
    if weights is not None:
        load_weights(policy, weights, strict=True, include=TRUNK)
    train = HindsightGoalChunks(train_cache, args.T, args.min_btwn_goals, args.max_btwn_goals)
    val = HindsightGoalChunks(val_cache, args.T, args.min_btwn_goals, args.max_btwn_goals)
    cfg = loop_config(args)
    write_meta(
        cfg.out_weights.parent / "meta.json",
        argv if argv is not None else sys.argv,
        config=vars(args),
        codebook=str(args.codebook_path),
    )
    metrics = Trainer(GoalPriorObjective(policy, codebook), train, val, cfg).run()
    print(f"done: {metrics}")


if __name__ == "__main__":
    main()
