"""Goal-prior trainer on the tiny preset: labels by cosine, smoke run, validating saved weights,
wrong-codebook error."""

import json

import numpy as np
import pytest

from goal_prior import train as prior_cli
from goal_prior.codebook import Codebook
from goal_prior.prior_objective import nearest_codes
from tests.helpers import fake_dataset
from VPT.checkpoint import load_policy


def test_labels_are_the_cosine_nearest_codes():
    codes = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    goals = np.array([[[5.0, 0.1], [0.2, 3.0], [-0.1, -0.01]]])
    assert nearest_codes(goals, codes).tolist() == [[0, 1, 2]]


@pytest.fixture()
def setup(tmp_path):
    fake_dataset(tmp_path, n=4, length=100, val_frames=90)
    codes = np.random.default_rng(0).normal(size=(6, 8)).astype(np.float32)
    Codebook(codes=codes).save(tmp_path / "codebook.npz")
    return tmp_path


def prior_args(tmp_path, codebook):
    return [
        "--sampling_dir",
        str(tmp_path / "samplings"),
        "--codebook_path",
        str(codebook),
        "--preset",
        "tiny",
        "--T",
        "32",
        "--trunc_t",
        "16",
        "--batch_size",
        "4",
        "--n_frames",
        "256",
        "--out_weights",
        str(tmp_path / "w" / "prior.weights"),
        "--checkpoint_dir",
        str(tmp_path / "ckpt"),
        "--val_freq_begin",
        "2",
    ]


def test_smoke_run_has_an_n_way_head(setup):
    prior_cli.main(prior_args(setup, setup / "codebook.npz"))
    policy = load_policy(setup / "w" / "prior.model", setup / "w" / "prior_latest.weights")
    assert policy.pi_head.linear_layer.out_features == 6


def test_eval_only_reproduces_the_best_validation_and_writes_nothing(setup, capsys):
    prior_cli.main(prior_args(setup, setup / "codebook.npz"))
    best = json.loads((setup / "w" / "prior_best.json").read_text())
    out = setup / "eval"
    args = prior_args(setup, setup / "codebook.npz")
    args[args.index("--out_weights") + 1] = str(out / "w" / "x.weights")
    args[args.index("--checkpoint_dir") + 1] = str(out / "ckpt")
    model, weights = setup / "w" / "prior.model", setup / "w" / "prior_best.weights"
    args += ["--in_model", str(model), "--in_weights", str(weights), "--eval_only"]
    metrics = prior_cli.main(args)
    assert metrics["prior_acc"] == pytest.approx(best["prior_acc"])
    assert metrics["prior_nll"] == pytest.approx(best["prior_nll"], rel=1e-5)
    assert not out.exists()
    assert f"validation of {weights}" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="--eval_only validates --in_weights"):
        prior_cli.main([*prior_args(setup, setup / "codebook.npz"), "--eval_only"])


def test_codebook_of_the_wrong_size_is_a_clear_error(setup):
    Codebook(codes=np.zeros((6, 5), np.float32)).save(setup / "bad.npz")
    with pytest.raises(SystemExit, match="5 dims but the episodes' goal embeddings expects 8"):
        prior_cli.main(prior_args(setup, setup / "bad.npz"))


def test_label_stats_match_the_trainers_validation_labels(setup):
    from goal_prior.label_stats import summarize, validation_labels

    labels = validation_labels(setup / "codebook.npz", setup / "samplings", "seed1", (32, 5, 20), 1)
    assert labels.min() >= 0 and labels.max() < 6
    s = summarize(labels, 6)
    counts = np.bincount(labels, minlength=6)
    assert s["frames"] == len(labels) and s["most_common_code"] == int(np.argmax(counts))
    assert s["most_common_freq"] == pytest.approx(counts.max() / len(labels))
    assert s["codes_used"] == int((counts > 0).sum())
    assert summarize(np.zeros(10, int), 6)["entropy"] == 0.0
