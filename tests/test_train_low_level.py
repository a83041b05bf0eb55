"""Low-level trainer on the tiny preset: smoke run, outputs, and exact resume after a kill."""

import pytest
import torch

from steve1 import train as train_cli
from steve1.training.loop import Trainer
from tests.helpers import fake_dataset
from VPT.checkpoint import load_model_file, load_policy, read_weights, save_model_file


@pytest.fixture(scope="module")
def samplings(tmp_path_factory):
    return fake_dataset(tmp_path_factory.mktemp("play"), n=5, length=120, val_frames=100)


def args(samplings, out, n_frames=768):
    return [
        "--sampling_dir",
        str(samplings),
        "--preset",
        "tiny",
        "--T",
        "32",
        "--trunc_t",
        "16",
        "--batch_size",
        "4",
        "--n_frames",
        str(n_frames),
        "--warmup_frames",
        "64",
        "--val_freq_begin",
        "4",
        "--val_freq_switch_steps",
        "8",
        "--val_freq",
        "8",
        "--save_freq",
        "4",
        "--out_weights",
        str(out / "w" / "ll.weights"),
        "--checkpoint_dir",
        str(out / "ckpt"),
        "--min_btwn_goals",
        "5",
        "--max_btwn_goals",
        "20",
    ]


def test_smoke_run_writes_weights_model_and_best(samplings, tmp_path):
    train_cli.main(args(samplings, tmp_path))
    out = tmp_path / "w"
    for name in ("ll_latest.weights", "ll_best.weights", "ll_best.json", "ll.model", "meta.json"):
        assert (out / name).is_file(), name
    policy = load_policy(
        out / "ll.model", out / "ll_latest.weights", policy_class=train_cli.EmbedConditionedPolicy
    )
    assert policy.goal_dim == 8 and policy.pi_head.linear_layer.out_features == 17


def test_killed_run_resumes_to_the_same_weights(samplings, tmp_path, monkeypatch, capsys):
    train_cli.main(args(samplings, tmp_path / "a"))
    reference = read_weights(tmp_path / "a" / "w" / "ll_latest.weights")

    real = Trainer._train_slice

    def killed_at_slice_7(self, *a, **k):
        if self.step == 7:
            raise KeyboardInterrupt
        return real(self, *a, **k)

    monkeypatch.setattr(Trainer, "_train_slice", killed_at_slice_7)
    with pytest.raises(KeyboardInterrupt):
        train_cli.main(args(samplings, tmp_path / "b"))
    monkeypatch.setattr(Trainer, "_train_slice", real)
    capsys.readouterr()
    train_cli.main(args(samplings, tmp_path / "b"))
    assert "resumed from" in capsys.readouterr().err
    resumed = read_weights(tmp_path / "b" / "w" / "ll_latest.weights")
    assert reference.keys() == resumed.keys()
    for key, value in reference.items():
        assert torch.equal(value, resumed[key]), key


def test_resuming_with_a_different_model_is_a_clear_error(samplings, tmp_path):
    train_cli.main(args(samplings, tmp_path, n_frames=256))
    with pytest.raises(SystemExit, match="different model.*hidsize"):
        train_cli.main([*args(samplings, tmp_path, n_frames=512), "--preset", "crafter"])


def test_unaligned_budget_ends_on_a_saved_boundary(samplings, tmp_path):
    """n_frames that is not a whole number of batches rounds up, so the end is saved exactly."""
    train_cli.main(args(samplings, tmp_path, n_frames=700))  # 10.9 slices of 64 frames
    last = sorted((tmp_path / "ckpt").iterdir())[-1]
    assert last.name == "ckpt_000000012.pt"
    saved = torch.load(last, weights_only=False)["model"]
    latest = read_weights(tmp_path / "w" / "ll_latest.weights")
    assert all(torch.equal(saved[k], latest[k]) for k in latest)


def test_accelerate_and_plain_process_train_alike(samplings, tmp_path):
    pytest.importorskip("accelerate", reason="HF accelerate is optional")
    train_cli.main([*args(samplings, tmp_path / "a", n_frames=256), "--accelerate"])
    train_cli.main([*args(samplings, tmp_path / "b", n_frames=256), "--no-accelerate"])
    a = read_weights(tmp_path / "a" / "w" / "ll_latest.weights")
    b = read_weights(tmp_path / "b" / "w" / "ll_latest.weights")
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--change_weight", "0", "must be > 0"),
        ("--event_weight", "-1", "must be > 0"),
        ("--event_window", "0", "must be >= 1"),
    ],
)
def test_loss_weight_flags_are_checked_before_loading_data(tmp_path, capsys, flag, value, message):
    with pytest.raises(SystemExit):
        train_cli.main(["--sampling_dir", str(tmp_path / "missing"), flag, value])
    assert f"argument {flag}: {message}" in capsys.readouterr().err


def test_loss_weights_reach_the_training_chunks_only(samplings, tmp_path, monkeypatch):
    import steve1.training.cli as cli

    seen = {}

    class Stub:
        def __init__(self, objective, train, val, cfg):
            seen["train"], seen["val"] = train, val

        def run(self):
            return {}

    monkeypatch.setattr(cli, "Trainer", Stub)
    argv = args(samplings, tmp_path) + ["--change_weight", "3", "--event_weight", "2"]
    train_cli.main(argv + ["--event_window", "4"])
    assert (seen["train"].change_weight, seen["train"].event_weight) == (3.0, 2.0)
    assert (seen["val"].change_weight, seen["val"].event_weight) == (1.0, 1.0)


def test_freeze_encoder_keeps_the_image_encoder(samplings, tmp_path):
    train_cli.main(args(samplings, tmp_path / "a", n_frames=256))
    start = tmp_path / "a" / "w" / "ll_latest.weights"
    train_cli.main(
        args(samplings, tmp_path / "b", n_frames=256)
        + ["--in_weights", str(start), "--freeze_encoder"]
    )
    before, after = read_weights(start), read_weights(tmp_path / "b" / "w" / "ll_latest.weights")
    encoder = [k for k in before if k.startswith("net.img_process.")]
    assert encoder and all(torch.equal(before[k], after[k]) for k in encoder)
    assert any(not torch.equal(before[k], after[k]) for k in before if k not in encoder)


def test_goal_layers_start_at_zero_from_weights_without_them(samplings, tmp_path):
    """`--in_weights` of a low level without FiLM or goal experts into a `.model` with all of
    them: they are the only keys allowed to be missing, their outputs start at zero and train."""
    train_cli.main(args(samplings, tmp_path / "a", n_frames=256))
    start = tmp_path / "a" / "w" / "ll_latest.weights"
    spec = load_model_file(tmp_path / "a" / "w" / "ll.model")
    film_kwargs = {
        **spec.policy_kwargs,
        "goal_film": True,
        "goal_film_cnn": True,
        "goal_experts": 3,
        "goal_expert_rank": 4,
    }
    save_model_file(tmp_path / "film.model", film_kwargs, spec.pi_head_kwargs, spec.action_space)
    argv = args(samplings, tmp_path / "b", n_frames=256)
    argv[argv.index("--preset") : argv.index("--preset") + 2] = []
    train_cli.main(argv + ["--in_model", str(tmp_path / "film.model"), "--in_weights", str(start)])
    after = read_weights(tmp_path / "b" / "w" / "ll_latest.weights")
    assert set(after) - set(read_weights(start)) == {
        "net.goal_film.weight",
        "net.goal_film_cnn.weight",
        "net.goal_gate.weight",
        "net.goal_gate.bias",
        "net.goal_expert_in",
        "net.goal_expert_out",
        "net.goal_expert_bias",
    }
    for key in ("goal_film.weight", "goal_film_cnn.weight", "goal_expert_out", "goal_expert_bias"):
        assert after[f"net.{key}"].abs().max() > 0  # trained away from zero
