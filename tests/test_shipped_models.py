"""The shipped Crafter models load and fit together (codebook size, goal size, action space)."""

from pathlib import Path

import pytest

from goal_prior.codebook import load_codebook
from steve1.embed_conditioned_policy import EmbedConditionedPolicy
from steve1.goal_encoders.crafter import EMBED_DIM
from VPT.checkpoint import load_policy

SHIPPED = Path(__file__).resolve().parents[1] / "downloads" / "crafter"


@pytest.mark.skipif(not (SHIPPED / "steve1.weights").exists(), reason="no shipped models")
def test_shipped_models_load_and_match_the_codebook():
    codebook = load_codebook(SHIPPED / "codebook.npz")
    low = load_policy(
        SHIPPED / "steve1.model", SHIPPED / "steve1.weights", policy_class=EmbedConditionedPolicy
    )
    prior = load_policy(SHIPPED / "goal_prior.model", SHIPPED / "goal_prior.weights")
    assert codebook.dim == low.goal_dim == EMBED_DIM
    assert low.pi_head.linear_layer.out_features == 17
    assert prior.pi_head.linear_layer.out_features == codebook.N
    total = sum(p.stat().st_size for p in SHIPPED.iterdir())
    assert total <= 25 * 2**20
