"""Build a codebook from play episodes: goal embedding + recent actions, t-SNE, KMeans, real windows.

Upstream's recipe (spec section 4.3): for every frame t >= 15 the feature is the goal embedding of
window t-15..t concatenated with the sum of the last 16 actions (t included); every
`sample_interval`-th row over all episodes is kept; t-SNE maps the features to 2-D; KMeans finds N
clusters there; code k is the raw goal embedding of the sample nearest centroid k. Options beyond
upstream: `standardize` (z-score each feature first; upstream mixed raw scales),
`embedding="none"` (KMeans directly on the features, no t-SNE) and `code_choice="mean"` (code k is
the sample nearest the mean of cluster k's features, rather than nearest its t-SNE centroid: the
most typical window of the cluster, where a point near the 2-D centroid may carry incidental
features that the t-SNE map flattened away).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.manifold import TSNE

from goal_prior.codebook import Codebook, CodebookError
from steve1.data.episode_storage import EMBED_OFFSET, EpisodeReader, open_episodes

HISTORY = EMBED_OFFSET + 1  # actions summed into the feature: t-15..t
CODE_CHOICES = ("centroid", "mean")


@dataclass(frozen=True)
class CodebookConfig:
    """Settings of one codebook build (upstream flag names in comments)."""

    n_codebook: int = 100  # --n-codebook
    video_num: int = 50  # --video-num: episodes drawn from the train list; -1 = all
    sample_interval: int = 50  # --sample-interval
    embedding: str = "tsne"  # --embedding: tsne | none
    standardize: bool = False
    code_choice: str = "centroid"  # centroid (upstream) | mean: see the module docstring
    seed: int = 1
    perplexity: float = 30.0

    def __post_init__(self) -> None:
        if self.code_choice not in CODE_CHOICES:
            raise CodebookError(f"unknown code choice {self.code_choice!r}; valid: {CODE_CHOICES}")


@dataclass
class Samples:
    """Rows kept for clustering: features, raw embeddings, and where each came from."""

    features: np.ndarray
    embeds: np.ndarray
    episodes: list[str]
    steps: np.ndarray


def action_features(actions: np.ndarray, n_actions: int | None) -> np.ndarray:
    """(L, A) numbers per action: one-hot for discrete actions (Crafter), else the flat vector."""
    if actions.ndim == 1:
        if n_actions is None:
            raise ValueError("discrete actions need n_actions")
        return np.eye(n_actions, dtype=np.float32)[actions]
    return actions.reshape(len(actions), -1).astype(np.float32)


def episode_features(reader: EpisodeReader, n_actions: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(features, embeds) for frames t >= 15 of one episode: [embedding_t, sum of actions t-15..t]."""
    embeds = reader.load_embeds()[EMBED_OFFSET:]
    acts = action_features(reader.load_actions(), n_actions)
    csum = np.concatenate([np.zeros((1, acts.shape[1]), np.float32), np.cumsum(acts, axis=0)])
    history = csum[HISTORY:] - csum[: len(acts) - EMBED_OFFSET]
    return np.concatenate([embeds, history], axis=1), embeds


def collect_samples(
    readers: list[EpisodeReader], cfg: CodebookConfig, n_actions: int | None
) -> Samples:
    """Features of every episode, then every `sample_interval`-th row globally (as upstream)."""
    feats, embeds, episodes, steps = [], [], [], []
    for reader in readers:
        f, e = episode_features(reader, n_actions)
        feats.append(f)
        embeds.append(e)
        episodes += [str(reader.path)] * len(f)
        steps.append(np.arange(EMBED_OFFSET, EMBED_OFFSET + len(f)))
    keep = np.arange(0, sum(len(f) for f in feats), cfg.sample_interval)
    return Samples(
        np.concatenate(feats)[keep],
        np.concatenate(embeds)[keep],
        [episodes[i] for i in keep],
        np.concatenate(steps)[keep],
    )


def choose_episodes(train_list: list[Path], cfg: CodebookConfig) -> list[Path]:
    """`video_num` episodes sampled without replacement with the config's seed (-1: all)."""
    if cfg.video_num == -1:
        return list(train_list)
    if cfg.video_num > len(train_list):
        raise CodebookError(
            f"--video-num {cfg.video_num} exceeds the {len(train_list)} training "
            "episodes; lower it (or -1 for all) or generate more episodes"
        )
    return random.Random(cfg.seed).sample(list(train_list), cfg.video_num)


def feature_std(x: np.ndarray) -> np.ndarray:
    """Per-feature standard deviation with a floor (constant features are left unscaled)."""
    return np.maximum(x.std(axis=0), 1e-3)


def cluster(samples: Samples, cfg: CodebookConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(index of each code's sample, cluster label of every sample, the points clustered)."""
    n = len(samples.features)
    if n < cfg.n_codebook:
        raise CodebookError(
            f"only {n} samples for {cfg.n_codebook} codes; lower --n-codebook or "
            "--sample-interval, or use more episodes (--video-num)"
        )
    x = samples.features.astype(np.float64)
    if cfg.standardize:
        x = (x - x.mean(axis=0)) / feature_std(x)
    features = x
    if cfg.embedding == "tsne":
        perplexity = min(cfg.perplexity, (n - 1) / 3)
        x = TSNE(
            n_components=2, perplexity=perplexity, init="pca", random_state=cfg.seed, n_jobs=1
        ).fit_transform(x)
    elif cfg.embedding != "none":
        raise CodebookError(f"unknown embedding {cfg.embedding!r}; valid: tsne, none")
    kmeans = KMeans(
        n_clusters=cfg.n_codebook, init="k-means++", n_init=10, random_state=cfg.seed
    ).fit(x)
    labels = kmeans.labels_
    nearest = np.empty(cfg.n_codebook, np.int64)
    for k in range(cfg.n_codebook):
        members = np.flatnonzero(labels == k)
        if cfg.code_choice == "mean":
            space, centre = features[members], features[members].mean(axis=0)
        else:
            space, centre = x[members], kmeans.cluster_centers_[k]
        nearest[k] = members[np.argmin(np.linalg.norm(space - centre, axis=1))]
    return nearest, labels, x


@dataclass
class CodebookBuild:
    """A built codebook with what produced it: samples, clustered points and their labels."""

    codebook: Codebook
    samples: Samples
    points: np.ndarray
    labels: np.ndarray


def build_codebook(
    train_list: list[Path], cfg: CodebookConfig, n_actions: int | None = None
) -> CodebookBuild:
    """Cluster the training episodes' windows into `cfg.n_codebook` codes."""
    readers = open_episodes(choose_episodes(train_list, cfg))
    if not readers:
        raise CodebookError("no readable training episodes")
    meta0 = readers[0].metadata
    if n_actions is None and meta0.get("world") == "crafter":
        n_actions = 17
    samples = collect_samples(readers, cfg, n_actions)
    nearest, labels, points = cluster(samples, cfg)
    metadata = {
        "method": f"{cfg.embedding}+kmeans",
        "N": cfg.n_codebook,
        "seed": cfg.seed,
        "standardize": cfg.standardize,
        "code_choice": cfg.code_choice,
        "sample_interval": cfg.sample_interval,
        "video_num": len(readers),
        "n_samples": len(samples.features),
        "embedding_source": meta0.get("embedding", {}),
        "world": meta0.get("world", "unknown"),
        "action_history": HISTORY,
    }
    codebook = Codebook(
        codes=samples.embeds[nearest].astype(np.float32),
        metadata=metadata,
        source_episode=np.array([samples.episodes[i] for i in nearest]),
        source_step=samples.steps[nearest],
        cluster_sizes=np.bincount(labels, minlength=cfg.n_codebook),
    )
    if cfg.standardize:
        embeds = samples.embeds.astype(np.float64)
        codebook.embed_mean = embeds.mean(axis=0).astype(np.float32)
        codebook.embed_std = feature_std(embeds).astype(np.float32)
    return CodebookBuild(codebook, samples, points, labels)
