"""The policies built on the meta device have exactly the official checkpoints' names, order and shapes.

References: `../shared/reference/weight_formats/*.txt` (dumps of the upstream classes' state dicts).
"""

from __future__ import annotations

import json

import torch

from steve1.embed_conditioned_policy import EmbedConditionedPolicy
from tests.helpers import read_reference
from VPT import MINECRAFT_ACTION_SPACE, VPTPolicy, count_parameters, get_preset


def built_entries(policy: torch.nn.Module) -> list[tuple[str, list[int]]]:
    return [(k, list(v.shape)) for k, v in policy.state_dict().items()]


def check_counts(policy: torch.nn.Module, header: dict[str, str]) -> None:
    assert len(list(policy.buffers())) == 0  # the value normaliser's statistics are Parameters
    assert count_parameters(policy) == int(header["parameter count (unique nn.Parameters)"])
    trainable = sum(p.numel() for p in policy.parameters() if p.requires_grad)
    assert trainable == int(header["of which requires_grad=True"])


def test_vpt_2x_matches_reference() -> None:
    header, entries = read_reference("vpt_2x.txt")
    kwargs = json.loads(header["policy_kwargs"])
    assert kwargs == get_preset("2x").policy_kwargs
    with torch.device("meta"):
        policy = VPTPolicy(kwargs, MINECRAFT_ACTION_SPACE, json.loads(header["pi_head_kwargs"]))
    assert built_entries(policy) == entries
    check_counts(policy, header)


def test_steve1_2x_matches_reference() -> None:
    header, entries = read_reference("steve1_2x.txt")
    goal_dim = json.loads(header["policy_kwargs_default_used"])["mineclip_embed_dim"]
    with torch.device("meta"):
        policy = EmbedConditionedPolicy(
            json.loads(header["policy_kwargs"]), MINECRAFT_ACTION_SPACE, goal_dim=goal_dim
        )
    assert built_entries(policy) == entries
    check_counts(policy, header)


def test_goal_prior_n100_matches_reference() -> None:
    header, entries = read_reference("ptgm_goal_prior_n100.txt")
    with torch.device("meta"):
        policy = VPTPolicy(json.loads(header["policy_kwargs"]), 100)
    assert built_entries(policy) == entries
    check_counts(policy, header)
