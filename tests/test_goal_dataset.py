"""Hindsight-goal relabelling: chunking, upstream's goal rule, the one-frame switch lag, p_uncond."""

import numpy as np
import pytest

from steve1.data.generation.crafter_state import ACHIEVEMENTS
from steve1.data.goal_dataset import (
    EVENT_SPREAD,
    EpisodeCache,
    HindsightGoalChunks,
    chunk_starts,
    event_frames,
    goal_index_per_frame,
    lead_up_frames,
    sample_goal_steps,
)
from tests.helpers import fake_episode


def test_chunk_starts_shift_the_last_chunk_back():
    assert chunk_starts(100, 64) == [15, 36]
    assert chunk_starts(79, 64) == [15]
    assert chunk_starts(78, 64) == []
    assert chunk_starts(200, 50) == [15, 65, 115, 150]


@pytest.mark.parametrize("seed", range(20))
def test_goal_steps_follow_upstreams_rule(seed):
    rng = np.random.default_rng(seed)
    length, lo, hi = 300, 15, 60
    steps = sample_goal_steps(length, lo, hi, rng)
    assert steps[-1] == length - 1 and (np.diff(steps) > 0).all()
    gaps = np.diff(np.concatenate([[0], steps]))
    assert (gaps[:-1] >= lo).all() and (gaps[:-1] < hi).all()
    assert length - steps[-2] >= lo if len(steps) > 1 else True


def test_goals_before_the_first_embedding_move_to_frame_15():
    steps = sample_goal_steps(100, 5, 8, np.random.default_rng(0))
    assert steps.min() >= 15


def test_goal_switches_one_frame_after_the_goal_frame():
    per_frame = goal_index_per_frame(40, np.array([20, 30, 39]))
    assert (per_frame[:22] == 20).all() and per_frame[22] == 30
    assert per_frame[31] == 30 and per_frame[32] == 39 and per_frame[39] == 39


def test_chunks_carry_embeddings_of_their_goal_frames_and_p_uncond(tmp_path):
    cache = EpisodeCache.from_paths([fake_episode(tmp_path / "ep", length=150)])
    data = HindsightGoalChunks(cache, T=32, min_btwn_goals=5, max_btwn_goals=20)
    chunk = data.get(1, np.random.default_rng(0))
    assert chunk.frames.shape == (32, 64, 64, 3) and chunk.conditioned
    assert np.array_equal(chunk.goals, cache.embeds[0][chunk.goal_steps])
    assert (chunk.goal_steps >= np.arange(47, 79) - 1).all()  # goals lie ahead (lag of one)
    dropped = HindsightGoalChunks(cache, T=32, min_btwn_goals=5, max_btwn_goals=20, p_uncond=1.0)
    chunk = dropped.get(0, np.random.default_rng(0))
    assert not chunk.conditioned and not chunk.goals.any()


def test_goal_lead_takes_the_window_that_starts_at_the_goal_frame(tmp_path):
    cache = EpisodeCache.from_paths([fake_episode(tmp_path / "ep", length=150)])
    plain = HindsightGoalChunks(cache, T=32, min_btwn_goals=5, max_btwn_goals=20)
    led = HindsightGoalChunks(cache, T=32, min_btwn_goals=5, max_btwn_goals=20, goal_lead=15)
    for i in range(len(plain)):
        a, b = plain.get(i, np.random.default_rng(i)), led.get(i, np.random.default_rng(i))
        assert np.array_equal(b.goal_steps, np.minimum(a.goal_steps + 15, 149))
        assert np.array_equal(b.goals, cache.embeds[0][b.goal_steps])
        window_start = b.goal_steps - 15
        frames = np.arange(len(b.goal_steps)) + led.index[i][1]
        ahead = b.goal_steps < 149  # at the episode's end the window is clipped to the last frame
        # the window starts at most one frame back (the goal switch lags one frame)
        assert (window_start[ahead] >= frames[ahead] - 1).all()
    with pytest.raises(ValueError, match="goal_lead"):
        HindsightGoalChunks(cache, T=32, min_btwn_goals=5, max_btwn_goals=20, goal_lead=-1)


def test_frames_without_effect_are_masked_and_idle_chunks_dropped(tmp_path):
    path = fake_episode(tmp_path / "ep", length=100)
    states = dict(np.load(path / "states.npz"))
    states["sleeping"] = np.zeros(100, bool)
    states["sleeping"][15:47] = True  # the whole first chunk [15, 47) asleep
    states["sleeping"][60:70] = True
    states["inventory"][:, 3] = 5  # energy below the maximum: asleep frames ignore the action
    states["inventory"][69, 3] = 9  # full energy: the player wakes and acts on this frame
    np.savez_compressed(path / "states.npz", **states)
    cache = EpisodeCache.from_paths([path])
    data = HindsightGoalChunks(cache, T=32, min_btwn_goals=5, max_btwn_goals=20)
    assert [start for _, start in data.index] == [47, 68]
    chunk = data.get(0, np.random.default_rng(0))
    assert chunk.loss_mask.tolist() == [1.0] * 13 + [0.0] * 9 + [1.0] * 10


def test_exploration_noise_carries_no_loss(tmp_path):
    path = fake_episode(tmp_path / "ep", length=100)
    states = dict(np.load(path / "states.npz"))
    states["sleeping"] = np.zeros(100, bool)
    states["explore"] = np.zeros(100, bool)
    states["explore"][50:53] = True
    np.savez_compressed(path / "states.npz", **states)
    data = HindsightGoalChunks(EpisodeCache.from_paths([path]), 32, 5, 20)
    assert [start for _, start in data.index] == [15, 47, 68]
    chunk = data.get(1, np.random.default_rng(0))  # frames 47..78
    assert chunk.loss_mask.tolist() == [1.0] * 3 + [0.0] * 3 + [1.0] * 26


def test_change_weight_weighs_the_frames_whose_action_changed(tmp_path):
    path = fake_episode(tmp_path / "ep", length=100)
    states = dict(np.load(path / "states.npz"))
    states["sleeping"] = np.zeros(100, bool)
    states["explore"] = np.zeros(100, bool)
    states["explore"][50] = True  # noise: no loss, weighted or not
    np.savez_compressed(path / "states.npz", **states)
    cache = EpisodeCache.from_paths([path])
    acts = cache.actions[0]
    data = HindsightGoalChunks(cache, 32, 5, 20, change_weight=3.0)
    chunk = data.get(1, np.random.default_rng(0))  # frames 47..78
    changed = acts[47:79] != acts[46:78]
    want = np.where(changed, 3.0, 1.0)
    want[50 - 47] = 0.0
    assert chunk.loss_mask.tolist() == want.tolist() and changed.any() and not changed.all()
    plain = HindsightGoalChunks(cache, 32, 5, 20).get(1, np.random.default_rng(0))
    assert plain.loss_mask.tolist() == [1.0] * 3 + [0.0] + [1.0] * 28  # 1: upstream's weights
    with pytest.raises(ValueError, match="change_weight and event_weight must be > 0"):
        HindsightGoalChunks(cache, 32, 5, 20, change_weight=0.0)


def test_event_weight_weighs_the_actions_that_lead_up_to_an_event(tmp_path):
    path = fake_episode(tmp_path / "ep", length=100)
    states = dict(np.load(path / "states.npz"))
    states["sleeping"] = np.zeros(100, bool)
    states["achievements"] = np.zeros((100, 22), np.uint16)
    states["achievements"][60:, 0] = 1  # the action of frame 59 made it
    np.savez_compressed(path / "states.npz", **states)
    cache = EpisodeCache.from_paths([path])
    assert lead_up_frames(np.array([60, 3]), 70, 4).nonzero()[0].tolist() == [
        0,
        1,
        2,
        56,
        57,
        58,
        59,
    ]
    data = HindsightGoalChunks(cache, 32, 5, 20, event_weight=5.0, event_window=4)
    chunk = data.get(1, np.random.default_rng(0))  # frames 47..78
    want = np.ones(32)
    want[56 - 47 : 60 - 47] = 5.0
    assert chunk.loss_mask.tolist() == want.tolist()
    both = HindsightGoalChunks(
        cache, 32, 5, 20, change_weight=3.0, event_weight=5.0, event_window=4
    )
    acts = cache.actions[0]
    changed = acts[47:79] != acts[46:78]
    want_both = want * np.where(changed, 3.0, 1.0)  # the weights multiply
    assert both.get(1, np.random.default_rng(0)).loss_mask.tolist() == want_both.tolist()
    with pytest.raises(ValueError, match="event_window >= 1"):
        HindsightGoalChunks(cache, 32, 5, 20, event_weight=5.0, event_window=0)


@pytest.mark.parametrize("seed", range(10))
def test_event_goals_anchor_the_walk_to_an_event_on_it(seed):
    events = np.array([40, 100, 103, 250])
    length, lo, hi, gap = 300, 5, 20, 50
    steps = sample_goal_steps(length, lo, hi, np.random.default_rng(seed), events, gap)
    assert steps[-1] == length - 1 and (np.diff(steps) > 0).all()
    for event in (40, 250):  # each event's window (ending 0..7 frames after it) is a goal
        assert ((steps >= event) & (steps < event + EVENT_SPREAD)).sum() == 1
    # of two events 3 frames apart, the second is a goal only if min_btwn_goals after the first
    assert ((steps >= 100) & (steps < 103 + EVENT_SPREAD)).sum() >= 1
    per_frame = goal_index_per_frame(length, steps)
    # The event's goal is taken at the first step within `gap` of it, which lies 31-50 frames
    # before it (the steps before advance by less than 20): at least 29 frames are conditioned on it.
    anchored = per_frame[221:251]
    assert (anchored >= 250).all() and (anchored < 250 + EVENT_SPREAD).all()
    gaps = np.diff(np.concatenate([[0], steps]))
    assert (gaps[:-1] >= lo).all() and (gaps <= gap).all()


def test_event_gap_zero_is_upstreams_rule_and_events_come_from_achievements(tmp_path):
    events = np.array([40, 100])
    for seed in range(5):
        plain = sample_goal_steps(300, 5, 20, np.random.default_rng(seed))
        off = sample_goal_steps(300, 5, 20, np.random.default_rng(seed), events, 0)
        assert np.array_equal(plain, off)
    achievements = np.zeros((10, 3), np.int64)
    achievements[4:, 1] = 1
    achievements[7:, 2] = 2
    assert event_frames({"achievements": achievements}).tolist() == [4, 7]
    assert event_frames({}).tolist() == []
    cache = EpisodeCache.from_paths([fake_episode(tmp_path / "ep", length=150)])
    for gap in (-1, 4):  # below min_btwn_goals no event could ever be a goal
        with pytest.raises(ValueError, match="event_gap"):
            HindsightGoalChunks(cache, T=32, min_btwn_goals=5, max_btwn_goals=20, event_gap=gap)


def test_event_frames_of_one_achievement() -> None:
    achievements = np.zeros((10, len(ACHIEVEMENTS)), np.uint16)
    achievements[3:, ACHIEVEMENTS.index("collect_drink")] = 1
    achievements[6:, ACHIEVEMENTS.index("collect_wood")] = 1
    states = {"achievements": achievements}
    assert event_frames(states, "collect_drink").tolist() == [3]
    assert event_frames(states).tolist() == [3, 6]
    with pytest.raises(ValueError, match="unknown achievement"):
        event_frames(states, "collect_water")


def test_first_frame_zero_trains_the_episodes_start_on_goals_from_frame_15(tmp_path):
    assert chunk_starts(100, 64, first=0) == [0, 36]
    assert chunk_starts(78, 64, first=0) == []  # the same length rule
    path = fake_episode(tmp_path / "ep", length=100)
    cache = EpisodeCache.from_paths([path])
    data = HindsightGoalChunks(cache, 32, 5, 20, goal_lead=15, first_frame=0, change_weight=2.0)
    assert [s for _, s in data.index] == [0, 32, 64, 68]
    chunk = data.get(0, np.random.default_rng(0))
    np.testing.assert_array_equal(chunk.frames, cache.frames[0][:32])  # the episode's start
    assert np.isfinite(chunk.goals).all()
    acts = cache.actions[0][:32]
    changed = np.concatenate([[False], acts[1:] != acts[:-1]])
    assert chunk.loss_mask.tolist() == np.where(changed, 2.0, 1.0).tolist()
    with pytest.raises(ValueError, match="first_frame"):
        HindsightGoalChunks(cache, 32, 5, 20, first_frame=16)
