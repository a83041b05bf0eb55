"""Contractor conversion, offline: a small mp4 and jsonl written here, a stand-in embedder.

Every video frame carries its own index as a row of black/white blocks, so the tests can tell which
source frame ended up at each kept position, in the stored frames and in each embedded window.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from steve1.data.episode_storage import (
    EMBED_OFFSET,
    EpisodeReader,
    pack_dict_actions,
    unpack_dict_actions,
)
from steve1.data.generation import contractor_source
from steve1.data.generation import convert_from_contractor as cli
from steve1.data.generation.contractor import (
    FAILED_LOG,
    SHORT_LOG,
    ConvertConfig,
    convert,
    converted_keys,
    store_actions,
)
from steve1.data.generation.contractor_actions import (
    ContractorFormatError,
    parse_steps,
    read_jsonl,
)
from steve1.data.generation.contractor_embed import MineCLIPEmbedder, WindowStream
from steve1.data.generation.contractor_frames import CURSOR_RGBA, draw_cursor
from steve1.data.generation.contractor_source import load_index, select_shard
from steve1.goal_encoders.mineclip import MineCLIP, MineCLIPConfig
from VPT.actions import ACTION_KEYS, action_to_index

WIDTH, HEIGHT, BLOCK = 128, 72, 16  # video size; frame-index code blocks in the top row
N_LINES = 40
NULL_LINES = {5, 10, 11, 20}
GUI_LINES = {25, 26, 27}
KEPT = [i for i in range(N_LINES) if i not in NULL_LINES]  # source line of each kept frame


def coded_frame(index: int) -> np.ndarray:
    """Grey BGR frame whose top row of 16x16 blocks spells `index` in binary."""
    frame = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
    for bit in range(WIDTH // BLOCK):
        frame[:BLOCK, bit * BLOCK : (bit + 1) * BLOCK] = 255 if index >> bit & 1 else 0
    return frame


def read_code(image: np.ndarray, block_height: int = BLOCK) -> int:
    """The index spelled by `coded_frame` in an (H, W, C) or (C, H, W) image of the same width."""
    if image.shape[0] == 3:
        image = image.transpose(1, 2, 0)
    width = image.shape[1] // (WIDTH // BLOCK)
    row = image[block_height // 2, width // 2 :: width, 0]
    return sum(1 << bit for bit, value in enumerate(row) if value > 128)


def line(keys=(), buttons=(), new=(), dx=0.0, dy=0.0, hotbar=0, gui=False) -> dict:
    """One recording line in the contractor format (fields the converter reads, and a few more)."""
    return {
        "mouse": {
            "x": 640.0,
            "y": 360.0,
            "dx": dx,
            "dy": dy,
            "dwheel": 0.0,
            "buttons": list(buttons),
            "newButtons": list(new),
        },
        "keyboard": {"keys": list(keys), "newKeys": [], "chars": ""},
        "isGuiOpen": gui,
        "hotbar": hotbar,
        "tick": 0,
    }


def recording() -> list[dict]:
    """40 lines: stuck attack at the start, 4 null lines, a scroll-wheel hotbar change, cameras,
    and three GUI lines."""
    w, lines = ["key.keyboard.w"], []
    for i in range(N_LINES):
        hotbar = 2 if i >= 12 else 0
        if i in NULL_LINES:
            lines.append(line(hotbar=hotbar))
        elif i == 0:
            lines.append(line(w, buttons=[0], new=[0]))  # attack held from before: stuck
        elif i < 5:
            lines.append(line(w, buttons=[0]))
        elif i == 6:
            lines.append(line(buttons=[0], new=[0]))  # a new press: attack counts again
        elif i == 12:
            lines.append(line(hotbar=2))  # scroll wheel: nothing but the hotbar change
        elif i == 13:
            lines.append(line(dx=10.0, dy=3.0, hotbar=2))
        elif i == 14:
            lines.append(line(dx=-37.5, dy=37.5, hotbar=2))
        else:
            lines.append(line(w, buttons=[0] if i < 10 else [], hotbar=hotbar, gui=i in GUI_LINES))
    return lines


def write_episode_files(folder: Path, name: str, n_frames: int = N_LINES) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    fourcc = cv2.VideoWriter_fourcc(*"mp4v")
    writer = cv2.VideoWriter(str(folder / f"{name}.mp4"), fourcc, 20, (WIDTH, HEIGHT))
    for i in range(n_frames):
        writer.write(coded_frame(i))
    writer.release()
    lines = "".join(json.dumps(r) + "\n" for r in recording())
    (folder / f"{name}.jsonl").write_text(lines + "\n")  # a trailing blank line is tolerated


def write_index(root: Path, names: list[str], basedir: str = "eps") -> Path:
    path = root / "index.json"
    path.write_text(json.dumps({"basedir": basedir, "relpaths": [f"{n}.mp4" for n in names]}))
    return path


class StandInEmbedder:
    """Full-size frames in; per window: (index of its last frame, index of its first frame)."""

    resolution = (HEIGHT, WIDTH)
    dim = 2

    def __init__(self) -> None:
        self.batches: list[int] = []

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        assert windows.shape[1:] == (16, 3, HEIGHT, WIDTH) and windows.dtype == np.uint8
        self.batches.append(len(windows))
        return np.array([[read_code(w[-1]), read_code(w[0])] for w in windows], np.float32)

    def describe(self) -> dict:
        return {"name": "stand-in", "dim": self.dim}


def config(tmp_path: Path, **kwargs) -> ConvertConfig:
    defaults = {"output_dir": tmp_path / "out", "cache_dir": tmp_path / "cache", "min_timesteps": 1}
    return ConvertConfig(**{**defaults, **kwargs})


@pytest.fixture
def one_episode(tmp_path: Path) -> list:
    write_episode_files(tmp_path / "eps", "a")
    return load_index("8.x", tmp_path / "cache", write_index(tmp_path, ["a"]))


def test_recording_rules_stuck_attack_hotbar_null_camera():
    steps = parse_steps(recording())
    assert [i for i, s in enumerate(steps) if s.is_null] == sorted(NULL_LINES)
    assert list(steps[0].action) == list(ACTION_KEYS)
    assert [s.action["attack"] for s in steps[:10]] == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
    assert steps[0].action["forward"] == 1
    hotbar = [i for i, s in enumerate(steps) if s.action["hotbar.3"]]
    assert hotbar == [12] and not steps[12].is_null  # scroll-wheel change kept (documented)
    np.testing.assert_allclose(steps[13].action["camera"], [0.45, 1.5])
    np.testing.assert_allclose(steps[14].action["camera"], [5.625, -5.625])
    truncated = parse_steps(recording(), truncate_camera=True)
    assert truncated[13].action["camera"].tolist() == [0, 1]
    assert truncated[14].action["camera"].tolist() == [5, -5]
    assert [s.gui_open for s in steps].count(True) == 3 and steps[25].cursor == (640.0, 360.0)


def test_bad_recordings_name_the_line(tmp_path):
    bad = recording()
    del bad[3]["hotbar"]
    with pytest.raises(ContractorFormatError, match="line 4: KeyError"):
        parse_steps(bad)
    (tmp_path / "x.jsonl").write_text('{"mouse": {}}\n{oops\n')
    with pytest.raises(ContractorFormatError, match="line 2: not JSON"):
        read_jsonl(tmp_path / "x.jsonl")


def test_cursor_is_drawn_at_the_scaled_mouse_position_and_clipped():
    frame = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
    draw_cursor(frame, 640.0, 360.0)  # 1280x720 screen -> scale 0.1 -> tip at (64, 36)
    changed = np.argwhere((frame != 128).any(-1))
    assert changed.min(0).tolist() == [36, 64] and changed.max(0).tolist() <= [51, 79]
    assert frame[36, 64].tolist() == [0, 0, 0] and (frame == 255).any()
    edge = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
    draw_cursor(edge, 1270.0, -50.0)  # partly outside: clipped, no error
    draw_cursor(edge, 5000.0, 5000.0)  # wholly outside: nothing drawn
    assert CURSOR_RGBA.shape == (16, 16, 4) and (edge[:, 127] != 128).any()


def test_window_stream_batches_and_alignment():
    frames = [np.full((3, 2, 2), i, np.uint8) for i in range(30)]

    class Embed:
        resolution, dim = (2, 2), 2

        def __call__(self, windows):
            return windows[:, [-1, 0], 0, 0, 0].astype(np.float32)

    results = []
    for batch in (1, 4, 100):
        stream = WindowStream(Embed(), batch)
        for frame in frames:
            stream.push(frame)
        results.append(stream.finish())
        assert len(stream.buffer) <= EMBED_OFFSET + batch
    for out in results:
        assert np.isnan(out[:EMBED_OFFSET]).all()
        np.testing.assert_array_equal(out[EMBED_OFFSET:, 0], np.arange(15, 30))
        np.testing.assert_array_equal(out[EMBED_OFFSET:, 1], np.arange(0, 15))


def test_converts_frames_actions_embeds(tmp_path, one_episode):
    embedder = StandInEmbedder()
    summary = convert(one_episode, config(tmp_path, batch_size=4), embedder)
    assert (summary.converted, summary.frames, summary.failed) == (1, len(KEPT), [])
    (path,) = (tmp_path / "out").iterdir()
    assert path.name == f"contractor_8_x_0_contractor_nmFrm{len(KEPT)}_term"
    reader = EpisodeReader(path)
    frames = reader.load_frames()
    assert frames.shape == (len(KEPT), 128, 128, 3)
    assert [read_code(f, block_height=28) for f in frames] == KEPT  # BGR->RGB grey is unchanged
    actions = unpack_dict_actions(reader.load_actions())
    assert list(actions) == list(ACTION_KEYS) and actions["forward"].dtype == np.uint8
    assert actions["attack"][:9].tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1]
    np.testing.assert_allclose(actions["camera"][KEPT.index(13)], [0.45, 1.5])
    assert actions["hotbar.3"].nonzero()[0].tolist() == [KEPT.index(12)]
    assert action_to_index(actions)["buttons"].shape == (len(KEPT),)  # VPT's mapping takes them
    embeds = reader.load_embeds()
    assert np.isnan(embeds[:EMBED_OFFSET]).all()
    expected = [[KEPT[t], KEPT[t - EMBED_OFFSET]] for t in range(EMBED_OFFSET, len(KEPT))]
    np.testing.assert_array_equal(embeds[EMBED_OFFSET:], expected)
    assert embedder.batches == [4, 4, 4, 4, 4, 1]  # 21 windows in batches of --batch_size
    meta = reader.metadata
    assert meta["world"] == "minecraft" and meta["contractor_version"] == "8.x"
    assert meta["null_actions_dropped"] == len(NULL_LINES) and meta["missing_frames"] == 0
    assert meta["embedding"] == {"name": "stand-in", "dim": 2}
    assert not any((tmp_path / "cache").iterdir())  # local sources are read in place


def test_cursor_only_on_gui_frames_and_truncated_cameras(tmp_path, one_episode):
    convert(one_episode, config(tmp_path, truncate_camera=True), StandInEmbedder())
    reader = EpisodeReader(next((tmp_path / "out").iterdir()))
    frames = reader.load_frames()
    # The cursor's box in the 128x128 frame: x 64..80, y 36..52 scaled by 128/72.
    box = frames[:, 64:92, 64:80].reshape(len(frames), -1)
    with_cursor = [KEPT[k] for k in range(len(frames)) if (np.abs(box[k] - 128.0) > 40).any()]
    assert with_cursor == sorted(GUI_LINES)
    camera = unpack_dict_actions(reader.load_actions())["camera"]
    assert camera.dtype == np.int64 and camera[KEPT.index(14)].tolist() == [5, -5]
    assert reader.metadata["generator"]["truncate_camera"] is True


def test_failures_reported_run_continues_and_retried(tmp_path, capsys):
    write_episode_files(tmp_path / "eps", "good")
    write_episode_files(tmp_path / "eps", "corrupt")
    (tmp_path / "eps" / "corrupt.mp4").write_bytes(b"not a video" * 50)
    write_episode_files(tmp_path / "eps", "nojsonl")
    (tmp_path / "eps" / "nojsonl.jsonl").unlink()
    index = write_index(tmp_path, ["corrupt", "nojsonl", "good"])
    episodes = load_index("9.x", tmp_path / "cache", index)
    cfg = config(tmp_path)
    summary = convert(episodes, cfg, StandInEmbedder())
    assert summary.converted == 1 and len(summary.failed) == 2  # the run went on past failures
    log = [json.loads(x) for x in (tmp_path / "out" / FAILED_LOG).read_text().splitlines()]
    stage = {e["episode"]: e["stage"] for e in log}
    reason = {e["episode"]: e["reason"] for e in log}
    assert stage == {"contractor_9_x_0": "decode", "contractor_9_x_1": "download"}
    assert "cannot open" in reason["contractor_9_x_0"]
    assert "nojsonl.jsonl" in reason["contractor_9_x_1"]
    assert "failed contractor_9_x_0 (decode)" in capsys.readouterr().err
    assert "2 failed" in summary.line(cfg) and FAILED_LOG in summary.line(cfg)

    again = convert(episodes, cfg, StandInEmbedder())  # retried, still broken; good one skipped
    assert (again.converted, again.already_done, len(again.failed)) == (0, 1, 2)
    write_episode_files(tmp_path / "eps", "corrupt")
    write_episode_files(tmp_path / "eps", "nojsonl")
    fixed = convert(episodes, cfg, StandInEmbedder())
    assert (fixed.converted, fixed.failed) == (2, [])
    assert not (tmp_path / "out" / FAILED_LOG).exists()
    assert converted_keys(tmp_path / "out") == {f"contractor_9_x_{i}" for i in range(3)}
    assert convert(episodes, cfg, StandInEmbedder()).converted == 0  # resume: nothing left


def test_short_episodes_skipped_without_fetching_the_video(tmp_path, one_episode):
    (tmp_path / "eps" / "a.mp4").rename(tmp_path / "a.mp4")  # the video is never needed
    summary = convert(one_episode, config(tmp_path, min_timesteps=len(KEPT) + 1), StandInEmbedder())
    assert (summary.too_short, summary.failed) == (1, [])
    assert json.loads((tmp_path / "out" / SHORT_LOG).read_text())["kept"] == len(KEPT)
    (tmp_path / "eps" / "a.jsonl").rename(tmp_path / "a.jsonl")  # nor the recording, next time
    again = convert(one_episode, config(tmp_path, min_timesteps=len(KEPT) + 1), StandInEmbedder())
    assert (again.too_short, again.failed) == (1, [])
    for name in ("a.mp4", "a.jsonl"):
        (tmp_path / name).rename(tmp_path / "eps" / name)
    lower = convert(one_episode, config(tmp_path, min_timesteps=len(KEPT)), StandInEmbedder())
    assert lower.converted == 1 and not (tmp_path / "out" / SHORT_LOG).exists()


def test_short_video_ends_the_episode(tmp_path):
    write_episode_files(tmp_path / "eps", "a", n_frames=30)
    episodes = load_index("8.x", tmp_path / "cache", write_index(tmp_path, ["a"]))
    assert convert(episodes, config(tmp_path), StandInEmbedder()).converted == 1
    reader = EpisodeReader(next((tmp_path / "out").iterdir()))
    assert len(reader) == len([i for i in KEPT if i < 30])
    assert reader.metadata["missing_frames"] == 10


def test_select_shard():
    assert select_shard(1000, 0, 200, 0) == list(range(200))
    assert select_shard(1000, 0, 200, 3) == list(range(600, 800))  # upstream's blocks
    assert select_shard(1000, 50, 200, 1) == list(range(250, 450))
    assert select_shard(10, 0, 4, 2) == [8, 9] and select_shard(10, 0, 4, 3) == []
    assert select_shard(10, 3, -1, 0) == list(range(3, 10))
    assert select_shard(10, 3, -1, 1, num_workers=3) == [4, 7]


def test_index_urls_and_file_urls(tmp_path):
    assert contractor_source.index_url("7.x").endswith("/snapshots/all_7xx_Apr_6.json")
    with pytest.raises(ValueError, match="unknown index"):
        contractor_source.index_url("5.x")
    write_episode_files(tmp_path / "eps", "a")
    url = (tmp_path / "eps").as_uri() + "/"
    episodes = load_index("10.x", tmp_path, write_index(tmp_path, ["a"], basedir=url))
    assert episodes[0].video == url + "a.mp4" and episodes[0].recording == url + "a.jsonl"
    assert convert(episodes, config(tmp_path), StandInEmbedder()).converted == 1
    contractor_source.download(url + "a.jsonl", tmp_path / "copy.jsonl")  # urllib's own path
    assert (tmp_path / "copy.jsonl").read_bytes() == (tmp_path / "eps" / "a.jsonl").read_bytes()
    with pytest.raises(OSError, match="download of .*missing.jsonl failed"):
        contractor_source.download(url + "missing.jsonl", tmp_path / "m.jsonl", attempts=1)
    assert not list(tmp_path.glob("*.part"))


@pytest.fixture
def stand_in_cli(monkeypatch):
    monkeypatch.setattr(cli.MineCLIPEmbedder, "load", staticmethod(lambda *a: StandInEmbedder()))


def test_cli_shards_by_worker(tmp_path, stand_in_cli, capsys):
    write_episode_files(tmp_path / "eps", "a")
    index = write_index(tmp_path, ["a"] * 4)
    base = ["--index_file", str(index), "--index", "6.x", "--min_timesteps", "1"]
    base += ["--cache_dir", str(tmp_path / "cache")]
    for worker in (0, 1):
        out = tmp_path / f"w{worker}"
        cli.main(base + ["--output_dir", str(out), "--num_episodes", "-1", "--num_workers", "2",
                         "--worker_id", str(worker)])  # fmt: skip
        assert converted_keys(out) == {f"contractor_6_x_{i}" for i in (worker, worker + 2)}
    block = ["--output_dir", str(tmp_path / "b"), "--num_episodes", "1", "--worker_id", "2"]
    cli.main(base + block)
    assert converted_keys(tmp_path / "b") == {"contractor_6_x_2"}
    assert "converted 1 episode(s)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(base + ["--num_workers", "2"])  # --num_workers only splits --num_episodes -1


def test_cli_missing_mineclip_weights_say_how_to_fetch(tmp_path):
    missing = tmp_path / "nowhere" / "mineclip_attn.pth"
    with pytest.raises(SystemExit, match=r"nowhere/mineclip_attn\.pth.*bash downloads\.sh"):
        cli.main(["--mineclip_path", str(missing), "--output_dir", str(tmp_path / "out")])


def test_mineclip_embedder_wraps_the_model():
    torch.manual_seed(0)
    model = MineCLIP(MineCLIPConfig.tiny())
    embedder = MineCLIPEmbedder(model)
    height, width = embedder.resolution
    windows = np.random.default_rng(0).integers(0, 256, (2, 16, 3, height, width), np.uint8)
    out = embedder(windows)
    with torch.no_grad():
        expected = model.encode_video(torch.from_numpy(windows)).numpy()
    assert out.shape == (2, embedder.dim) and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    assert embedder.describe()["name"] == "mineclip-attn"


def test_embedder_errors_are_episode_failures(tmp_path, one_episode):
    class Broken(StandInEmbedder):
        def __call__(self, windows):
            raise RuntimeError("out of memory")

    summary = convert(one_episode, config(tmp_path), Broken())
    assert [(f["stage"], f["reason"]) for f in summary.failed] == [
        ("embed", "RuntimeError: out of memory")
    ]
    assert converted_keys(tmp_path / "out") == set()


def test_dict_actions_storage_round_trip():
    steps = parse_steps(recording(), truncate_camera=True)
    records = store_actions([s.action for s in steps])
    assert records.shape == (N_LINES,) and records.dtype.names == ACTION_KEYS
    actions = unpack_dict_actions(records)
    assert actions["camera"].shape == (N_LINES, 2) and actions["camera"].dtype == np.int64
    with pytest.raises(ValueError, match="one length"):
        pack_dict_actions({"jump": np.zeros(3), "camera": np.zeros((4, 2))})
    with pytest.raises(ValueError, match="not dict actions"):
        unpack_dict_actions(np.zeros(3, np.int64))
