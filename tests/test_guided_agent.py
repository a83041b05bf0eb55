"""The guided agent: batching is exact, λ=0 is the conditioned policy, guidance and resets."""

import numpy as np
import torch

from steve1.agent import GuidedAgent
from steve1.embed_conditioned_policy import EmbedConditionedPolicy
from VPT.presets import get_preset


def policy(seed=0):
    torch.manual_seed(seed)
    p = get_preset("tiny")
    return EmbedConditionedPolicy(p.policy_kwargs, 17, p.pi_head_kwargs, goal_dim=4)


def frames_and_goals(n, steps, seed=0):
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (steps, n, 64, 64, 3), dtype=np.uint8)
    return frames, rng.normal(size=(n, 4)).astype(np.float32)


def run(agent, frames, goals):
    return np.stack([agent.act(f, goals, deterministic=True) for f in frames])


def test_batched_envs_act_as_if_alone():
    pol = policy()
    frames, goals = frames_and_goals(3, 6)
    together = run(GuidedAgent(pol, 3, cond_scale=2.0), frames, goals)
    for i in range(3):
        alone = run(GuidedAgent(pol, 1, cond_scale=2.0), frames[:, i : i + 1], goals[i : i + 1])
        assert np.array_equal(together[:, i], alone[:, 0])


def test_zero_scale_is_the_conditioned_policy():
    pol = policy()
    frames, goals = frames_and_goals(2, 5)
    actions = run(GuidedAgent(pol, 2, cond_scale=0.0), frames, goals)
    obs = {
        "img": torch.as_tensor(frames).transpose(0, 1),
        "mineclip_embed": torch.as_tensor(goals)[:, None].expand(2, 5, 4),
    }
    first = torch.zeros(2, 5, dtype=torch.bool)
    first[:, 0] = True
    with torch.no_grad():
        out, _ = pol(obs, pol.initial_state(2), first)
    assert np.array_equal(actions.T, out.pi_logits.argmax(-1).numpy())


def test_guidance_changes_the_distribution_and_reset_clears_one_env():
    pol = policy()
    frames, goals = frames_and_goals(2, 8)
    plain, guided = GuidedAgent(pol, 2, 0.0), GuidedAgent(pol, 2, 7.0)
    a, b = run(plain, frames, goals), run(guided, frames, goals)
    assert not np.array_equal(a, b)
    agent = GuidedAgent(pol, 2, 1.0)
    run(agent, frames[:4], goals)
    agent.reset([1])
    after = run(agent, frames[4:], goals)
    fresh = run(GuidedAgent(pol, 1, 1.0), frames[4:, 1:], goals[1:])
    assert np.array_equal(after[:, 1], fresh[:, 0])


def test_reset_accepts_a_dones_mask():
    pol = policy()
    frames, goals = frames_and_goals(2, 8)
    agent = GuidedAgent(pol, 2, 1.0)
    run(agent, frames[:4], goals)
    agent.reset(np.array([False, True]))
    after = run(agent, frames[4:], goals)
    fresh = run(GuidedAgent(pol, 1, 1.0), frames[4:, 1:], goals[1:])
    assert np.array_equal(after[:, 1], fresh[:, 0])


def test_acting_for_a_subset_leaves_the_other_envs_untouched():
    pol = policy()
    frames, goals = frames_and_goals(3, 5)
    alone = run(GuidedAgent(pol, 3, cond_scale=1.0), frames, goals)
    agent = GuidedAgent(pol, 3, cond_scale=1.0)
    subset = []
    for t, f in enumerate(frames):
        if t == 2:  # env 1 sits out one step, then its memory must equal a run without that frame
            subset.append(agent.act(f[[0, 2]], goals[[0, 2]], True, env_ids=[0, 2]))
            continue
        subset.append(agent.act(f, goals, deterministic=True))
    np.testing.assert_array_equal(np.stack(subset[:2]), alone[:2])
    np.testing.assert_array_equal(subset[2], alone[2][[0, 2]])
    skipped = np.delete(frames, 2, axis=0)[:, 1:2]
    env1 = run(GuidedAgent(pol, 1, cond_scale=1.0), skipped, goals[1:2])
    np.testing.assert_array_equal(np.stack(subset[3:])[:, 1], env1[2:, 0])
