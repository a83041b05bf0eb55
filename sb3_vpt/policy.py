"""`VPTActorCriticPolicy`: an SB3 policy that is a recurrent VPT network and nothing else.

PTGM's high-level policy is the VPT trunk (ImpalaCNN -> transformer over past frames -> last
layer) with an N-way categorical head (N = codebook size, temperature 1.0) and VPT's value head.
It sees one frame per high-level step; the transformer's memory spans the high-level steps of an
episode, and `first` (the episode starts) hides everything before an episode's first frame.
With a `Box` action space (continuous goal mode) the action head is a diagonal Gaussian
(`sb3_vpt.heads.DiagGaussianHead`).

Initialisation, as upstream:

- `vpt_weights`: `net.img_process` and `net.recurrent_layer` (and `net.pre_lstm_ln` when the
  preset has one; the official presets do not) come from a VPT `.weights` file; the other trunk
  layers keep their fresh init and the heads are re-initialised (`sb3_vpt.heads.reset_heads_`).
- `prior_weights`: the whole goal-prior `.weights` file (same architecture, N-way head) is loaded
  strictly and the heads are kept. Loading from the prior needs a Discrete(N) action space.
- neither: a fresh network with the re-initialised heads.

Only the parameters under the `trainable` prefixes learn (default: the heads, `net.lastlayer`,
`net.final_ln`); the optimizer (Adam, eps 1e-5) holds only those. The value is the raw value-head
output regressed on raw returns, as upstream (VPT's EWMA value normaliser is not used).

Unlike upstream (an SB3 `RecurrentActorCriticPolicy`, whose LSTM extractor built ~100M unused
parameters), SB3 builds no feature extractor, MLP or distribution here: every parameter of this
module is a parameter of `self.vpt`.

Frozen trunk. When nothing in front of the transformer's output trains (the default), that output
for a step is the same while acting and while training; `step` returns it (`features`) so the
rollout buffer can keep it and training runs only the trainable layers on it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy

from sb3_vpt.heads import DiagGaussianHead, reset_heads_
from sb3_vpt.observations import POV_KEY, check_image_shape, frames, image_space
from sb3_vpt.trainable import (
    DEFAULT_TRAINABLE,
    RECURRENT_TRUNK,
    Trainable,
    any_trainable_under,
    freeze_except_,
)
from VPT.checkpoint import load_weights
from VPT.policy import State, VPTPolicy
from VPT.presets import get_preset

HIGH_LEVEL_PI_HEAD_KWARGS = {"temperature": 1.0}  # upstream's high level overrides VPT's 2.0
TRUNK_PREFIXES = ("net.img_process.", "net.pre_lstm_ln.", "net.recurrent_layer.")


def trunk_prefixes(vpt: torch.nn.Module) -> list[str]:
    """The `TRUNK_PREFIXES` that `vpt` has (`pre_lstm_ln` is optional)."""
    keys = vpt.state_dict()
    return sorted(p for p in TRUNK_PREFIXES if any(k.startswith(p) for k in keys))


class StepResult(NamedTuple):
    """One acting step for n envs. `dist_params`: log-probs (n, N) for a Discrete(N) action
    space, `[mean, log_std]` stacked in the last axis (n, d, 2) for a Box; `features`: the
    transformer's output (n, hidsize), reused by training when the trunk is frozen."""

    actions: torch.Tensor
    values: torch.Tensor
    log_probs: torch.Tensor
    dist_params: torch.Tensor
    state: State
    features: torch.Tensor


class SequenceEvaluation(NamedTuple):
    """Values, log-probs of the taken actions and entropies, each (B, T), with gradients."""

    values: torch.Tensor
    log_probs: torch.Tensor
    entropy: torch.Tensor


class VPTActorCriticPolicy(BasePolicy):
    """A VPT network as an SB3 actor-critic policy (see the module docstring).

    :param vpt_kwargs: VPT net kwargs (a `.model` file's `net.args`) or a preset name
        (`VPT.presets`); `img_shape` must match the env's frames.
    :param pi_head_kwargs: action-head options; default temperature 1.0 (upstream's high level).
    :param trainable: module-name prefixes of the trained parameters, or `"all"`.
    :param vpt_weights: VPT `.weights` to take the CNN and transformer from.
    :param prior_weights: goal-prior `.weights` to load entirely (Discrete(N) only).
    :param log_std_init: initial log standard deviation of the Gaussian head (Box only).
    """

    vpt: VPTPolicy

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Callable[[float], float],
        vpt_kwargs: Mapping[str, Any] | str = "crafter",
        pi_head_kwargs: Mapping[str, Any] | None = None,
        trainable: Trainable = DEFAULT_TRAINABLE,
        vpt_weights: str | os.PathLike | None = None,
        prior_weights: str | os.PathLike | None = None,
        log_std_init: float = 0.0,
        optimizer_class: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        use_sde: bool = False,
    ) -> None:
        if use_sde:
            raise ValueError("gSDE is not supported by VPTActorCriticPolicy; use use_sde=False")
        super().__init__(
            observation_space,
            action_space,
            optimizer_class=optimizer_class,
            optimizer_kwargs={"eps": 1e-5} if optimizer_kwargs is None else optimizer_kwargs,
            normalize_images=False,
        )
        if isinstance(vpt_kwargs, str):
            vpt_kwargs = get_preset(vpt_kwargs).policy_kwargs
        self.vpt_kwargs = dict(vpt_kwargs)
        self.pi_head_kwargs = dict(pi_head_kwargs or HIGH_LEVEL_PI_HEAD_KWARGS)
        self.trainable = trainable if isinstance(trainable, str) else tuple(trainable)
        check_image_shape(image_space(observation_space), self.vpt_kwargs["img_shape"])
        self.discrete = _is_discrete(action_space)
        self.vpt = self._build_vpt(log_std_init)
        self._init_weights(vpt_weights, prior_weights)
        self.trainable_names = freeze_except_(self.vpt, self.trainable)
        self.optimizer = self.optimizer_class(
            self.trainable_parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )

    # ----------------------------------------------------------------------------- construction

    def _build_vpt(self, log_std_init: float) -> VPTPolicy:
        if self.discrete:
            return VPTPolicy(self.vpt_kwargs, int(self.action_space.n), self.pi_head_kwargs)
        # Box: VPT's trunk and value head; the categorical head is swapped for a Gaussian one.
        vpt = VPTPolicy(self.vpt_kwargs, 1, self.pi_head_kwargs)
        vpt.pi_head = DiagGaussianHead(vpt.net.hidsize, self.action_space.shape[0], log_std_init)
        return vpt

    def _init_weights(
        self, vpt_weights: str | os.PathLike | None, prior_weights: str | os.PathLike | None
    ) -> None:
        """Upstream's three starts: from the prior, from VPT's trunk, or fresh (module doc)."""
        if vpt_weights is not None and prior_weights is not None:
            raise ValueError("give vpt_weights or prior_weights, not both (upstream's prior wins)")
        if prior_weights is not None:
            self.load_prior(prior_weights)
            return
        if vpt_weights is not None:
            self.load_vpt_trunk(vpt_weights)
        reset_heads_(self.vpt)

    def load_vpt_trunk(self, path: str | os.PathLike) -> None:
        """Load the CNN and transformer (upstream's `load_part_vpt_weights`) from `path`."""
        load_weights(self.vpt, path, strict=True, include=trunk_prefixes(self.vpt))

    def load_prior(self, path: str | os.PathLike) -> None:
        """Load a goal prior's `.weights` entirely and strictly (heads included)."""
        if not self.discrete:
            raise ValueError(
                "a goal prior is an N-way categorical policy: initialising from it needs a "
                f"Discrete(N) action space, not {self.action_space}"
            )
        load_weights(self.vpt, path, strict=True)

    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        """The parameters PPO updates (those under the `trainable` prefixes)."""
        params = dict(self.vpt.named_parameters())
        return [params[name] for name in self.trainable_names]

    @property
    def trunk_frozen(self) -> bool:
        """True when the transformer's output does not depend on trained parameters."""
        return not any_trainable_under(self.vpt, RECURRENT_TRUNK)

    def initial_state(self, n_envs: int) -> State:
        """An empty memory for `n_envs` streams, on the policy's device."""
        return self.vpt.initial_state(n_envs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            vpt_kwargs=self.vpt_kwargs,
            pi_head_kwargs=self.pi_head_kwargs,
            trainable=self.trainable,
            optimizer_class=self.optimizer_class,
            optimizer_kwargs=self.optimizer_kwargs,
        )
        return data

    # ----------------------------------------------------------------------------- the network

    def recurrent_features(
        self, img: torch.Tensor, state: State, first: torch.Tensor
    ) -> tuple[torch.Tensor, State]:
        """The trunk up to the transformer's output: uint8 (B, T, H, W, C) -> (B, T, hidsize)."""
        return self.vpt.net.recurrent({"img": img}, state, first)

    def heads(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Transformer output -> (distribution parameters, values): the rest of VPT's forward."""
        latent = self.vpt.net.latent(features)
        return self.vpt.pi_head(latent), self.vpt.value_head(latent)

    def forward(  # type: ignore[override]
        self, img: torch.Tensor, state: State, first: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, State]:
        """A (B, T) chunk: frames, memory, episode starts -> (dist params, values, next state)."""
        features, state = self.recurrent_features(img, state, first)
        dist_params, values = self.heads(features)
        return dist_params, values, state

    # ----------------------------------------------------------------------------- acting

    @torch.no_grad()
    def step(
        self, obs: torch.Tensor, state: State, first: torch.Tensor, deterministic: bool = False
    ) -> StepResult:
        """Act in n envs: frames uint8 (n, H, W, C), their memory, `first` (n,) episode starts."""
        features, state = self.recurrent_features(obs[:, None], state, first.reshape(-1, 1))
        dist_params, values = self.heads(features[:, 0])
        actions = self.vpt.pi_head.sample(dist_params, deterministic)
        log_probs = self.vpt.pi_head.log_prob(dist_params, actions)
        return StepResult(actions, values, log_probs, dist_params, state, features[:, 0])

    @torch.no_grad()
    def predict_values(  # type: ignore[override]
        self, obs: torch.Tensor, state: State, first: torch.Tensor
    ) -> torch.Tensor:
        """Values (n,) of frames (n, H, W, C) seen after `state`; the state is not advanced."""
        dist_params, values, _ = self(obs[:, None], state, first.reshape(-1, 1))
        return values[:, 0]

    def evaluate_sequences(
        self,
        obs: torch.Tensor | None,
        actions: torch.Tensor,
        first: torch.Tensor,
        state0: State | None,
        features: torch.Tensor | None = None,
    ) -> SequenceEvaluation:
        """Re-run B env sequences of T steps (frames (B, T, H, W, C) from memory `state0`), with
        gradients. With `features` (B, T, hidsize) from acting, the frozen trunk is skipped."""
        if features is None:
            if obs is None or state0 is None:
                raise ValueError("evaluate_sequences needs obs and state0, or features")
            features, _ = self.recurrent_features(obs, state0, first)
        dist_params, values = self.heads(features)
        head = self.vpt.pi_head
        return SequenceEvaluation(
            values, head.log_prob(dist_params, actions), head.entropy(dist_params)
        )

    def _predict(self, observation: Any, deterministic: bool = False) -> torch.Tensor:
        """SB3's stateless hook: one step from an empty memory (use `predict` with a state)."""
        img = observation[POV_KEY] if isinstance(observation, Mapping) else observation
        img = torch.as_tensor(img, device=self.device)
        img = img[None] if img.ndim == 3 else img
        first = torch.ones(len(img), dtype=torch.bool, device=self.device)
        return self.step(img, self.initial_state(len(img)), first, deterministic).actions

    def predict(  # type: ignore[override]
        self,
        observation: np.ndarray | Mapping[str, np.ndarray],
        state: State | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, State]:
        """Actions for one step of one env (H, W, C) or n envs (n, H, W, C), and the next state.

        `state` None starts from an empty memory; `episode_start` (n,) marks envs whose
        episode starts with this frame (default: none). Box actions are clipped to the space.
        """
        self.set_training_mode(False)
        img = frames(observation)
        vectorized = img.ndim == 4
        img_t = torch.tensor(img if vectorized else img[None], device=self.device)  # a copy
        n = len(img_t)
        state = self.initial_state(n) if state is None else state
        starts = np.zeros(n, bool) if episode_start is None else np.asarray(episode_start)
        first = torch.as_tensor(starts.reshape(n), dtype=torch.bool, device=self.device)
        out = self.step(img_t, state, first, deterministic)
        actions = self.env_actions(out.actions)
        return (actions if vectorized else actions[0]), out.state

    def env_actions(self, actions: torch.Tensor) -> np.ndarray:
        """Sampled actions as the env takes them: numpy, clipped to a Box's bounds."""
        out = actions.cpu().numpy()
        if isinstance(self.action_space, spaces.Box):
            out = np.clip(out, self.action_space.low, self.action_space.high)
        return out


def _is_discrete(action_space: spaces.Space) -> bool:
    if isinstance(action_space, spaces.Discrete):
        return True
    if isinstance(action_space, spaces.Box) and len(action_space.shape) == 1:
        if not np.all(np.isfinite(action_space.low) & np.isfinite(action_space.high)):
            raise ValueError(f"a Box action space needs finite bounds, got {action_space}")
        return False
    raise ValueError(
        "VPTActorCriticPolicy supports Discrete(N) (codes) or a 1-D Box (goal vectors) action "
        f"spaces, not {action_space}"
    )
