"""Codebook: deterministic build, codes are real windows, npz/pkl I/O, clear errors."""

import pickle

import numpy as np
import pytest

from goal_prior.build_codebook import CodebookConfig, build_codebook, episode_features
from goal_prior.codebook import Codebook, CodebookError, load_codebook
from goal_prior.prior_objective import nearest_codes
from steve1.data.episode_storage import EpisodeReader
from tests.helpers import fake_episode


@pytest.fixture(scope="module")
def episodes(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return [fake_episode(root / f"ep{i}", length=80, seed=i) for i in range(4)]


CFG = CodebookConfig(n_codebook=6, video_num=-1, sample_interval=3, seed=1)


@pytest.mark.parametrize("embedding", ["tsne", "none"])
def test_build_is_deterministic_and_codes_are_real_windows(episodes, embedding):
    cfg = CodebookConfig(**{**CFG.__dict__, "embedding": embedding})
    a = build_codebook(episodes, cfg, n_actions=17)
    b = build_codebook(episodes, cfg, n_actions=17)
    assert np.array_equal(a.codebook.codes, b.codebook.codes)
    assert a.codebook.codes.shape == (6, 8) and a.codebook.cluster_sizes.sum() == len(a.labels)
    for k in range(6):
        reader = EpisodeReader(a.codebook.source_episode[k])
        step = a.codebook.source_step[k]
        assert np.array_equal(a.codebook.codes[k], reader.load_embeds()[step])


def test_history_feature_sums_the_last_16_actions(episodes):
    reader = EpisodeReader(episodes[0])
    feats, embeds = episode_features(reader, 17)
    actions = reader.load_actions()
    t = 40  # frame 40 is row 25 (rows start at frame 15)
    expected = np.bincount(actions[t - 15 : t + 1], minlength=17)
    assert np.array_equal(feats[t - 15, 8:], expected) and np.array_equal(feats[:, :8], embeds)


def test_standardize_changes_the_codebook_but_stays_deterministic(episodes):
    cfg = CodebookConfig(**{**CFG.__dict__, "standardize": True})
    a = build_codebook(episodes, cfg, n_actions=17).codebook
    assert np.array_equal(a.codes, build_codebook(episodes, cfg, n_actions=17).codebook.codes)
    assert a.metadata["standardize"] is True
    assert a.embed_mean.shape == a.embed_std.shape == (8,)
    raw = build_codebook(episodes, CFG, n_actions=17).codebook
    assert raw.embed_mean is None and raw.clustering_space(raw.codes) is raw.codes


def test_mean_code_choice_keeps_the_clusters_and_takes_the_window_nearest_their_mean(episodes):
    cfg = CodebookConfig(**{**CFG.__dict__, "code_choice": "mean"})
    centroid = build_codebook(episodes, CFG, n_actions=17)
    mean = build_codebook(episodes, cfg, n_actions=17)
    assert np.array_equal(mean.labels, centroid.labels)
    assert mean.codebook.metadata["code_choice"] == "mean"
    feats = mean.samples.features
    for k in range(6):
        members = np.flatnonzero(mean.labels == k)
        dist = np.linalg.norm(feats[members] - feats[members].mean(axis=0), axis=1)
        step = mean.codebook.source_step[k]
        chosen = members[np.argmin(dist)]
        assert mean.samples.steps[chosen] == step
        assert np.array_equal(mean.codebook.codes[k], mean.samples.embeds[chosen])
    assert not np.array_equal(mean.codebook.codes, centroid.codebook.codes)
    with pytest.raises(CodebookError, match="unknown code choice"):
        CodebookConfig(code_choice="medoid")


def test_prior_labels_live_in_the_codebook_clustering_space(tmp_path):
    codes = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    goal = np.array([[2.0, 0.1]], np.float32)  # raw cosine: code 0
    book = Codebook(codes, embed_mean=np.zeros(2, np.float32), embed_std=np.array([100.0, 0.01]))
    book.save(tmp_path / "cb.npz")
    loaded = load_codebook(tmp_path / "cb.npz")
    np.testing.assert_array_equal(loaded.embed_std, book.embed_std)
    assert nearest_codes(goal, codes)[0] == 0
    z = loaded.clustering_space
    assert nearest_codes(z(goal), z(codes))[0] == 1  # z-scored: the second feature dominates


def test_too_few_samples_or_episodes_is_a_clear_error(episodes):
    with pytest.raises(CodebookError, match="lower --n-codebook"):
        build_codebook(episodes, CodebookConfig(n_codebook=500, video_num=-1), n_actions=17)
    with pytest.raises(CodebookError, match="exceeds the 4 training episodes"):
        build_codebook(episodes, CodebookConfig(video_num=50), n_actions=17)


def test_npz_round_trip_and_upstream_pickle(tmp_path):
    codes = np.random.default_rng(0).normal(size=(5, 512)).astype(np.float32)
    book = Codebook(codes=codes, metadata={"N": 5}, source_step=np.arange(5))
    loaded = load_codebook(book.save(tmp_path / "codebook.npz"))
    assert np.array_equal(loaded.codes, codes) and loaded.metadata == {"N": 5}
    assert loaded.get_code(2).shape == (1, 512) and loaded.get_code(2).dtype == np.float32
    with open(tmp_path / "centers.pkl", "wb") as f:
        pickle.dump([c[None].astype(np.float64) for c in codes], f)
    upstream = load_codebook(tmp_path / "centers.pkl")
    assert upstream.N == 5 and np.allclose(upstream.codes, codes)
    with pytest.raises(CodebookError, match="expects 77"):
        upstream.check_dim(77, "the Crafter low level")
    with pytest.raises(CodebookError, match="not found"):
        load_codebook(tmp_path / "missing.npz")
