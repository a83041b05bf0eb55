"""`.weights` and `.model` files: round trips, wrapper prefixes, upstream's layout, clear errors."""

from __future__ import annotations

import collections
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from VPT import (
    VPTPolicy,
    WeightsMismatchError,
    get_preset,
    load_model_file,
    load_policy,
    load_weights,
    save_model_file,
    save_policy,
    save_weights,
)


def tiny(action_space: object = 17, **overrides: object) -> VPTPolicy:
    preset = get_preset("tiny")
    return VPTPolicy({**preset.policy_kwargs, **overrides}, action_space, preset.pi_head_kwargs)


def assert_same_state(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


@pytest.mark.parametrize("prefix", ["", "policy.", "module.policy."])
def test_weights_round_trip_with_prefixes(tmp_path: Path, prefix: str) -> None:
    torch.manual_seed(0)
    source = tiny({"camera": 5, "buttons": 7})
    with torch.no_grad():
        source.value_head.normalizer.debiasing_term.fill_(0.5)
    path = tmp_path / "p.weights"
    save_weights(source, path, prefix=prefix)
    raw = torch.load(path, weights_only=True)
    assert all(k.startswith(prefix) for k in raw)
    torch.manual_seed(1)
    target = tiny({"camera": 5, "buttons": 7})
    result = load_weights(target, path)
    assert result.missing == [] and result.unexpected == []
    assert_same_state(source, target)


def test_wrong_n_names_file_key_and_shapes(tmp_path: Path) -> None:
    path = tmp_path / "prior_n17.weights"
    save_weights(tiny(17), path)
    with pytest.raises(WeightsMismatchError) as info:
        load_weights(tiny(100), path)
    message = str(info.value)
    assert str(path) in message
    assert "pi_head.linear_layer.weight: model expects [100, 32], file has [17, 32]" in message
    assert "pi_head.linear_layer.bias: model expects [100], file has [17]" in message


def test_wrong_kwargs_lists_missing_and_unexpected_keys(tmp_path: Path) -> None:
    path = tmp_path / "two_layers.weights"
    save_weights(tiny(), path)
    with pytest.raises(WeightsMismatchError) as info:
        load_weights(tiny(n_recurrence_layers=3), path)
    message = str(info.value)
    assert str(path) in message and "missing from the file" in message
    assert "net.recurrent_layer.blocks.2.r.orc_block.q_layer.weight [32, 32]" in message
    dict_path = tmp_path / "minecraft_heads.weights"
    save_weights(tiny({"camera": 5, "buttons": 7}), dict_path)
    with pytest.raises(WeightsMismatchError, match=r"unexpected key\(s\)[\s\S]*pi_head.camera"):
        load_weights(tiny(17), dict_path)


def test_non_strict_and_partial_loading(tmp_path: Path) -> None:
    path = tmp_path / "vpt.weights"
    source = tiny({"camera": 5, "buttons": 7})
    save_weights(source, path)
    target = tiny(100)
    result = load_weights(target, path, strict=False)
    assert "pi_head.linear_layer.weight" in result.missing
    assert "pi_head.camera.linear_layer.weight" in result.unexpected
    trunk = ("net.img_process.", "net.recurrent_layer.")
    target = tiny(100)
    head_before = target.pi_head.linear_layer.weight.clone()
    assert load_weights(target, path, include=trunk) == ([], [])
    for key, value in target.state_dict().items():
        if key.startswith(trunk):
            assert torch.equal(value, source.state_dict()[key])
    assert torch.equal(target.pi_head.linear_layer.weight, head_before)


def test_model_file_uses_upstream_nested_layout(tmp_path: Path) -> None:
    kwargs = get_preset("tiny").policy_kwargs
    path = tmp_path / "tiny.model"
    save_model_file(path, kwargs, {"temperature": 2.0}, action_space=17)
    with open(path, "rb") as f:
        obj = pickle.load(f)
    assert obj["model"]["args"]["net"]["args"] == kwargs
    assert obj["model"]["args"]["pi_head_opts"] == {"temperature": 2.0}
    spec = load_model_file(path)
    assert spec.policy_kwargs == kwargs and spec.action_space == 17
    assert spec.pi_head_kwargs == {"temperature": 2.0}


def test_reads_upstream_style_model_file(tmp_path: Path) -> None:
    """Upstream files: extra keys, an int temperature, possibly numpy scalars and OrderedDicts."""
    net_args = collections.OrderedDict(get_preset("tiny").policy_kwargs)
    net_args["hidsize"] = np.int64(32)
    net_args["active_reward_monitors"] = None
    obj = {
        "version": 1,
        "model": {
            "function": "some.internal:module",
            "args": {
                "net": {"args": net_args, "function": "x", "local_args": {}},
                "pi_head_opts": {"temperature": 2},
            },
        },
    }
    path = tmp_path / "upstream.model"
    path.write_bytes(pickle.dumps(obj))
    spec = load_model_file(path)
    assert spec.pi_head_kwargs["temperature"] == 2.0
    assert isinstance(spec.pi_head_kwargs["temperature"], float)
    assert type(spec.policy_kwargs["hidsize"]) is int and spec.action_space is None
    VPTPolicy(spec.policy_kwargs, 17, spec.pi_head_kwargs)  # unknown kwargs are tolerated


def test_model_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.model"
    bad.write_bytes(pickle.dumps({"model": {"args": {}}}))
    with pytest.raises(ValueError, match="not a VPT .model file"):
        load_model_file(bad)
    evil = tmp_path / "evil.model"
    evil.write_bytes(pickle.dumps({"model": os.getcwd}))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        load_model_file(evil)


@pytest.mark.parametrize("strict", [True, False])
def test_load_policy_from_pair(tmp_path: Path, strict: bool) -> None:
    torch.manual_seed(0)
    source = tiny(9).eval()
    save_policy(source, tmp_path / "a.model", tmp_path / "a.weights")
    loaded = load_policy(tmp_path / "a.model", tmp_path / "a.weights", strict=strict).eval()
    assert loaded.action_space == 9 and loaded.pi_head_kwargs == source.pi_head_kwargs
    assert_same_state(source, loaded)
    img = torch.randint(0, 256, (1, 3, 64, 64, 3), dtype=torch.uint8)
    first = torch.zeros(1, 3, dtype=torch.bool)
    a, _ = source({"img": img}, source.initial_state(1), first)
    b, _ = loaded({"img": img}, loaded.initial_state(1), first)
    assert torch.equal(a.pi_logits, b.pi_logits)
