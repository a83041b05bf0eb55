"""Build the codebook (the high-level action space) from the training episodes.

    python -m goal_prior.generate_codebook --sampling_dir data/samplings --sampling seed1 \
        --n-codebook 50 --video-num -1 --sample-interval 50 --seed 1

Writes `<output-dir>/<embedding>_n<N>_s<seed>/`: `codebook.npz`, `tsne.png` (the clustered points
coloured by code) and `center_<k>.gif` (the 16 frames behind code k).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import imageio.v3 as iio
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from goal_prior.build_codebook import CODE_CHOICES, CodebookConfig, build_codebook  # noqa: E402
from goal_prior.codebook import Codebook, CodebookError  # noqa: E402
from goal_prior.contact_sheet import contact_sheet  # noqa: E402
from steve1.data.episode_storage import EMBED_OFFSET, EpisodeReader  # noqa: E402
from steve1.data.sampling.sampling_files import read_sampling  # noqa: E402


def write_code_gifs(codebook: Codebook, out_dir: Path) -> None:
    """`center_<k>.gif`: frames t-15..t of code k's source window, 20 frames per second."""
    for k, (episode, step) in enumerate(
        zip(codebook.source_episode, codebook.source_step, strict=True)
    ):
        frames = EpisodeReader(episode).load_frames(int(step) - EMBED_OFFSET, int(step) + 1)
        iio.imwrite(out_dir / f"center_{k}.gif", frames, duration=50, loop=0)


def plot_points(points, labels, codebook: Codebook, path: Path) -> None:
    """Scatter of the clustered points (first two dims) coloured by cluster, codes numbered."""
    fig, ax = plt.subplots(figsize=(8, 8))
    ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="nipy_spectral", s=2, alpha=0.5)
    for k in range(codebook.N):
        centre = points[labels == k].mean(axis=0)
        ax.annotate(str(k), centre, fontsize=7, ha="center")
    ax.set_title(f"{codebook.metadata['method']}, N={codebook.N}, seed {codebook.metadata['seed']}")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--embedding",
        default="tsne",
        choices=["tsne", "none"],
        help="tsne (upstream) or none (KMeans on the raw features)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output-dir", type=Path, default=Path("data/codebook"))
    parser.add_argument("--sampling_dir", type=Path, default=Path("data/samplings"))
    parser.add_argument("--sampling", default="seed1")
    parser.add_argument("--video-num", type=int, default=50, help="episodes used; -1 = all")
    parser.add_argument("--sample-interval", type=int, default=50)
    parser.add_argument("--n-codebook", type=int, default=100)
    parser.add_argument(
        "--standardize",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="z-score every feature before clustering (upstream did not)",
    )
    parser.add_argument(
        "--code-choice",
        default="centroid",
        choices=list(CODE_CHOICES),
        help="centroid (upstream): the window nearest the KMeans centroid in the clustered (t-SNE) "
        "space; mean: the window nearest the mean of its cluster's features",
    )
    parser.add_argument("--gifs", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args(argv)
    cfg = CodebookConfig(
        n_codebook=args.n_codebook,
        video_num=args.video_num,
        sample_interval=args.sample_interval,
        embedding=args.embedding,
        standardize=args.standardize,
        code_choice=args.code_choice,
        seed=args.seed,
    )
    try:
        train = read_sampling(args.sampling_dir, args.sampling, "train")
        build = build_codebook(train, cfg)
    except (CodebookError, FileNotFoundError) as err:
        parser.error(str(err))
    suffix = "" if args.code_choice == "centroid" else f"_{args.code_choice}"
    out_dir = args.output_dir / f"{args.embedding}_n{args.n_codebook}_s{args.seed}{suffix}"
    codebook = build.codebook
    codebook.save(out_dir / "codebook.npz")
    plot_points(build.points, build.labels, codebook, out_dir / "tsne.png")
    if args.gifs:
        write_code_gifs(codebook, out_dir)
    contact_sheet(codebook, None, out_dir / "contact_sheet.png")
    print(
        f"wrote {out_dir}/codebook.npz: {codebook.N} codes of {codebook.dim} dims from "
        f"{codebook.metadata['n_samples']} samples"
    )


if __name__ == "__main__":
    main()
