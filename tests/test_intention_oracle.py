"""experiments/intention_oracle/make_oracle_data.py: one-hot intention goals on twin episodes."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from goal_prior.codebook import load_codebook
from steve1.data.episode_storage import EMBED_OFFSET, open_episodes
from steve1.data.generation.play_agent import INTENTIONS
from steve1.goal_encoders import crafter as crafter_goal
from tests.helpers import fake_dataset

SCRIPT = Path(__file__).resolve().parents[1] / "experiments/intention_oracle/make_oracle_data.py"


def load_script():
    spec = importlib.util.spec_from_file_location("make_oracle_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def add_intentions(data: Path) -> dict[str, np.ndarray]:
    intentions = {}
    for i, episode in enumerate(sorted(data.iterdir())):
        states = dict(np.load(episode / "states.npz"))
        length = len(states["inventory"])
        states["intention"] = (np.arange(length) // 7 + i) % len(INTENTIONS)
        np.savez_compressed(episode / "states.npz", **states)
        intentions[episode.name] = states["intention"]
    return intentions


def test_twins_carry_one_hot_intentions_and_the_same_split(tmp_path):
    samplings = fake_dataset(tmp_path, n=3, length=60, val_frames=60)
    intentions = add_intentions(tmp_path / "data")
    out, out_samplings, codebook = tmp_path / "oracle", tmp_path / "s_oracle", tmp_path / "cb.npz"
    load_script().main(
        ["--data_dir", str(tmp_path / "data"), "--sampling_dir", str(samplings)]
        + ["--out_dir", str(out), "--out_sampling_dir", str(out_samplings)]
        + ["--codebook", str(codebook)]
    )
    for split in ("train", "val"):
        old = (samplings / f"seed1_{split}.txt").read_text().split()
        new = (out_samplings / f"seed1_{split}.txt").read_text().split()
        assert [Path(p).name for p in new] == [Path(p).name for p in old]
        assert all(Path(p).parent == out for p in new)
    for reader in open_episodes(sorted(out.iterdir())):
        source = tmp_path / "data" / reader.path.name
        assert np.array_equal(reader.load_frames(), open_episodes([source])[0].load_frames())
        embeds, intention = reader.load_embeds(), intentions[reader.path.name]
        assert embeds.shape == (len(intention), crafter_goal.EMBED_DIM)
        assert np.isnan(embeds[:EMBED_OFFSET]).all()
        rows = np.arange(EMBED_OFFSET, len(intention))
        assert (embeds[rows, intention[rows]] == 1).all() and embeds[rows].sum() == len(rows)
        assert reader.metadata["embedding"]["name"] == "crafter-intention-oracle"
    codes = load_codebook(codebook).codes
    assert codes.shape == (len(INTENTIONS), crafter_goal.EMBED_DIM)
    assert codes[INTENTIONS.index("collect_drink")].argmax() == INTENTIONS.index("collect_drink")


def test_play_data_without_intentions_is_refused(tmp_path):
    samplings = fake_dataset(tmp_path, n=2, length=60, val_frames=60)
    with pytest.raises(ValueError, match="no per-frame intention"):
        load_script().main(
            ["--data_dir", str(tmp_path / "data"), "--sampling_dir", str(samplings)]
            + ["--out_dir", str(tmp_path / "o"), "--out_sampling_dir", str(tmp_path / "s")]
            + ["--codebook", str(tmp_path / "cb.npz")]
        )
