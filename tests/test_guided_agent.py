"""The guided agent: batching is exact, λ=0 is the conditioned policy, guidance and resets."""

import numpy as np
import pytest
import torch

from steve1.agent import GuidedAgent
from steve1.embed_conditioned_policy import EmbedConditionedPolicy
from tests.helpers import give_goal_layers_weights
from VPT.presets import get_preset


def policy(seed=0, **film):
    """The tiny low level; `film` (`goal_film=True`, `goal_film_cnn=True`, `goal_experts=k`) with
    non-zero goal layers."""
    torch.manual_seed(seed)
    p = get_preset("tiny")
    pol = EmbedConditionedPolicy({**p.policy_kwargs, **film}, 17, p.pi_head_kwargs, goal_dim=4)
    give_goal_layers_weights(pol)
    return pol


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


FILM = {
    "plain": {},
    "heads": {"goal_film": True},
    "cnn": {"goal_film_cnn": True},
    "experts": {"goal_experts": 3, "goal_expert_rank": 4},
}


def _forward(pol, frames, goals):
    """Log-probs (n, steps, 17) of the policy run as in training (`encode_obs`) over the frames."""
    n, steps = frames.shape[1], frames.shape[0]
    obs = {
        "img": torch.as_tensor(frames).transpose(0, 1),
        "mineclip_embed": torch.as_tensor(goals)[:, None].expand(n, steps, goals.shape[1]),
    }
    first = torch.zeros(n, steps, dtype=torch.bool)
    first[:, 0] = True
    with torch.no_grad():
        return pol(obs, pol.initial_state(n), first)[0].pi_logits


@pytest.mark.parametrize("film", FILM)
def test_zero_scale_is_the_conditioned_policy(film):
    pol = policy(**FILM[film])
    frames, goals = frames_and_goals(2, 5)
    actions = run(GuidedAgent(pol, 2, cond_scale=0.0), frames, goals)
    assert np.array_equal(actions.T, _forward(pol, frames, goals).argmax(-1).numpy())


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("film", FILM)
def test_guidance_combines_the_goal_and_the_zero_goal_runs(film, fast):
    """What the agent samples from is (1 + λ) ℓ(goal) - λ ℓ(zero goal), each stream as the
    policy computes it in training (the goal shapes the CNN's features with `goal_film_cnn`)."""
    pol = policy(**FILM[film]).eval()
    frames, goals = frames_and_goals(2, 5)
    agent = GuidedAgent(pol, 2, cond_scale=2.0, fast=fast)
    guided = torch.stack([agent.log_probs(f, goals) for f in frames], dim=1)
    cond, uncond = _forward(pol, frames, goals), _forward(pol, frames, 0 * goals)
    expected = torch.log_softmax(3.0 * cond - 2.0 * uncond, dim=-1)
    torch.testing.assert_close(guided, expected, atol=1e-4, rtol=1e-4)


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


def test_goal_experts_start_as_the_plain_policy_and_follow_the_goal():
    """With the experts' outputs at zero (as built), a policy with goal experts acts exactly as the
    same weights without them; with weights, each goal mixes its own experts."""
    plain = policy()
    experts = policy(goal_experts=3, goal_expert_rank=4)
    experts.net.goal_expert_out.data.zero_()
    experts.net.goal_expert_bias.data.zero_()
    experts.load_state_dict(plain.state_dict(), strict=False)
    frames, goals = frames_and_goals(2, 4)
    torch.testing.assert_close(_forward(experts, frames, goals), _forward(plain, frames, goals))
    give_goal_layers_weights(experts)
    gate = torch.softmax(experts.net.goal_gate(torch.as_tensor(goals)), -1)
    assert not torch.allclose(gate[0], gate[1])  # the two goals weigh the experts differently
    assert not torch.allclose(_forward(experts, frames, goals), _forward(plain, frames, goals))
