"""Play-data generation: files, determinism, resume, shards, interruption, bad output dir."""

import numpy as np
import pytest

from steve1.data.episode_storage import EpisodeReader, list_episodes
from steve1.data.generation import generate_crafter_play as gen
from steve1.data.generation.play_stats import play_stats
from steve1.goal_encoders import crafter as crafter_goal
from steve1.goal_encoders.reembed import reembed_episode


def config(path, n=2):
    return gen.PlayConfig(output_dir=path, num_episodes=n, seed=3, max_steps=40)


def test_generates_complete_deterministic_episodes(tmp_path):
    assert gen.generate(config(tmp_path / "a")) == 80
    gen.generate(config(tmp_path / "b"))
    for name in ("crafter_s3_e000000", "crafter_s3_e000001"):
        a, b = EpisodeReader(tmp_path / "a" / name), EpisodeReader(tmp_path / "b" / name)
        assert len(a) == 40 and a.metadata["embedding"] == crafter_goal.describe()
        assert np.array_equal(a.load_actions(), b.load_actions())
        assert np.array_equal(a.load_frames(), b.load_frames())
        embeds = a.load_embeds()
        assert np.array_equal(embeds, crafter_goal.encode_episode(a.load_states()), equal_nan=True)
        explore = a.load_states()["explore"]
        assert explore.dtype == bool and explore.shape == (40,)
    first = EpisodeReader(tmp_path / "a" / "crafter_s3_e000000").load_actions()
    second = EpisodeReader(tmp_path / "a" / "crafter_s3_e000001").load_actions()
    assert not np.array_equal(first, second)


def test_rerun_skips_finished_episodes_and_shards_split_the_work(tmp_path):
    cfg = config(tmp_path, n=4)
    assert gen.generate(cfg, num_workers=2, worker_id=1) == 80
    assert [p.name[-1] for p in list_episodes(tmp_path)] == ["1", "3"]
    assert gen.generate(cfg, num_workers=2, worker_id=1) == 0
    assert gen.generate(cfg, num_workers=1) == 80  # the missing shard only


def test_interrupted_run_leaves_no_partial_episode_and_rerun_completes(tmp_path, monkeypatch):
    real_write = gen.write_episode
    calls = []

    def write_then_die(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_write(*args, **kwargs)

    monkeypatch.setattr(gen, "write_episode", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        gen.generate(config(tmp_path, n=3))
    assert [p.name for p in tmp_path.iterdir()] == ["crafter_s3_e000000"]
    monkeypatch.setattr(gen, "write_episode", real_write)
    assert gen.generate(config(tmp_path, n=3)) == 80
    assert len(list_episodes(tmp_path)) == 3


def test_unwritable_output_dir_fails_before_any_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(SystemExit, match="not writable"):
        gen.generate(config(blocker / "data"))


def test_reembed_rewrites_outdated_embeddings(tmp_path):
    gen.generate(config(tmp_path, n=1))
    path = tmp_path / "crafter_s3_e000000"
    reader = EpisodeReader(path)
    assert not reembed_episode(reader)  # already current
    np.save(path / "embeds.npy", np.zeros_like(reader.load_embeds()))
    assert reembed_episode(reader, force=True)
    assert np.array_equal(
        EpisodeReader(path).load_embeds(),
        crafter_goal.encode_episode(reader.load_states()),
        equal_nan=True,
    )


def test_facing_noise_redraws_only_the_player_on_move_frames(tmp_path):
    """The play and the states stay the same; a move frame may show another facing, which changes
    the player's cell alone (by day; at night the view's noise is drawn afresh); other frames and
    the env's random stream are untouched."""
    # 260 steps reach Crafter's night (from about step 150), whose noise draws from the world's
    # random stream: a redraw that did not restore it would change the play from there on.
    base = gen.play_episode(gen.PlayConfig(tmp_path, seed=3, max_steps=260), 0)
    noisy = gen.play_episode(gen.PlayConfig(tmp_path, seed=3, max_steps=260, facing_noise=True), 0)
    np.testing.assert_array_equal(base["actions"], noisy["actions"])
    for key, value in base["states"].items():
        np.testing.assert_array_equal(value, noisy["states"][key])
    moves = np.isin(base["actions"], sorted(gen.MOVES))
    changed = (base["frames"] != noisy["frames"]).any(axis=(1, 2, 3))
    assert moves.any() and changed.any()
    assert not changed[~moves].any()
    outside = base["frames"] != noisy["frames"]
    outside[:, 21:28, 28:35] = False  # the player's cell in a 64x64 frame
    day = base["states"]["daylight"] >= 0.5
    assert not outside[day].any()
    assert (changed & moves & ~day).any()  # redrawn at night too
    assert noisy["metadata"]["generator"]["facing_noise"] is True


class _Driver:
    """Takes the wheel with `noop` on the steps in `steps` (counted from each reset)."""

    def __init__(self, steps):
        self.steps, self.t = set(steps), 0

    def reset(self, rng):
        self.t = 0

    def act(self, obs, intention, action):
        self.t += 1
        return 0 if self.t - 1 in self.steps else None

    def describe(self):
        return {"name": "test"}


def test_a_driver_acts_while_the_agent_labels_every_frame_with_its_own_choice(tmp_path):
    """A driver that never acts leaves the play as it was, but every label is the agent's choice
    before its noise; where it acts, the env executes its action and the label stays the agent's."""
    cfg = gen.PlayConfig(tmp_path, seed=3, max_steps=120)
    base = gen.play_episode(cfg, 0)
    idle = gen.play_episode(cfg, 0, driver=_Driver([]))
    np.testing.assert_array_equal(base["frames"], idle["frames"])
    noise = base["states"]["explore"]
    assert noise.any() and not idle["states"]["explore"].any()
    np.testing.assert_array_equal(base["actions"][~noise], idle["actions"][~noise])
    assert (base["actions"][noise] != idle["actions"][noise]).any()
    assert not idle["states"]["driven"].any()
    np.testing.assert_array_equal(idle["states"]["executed"], base["actions"])  # noise included
    assert idle["metadata"]["generator"]["driver"] == {"name": "test"}

    steps = range(30, 60)
    driven = gen.play_episode(cfg, 0, driver=_Driver(steps))
    took, executed = driven["states"]["driven"], driven["states"]["executed"]
    assert took[30:60].all() and not np.delete(took, steps).any()
    assert (executed[30:60] == 0).all()
    pos = driven["states"]["pos"]
    np.testing.assert_array_equal(pos[30:61], np.repeat(pos[30:31], 31, axis=0))  # noop x 30
    moves = np.isin(driven["actions"][30:60], sorted(gen.MOVES))
    assert moves.any()  # the agent still wants to go somewhere; the labels say where
    np.testing.assert_array_equal(driven["frames"][:31], idle["frames"][:31])
    # Written by `generate` (the driver built in the worker), counted by `play_stats`.
    written = gen.PlayConfig(
        tmp_path / "d", 1, seed=3, max_steps=120, driver=lambda: _Driver(steps)
    )
    gen.generate(written)
    stats = play_stats(tmp_path / "d")
    differs = int((driven["actions"][30:60] != 0).sum())
    assert stats["driven"] == 30 and stats["driven_differs"] == differs > 0
