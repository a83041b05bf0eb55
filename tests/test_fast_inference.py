"""The fast paths (`VPT.stepper`) of the guided agent and the prior tracker compute what the
reference paths compute: log-probs within float rounding, the same sampled actions."""

import numpy as np
import pytest
import torch

from hierarchical.prior_tracker import PriorTracker
from steve1.agent import GuidedAgent
from steve1.embed_conditioned_policy import EmbedConditionedPolicy
from tests.helpers import give_goal_layers_weights
from VPT.policy import VPTPolicy
from VPT.presets import get_preset


def policy(preset, action_space=17, seed=0, **overrides):
    torch.manual_seed(seed)
    p = get_preset(preset)
    kwargs = {**p.policy_kwargs, **overrides}
    pol = EmbedConditionedPolicy(kwargs, action_space, p.pi_head_kwargs, goal_dim=6)
    with torch.no_grad():  # bigger b_nd and goal weights than the init, so that both matter
        for block in pol.net.recurrent_layer.blocks:
            block.r.orc_block.b_nd.mul_(5.0)
        pol.net.mineclip_embed_linear.weight.mul_(3.0)
    give_goal_layers_weights(pol)  # zero at init: give the goal's scales and experts a value
    return pol.eval()


def schedule(n, steps):
    """Per step: acting env ids (None = all) and envs reset before the step."""
    plan = []
    for t in range(steps):
        ids = [0, 2] if t % 11 in (4, 5) else ([1] if t % 13 == 7 else None)
        resets = [1] if t == 9 else ([0, 2] if t == steps // 2 else [])
        plan.append((ids, resets))
    return plan


def rollout(agent, frames, goals, plan, sample):
    outs = []
    for t, (ids, resets) in enumerate(plan):
        if resets:
            agent.reset(resets)
        f, g = (frames[t], goals) if ids is None else (frames[t, ids], goals[ids])
        if sample:
            outs.append(agent.act(f, g, env_ids=ids))
        else:
            outs.append(agent.log_probs(f, g, env_ids=ids))
    return outs


@pytest.mark.parametrize(
    "preset, action_space, steps",
    [("tiny", 17, 40), ("crafter", 17, 140), ("tiny", {"camera": 11, "buttons": 5}, 20)],
)
@pytest.mark.parametrize(
    "variant",
    [
        "plain",
        "hidden boxes",
        "one frame of memory",
        "goal scales the heads' input",
        "goal scales the CNN",
        "goal experts",
    ],
)
def test_fast_path_matches_the_reference(preset, action_space, steps, variant):
    overrides = {
        "plain": {},
        "hidden boxes": {"hide_boxes": [[49, 56, 0, 28], [0, 3, 60, 64]]},
        "one frame of memory": {
            "attention_memory_size": get_preset(preset).policy_kwargs["timesteps"] + 1
        },
        "goal scales the heads' input": {"goal_film": True},
        "goal scales the CNN": {"goal_film_cnn": True},
        "goal experts": {"goal_experts": 3, "goal_expert_rank": 4},
    }[variant]
    pol, n = policy(preset, action_space, **overrides), 3
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (steps, n, 64, 64, 3), dtype=np.uint8)
    goals = rng.normal(size=(n, 6)).astype(np.float32)
    plan = schedule(n, steps)  # long enough to wrap the stepper's buffer at least once
    ref = rollout(GuidedAgent(pol, n, 3.0, fast=False), frames, goals, plan, sample=False)
    fast = rollout(GuidedAgent(pol, n, 3.0, fast=True), frames, goals, plan, sample=False)
    for a, b in zip(ref, fast, strict=True):
        for key in a if isinstance(a, dict) else [None]:
            x, y = (a, b) if key is None else (a[key], b[key])
            assert x.shape == y.shape
            assert (x - y).abs().max().item() < 1e-4
    ref_actions = rollout(GuidedAgent(pol, n, 3.0, 7, fast=False), frames, goals, plan, True)
    fast_actions = rollout(GuidedAgent(pol, n, 3.0, 7, fast=True), frames, goals, plan, True)
    for a, b in zip(ref_actions, fast_actions, strict=True):
        for key in a if isinstance(a, dict) else [None]:
            x, y = (a, b) if key is None else (a[key], b[key])
            np.testing.assert_array_equal(x, y)


def test_environment_variable_turns_the_fast_path_off(monkeypatch):
    pol = policy("tiny")
    assert GuidedAgent(pol, 1).fast
    monkeypatch.setenv("PTGM_FAST_INFERENCE", "0")
    assert not GuidedAgent(pol, 1).fast
    assert GuidedAgent(pol, 1, fast=True).fast


@pytest.mark.parametrize("preset", ["tiny", "crafter"])
@pytest.mark.parametrize("hide", [False, True])
def test_fast_prior_tracker_matches_the_reference(preset, hide):
    torch.manual_seed(0)
    p = get_preset(preset)
    kwargs = {**p.policy_kwargs, **({"hide_boxes": [[49, 56, 0, 28]]} if hide else {})}
    prior = VPTPolicy(kwargs, 9, p.pi_head_kwargs).eval()
    n, steps = 3, 30
    frames = np.random.default_rng(1).integers(0, 256, (steps, n, 64, 64, 3), dtype=np.uint8)
    trackers = [PriorTracker(prior, n, fast=False), PriorTracker(prior, n, fast=True)]
    for tracker in trackers:
        tracker.reset(np.arange(n))
    for t in range(steps):
        ids = np.array([0, 2]) if t % 9 == 4 else np.arange(n)  # env 1 sits out a frame
        for tracker in trackers:
            if t == 12:
                tracker.reset(np.array([1]))
            tracker.observe(frames[t, ids], ids)
        if t % 7 == 6 or t == steps - 1:  # read at a high-level step: one buffered chunk
            ref, fast = (tracker.log_probs for tracker in trackers)
            assert np.abs(ref - fast).max() < 1e-4


def test_fast_path_follows_in_place_weight_changes():
    pol, n = policy("tiny"), 2
    rng = np.random.default_rng(2)
    frames = rng.integers(0, 256, (6, n, 64, 64, 3), dtype=np.uint8)
    goals = rng.normal(size=(n, 6)).astype(np.float32)
    ref, fast = GuidedAgent(pol, n, 2.0, fast=False), GuidedAgent(pol, n, 2.0, fast=True)
    for t in range(6):
        if t == 3:  # e.g. a fine-tuning step or load_state_dict between steps
            with torch.no_grad():
                pol.net.recurrent_layer.blocks[0].r.orc_block.q_layer.weight.mul_(3.0)
                pol.net.img_process.linear.layer.weight.mul_(0.5)
        a, b = ref.log_probs(frames[t], goals), fast.log_probs(frames[t], goals)
        assert (a - b).abs().max().item() < 1e-4


def test_env_flag(monkeypatch):
    from VPT.switches import env_flag

    for value, expected in (("1", True), ("Yes", True), ("0", False), ("false", False)):
        monkeypatch.setenv("PTGM_TEST_FLAG", value)
        assert env_flag("PTGM_TEST_FLAG", default=not expected) is expected
    monkeypatch.setenv("PTGM_TEST_FLAG", "maybe")
    assert env_flag("PTGM_TEST_FLAG", default=True) and not env_flag("PTGM_TEST_FLAG", False)
