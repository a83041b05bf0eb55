"""The goal prior's label distribution on the validation split: what its accuracy is measured against.

    python -m goal_prior.label_stats --codebook_path data/codebook/tsne_n100_s1/codebook.npz \
        --min_btwn_goals 5 --max_btwn_goals 50

Draws the validation chunks and hindsight goals exactly as `goal_prior.train` validates (same
sampling, `--T`, goal range and seed), labels every frame that carries loss with its nearest code,
and prints how often the most common code is the label: the accuracy of always guessing it, the
chance level that the prior's top-1 accuracy should beat by a wide margin (the pre-training
issue asks for 8x when N is not 50). Also prints the label entropy and how many codes occur.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from goal_prior.codebook import load_codebook
from goal_prior.prior_objective import LABEL_SPACES, code_labeller
from steve1.data.goal_dataset import EpisodeCache, HindsightGoalChunks
from steve1.data.sampling.sampling_files import read_sampling


def validation_labels(
    codebook_path: Path,
    sampling_dir: Path,
    sampling: str,
    goals: tuple[int, int, int],
    seed: int,
    label_space: str = "raw",
) -> np.ndarray:
    """Labels of the validation frames that carry loss, as `goal_prior.train` validates them."""
    codebook = load_codebook(codebook_path)
    data = HindsightGoalChunks(
        EpisodeCache.from_paths(read_sampling(sampling_dir, sampling, "val")), *goals
    )
    label = code_labeller(codebook, label_space)
    rng = np.random.default_rng(seed + 1)  # the trainer's validation seed
    labels = []
    for i in range(len(data)):
        chunk = data.get(i, rng)
        labels.append(label(chunk.goals)[chunk.loss_mask.astype(bool)])
    return np.concatenate(labels)


def summarize(labels: np.ndarray, n_codes: int) -> dict[str, float]:
    """Most common code, its frequency, entropy (nats) and number of codes used."""
    counts = np.bincount(labels, minlength=n_codes)
    freq = counts / max(counts.sum(), 1)
    used = freq[freq > 0]
    return {
        "frames": int(counts.sum()),
        "most_common_code": int(np.argmax(counts)),
        "most_common_freq": float(freq.max()),
        "entropy": float(-(used * np.log(used)).sum()),
        "codes_used": int((counts > 0).sum()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codebook_path", type=Path, required=True)
    parser.add_argument("--sampling_dir", type=Path, default=Path("data/samplings"))
    parser.add_argument("--sampling", default="seed1")
    parser.add_argument("--T", type=int, default=64)
    parser.add_argument("--min_btwn_goals", type=int, default=5)
    parser.add_argument("--max_btwn_goals", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1, help="the prior's training --seed")
    parser.add_argument("--label_space", choices=LABEL_SPACES, default="raw")
    args = parser.parse_args(argv)
    goals = (args.T, args.min_btwn_goals, args.max_btwn_goals)
    labels = validation_labels(
        args.codebook_path, args.sampling_dir, args.sampling, goals, args.seed, args.label_space
    )
    n_codes = load_codebook(args.codebook_path).N
    s = summarize(labels, n_codes)
    print(
        f"{s['frames']} validation frames, {s['codes_used']} of {n_codes} codes used, label "
        f"entropy {s['entropy']:.2f} nats (uniform {np.log(n_codes):.2f})"
    )
    print(
        f"most common code {s['most_common_code']}: {s['most_common_freq']:.4f} of the labels "
        f"(8x = {8 * s['most_common_freq']:.3f})"
    )


if __name__ == "__main__":
    main()
