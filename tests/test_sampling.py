"""Sampling files: seeded split, -1 = all the rest, clear errors when the data is too small."""

import pytest

from steve1.data.sampling.generate_sampling import main
from steve1.data.sampling.sampling_files import SamplingError, make_sampling, read_sampling
from tests.helpers import fake_episode


@pytest.fixture()
def dataset(tmp_path):
    root = tmp_path / "data"
    for i, length in enumerate([100, 120, 90, 110, 130, 20]):
        fake_episode(root / f"ep{i}", length=length, seed=i)
    return root


def test_split_is_seeded_disjoint_and_skips_short_episodes(dataset):
    train, val = make_sampling(dataset, val_frames=150, train_frames=-1, seed=1, min_frames=79)
    assert len(train) + len(val) == 5 and not set(train) & set(val)
    assert dataset / "ep5" not in train + val  # 20 frames < 79
    assert (train, val) == make_sampling(dataset, 150, -1, 1, 79)


def test_too_little_data_names_the_fix(dataset):
    with pytest.raises(SamplingError, match="generate more episodes or lower"):
        make_sampling(dataset, val_frames=300, train_frames=400, seed=1, min_frames=79)


def test_cli_writes_files_and_exits_2_on_bad_request(dataset, tmp_path, capsys):
    out = tmp_path / "samplings"
    main(["--data_dir", str(dataset), "--output_dir", str(out), "--val_frames", "100", "--T", "64"])
    train = read_sampling(out, "seed1", "train")
    val = read_sampling(out, "seed1", "val")
    assert len(train) >= 1 and len(val) >= 1
    main(
        [
            "--data_dir",
            str(dataset),
            "--output_dir",
            str(out),
            "--name",
            "again",
            "--val_from",
            "seed1",
            "--T",
            "64",
        ]
    )
    assert read_sampling(out, "again", "val") == val
    with pytest.raises(SystemExit) as exit_info:
        main(["--data_dir", str(dataset), "--output_dir", str(out), "--val_frames", "10000"])
    assert exit_info.value.code == 2 and "too few" in capsys.readouterr().err
