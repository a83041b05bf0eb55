"""The recurrent forward: chunked == stepwise, episode starts, the clipped window; heads; presets."""

from __future__ import annotations

import pytest
import torch

from VPT import (
    CRAFTER_ACTION_SPACE,
    VPTPolicy,
    concat_states,
    count_parameters,
    get_preset,
    map_state,
)
from VPT.policy import IMG_FEATURES_KEY


def tiny(action_space: object = 17) -> VPTPolicy:
    preset = get_preset("tiny")
    return VPTPolicy(preset.policy_kwargs, action_space, preset.pi_head_kwargs).eval()


def frames(batch: int, time: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (batch, time, 64, 64, 3), dtype=torch.uint8, generator=gen)


def no_first(batch: int, time: int) -> torch.Tensor:
    return torch.zeros(batch, time, dtype=torch.bool)


@torch.no_grad()
def test_chunked_equals_stepwise() -> None:
    torch.manual_seed(0)
    policy = tiny({"camera": 5, "buttons": 7})
    batch, time = 3, 20  # longer than the tiny model's window (8 frames)
    _, warm = policy(
        {"img": frames(batch, 12, 1)}, policy.initial_state(batch), no_first(batch, 12)
    )
    img, first = frames(batch, time), no_first(batch, time)
    first[0, 0] = first[1, 7] = first[2, 3] = first[2, 4] = True  # starts anywhere in the chunk
    chunk, chunk_state = policy({"img": img}, warm, first)
    state, steps = warm, []
    for t in range(time):
        out, state = policy({"img": img[:, t : t + 1]}, state, first[:, t : t + 1])
        steps.append(out)
    for key in chunk.pi_logits:
        stepwise = torch.cat([s.pi_logits[key] for s in steps], dim=1)
        torch.testing.assert_close(stepwise, chunk.pi_logits[key], atol=1e-4, rtol=0)
    torch.testing.assert_close(
        torch.cat([s.vpred for s in steps], 1), chunk.vpred, atol=1e-4, rtol=0
    )
    assert torch.equal(state[0][0], chunk_state[0][0])  # same memory validity
    for a, b in zip(state, chunk_state, strict=True):
        torch.testing.assert_close(a[1], b[1], atol=1e-4, rtol=0)


@torch.no_grad()
def test_first_hides_the_past_and_window_is_clipped() -> None:
    torch.manual_seed(0)
    policy = tiny()
    img = frames(1, 16)
    start = no_first(1, 16)
    start[0, 6] = True
    out, _ = policy({"img": img}, policy.initial_state(1), start)
    fresh, _ = policy({"img": img[:, 6:]}, policy.initial_state(1), no_first(1, 10))
    torch.testing.assert_close(out.pi_logits[:, 6:], fresh.pi_logits, atol=1e-5, rtol=0)
    # Each of the 2 layers looks back 7 frames (maxlen 8), so frame 15 depends on frames 1..15.
    base, _ = policy({"img": img}, policy.initial_state(1), no_first(1, 16))
    for t, should_matter in [(0, False), (1, True)]:
        changed = img.clone()
        changed[0, t] = 255 - changed[0, t]
        out, _ = policy({"img": changed}, policy.initial_state(1), no_first(1, 16))
        differs = not torch.allclose(out.pi_logits[0, -1], base.pi_logits[0, -1], atol=1e-6)
        assert differs == should_matter


def test_heads_temperature_and_value_normaliser() -> None:
    policy = tiny(CRAFTER_ACTION_SPACE)
    assert policy.pi_head.temperature == 2.0
    latent = torch.randn(2, 3, 32)
    logits = policy.pi_head(latent)
    expected = torch.log_softmax(policy.pi_head.linear_layer(latent) / 2.0, -1)
    torch.testing.assert_close(logits, expected)
    actions = policy.pi_head.sample(logits)
    assert actions.shape == (2, 3) and policy.pi_head.log_prob(logits, actions).shape == (2, 3)
    assert torch.allclose(
        policy.pi_head.kl_divergence(logits, logits), torch.zeros(2, 3), atol=1e-6
    )
    norm = policy.value_head.normalizer
    assert all(isinstance(p, torch.nn.Parameter) and not p.requires_grad for p in norm.parameters())
    norm.update(torch.full((100,), 5.0))
    torch.testing.assert_close(policy.value(torch.zeros(1)), torch.full((1,), 5.0))


def test_act_and_state_helpers() -> None:
    policy = tiny({"camera": 5, "buttons": 7})
    state = policy.initial_state(2)
    action, state, out = policy.act(
        {"img": frames(2, 1)[:, 0]}, state, torch.ones(2, dtype=torch.bool)
    )
    assert action["camera"].shape == (2,) and out.vpred.shape == (2,)
    pair = concat_states([map_state(lambda x: x[:1], state), map_state(lambda x: x[1:], state)])
    assert all(
        torch.equal(a, b)
        for pa, pb in zip(pair, state, strict=True)
        for a, b in zip(pa, pb, strict=True)
    )


def test_tiny_training_step_with_truncated_bptt() -> None:
    policy = tiny().train()
    opt = torch.optim.AdamW(policy.parameters(), lr=1e-3)
    state = policy.initial_state(2)
    for chunk in range(2):
        out, state = policy({"img": frames(2, 8, chunk)}, state, no_first(2, 8))
        loss = (
            -policy.pi_head.log_prob(out.pi_logits, torch.zeros(2, 8, dtype=torch.long))
            .sum(1)
            .mean()
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        state = map_state(torch.Tensor.detach, state)
    assert torch.isfinite(loss)


def test_crafter_preset_size() -> None:
    with torch.device("meta"):
        policy = VPTPolicy(get_preset("crafter").policy_kwargs, CRAFTER_ACTION_SPACE)
    assert count_parameters(policy) <= 5_000_000


def test_kwargs_validation() -> None:
    kwargs = get_preset("tiny").policy_kwargs
    VPTPolicy({**kwargs, "some_future_flag": 3}, 4)  # unknown kwargs tolerated
    with pytest.raises(NotImplementedError, match="recurrence_type"):
        VPTPolicy({**kwargs, "recurrence_type": "multi_layer_lstm"}, 4)
    with pytest.raises(ValueError, match="attention_memory_size"):
        VPTPolicy({**kwargs, "attention_memory_size": kwargs["timesteps"]}, 4)
    with pytest.raises(ValueError, match="unknown VPT preset 'huge'; valid: 2x, crafter, tiny"):
        get_preset("huge")


def test_precomputed_image_features_give_the_same_outputs():
    torch.manual_seed(0)
    pol = tiny()
    img = frames(2, 3)
    first = torch.zeros(2, 3, dtype=torch.bool)
    with torch.no_grad():
        out, state = pol({"img": img}, pol.initial_state(2), first)
        feats = pol.net.encode_images(img)
        out2, state2 = pol({IMG_FEATURES_KEY: feats}, pol.initial_state(2), first)
    assert torch.allclose(out.pi_logits, out2.pi_logits)
    for a, b in zip(state, state2, strict=True):
        assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


@torch.no_grad()
def test_hidden_boxes_are_invisible_and_kept_in_the_kwargs(tmp_path) -> None:
    from VPT.checkpoint import load_policy, save_policy

    torch.manual_seed(0)
    kwargs = {**get_preset("tiny").policy_kwargs, "hide_boxes": [[49, 56, 0, 28]]}
    pol = VPTPolicy(kwargs, 17).eval()
    img, first = frames(2, 3), no_first(2, 3)
    other = img.clone()
    other[..., 49:56, 0:28, :] = 255 - other[..., 49:56, 0:28, :]  # only the hidden box differs
    a, _ = pol({"img": img}, pol.initial_state(2), first)
    b, _ = pol({"img": other}, pol.initial_state(2), first)
    assert torch.equal(a.pi_logits, b.pi_logits)
    kept = other.clone()
    for row, col in ((56, 0), (49, 28)):  # one pixel below the box, one to its right: seen
        moved = other.clone()
        moved[..., row, col, :] = 255 - moved[..., row, col, :]
        c, _ = pol({"img": moved}, pol.initial_state(2), first)
        assert not torch.equal(a.pi_logits, c.pi_logits)
    assert torch.equal(other, kept)  # the caller's frames are not modified
    save_policy(pol, tmp_path / "p.model", tmp_path / "p.weights")
    back = load_policy(tmp_path / "p.model", tmp_path / "p.weights", 17).eval()
    assert back.net.hide_boxes == [(49, 56, 0, 28)]
    d, _ = back({"img": other}, back.initial_state(2), first)
    e, _ = back({"img": moved}, back.initial_state(2), first)
    torch.testing.assert_close(b.pi_logits, d.pi_logits)
    torch.testing.assert_close(c.pi_logits, e.pi_logits)


def test_bad_hidden_boxes_are_clear_errors() -> None:
    kwargs = get_preset("tiny").policy_kwargs
    with pytest.raises(ValueError, match=r"hide_boxes: \[1, 2, 3\] is not \[top, bottom"):
        VPTPolicy({**kwargs, "hide_boxes": [[1, 2, 3]]}, 4)
    with pytest.raises(ValueError, match="lies outside the 64x64 frame"):
        VPTPolicy({**kwargs, "hide_boxes": [[60, 70, 0, 4]]}, 4)
