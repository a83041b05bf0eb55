"""Episode storage: round trip, frame ranges, atomic writes, corrupt episodes reported and skipped."""

import numpy as np
import pytest

from steve1.data import episode_storage as storage
from steve1.data.episode_storage import (
    CorruptEpisodeError,
    EpisodeReader,
    list_episodes,
    open_episodes,
)
from tests.helpers import fake_episode


def test_round_trip_and_frame_ranges(tmp_path):
    path = fake_episode(tmp_path / "ep0", length=600)
    reader = EpisodeReader(path)
    frames = reader.load_frames()
    assert len(reader) == 600 and frames.shape == (600, 64, 64, 3)
    # ranges inside one chunk, across a chunk boundary, empty, and at the very end
    for start, stop in [(3, 9), (250, 260), (255, 513), (40, 40), (599, 600)]:
        assert np.array_equal(reader.load_frames(start, stop), frames[start:stop])
    assert np.isnan(reader.load_embeds()[: storage.EMBED_OFFSET]).all()
    assert not np.isnan(reader.load_embeds()[storage.EMBED_OFFSET :]).any()
    assert reader.load_states()["inventory"].shape == (600, 16)
    assert reader.metadata["seed"] == 0 and reader.metadata["length"] == 600
    with pytest.raises(IndexError):
        reader.load_frames(590, 601)


def test_mismatched_lengths_write_nothing(tmp_path):
    frames = np.zeros((20, 64, 64, 3), np.uint8)
    with pytest.raises(ValueError, match="actions has 19 rows"):
        storage.write_episode(tmp_path / "ep", frames, np.zeros(19), np.zeros((20, 4)), {})
    assert list(tmp_path.iterdir()) == []


def test_interrupted_write_leaves_no_partial_episode(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(storage.np, "savez_compressed", boom)
    with pytest.raises(KeyboardInterrupt):
        fake_episode(tmp_path / "ep", length=30)
    assert list(tmp_path.iterdir()) == []


def _corrupt(path, how):
    if how == "missing":
        (path / "embeds.npy").unlink()
    elif how == "truncated_frames":
        data = (path / "frames.npz").read_bytes()
        (path / "frames.npz").write_bytes(data[: len(data) // 2])
    elif how == "bad_len":
        (path / "len.txt").write_text("999\n")
    elif how == "bad_json":
        (path / "metadata.json").write_text("{not json")


@pytest.mark.parametrize("how", ["missing", "truncated_frames", "bad_len", "bad_json"])
def test_corrupt_episode_reported_by_path_and_skipped(tmp_path, capsys, how):
    good = fake_episode(tmp_path / "ep_good", length=40)
    bad = fake_episode(tmp_path / "ep_bad", length=40, seed=1)
    _corrupt(bad, how)
    with pytest.raises(CorruptEpisodeError, match="ep_bad"):
        EpisodeReader(bad)
    readers = open_episodes(list_episodes(tmp_path))
    assert [r.path for r in readers] == [good]
    err = capsys.readouterr().err
    assert "ep_bad" in err and "skipped 1 corrupt episode(s) of 2" in err


def test_corrupt_frame_chunk_raises_on_read(tmp_path):
    path = fake_episode(tmp_path / "ep", length=300)
    reader = EpisodeReader(path)
    data = bytearray((path / "frames.npz").read_bytes())
    data[200:400] = b"\0" * 200  # damage the first chunk's compressed bytes
    (path / "frames.npz").write_bytes(bytes(data))
    with pytest.raises(CorruptEpisodeError, match="frames.npz"):
        reader.load_frames(0, 10)


def test_missing_dataset_dir_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list_episodes(tmp_path / "nope")
