"""The image encoder's default path (channels-last, max-pool before ReLU) computes what its
reference path (`ImpalaCNN.reference`) computes: outputs and parameter gradients."""

import pytest
import torch
from torch import nn

from VPT.impala_cnn import CnnBasicBlock, ImgObsProcess
from VPT.policy import VPTNet
from VPT.presets import get_preset


def encoder(dtype: torch.dtype = torch.float32) -> ImgObsProcess:
    torch.manual_seed(0)
    return VPTNet(**get_preset("crafter").policy_kwargs).img_process.to(dtype)


def frames(n: int, layout: str, dtype: torch.dtype) -> torch.Tensor:
    """(n, 1, 64, 64, 3) frames stored NHWC (VPT callers) or NCHW (SB3's)."""
    x = torch.rand(n, 64, 64, 3, generator=torch.Generator().manual_seed(1), dtype=dtype)
    if layout == "nchw":
        x = x.permute(0, 3, 1, 2).contiguous().permute(0, 2, 3, 1)
    return x[:, None]


def output_and_grads(enc: ImgObsProcess, x: torch.Tensor, reference: bool):
    enc.cnn.reference = reference
    enc.zero_grad()
    y = enc(x)
    weights = torch.linspace(-1, 1, y.numel(), dtype=y.dtype).reshape(y.shape)
    (y * weights).sum().backward()
    return y.detach(), {n: p.grad.clone() for n, p in enc.named_parameters()}


def assert_close(a: torch.Tensor, b: torch.Tensor, tol: float, what: str) -> None:
    rel = ((a - b).norm() / b.norm()).item()
    assert rel < tol, f"{what}: relative difference {rel:.2e}"


def assert_paths_agree(enc: ImgObsProcess, x: torch.Tensor, out_tol: float, grad_tol: float):
    """The default path's output and parameter gradients are those of the reference path."""
    y_ref, g_ref = output_and_grads(enc, x, reference=True)
    y, g = output_and_grads(enc, x, reference=False)
    assert_close(y, y_ref, out_tol, "output")
    for name in g_ref:
        assert_close(g[name], g_ref[name], grad_tol, name)


@pytest.mark.parametrize("layout", ["nhwc", "nchw"])
@pytest.mark.parametrize("n_frames", [1, 5])
def test_default_path_matches_the_reference_float64(layout, n_frames):
    # Float64, so that float32's layout-dependent rounding (see below) does not hide a real change.
    assert_paths_agree(
        encoder(torch.float64), frames(n_frames, layout, torch.float64), 1e-12, 1e-10
    )


def test_default_path_matches_the_reference_float32():
    # NHWC frames: both paths run channels-last, so only the ReLU/pool order differs. (NCHW frames
    # run NCHW kernels in the reference; their rounding differs, and the gradients of the convs
    # that feed a group norm, orthogonal to their weights, come from cancellation: ~1e-3 apart.)
    assert_paths_agree(encoder(), frames(8, "nhwc", torch.float32), 1e-6, 1e-5)


def test_conv_stacks_stay_channels_last():
    # A layer that silently returned NCHW would make every later op convert back and forth.
    enc = encoder()
    seen = []
    for module in enc.cnn.stacks.modules():
        if isinstance(module, (nn.GroupNorm, nn.Conv2d, CnnBasicBlock)):
            module.register_forward_hook(
                lambda m, i, out: seen.append(out.is_contiguous(memory_format=torch.channels_last))
            )
    enc(frames(3, "nchw", torch.float32))
    assert seen and all(seen)


@pytest.mark.parametrize("reference", [False, True])
def test_film_scales_and_shifts_each_stack(reference):
    """`ImpalaCNN.forward(x, film)`: each stack's output x becomes x * (1 + gamma) + beta."""
    enc = encoder()
    enc.cnn.reference = reference
    x = frames(3, "nhwc", torch.float32)
    chans = enc.cnn.chans
    gen = torch.Generator().manual_seed(2)
    film = [torch.randn(3, 1, 2 * c, generator=gen) for c in chans]
    with torch.no_grad():
        h = x.reshape(3, *x.shape[2:]).permute(0, 3, 1, 2)
        for stack, f in zip(enc.cnn.stacks, film, strict=True):
            gamma, beta = f[:, 0, :, None, None].chunk(2, dim=1)
            h = stack(h, reference=True) * (1 + gamma) + beta
        expected = enc.linear(enc.cnn.dense(h.reshape(3, 1, -1)))
        torch.testing.assert_close(enc(x, film), expected, atol=1e-5, rtol=1e-5)
        assert not torch.allclose(enc(x), expected)
