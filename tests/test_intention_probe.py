"""`hierarchical.intention_probe` on a scripted episode: which frames, which moves, which rates."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hierarchical.intention_probe import CONDITIONS, closer_moves, probe, probed_frames
from steve1.agent import GuidedAgent
from steve1.data.episode_storage import write_episode
from steve1.data.generation.crafter_state import ACHIEVEMENTS
from steve1.data.generation.navigation import MAT
from steve1.data.generation.play_agent import INTENTIONS
from steve1.embed_conditioned_policy import EmbedConditionedPolicy
from VPT import get_preset

L, EVENT_AT, DIM = 40, 30, 8


def scripted_states() -> dict[str, np.ndarray]:
    """Water 4 cells left of the player all along; a drink at frame 30; one frame labelled
    `explore`; even frames step left (closer), odd frames right."""
    view = np.zeros((L, 9, 7), np.uint8)
    view[:, 0, 3] = MAT["water"]
    achievements = np.zeros((L, len(ACHIEVEMENTS)), np.uint16)
    achievements[EVENT_AT + 1 :, ACHIEVEMENTS.index("collect_drink")] = 1
    intention = np.full(L, INTENTIONS.index("collect_drink"), np.uint8)
    intention[15] = INTENTIONS.index("explore")
    noise = np.zeros(L, bool)
    noise[12] = True  # frame 12's action was exploration noise
    return {
        "local_view": view,
        "achievements": achievements,
        "intention": intention,
        "explore": noise,
    }


def test_frames_moves_and_hindsight_rows() -> None:
    states = scripted_states()
    water = MAT["water"]
    assert closer_moves(states["local_view"][0], water) == [1]  # move_left only
    above = np.zeros((9, 7), np.uint8)
    above[4, 0] = water
    assert closer_moves(above, water) == [3]  # move_up: y grows downward
    above[4, 0], above[5, 6] = 0, water
    assert sorted(closer_moves(above, water)) == [2, 4]  # move_right, move_down
    assert closer_moves(np.zeros((9, 7), np.uint8), water) == []
    probed, rows = probed_frames(states, "collect_drink", within=20, after=8, max_ahead=20)
    assert probed == [t for t in range(10, 29) if t != 15]
    assert rows[18] == rows[28] == EVENT_AT + 8  # the window ending 8 frames after the drink
    assert rows[10] == 30  # ... but never more than max_ahead frames ahead
    assert rows[29] == L - 1 and rows[3] == 15 and rows[0] == 15  # 12 ahead, first full window
    assert probed_frames(states, "collect_drink", 20, 8, 20, only_distance=4)[0] == probed
    assert probed_frames(states, "collect_drink", 20, 8, 20, only_distance=3)[0] == []
    states["local_view"][20:25, 0, 3] = 0
    states["local_view"][20:25, 1, 3] = MAT["water"]  # 3 cells away on frames 20..24
    assert probed_frames(states, "collect_drink", 20, 8, 20, only_distance=3)[0] == [
        20,
        21,
        22,
        23,
        24,
    ]
    assert 20 not in probed_frames(states, "collect_drink", 20, 8, 20, only_distance=4)[0]
    quiet = probed_frames(states, "collect_drink", 20, 8, 20, skip_noise=True)[0]
    assert quiet == [t for t in probed if t != 12]


def test_probe_rates_match_the_policy(tmp_path) -> None:
    states = scripted_states()
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (L, 64, 64, 3), dtype=np.uint8)
    actions = np.where(np.arange(L) % 2 == 0, 1, 2)
    embeds = rng.normal(size=(L, DIM)).astype(np.float32)
    path = write_episode(tmp_path / "ep", frames, actions, embeds, {"world": "crafter"}, states)
    torch.manual_seed(0)
    preset = get_preset("tiny")
    policy = EmbedConditionedPolicy(preset.policy_kwargs, 17, goal_dim=DIM).eval()
    code = rng.normal(size=DIM).astype(np.float32)
    out = probe(policy, [path], code, "collect_drink", cond_scale=2.0)
    probed, _ = probed_frames(states, "collect_drink", 20, 8)
    assert out["data"].tolist() == [t % 2 == 0 for t in probed]
    _, rows = probed_frames(states, "collect_drink", 20, 8)
    goals = {"guided": (code, 2.0), "code": (code, 0.0), "no goal": (np.zeros(DIM), 0.0)}
    goals["hindsight"] = (None, 0.0)
    for name, (goal, scale) in goals.items():
        agent = GuidedAgent(policy, 1, scale)
        want = []
        for t in range(L):
            g = embeds[rows[t]] if goal is None else goal
            p = agent.log_probs(frames[t : t + 1], g[None].astype(np.float32))[0].exp().numpy()
            want.append((p[actions[t]], p.argmax() == actions[t], p[1]))  # move_left is closer
        np.testing.assert_allclose(out[name], np.array(want)[probed], atol=1e-5, err_msg=name)
    assert all(out[name].shape == (len(probed), 3) for name in CONDITIONS)


def test_only_distance_below_two_is_refused(capsys) -> None:
    from hierarchical.intention_probe import main

    args = ["--codebook", "c.npz", "--in_model", "m", "--in_weights", "w"]
    with pytest.raises(SystemExit):
        main(args + ["--event", "collect_drink", "--code", "0", "--only_distance", "1"])
    assert "--only_distance must be >= 2" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(args + ["--event", "collect_drink", "--code", "0", "--max_episodes", "0"])
    assert "--max_episodes must be >= 1" in capsys.readouterr().err


def test_skip_noise_needs_the_explore_flags(tmp_path) -> None:
    states = scripted_states()
    del states["explore"]
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (L, 64, 64, 3), dtype=np.uint8)
    embeds = rng.normal(size=(L, DIM)).astype(np.float32)
    path = write_episode(tmp_path / "ep", frames, np.ones(L, int), embeds, {}, states)
    policy = EmbedConditionedPolicy(get_preset("tiny").policy_kwargs, 17, goal_dim=DIM)
    with pytest.raises(ValueError, match="drop --skip_noise or regenerate"):
        probe(policy, [path], np.zeros(DIM, np.float32), "collect_drink", 2.0, skip_noise=True)
