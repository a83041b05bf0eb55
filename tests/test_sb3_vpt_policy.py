"""VPTActorCriticPolicy: no SB3 extras, the split forward, trainable set, inits, acting APIs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces

from sb3_vpt import DEFAULT_TRAINABLE, ObservationSpaceError, VPTActorCriticPolicy
from tests.test_sb3_vpt_envs import SIZE, params_snapshot, tiny_kwargs
from VPT import VPTPolicy, WeightsMismatchError, count_parameters, save_weights

FRAME = spaces.Box(0, 255, (SIZE, SIZE, 3), np.uint8)


def make_policy(action_space: spaces.Space | None = None, **kwargs: object) -> VPTActorCriticPolicy:
    torch.manual_seed(0)
    return VPTActorCriticPolicy(
        kwargs.pop("observation_space", FRAME),  # type: ignore[arg-type]
        action_space or spaces.Discrete(3),
        lambda _: 1e-3,
        vpt_kwargs=tiny_kwargs(),
        **kwargs,  # type: ignore[arg-type]
    )


def frames(batch: int, time: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (batch, time, SIZE, SIZE, 3), dtype=torch.uint8, generator=gen)


def test_every_parameter_belongs_to_the_vpt_network() -> None:
    policy = make_policy()
    assert all(name.startswith("vpt.") for name, _ in policy.named_parameters())
    assert count_parameters(policy) == count_parameters(policy.vpt)
    assert policy.features_extractor is None


@torch.no_grad()
def test_split_forward_equals_vpt_forward() -> None:
    policy = make_policy(trainable="all")
    img, first = frames(2, 6), torch.zeros(2, 6, dtype=torch.bool)
    first[1, 3] = True
    state = policy.initial_state(2)
    dist, values, new_state = policy(img, state, first)
    out, vpt_state = policy.vpt({"img": img}, state, first)
    assert torch.equal(dist, out.pi_logits) and torch.equal(values, out.vpred)
    for ours, theirs in zip(new_state, vpt_state, strict=True):
        assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))


def test_default_trainable_set_and_optimizer() -> None:
    policy = make_policy()
    trained = {n for n, p in policy.vpt.named_parameters() if p.requires_grad}
    assert trained == set(policy.trainable_names)
    assert all(n.startswith(DEFAULT_TRAINABLE) for n in trained)
    assert {n.split(".")[0] for n in trained} == {"pi_head", "value_head", "net"}
    assert not any("normalizer" in n or "img_process" in n or "recurrent" in n for n in trained)
    in_optimizer = {id(p) for group in policy.optimizer.param_groups for p in group["params"]}
    assert in_optimizer == {id(p) for p in policy.trainable_parameters()}
    assert policy.optimizer.defaults["eps"] == 1e-5
    assert policy.trunk_frozen and not make_policy(trainable="all").trunk_frozen
    with pytest.raises(ValueError, match=r"match no parameter; valid prefixes include .*net\."):
        make_policy(trainable=["net.nonexistent"])


def test_fresh_heads_follow_upstream() -> None:
    policy = make_policy()
    pi, value = policy.vpt.pi_head.linear_layer, policy.vpt.value_head.linear
    torch.testing.assert_close(pi.weight.norm(dim=1), torch.full((3,), 0.01))
    torch.testing.assert_close(value.weight.norm(dim=1), torch.ones(1))
    assert not pi.bias.any() and not value.bias.any()
    assert policy.vpt.pi_head.temperature == 1.0
    out = policy.step(frames(4, 1)[:, 0], policy.initial_state(4), torch.ones(4, dtype=torch.bool))
    torch.testing.assert_close(out.dist_params.exp(), torch.full((4, 3), 1 / 3), atol=0.02, rtol=0)


def test_init_from_vpt_weights_takes_cnn_and_transformer_only(tmp_path) -> None:
    torch.manual_seed(1)
    source = VPTPolicy(tiny_kwargs(), 17)  # another action space: only the trunk is taken
    save_weights(source, tmp_path / "vpt.weights")
    policy = make_policy(vpt_weights=tmp_path / "vpt.weights")
    theirs = dict(source.named_parameters())
    for name, param in policy.vpt.named_parameters():
        if name.startswith(("net.img_process.", "net.recurrent_layer.")):
            assert torch.equal(param, theirs[name]), name
    assert not torch.equal(policy.vpt.net.lastlayer.layer.weight, source.net.lastlayer.layer.weight)
    norms = policy.vpt.pi_head.linear_layer.weight.norm(dim=1)
    torch.testing.assert_close(norms, torch.full((3,), 0.01))


def test_init_from_prior_loads_everything(tmp_path) -> None:
    torch.manual_seed(2)
    prior = VPTPolicy(tiny_kwargs(), 3, {"temperature": 2.0})
    save_weights(prior, tmp_path / "prior.weights")
    policy = make_policy(prior_weights=tmp_path / "prior.weights")
    for name, param in prior.named_parameters():
        assert torch.equal(dict(policy.vpt.named_parameters())[name], param), name
    with pytest.raises(WeightsMismatchError, match="pi_head.linear_layer"):
        make_policy(spaces.Discrete(5), prior_weights=tmp_path / "prior.weights")
    with pytest.raises(ValueError, match="Discrete"):
        make_policy(spaces.Box(-1, 1, (2,)), prior_weights=tmp_path / "prior.weights")
    with pytest.raises(ValueError, match="not both"):
        make_policy(vpt_weights=tmp_path / "prior.weights", prior_weights=tmp_path / "p.weights")


def test_predict_with_explicit_state_matches_a_chunk() -> None:
    policy = make_policy()
    img = frames(2, 5, seed=3)
    first = torch.zeros(2, 5, dtype=torch.bool)
    first[:, 0] = first[0, 3] = True
    with torch.no_grad():
        dist, _, _ = policy(img, policy.initial_state(2), first)
    state, actions = None, []
    for t in range(5):
        action, state = policy.predict(img[:, t].numpy(), state, first[:, t].numpy(), True)
        actions.append(action)
    assert np.array_equal(np.stack(actions, 1), dist.argmax(-1).numpy())
    single, _ = policy.predict(img[0, 0].numpy(), deterministic=True)
    assert np.ndim(single) == 0 and single == dist[0, 0].argmax().item()
    assert policy._predict(img[:, 0]).shape == (2,)


def test_observation_conventions() -> None:
    make_policy(observation_space=spaces.Dict({"pov": FRAME, "inventory": spaces.Discrete(4)}))
    with pytest.raises(ObservationSpaceError, match="VecTransposeImage"):
        make_policy(observation_space=spaces.Box(0, 255, (3, SIZE, SIZE), np.uint8))
    with pytest.raises(ObservationSpaceError, match="resize"):
        make_policy(observation_space=spaces.Box(0, 255, (8, 8, 3), np.uint8))
    with pytest.raises(ObservationSpaceError, match="'pov'"):
        make_policy(observation_space=spaces.Dict({"rgb": FRAME}))
    with pytest.raises(ObservationSpaceError, match="uint8"):
        make_policy(observation_space=spaces.Box(0, 1, (SIZE, SIZE, 3), np.float32))


def test_gaussian_head_for_box_actions() -> None:
    box = spaces.Box(-1.0, 1.0, (2,), np.float32)
    policy = make_policy(box, log_std_init=-0.5)
    before = params_snapshot(policy.vpt)
    out = policy.step(frames(3, 1)[:, 0], policy.initial_state(3), torch.ones(3, dtype=torch.bool))
    assert out.dist_params.shape == (3, 2, 2) and out.actions.shape == (3, 2)
    mean, log_std = out.dist_params.unbind(-1)
    normal = torch.distributions.Normal(mean, log_std.exp())
    torch.testing.assert_close(out.log_probs, normal.log_prob(out.actions).sum(-1))
    evaluation = policy.evaluate_sequences(
        None, out.actions[:, None], torch.ones(3, 1, dtype=torch.bool), None, out.features[:, None]
    )
    torch.testing.assert_close(evaluation.entropy[:, 0], normal.entropy().sum(-1))
    assert torch.allclose(log_std, torch.tensor(-0.5))
    assert mean.abs().max() < 0.1  # re-initialised mean layer: rows of norm 0.01
    assert np.abs(policy.env_actions(torch.tensor([[3.0, -3.0]]))).max() == 1.0
    assert "pi_head.log_std" in before and policy.vpt.pi_head.log_std.requires_grad
    assert torch.isfinite(evaluation.log_probs).all()
