"""Half-precision weights load into a float32 policy (how the Crafter models are shipped)."""

import torch

from VPT.checkpoint import load_weights, save_weights
from VPT.convert_weights import convert
from VPT.policy import VPTPolicy
from VPT.presets import get_preset


def test_float16_round_trip(tmp_path):
    preset = get_preset("tiny")
    a = VPTPolicy(preset.policy_kwargs, 5, preset.pi_head_kwargs)
    save_weights(a, tmp_path / "a.weights", prefix="policy.")
    convert(tmp_path / "a.weights", tmp_path / "h.weights", "float16")
    b = VPTPolicy(preset.policy_kwargs, 5, preset.pi_head_kwargs)
    load_weights(b, tmp_path / "h.weights")
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert y.dtype == torch.float32
        assert torch.allclose(x, y, atol=1e-3, rtol=1e-3), name
