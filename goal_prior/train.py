"""Train the goal prior: a VPT backbone with an N-way head over the codebook (spec 4.4).

    python -m goal_prior.train --codebook_path data/codebook/tsne_n50_s1/codebook.npz \
        --sampling_dir data/samplings --sampling seed1

`goal_prior/train_goal_prior.sh` runs it with the Crafter settings; re-running resumes. With
`--in_weights` (e.g. VPT's), only the image encoder and transformer are copied, as upstream.
"""

from __future__ import annotations

import argparse
from typing import Any

from goal_prior.codebook import CodebookError, load_codebook
from goal_prior.prior_objective import LABEL_SPACES, GoalPriorObjective
from steve1.training.cli import add_loop_args, build_policy, load_data, run_training
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
    parser.add_argument(
        "--label_space",
        choices=LABEL_SPACES,
        default="raw",
        help="where the label's cosine similarity is measured: raw embeddings (upstream) or the "
        "codebook's clustering space (z-scored for a --standardize codebook)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train (or, with `--eval_only`, validate) the prior; returns the last validation metrics."""
    args = parse_args(argv)
    caches = load_data(args)
    try:
        codebook = load_codebook(args.codebook_path)
        codebook.check_dim(caches[0].embeds[0].shape[1], "the episodes' goal embeddings")
    except CodebookError as err:
        raise SystemExit(f"error: {err}") from err
    policy = build_policy(
        args, VPTPolicy, world=caches[0].world, action_space=codebook.N, init_prefixes=TRUNK
    )
    return run_training(
        GoalPriorObjective(policy, codebook, args.label_space),
        args,
        caches,
        argv,
        codebook=str(args.codebook_path),
    )


if __name__ == "__main__":
    main()
