"""The VPT policy: image encoder -> transformer over past frames -> action and value heads.

`VPTNet` is the trunk (`net.*` in checkpoints), built from the `net.args` kwargs of a `.model`
file; `VPTPolicy` adds `value_head` and `pi_head`. Subclasses add inputs through
`VPTNet.input_residual` and `VPTNet.modulate_latent` (STEVE-1's goal projection lives in
`steve1/`).

Recurrent state: a list with one `(valid, keys, values)` tuple of batch-first tensors per
transformer block; `map_state` / `concat_states` / `assign_state_rows` index, detach, move,
join or update it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from VPT.heads import ActionSpace, Logits, ScaledMSEHead, make_action_head, normalize_action_space
from VPT.impala_cnn import ImgObsProcess
from VPT.layers import FanInLayer, norm_kind
from VPT.masked_attention import BlockState
from VPT.transformer import ResidualRecurrentBlocks

State = list[BlockState]
# Optional obs key: precomputed image features (B, T, hidsize) used instead of encoding obs["img"].
IMG_FEATURES_KEY = "img_features"

# net.args keys that upstream accepts and ignores, or whose only supported value is the default.
_IGNORED_KWARGS = {"only_img_input", "diff_mlp_embedding", "single_output", "input_shape"}
_IGNORED_KWARGS |= {"active_reward_monitors", "obs_processing_width"}


class PolicyOutput(NamedTuple):
    """`pi_logits`: log-probs (B, T, n) or a dict of them; `vpred`: normalised value (B, T);
    `latent`: the trunk's output (B, T, hidsize)."""

    pi_logits: Logits
    vpred: torch.Tensor
    latent: torch.Tensor


def map_state(fn: Callable[[torch.Tensor], torch.Tensor], state: State) -> State:
    """Apply `fn` to every tensor of a recurrent state (e.g. `lambda x: x[idx]`, `Tensor.detach`)."""
    return [tuple(fn(x) for x in block) for block in state]  # type: ignore[misc]


def assign_state_rows(state: State, rows: torch.Tensor, new: State) -> None:
    """Write `new` (a state for len(rows) streams) into rows `rows` of `state`, in place."""
    for block, new_block in zip(state, new, strict=True):
        for x, y in zip(block, new_block, strict=True):
            x[rows] = y


def forward_rows(
    model: nn.Module,
    obs: Mapping[str, torch.Tensor],
    state: State,
    first: torch.Tensor,
    rows: torch.Tensor | None,
) -> tuple[Any, State]:
    """`model(obs, state[rows], first)` for some of the streams of a batched memory.

    `obs` and `first` hold only those rows; their memory is updated in place in `state`, the
    other streams are left untouched. `rows=None` runs every stream (no gather or scatter).
    Returns the outputs and the full next state.
    """
    if rows is None:
        return model(obs, state, first)
    out, new = model(obs, map_state(lambda x: x[rows], state), first)
    assign_state_rows(state, rows, new)
    return out, state


def concat_states(states: Sequence[State]) -> State:
    """Join states along the batch axis (e.g. a conditional and an unconditional stream)."""
    return [
        tuple(torch.cat(parts, dim=0) for parts in zip(*blocks, strict=True))
        for blocks in zip(*states, strict=True)
    ]  # type: ignore[misc]


class VPTNet(nn.Module):
    """The trunk (`MinecraftPolicy` upstream). Keyword names are those of `.model` net args.

    Extra kwargs beyond upstream's: `cnn_outsize` (256 upstream) and `impala_nblock` (2), used by
    the small Crafter presets, and `hide_boxes`: pixel boxes `[top, bottom, left, right]` (rows
    top..bottom-1, columns left..right-1) set to zero before the CNN (none upstream; see
    `scale_images`). Unknown kwargs are kept in `unused_kwargs` and otherwise ignored.
    """

    def __init__(
        self,
        *,
        hidsize: int,
        img_shape: Sequence[int],
        impala_width: int = 1,
        impala_chans: Sequence[int] = (16, 32, 32),
        impala_kwargs: Mapping[str, Any] | None = None,
        init_norm_kwargs: Mapping[str, Any] | None = None,
        n_recurrence_layers: int = 1,
        attention_heads: int = 8,
        attention_mask_style: str = "clipped_causal",
        attention_memory_size: int = 2048,
        timesteps: int = 128,
        pointwise_ratio: int = 4,
        pointwise_use_activation: bool = False,
        use_pointwise_layer: bool = True,
        recurrence_type: str = "transformer",
        recurrence_is_residual: bool = True,
        use_pre_lstm_ln: bool = True,
        first_conv_norm: bool = False,
        scale_input_img: bool = True,
        img_statistics: str | None = None,
        cnn_outsize: int = 256,
        impala_nblock: int = 2,
        hide_boxes: Sequence[Sequence[int]] | None = None,
        **unused_kwargs: Any,
    ) -> None:
        super().__init__()
        _check_supported(recurrence_type, attention_mask_style, img_statistics)
        self.unused_kwargs = {k: v for k, v in unused_kwargs.items() if k not in _IGNORED_KWARGS}
        self.hidsize = hidsize
        self.img_scale = 255.0 if scale_input_img else 1.0
        self.hide_boxes = check_boxes(hide_boxes, img_shape)
        norm, groups = norm_kind(init_norm_kwargs or {})
        impala_kwargs = dict(impala_kwargs or {})
        self.img_process = ImgObsProcess(
            img_shape=img_shape,
            chans=[int(c * impala_width) for c in impala_chans],
            cnn_outsize=cnn_outsize,
            hidsize=hidsize,
            nblock=impala_nblock,
            norm=norm,
            groups=groups,
            first_conv_norm=first_conv_norm,
            post_pool_groups=impala_kwargs.pop("post_pool_groups", None),
            pool=impala_kwargs.pop("pool", True),
        )
        self.pre_lstm_ln = nn.LayerNorm(hidsize) if use_pre_lstm_ln else None
        self.recurrent_layer = ResidualRecurrentBlocks(
            n_block=n_recurrence_layers,
            is_residual=recurrence_is_residual,
            hidsize=hidsize,
            timesteps=timesteps,
            attention_heads=attention_heads,
            attention_memory_size=attention_memory_size,
            use_pointwise_layer=use_pointwise_layer,
            pointwise_ratio=pointwise_ratio,
            pointwise_use_activation=pointwise_use_activation,
        )
        dense_norm = "layer" if norm != "none" else "none"
        self.lastlayer = FanInLayer(hidsize, hidsize, "linear", dense_norm)
        self.final_ln = nn.LayerNorm(hidsize)

    def input_residual(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor | None:
        """Extra (B, T, hidsize) features added to the image features; none in plain VPT."""
        return None

    def initial_state(self, batch_size: int, device: torch.device | None = None) -> State:
        return self.recurrent_layer.initial_state(batch_size, device)

    def forward(
        self, obs: Mapping[str, torch.Tensor], state: State, first: torch.Tensor
    ) -> tuple[torch.Tensor, State]:
        x, state = self.recurrent(obs, state, first)
        return self.modulate_latent(self.latent(x), obs), state

    def modulate_latent(
        self, latent: torch.Tensor, obs: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:
        """The heads' input from `latent` (..., hidsize) and the extra inputs; plain VPT: as is."""
        return latent

    def recurrent(
        self, obs: Mapping[str, torch.Tensor], state: State, first: torch.Tensor
    ) -> tuple[torch.Tensor, State]:
        """The first half of `forward`: frames (and extra inputs) -> the transformer's output."""
        x = obs[IMG_FEATURES_KEY] if IMG_FEATURES_KEY in obs else self.encode_obs(obs)
        extra = self.input_residual(obs)
        if extra is not None:
            x = x + extra
        if self.pre_lstm_ln is not None:
            x = self.pre_lstm_ln(x)
        return self.recurrent_layer(x, first.bool(), state)

    def encode_obs(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The image features of `obs["img"]`; subclasses may let other inputs shape them."""
        return self.encode_images(obs["img"])

    def encode_images(
        self, img: torch.Tensor, film: Sequence[torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Frames uint8 (B, T, H, W, C) -> image features (B, T, hidsize), the CNN's output.

        Callers that run several streams on the same frames (classifier-free guidance runs a
        conditioned and an unconditioned stream per env) encode them once and pass the features
        as `obs[IMG_FEATURES_KEY]`, unless the features depend on another input: `film`, per CNN
        stack a scale and shift of its channels (see `ImpalaCNN.forward`), is how a low level
        with `goal_film_cnn` lets its goal shape them (`steve1.embed_conditioned_policy`);
        without it the features are the zero goal's.
        """
        if img.ndim != 5:
            raise ValueError(f"obs['img'] must be (B, T, H, W, C), got shape {tuple(img.shape)}")
        return self.img_process(self.scale_images(img), film)

    def scale_images(self, img: torch.Tensor) -> torch.Tensor:
        """Frames (..., H, W, C) -> floats for the CNN: divided by `img_scale`, with every
        `hide_boxes` box set to zero (a Crafter low level that does not see the vitals, say)."""
        x = img.float() / self.img_scale
        for top, bottom, left, right in self.hide_boxes:
            x[..., top:bottom, left:right, :] = 0
        return x

    def latent(self, x: torch.Tensor) -> torch.Tensor:
        """The second half of `forward`: the transformer's output -> the heads' input."""
        return self.final_ln(self.lastlayer(F.relu(x)))


def check_boxes(
    boxes: Sequence[Sequence[int]] | None, img_shape: Sequence[int]
) -> list[tuple[int, int, int, int]]:
    """`hide_boxes` as int tuples; a box that is not four numbers inside the frame is an error."""
    out = []
    for box in boxes or ():
        if len(box) != 4:
            raise ValueError(f"hide_boxes: {box} is not [top, bottom, left, right]")
        top, bottom, left, right = (int(v) for v in box)
        if not (0 <= top < bottom <= img_shape[0] and 0 <= left < right <= img_shape[1]):
            raise ValueError(
                f"hide_boxes: {box} lies outside the {img_shape[0]}x{img_shape[1]} frame"
            )
        out.append((top, bottom, left, right))
    return out


class VPTPolicy(nn.Module):
    """Trunk plus `value_head` and `pi_head` (`MinecraftAgentPolicy` upstream).

    :param policy_kwargs: the `.model` file's `net.args` (see `VPT.presets`).
    :param action_space: int n (`Discrete(n)`) or ordered mapping name -> n (see `VPT.heads`).
    :param pi_head_kwargs: `{"temperature": t}`; logits are divided by t.
    :param net_kwargs: extra constructor arguments for `net_class` (subclasses).
    """

    net_class: type[VPTNet] = VPTNet

    def __init__(
        self,
        policy_kwargs: Mapping[str, Any],
        action_space: ActionSpace,
        pi_head_kwargs: Mapping[str, Any] | None = None,
        **net_kwargs: Any,
    ) -> None:
        super().__init__()
        self.policy_kwargs = dict(policy_kwargs)
        self.pi_head_kwargs = {"temperature": float((pi_head_kwargs or {}).get("temperature", 1.0))}
        self.action_space = normalize_action_space(action_space)
        self.net = self.net_class(**{**self.policy_kwargs, **net_kwargs})
        self.value_head = ScaledMSEHead(self.net.hidsize)
        self.pi_head = make_action_head(self.action_space, self.net.hidsize, **self.pi_head_kwargs)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def initial_state(self, batch_size: int) -> State:
        """Empty memory for `batch_size` streams, on the policy's device."""
        return self.net.initial_state(batch_size, self.device)

    def forward(
        self, obs: Mapping[str, torch.Tensor], state: State, first: torch.Tensor
    ) -> tuple[PolicyOutput, State]:
        """Run a (B, T) chunk: `obs["img"]` uint8 (B, T, H, W, C); `first` bool (B, T) marks
        episode starts (memory before them is hidden). Returns outputs and the next state."""
        latent, state = self.net(obs, state, first)
        return PolicyOutput(self.pi_head(latent), self.value_head(latent), latent), state

    def value(self, vpred: torch.Tensor) -> torch.Tensor:
        """Normalised value prediction -> value in return units."""
        return self.value_head.denormalize(vpred)

    @torch.no_grad()
    def act(
        self,
        obs: Mapping[str, torch.Tensor],
        state: State,
        first: torch.Tensor,
        deterministic: bool = False,
    ) -> tuple[Any, State, PolicyOutput]:
        """One step for B streams: obs without the time axis, `first` (B,). Returns the sampled
        action (B,) (or dict), the next state and the outputs with the time axis removed."""
        obs_t = {k: v.unsqueeze(1) for k, v in obs.items()}
        out, state = self(obs_t, state, first.reshape(-1, 1))
        out = PolicyOutput(_squeeze_time(out.pi_logits), out.vpred[:, 0], out.latent[:, 0])
        return self.pi_head.sample(out.pi_logits, deterministic), state, out


def _squeeze_time(logits: Logits) -> Logits:
    if isinstance(logits, dict):
        return {k: v[:, 0] for k, v in logits.items()}
    return logits[:, 0]


def _check_supported(recurrence_type: str, mask_style: str, img_statistics: str | None) -> None:
    if recurrence_type != "transformer":
        raise NotImplementedError(
            f"recurrence_type {recurrence_type!r} is not implemented; only 'transformer' (the "
            "official VPT models) is"
        )
    if mask_style != "clipped_causal":
        raise NotImplementedError(
            f"attention_mask_style {mask_style!r} is not implemented; only 'clipped_causal' is"
        )
    if img_statistics is not None:
        raise NotImplementedError("img_statistics (mean/std image files) is not supported")


def count_parameters(module: nn.Module) -> int:
    """Number of scalar parameters (frozen ones included, as in the checkpoint)."""
    return sum(p.numel() for p in module.parameters())
