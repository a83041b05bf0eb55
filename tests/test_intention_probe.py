"""`hierarchical.intention_probe` on a scripted episode: which frames, which moves, which rates."""

from __future__ import annotations

import numpy as np
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
    return {"local_view": view, "achievements": achievements, "intention": intention}


def test_frames_moves_and_hindsight_rows() -> None:
    states = scripted_states()
    assert closer_moves(states["local_view"][0], MAT["water"]) == [1]  # move_left only
    probed, rows = probed_frames(states, "collect_drink", within=20, after=8)
    assert probed == [t for t in range(10, 29) if t != 15]
    assert rows[10] == rows[28] == EVENT_AT + 8 and rows[29] == L - 1 and rows[3] == 15


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
    agent = GuidedAgent(policy, 1, 2.0)
    guided = [agent.log_probs(frames[t : t + 1], code[None])[0].exp().numpy() for t in range(L)]
    want = np.array([(g[actions[t]], g.argmax() == actions[t], g[1]) for t, g in enumerate(guided)])
    np.testing.assert_allclose(out["guided"], want[probed], atol=1e-5)
    assert all(out[name].shape == (len(probed), 3) for name in CONDITIONS)
    assert not np.allclose(out["no goal"], out["guided"])
