"""STEVE-1's goal-conditioned variant: the goal projection is added to the image features."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from steve1.embed_conditioned_policy import EmbedConditionedPolicy, guided_log_probs
from VPT import get_preset, load_policy, save_policy


def tiny_steve(goal_dim: int = 6) -> EmbedConditionedPolicy:
    preset = get_preset("tiny")
    return EmbedConditionedPolicy(
        preset.policy_kwargs, 17, preset.pi_head_kwargs, goal_dim=goal_dim
    ).eval()


def obs(goal: torch.Tensor) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    img = torch.randint(0, 256, (2, 4, 64, 64, 3), dtype=torch.uint8, generator=gen)
    return {"img": img, "mineclip_embed": goal}


@torch.no_grad()
def test_goal_changes_the_policy_and_zero_goal_is_the_bias_only() -> None:
    torch.manual_seed(0)
    policy = tiny_steve()
    names = [k for k, _ in policy.named_parameters()]
    assert names[names.index("net.final_ln.bias") + 1] == "net.mineclip_embed_linear.weight"
    first = torch.zeros(2, 4, dtype=torch.bool)
    zero, _ = policy(obs(torch.zeros(2, 4, 6)), policy.initial_state(2), first)
    goal, _ = policy(obs(torch.randn(2, 4, 6)), policy.initial_state(2), first)
    assert not torch.allclose(zero.pi_logits, goal.pi_logits)
    with pytest.raises(KeyError, match="mineclip_embed"):
        policy({"img": obs(torch.zeros(2, 4, 6))["img"]}, policy.initial_state(2), first)


def test_guidance_formula() -> None:
    cond = torch.log_softmax(torch.randn(3, 5), -1)
    uncond = torch.log_softmax(torch.randn(3, 5), -1)
    torch.testing.assert_close(guided_log_probs(cond, uncond, 0.0), cond)
    guided = guided_log_probs({"a": cond}, {"a": uncond}, 7.0)["a"]
    torch.testing.assert_close(guided, torch.log_softmax(8.0 * cond - 7.0 * uncond, -1))


def test_goal_dim_travels_in_the_model_file(tmp_path: Path) -> None:
    policy = tiny_steve(goal_dim=9)
    save_policy(policy, tmp_path / "s.model", tmp_path / "s.weights")
    loaded = load_policy(
        tmp_path / "s.model", tmp_path / "s.weights", policy_class=EmbedConditionedPolicy
    )
    assert isinstance(loaded, EmbedConditionedPolicy) and loaded.goal_dim == 9
