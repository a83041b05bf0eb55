"""On-policy play: the low level takes the wheel only for intentions that a code holds."""

import numpy as np
import pytest
import torch

from goal_prior.codebook import Codebook
from hierarchical import dagger_play
from hierarchical.dagger_play import DriverSettings, LearnerDriver
from steve1.data.episode_storage import EpisodeReader, list_episodes
from steve1.embed_conditioned_policy import EmbedConditionedPolicy
from steve1.goal_encoders.crafter import EMBED_DIM, feature_names
from VPT.checkpoint import save_policy
from VPT.presets import get_preset


def tiny_driver(segment_steps=(3, 3), rate=1.0) -> LearnerDriver:
    torch.manual_seed(0)
    p = get_preset("tiny")
    policy = EmbedConditionedPolicy(p.policy_kwargs, 17, p.pi_head_kwargs, goal_dim=EMBED_DIM)
    codes = np.zeros((2, EMBED_DIM), np.float32)
    codes[1, feature_names().index("event:collect_drink")] = 1
    settings = DriverSettings("cb.npz", "m", "w", segment_rate=rate, segment_steps=segment_steps)
    return LearnerDriver(policy, Codebook(codes=codes), settings)


def test_the_low_level_drives_segments_of_its_intentions_code_only():
    driver = tiny_driver()
    driver.reset(np.random.default_rng(0))
    obs = np.zeros((64, 64, 3), np.uint8)
    # No code holds exploring: the agent keeps the wheel.
    assert all(driver.act(obs, "explore", 1) is None for _ in range(5))
    # A drink code exists: a 3-step segment with that code, then the agent again.
    taken = [driver.act(obs, "collect_drink", 1) for _ in range(3)]
    assert all(isinstance(a, int) and 0 <= a < 17 for a in taken)
    assert driver.code is None  # the segment ended (at this rate the next one starts at once)
    # A change of intention ends a segment at once.
    driver.reset(np.random.default_rng(1))
    assert driver.act(obs, "collect_drink", 1) is not None and driver.code == 1
    assert driver.act(obs, "collect_wood", 1) is None and driver.code is None


def test_segments_start_at_the_drawn_rate():
    driver = tiny_driver(segment_steps=(1, 1), rate=0.1)
    driver.reset(np.random.default_rng(0))
    obs = np.zeros((64, 64, 3), np.uint8)
    took = np.array([driver.act(obs, "collect_drink", 1) is not None for _ in range(2000)])
    assert 0.06 < took.mean() < 0.12  # one step per segment; a wait of mean 10 between


def test_cli_writes_labelled_episodes_and_names_a_missing_file(tmp_path, capsys):
    policy = tiny_driver().agent.policy
    save_policy(policy, tmp_path / "m.model", tmp_path / "m.weights")
    codes = np.zeros((2, EMBED_DIM), np.float32)
    codes[:, [i for i, n in enumerate(feature_names()) if n.startswith("event:")]] = 1
    Codebook(codes=codes).save(tmp_path / "cb.npz")
    common = ["--output_dir", str(tmp_path / "out"), "--num_episodes", "1", "--num_workers", "1"]
    common += ["--max_steps", "60", "--no-stats", "--codebook", str(tmp_path / "cb.npz")]
    common += ["--in_model", str(tmp_path / "m.model"), "--segment_rate", "0.2"]
    with pytest.raises(SystemExit):
        dagger_play.main([*common, "--in_weights", str(tmp_path / "missing.weights")])
    assert "missing.weights does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        dagger_play.main([*common, "--in_weights", str(tmp_path / "m.weights"), "--facing_noise"])
    assert "--facing_noise cannot be used here" in capsys.readouterr().err
    dagger_play.main([*common, "--in_weights", str(tmp_path / "m.weights")])
    (path,) = list_episodes(tmp_path / "out")
    reader = EpisodeReader(path)
    states = reader.load_states()
    assert len(reader) == 60 and states["driven"].shape == (60,) and states["driven"].any()
    assert reader.metadata["generator"]["driver"]["name"] == "low_level"


def test_an_episode_comes_out_the_same_whatever_came_before(tmp_path):
    """The driver's choices and the low level's sampling are seeded per episode."""
    from steve1.data.generation import generate_crafter_play as gen

    driver = tiny_driver(segment_steps=(5, 20), rate=0.2)
    driver.codes_of = {event: [1] for event in driver.codes_of}  # drive for every achievement
    cfg = gen.PlayConfig(tmp_path, seed=3, max_steps=120)
    first = gen.play_episode(cfg, 1, driver=driver)
    gen.play_episode(cfg, 0, driver=driver)
    again = gen.play_episode(cfg, 1, driver=driver)
    assert first["states"]["driven"].any()
    np.testing.assert_array_equal(first["states"]["executed"], again["states"]["executed"])
    np.testing.assert_array_equal(first["states"]["driven"], again["states"]["driven"])
    np.testing.assert_array_equal(first["frames"], again["frames"])


def test_the_low_levels_memory_is_cleared_before_each_segment(monkeypatch):
    driver = tiny_driver(segment_steps=(2, 2), rate=0.05)
    driver.reset(np.random.default_rng(0))
    resets = []
    monkeypatch.setattr(driver.agent, "reset", lambda *a: resets.append(driver.wait))
    starts = []
    start = driver._start
    monkeypatch.setattr(driver, "_start", lambda i: (starts.append(len(resets)), start(i)))
    obs = np.zeros((64, 64, 3), np.uint8)
    for _ in range(600):
        driver.act(obs, "collect_drink", 1)
    # one reset before each segment, at most MEMORY_LEAD steps before it
    assert len(starts) >= 5 and starts == list(range(1, len(starts) + 1))
    assert all(wait <= dagger_play.MEMORY_LEAD for wait in resets)
