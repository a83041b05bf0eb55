"""Frame-by-frame inference for VPT on a CPU: the image encoder (`ImageEncoder`) and the
transformer (`TransformerStepper`) of `VPTNet` on (B, 1) chunks, the same outputs up to float
rounding, with less work per step.

The encoder is `ImgObsProcess` written out: a single frame runs in NCHW (PyTorch picks its
native convolution for one image, which beats oneDNN on a channels-last view) with the 3x3/2
max-pool as two exact separable passes (PyTorch's CPU max-pool also computes indices), several
frames in channels-last (what the reference's NHWC->NCHW view gives); ReLUs in place, the dense
layers through `PackedLinear`. `PTGM_COMPILE=1` runs its conv stacks through `torch.compile`
(about 10% faster per step for 4 frames, after 10-50 s of compilation per model and frame count;
off by default).

The reference layer (`VPT.masked_attention`) is written for chunks: every call builds the
clipped-causal mask and the relative-position table from scratch and concatenates the new keys
onto the memory, which copies the whole memory every step (for 16 streams that copy was the
largest single cost of a step). `TransformerStepper` serves callers that advance all their
streams one frame at a time:

- keys and values live in one buffer per layer with room for `2 * maxlen` frames and a shared
  end pointer; a step writes one column and attends to a contiguous view of the newest
  `maxlen` columns; the buffer is compacted once every `maxlen` steps;
- the frame `maxlen` steps back, which the reference concatenates and then masks out (it lies
  outside the window), is not attended to at all, so the window is the constant relative-position
  table `b_nd` reversed, and the only mask is the streams' `valid` flags;
- an episode start clears the stream's `valid` flags (the reference marks `first` and masks the
  memory in the next step: the same keys are hidden);
- q, k, v and the relative-position features come from one matmul (weights concatenated once),
  and every linear layer uses its weight pre-packed for oneDNN (`PackedLinear`; a plain matmul
  on the pre-transposed weight where oneDNN is unavailable): with a few rows these matmuls
  mostly read weights, and the packed ones ran 10-35% faster than `F.linear` here.

Streams that sit out a step (`inactive`) are computed on a zero input and then shifted back, so their
memory is left as it was, as `VPT.policy.forward_rows` does.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn
from torch.nn import functional as F

from VPT.impala_cnn import ImgObsProcess, ImpalaCNN
from VPT.layers import FanInLayer
from VPT.masked_attention import MASKED, N_BASIS
from VPT.switches import env_flag
from VPT.transformer import ResidualRecurrentBlock, ResidualRecurrentBlocks


def fast_default() -> bool:
    """Whether callers take the fast paths: yes unless the environment says
    `PTGM_FAST_INFERENCE=0` (then they run the reference modules)."""
    return env_flag("PTGM_FAST_INFERENCE", default=True)


def _onednn_linear_available() -> bool:
    ops = torch.ops.mkldnn
    return (
        torch.backends.mkldnn.is_available()
        and hasattr(ops, "_linear_pointwise")
        and hasattr(ops, "_reorder_linear_weight")
    )


class PackedLinear:
    """`F.linear(x, weight, bias)` (then ReLU if `relu`) on 2-D float32 CPU inputs, with the
    weight packed once for oneDNN (`batch` rows expected) or, as a fallback, pre-transposed."""

    def __init__(
        self, weight: torch.Tensor, bias: torch.Tensor | None, batch: int, relu: bool = False
    ) -> None:
        weight, bias = weight.detach(), None if bias is None else bias.detach()
        self.relu, self.bias = relu, bias
        self.onednn = weight.device.type == "cpu" and weight.dtype == torch.float32
        self.onednn = self.onednn and _onednn_linear_available()
        if self.onednn:
            try:
                self.weight = torch.ops.mkldnn._reorder_linear_weight(weight, max(batch, 1))
                self._onednn(weight.new_zeros(1, weight.shape[1]))
            except RuntimeError:  # an unusual build: the portable path
                self.onednn = False
        if not self.onednn:
            self.weight = weight.t().contiguous()

    @classmethod
    def of(cls, layer: nn.Linear, batch: int, relu: bool = False) -> PackedLinear:
        return cls(layer.weight, layer.bias, batch, relu)

    def _onednn(self, x: torch.Tensor) -> torch.Tensor:
        attr = "relu" if self.relu else "none"
        return torch.ops.mkldnn._linear_pointwise(x, self.weight, self.bias, attr, [], "")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.onednn:
            return self._onednn(x)
        y = x @ self.weight if self.bias is None else torch.addmm(self.bias, x, self.weight)
        return F.relu(y) if self.relu else y


def _normed(layer: FanInLayer, batch: int) -> tuple[nn.LayerNorm | None, PackedLinear]:
    """A linear `FanInLayer` as (its input norm, its packed linear with the ReLU fused)."""
    norm = layer.norm
    if norm is not None and not isinstance(norm, nn.LayerNorm):
        raise TypeError(f"expected a layer norm before a linear layer, got {norm}")
    return norm, PackedLinear.of(layer.layer, batch, relu=layer.use_activation)


def apply_normed(unit: tuple[nn.LayerNorm | None, PackedLinear], x: torch.Tensor) -> torch.Tensor:
    """`FanInLayer.forward` for a unit from `_normed`."""
    norm, linear = unit
    if norm is not None:
        x = F.layer_norm(x, norm.normalized_shape, norm.weight, norm.bias, norm.eps)
    return linear(x)


class _BlockWeights:
    """One block's weights in the layout the step uses (fused q/k/v/r projection)."""

    def __init__(self, block: ResidualRecurrentBlock, batch: int) -> None:
        att = block.r.orc_block
        self.ln = block.pre_r_ln
        self.heads, self.maxlen = att.heads, att.maxlen
        width = att.q_layer.weight.shape[0]
        zeros = att.q_layer.bias.new_zeros(width)
        qkvr_weight = torch.cat(
            [att.q_layer.weight, att.k_layer.weight, att.v_layer.weight, att.r_layer.weight]
        )
        qkvr_bias = torch.cat([att.q_layer.bias, zeros, zeros, att.r_layer.bias])
        self.qkvr = PackedLinear(qkvr_weight, qkvr_bias, batch)
        self.split = [width, width, width, N_BASIS * att.heads]
        # Key i of the window (oldest first) is maxlen - 1 - i frames back.
        self.table = att.b_nd.detach().flip(-1).contiguous()  # (N_BASIS, maxlen)
        self.proj = PackedLinear.of(att.proj_layer, batch)
        self.mlp = None
        if block.use_pointwise_layer:
            self.mlp = (_normed(block.mlp0, batch), _normed(block.mlp1, batch))
        self.is_residual = block.is_residual


class _WeightWatch:
    """Notices in-place changes of some parameters (an optimizer step, `load_state_dict`) through
    their version counters; listing a module's parameters every step would cost more."""

    def __init__(self, *modules: nn.Module) -> None:
        self.params = [p for m in modules for p in m.parameters()]
        self.seen: tuple[int, ...] | None = None

    def changed(self) -> bool:
        versions = tuple(p._version for p in self.params)
        if versions == self.seen:
            return False
        self.seen = versions
        return True


class TransformerStepper:
    """Memory for `batch` streams of a `ResidualRecurrentBlocks` and one-frame steps through it.

    :param layer: the trunk's `recurrent_layer` (read, never modified; weight changes are picked
        up at the next step).
    """

    def __init__(
        self, layer: ResidualRecurrentBlocks, batch: int, device: torch.device | None = None
    ) -> None:
        self.layer = layer
        first = layer.blocks[0].r
        self.maxlen, self.width = first.maxlen, first.width
        self.capacity = 2 * self.maxlen
        n_layers, self.batch = len(layer.blocks), batch
        heads = layer.blocks[0].r.orc_block.heads
        # Head-major (layers, B, heads, frames, head dim): a window is a batch of matrices.
        shape = (n_layers, batch, heads, self.capacity, self.width // heads)
        self.keys = torch.zeros(shape, device=device)
        self.values = torch.zeros(shape, device=device)
        self.valid = torch.zeros(batch, self.capacity, dtype=torch.bool, device=device)
        self.end = self.maxlen  # the memory is columns [end - maxlen, end)
        self._weights: list[_BlockWeights] = []
        self._watch = _WeightWatch(layer)

    def reset(self, rows: torch.Tensor) -> None:
        """Hide the memory of these streams from their next frame on (an episode start)."""
        self.valid[rows] = False

    def step(self, x: torch.Tensor, inactive: torch.Tensor | None = None) -> torch.Tensor:
        """One frame for every stream: `x` (B, width), the blocks' input -> their output.

        Streams in `inactive` (row indices) keep their memory unchanged; their output is junk.
        """
        weights = self._current_weights()
        if self.end == self.capacity:
            self._compact()
        e = self.end
        self.valid[:, e] = True
        window = slice(e + 1 - self.maxlen, e + 1)
        hidden = ~self.valid[:, None, None, window]  # (B, 1, 1, maxlen)
        for i, w in enumerate(weights):
            x = self._block(w, x, self.keys[i], self.values[i], e, window, hidden)
        self.end = e + 1
        if inactive is not None and len(inactive):
            self._hold(inactive, e)
        return x

    def _block(
        self,
        w: _BlockWeights,
        x: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor,
        e: int,
        window: slice,
        hidden: torch.Tensor,
    ) -> torch.Tensor:
        batch, width = x.shape
        heads = w.heads
        dim = width // heads
        x = F.layer_norm(x, (width,), w.ln.weight, w.ln.bias, w.ln.eps)
        q, k, v, r = w.qkvr(x).split(w.split, dim=-1)
        heads_first = (batch, heads, dim)
        keys[:, :, e] = k.view(heads_first)
        values[:, :, e] = v.view(heads_first)
        # (B, heads, maxlen, dim) windows fold to (B * heads) matrices without a copy.
        k_win = keys[:, :, window].reshape(batch * heads, self.maxlen, dim)
        v_win = values[:, :, window].reshape(batch * heads, self.maxlen, dim)
        bias = torch.matmul(r.reshape(batch, heads, 1, N_BASIS), w.table)  # (B, H, 1, maxlen)
        bias = bias.masked_fill(hidden, MASKED).view(batch * heads, 1, self.maxlen)
        q = q.reshape(batch * heads, 1, dim)
        # Logits scaled by 1/dim (muP) plus the bias, as the reference's attention.
        scores = torch.baddbmm(bias, q, k_win.transpose(1, 2), alpha=1.0 / dim)
        attended = torch.bmm(torch.softmax(scores, dim=-1), v_win)
        x = x + w.proj(attended.reshape(batch, width))
        if w.mlp is not None:
            y = apply_normed(w.mlp[1], apply_normed(w.mlp[0], x))
            x = x + y if w.is_residual else y
        return x

    def _compact(self) -> None:
        """Move the memory (the newest `maxlen` columns) to the front of the buffer."""
        keep = self.maxlen
        self.keys[:, :, :, :keep] = self.keys[:, :, :, -keep:].clone()
        self.values[:, :, :, :keep] = self.values[:, :, :, -keep:].clone()
        self.valid[:, :keep] = self.valid[:, -keep:].clone()
        self.end = keep

    def _hold(self, rows: torch.Tensor, e: int) -> None:
        """Undo the last step for `rows`: their window moves back onto their old memory."""
        old, new = slice(e - self.maxlen, e), slice(e + 1 - self.maxlen, e + 1)
        for buf in (self.keys, self.values):
            buf[:, rows, :, new] = buf[:, rows, :, old]  # advanced indexing: a copy
        self.valid[rows, new] = self.valid[rows, old]

    def _current_weights(self) -> list[_BlockWeights]:
        if self._watch.changed():
            with torch.no_grad():
                self._weights = [_BlockWeights(b, self.batch) for b in self.layer.blocks]
        return self._weights


def max_pool_3x3_s2(x: torch.Tensor) -> torch.Tensor:
    """`F.max_pool2d(x, 3, 2, 1)`, exactly, as a max over rows then over columns."""
    height, width = x.shape[-2:]
    rows, cols = (height + 1) // 2, (width + 1) // 2
    p = F.pad(x, (1, 1, 1, 1), value=float("-inf"))
    r = torch.maximum(p[..., 0 : 2 * rows : 2, :], p[..., 1 : 2 * rows + 1 : 2, :])
    r = torch.maximum(r, p[..., 2 : 2 * rows + 2 : 2, :])
    out = torch.maximum(r[..., 0 : 2 * cols : 2], r[..., 1 : 2 * cols + 1 : 2])
    return torch.maximum(out, r[..., 2 : 2 * cols + 2 : 2])


def _max_pool(x: torch.Tensor) -> torch.Tensor:
    return F.max_pool2d(x, kernel_size=3, stride=2, padding=1)


def _conv_unit(unit: FanInLayer, x: torch.Tensor) -> torch.Tensor:
    """A conv `FanInLayer` (norm, conv, ReLU), the ReLU in place."""
    norm = unit.norm
    if isinstance(norm, nn.GroupNorm):
        x = F.group_norm(x, norm.num_groups, norm.weight, norm.bias, norm.eps)
    elif norm is not None:
        x = norm(x)
    x = unit.layer(x)
    return F.relu_(x) if unit.use_activation else x


def conv_features(cnn: ImpalaCNN, img: torch.Tensor) -> torch.Tensor:
    """`cnn`'s conv stacks on frames (B, H, W, C) scaled to floats -> (B, C' * H' * W'), flattened
    channel-major (the order of the dense weights)."""
    batch = img.shape[0]
    x = img.permute(0, 3, 1, 2)
    # One frame: NCHW (native convolution); more: channels-last (oneDNN), as the reference.
    x = x.contiguous() if batch == 1 else x.contiguous(memory_format=torch.channels_last)
    pool = max_pool_3x3_s2 if batch == 1 else _max_pool
    for stack in cnn.stacks:
        x = _conv_unit(stack.firstconv, x)
        if stack.pool:
            x = pool(x)
            if stack.n is not None:
                x = stack.n(x)
        for block in stack.blocks:
            x = x + _conv_unit(block.conv1, _conv_unit(block.conv0, x))
    return x.contiguous().reshape(batch, -1)


def compile_default() -> bool:
    """Whether `ImageEncoder`s compile their conv stacks: only when the environment says
    `PTGM_COMPILE=1` (each new model or frame count costs tens of seconds of compilation)."""
    return env_flag("PTGM_COMPILE", default=False)


class ImageEncoder:
    """`ImgObsProcess` for frames (B, H, W, C) already scaled to floats -> (B, hidsize).

    :param process: the trunk's `img_process` (read, never modified).
    :param batch: the usual number of frames per call.
    :param compile: run the conv stacks through `torch.compile` (inductor, weights frozen: for
        frozen models only) for `batch` frames, or for any number with `dynamic`; other calls,
        and every call after a compiler error, run eager. Default: `compile_default()`.
    """

    def __init__(
        self,
        process: ImgObsProcess,
        batch: int,
        compile: bool | None = None,
        dynamic: bool = False,
    ) -> None:
        self.process, self.batch, self.dynamic = process, batch, dynamic
        self._dense: list[tuple[nn.LayerNorm | None, PackedLinear]] = []
        self._watch = _WeightWatch(process.cnn.dense, process.linear)
        compile = compile_default() if compile is None else compile
        self._compiled = None
        if compile:  # the module is closed over, so that freezing folds its weights in
            cnn = process.cnn
            self._compiled = torch.compile(lambda img: conv_features(cnn, img), dynamic=dynamic)

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        x = self._conv_features(img)
        for unit in self._dense_units():
            x = apply_normed(unit, x)
        return x

    def _conv_features(self, img: torch.Tensor) -> torch.Tensor:
        cnn = self.process.cnn
        if self._compiled is not None and (self.dynamic or img.shape[0] == self.batch):
            from torch._inductor import config as inductor_config  # imported only when used

            try:
                with inductor_config.patch(freezing=True):
                    return self._compiled(img)
            except Exception as err:  # any compiler failure: the eager path, for good
                message = f"torch.compile failed for the image encoder, running eager: {err}"
                warnings.warn(message, stacklevel=2)
                self._compiled = None
        return conv_features(cnn, img)

    def _dense_units(self) -> list[tuple[nn.LayerNorm | None, PackedLinear]]:
        if self._watch.changed():
            with torch.no_grad():
                units = (self.process.cnn.dense, self.process.linear)
                self._dense = [_normed(unit, self.batch) for unit in units]
        return self._dense
