"""`VPTPPO`: SB3's PPO for a recurrent VPT policy, trained on whole env sequences.

Acting. Every env carries its transformer memory from step to step and across rollouts
(`_last_state`); a frame that starts an episode (`_last_episode_starts`, SB3's flag) hides the
memory before it. Truncated episodes (`infos[i]["TimeLimit.truncated"]`) bootstrap from the value of
`infos[i]["terminal_observation"]` given the episode's memory; terminated ones do not.

Reward shaping. `reward_shaper(dist_params, env) -> (n_envs,)` is called at every step BEFORE
`env.step`, with the policy's distribution at s_t as numpy: log-probs (n_envs, N) for a
Discrete(N) action space, `[mean, log_std]` stacked in the last axis (n_envs, d, 2) for a Box.
Its value is added to that step's env reward for learning. PTGM passes
`lambda p, env: -kl_reward * env.kl_to_prior(p)` (upstream computed the same term just before
`env.step`). The term is kept per step in `rollout_buffer.shaping` (`self.last_shaping`, the
current rollout's (n_steps, n_envs) array) and in `infos[i]["shaping"]`; SB3's episode statistics
(`rollout/ep_rew_mean`, from the Monitor) stay the env's reward; `rollout/shaping_mean` is logged.

Training. A minibatch is `batch_size // n_steps` whole env sequences, each re-run from the memory
the env had at the rollout start (the buffer's `start_state`), so the recomputed log-probs equal
the acting ones and the first minibatch's ratios are 1 (up to float rounding). With a frozen trunk
(the default trainable set) the transformer outputs from acting are reused instead. Loss: clipped
policy gradient + vf_coef * MSE(value, return) - ent_coef * entropy; advantages normalised per
minibatch (every stored step is valid: sequences are never padded); gradients clipped to
`max_grad_norm` over the trainable parameters; SB3's `train/*` tags are logged.

Defaults are upstream's high-level PPO: n_steps 40, batch_size 40 (one env sequence per
minibatch), n_epochs 5, lr 1e-4 constant, Adam eps 1e-5, gamma 0.999, gae_lambda 0.95, clip 0.2,
no value clipping, normalised advantages, vf_coef 1, ent_coef 0, max_grad_norm 0.5. Not
reproduced from upstream: the zero-padded minibatch context (see `sb3_vpt.buffer`), the double env
reset, the unused LSTM extractor, the missing truncation bootstrap.

Observations follow `sb3_vpt.observations` (uint8 (H, W, C) frames, or a Dict with "pov"); envs
are never wrapped in `VecTransposeImage`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import is_wrapped
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.preprocessing import check_for_nested_spaces
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule
from stable_baselines3.common.utils import FloatSchedule, explained_variance
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv
from stable_baselines3.common.vec_env.patch_gym import _patch_env
from torch.nn import functional as F

from sb3_vpt.buffer import SequenceBatch, SequenceRolloutBuffer
from sb3_vpt.observations import frames, frames_tensor, image_space
from sb3_vpt.policy import VPTActorCriticPolicy
from VPT.policy import State, map_state

RewardShaper = Callable[[np.ndarray, VecEnv], np.ndarray]


class VPTPPO(PPO):
    """PPO for `VPTActorCriticPolicy` (see the module docstring); SB3's PPO arguments, with
    upstream's high-level defaults, plus `reward_shaper`. `batch_size` counts steps and must be
    a multiple of `n_steps`."""

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"VPTPolicy": VPTActorCriticPolicy}
    policy: VPTActorCriticPolicy
    rollout_buffer: SequenceRolloutBuffer  # type: ignore[assignment]

    def __init__(
        self,
        policy: str | type[VPTActorCriticPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 1e-4,
        n_steps: int = 40,
        batch_size: int = 40,
        n_epochs: int = 5,
        gamma: float = 0.999,
        gae_lambda: float = 0.95,
        clip_range: float | Schedule = 0.2,
        clip_range_vf: float | Schedule | None = None,
        normalize_advantage: bool = True,
        ent_coef: float = 0.0,
        vf_coef: float = 1.0,
        max_grad_norm: float = 0.5,
        target_kl: float | None = None,
        reward_shaper: RewardShaper | None = None,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: torch.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        if batch_size % n_steps:
            raise ValueError(
                f"batch_size ({batch_size}) must be a multiple of n_steps ({n_steps}): a "
                "minibatch is whole env sequences of n_steps steps (upstream: 40 and 40)"
            )
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            n_steps=n_steps,
            batch_size=batch_size,
            n_epochs=n_epochs,
            gamma=gamma,
            gae_lambda=gae_lambda,
            clip_range=clip_range,
            clip_range_vf=clip_range_vf,
            normalize_advantage=normalize_advantage,
            ent_coef=ent_coef,
            vf_coef=vf_coef,
            max_grad_norm=max_grad_norm,
            target_kl=target_kl,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            policy_kwargs=policy_kwargs,
            verbose=verbose,
            seed=seed,
            device=device,
            _init_setup_model=False,
        )
        self.reward_shaper = reward_shaper
        self._last_state: State | None = None
        self.last_shaping: np.ndarray | None = None
        if _init_setup_model:
            self._setup_model()

    def _excluded_save_params(self) -> list[str]:
        """Not pickled by SB3's `save`: the per-env memory and the caller's shaper closure
        (resumable checkpoints are `sb3_vpt.checkpoint`'s job)."""
        return [*super()._excluded_save_params(), "_last_state", "last_shaping", "reward_shaper"]

    @staticmethod
    def _wrap_env(env: GymEnv, verbose: int = 0, monitor_wrapper: bool = True) -> VecEnv:
        """SB3's wrapping (Monitor, DummyVecEnv) without `VecTransposeImage`: VPT takes
        channels-last frames."""
        if not isinstance(env, VecEnv):
            env = _patch_env(env)
            if monitor_wrapper and not is_wrapped(env, Monitor):
                env = Monitor(env)
            single = env
            env = DummyVecEnv([lambda: single])
        check_for_nested_spaces(env.observation_space)
        return env

    def _setup_model(self) -> None:
        self._setup_lr_schedule()
        self.set_random_seed(self.seed)
        policy = self.policy_class(  # type: ignore[call-arg]
            self.observation_space,
            self.action_space,
            self.lr_schedule,
            use_sde=self.use_sde,
            **self.policy_kwargs,
        )
        if not isinstance(policy, VPTActorCriticPolicy):
            raise TypeError(f"VPTPPO needs a VPTActorCriticPolicy, got {type(policy).__name__}")
        self.policy = policy.to(self.device)
        frozen = self.policy.trunk_frozen
        self.rollout_buffer = SequenceRolloutBuffer(
            self.n_steps,
            self.n_envs,
            image_space(self.observation_space).shape,
            self.action_space.shape,  # type: ignore[arg-type]
            self.device,
            gamma=self.gamma,
            gae_lambda=self.gae_lambda,
            feature_size=self.policy.vpt.net.hidsize if frozen else None,
        )
        self.clip_range = FloatSchedule(self.clip_range)
        if self.clip_range_vf is not None:
            self.clip_range_vf = FloatSchedule(self.clip_range_vf)

    def _setup_learn(
        self,
        total_timesteps: int,
        callback: MaybeCallback = None,
        reset_num_timesteps: bool = True,
        tb_log_name: str = "run",
        progress_bar: bool = False,
    ) -> tuple[int, BaseCallback]:
        resets_env = reset_num_timesteps or self._last_obs is None
        out = super()._setup_learn(
            total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar
        )
        if resets_env or self._last_state is None:
            self._last_state = self.policy.initial_state(self.n_envs)
        return out

    # ----------------------------------------------------------------------------- acting

    def collect_rollouts(  # type: ignore[override]
        self,
        env: VecEnv,
        callback: BaseCallback,
        rollout_buffer: SequenceRolloutBuffer,
        n_rollout_steps: int,
    ) -> bool:
        """Fill `rollout_buffer` with `n_rollout_steps` steps of every env (see module doc)."""
        assert self._last_obs is not None and self._last_state is not None, "call learn()"
        if n_rollout_steps != rollout_buffer.n_steps:
            raise ValueError(f"the buffer holds {rollout_buffer.n_steps} steps per rollout")
        self.policy.set_training_mode(False)
        rollout_buffer.reset(self._last_state)
        self.last_shaping = rollout_buffer.shaping
        callback.on_rollout_start()
        for _ in range(n_rollout_steps):
            starts = np.asarray(self._last_episode_starts, bool)
            out = self.policy.step(
                frames_tensor(self._last_obs, self.device),
                self._last_state,
                torch.as_tensor(starts, device=self.device),
            )
            shaping = self._shaping(out.dist_params, env)
            new_obs, rewards, dones, infos = env.step(self.policy.env_actions(out.actions))
            self.num_timesteps += env.num_envs
            for info, term in zip(infos, shaping, strict=True):
                info["shaping"] = float(term)
            callback.update_locals(locals())
            if not callback.on_step():
                return False
            self._update_info_buffer(infos, dones)
            rollout_buffer.add(
                frames(self._last_obs),
                out.actions.cpu().numpy(),
                rewards + shaping,
                starts,
                out.values,
                out.log_probs,
                shaping=shaping,
                terminal_values=self._terminal_values(infos, dones, out.state),
                features=out.features,
            )
            self._last_obs, self._last_episode_starts = new_obs, dones
            self._last_state = out.state
        last_values = self.policy.predict_values(
            frames_tensor(self._last_obs, self.device),
            self._last_state,
            torch.as_tensor(np.asarray(dones, bool), device=self.device),
        )
        rollout_buffer.compute_returns_and_advantage(last_values.cpu().numpy(), dones)
        if self.reward_shaper is not None:
            self.logger.record("rollout/shaping_mean", float(rollout_buffer.shaping.mean()))
        callback.update_locals(locals())
        callback.on_rollout_end()
        return True

    def _shaping(self, dist_params: torch.Tensor, env: VecEnv) -> np.ndarray:
        """The reward shaper's term for this step (zeros without a shaper)."""
        if self.reward_shaper is None:
            return np.zeros(env.num_envs, np.float32)
        shaping = np.asarray(self.reward_shaper(dist_params.cpu().numpy(), env), np.float32)
        if shaping.shape != (env.num_envs,):
            raise ValueError(
                f"reward_shaper must return one value per env, shape ({env.num_envs},); got "
                f"{shaping.shape}"
            )
        return shaping

    def _terminal_values(
        self, infos: list[dict[str, Any]], dones: np.ndarray, state: State
    ) -> np.ndarray:
        """V(terminal observation) for envs whose episode was truncated now, else 0."""
        values = np.zeros(len(dones), np.float32)
        rows = [
            i
            for i, done in enumerate(dones)
            if done
            and infos[i].get("terminal_observation") is not None
            and infos[i].get("TimeLimit.truncated", False)
        ]
        if rows:
            img = np.stack([frames(infos[i]["terminal_observation"]) for i in rows])
            ids = torch.as_tensor(rows, dtype=torch.long, device=self.device)
            memory = map_state(lambda x: x[ids], state)
            not_first = torch.zeros(len(rows), dtype=torch.bool, device=self.device)
            img_t = torch.as_tensor(img, device=self.device)
            values[rows] = self.policy.predict_values(img_t, memory, not_first).cpu().numpy()
        return values

    # ----------------------------------------------------------------------------- training

    def train(self) -> None:
        """PPO epochs over minibatches of whole env sequences (see the module docstring)."""
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        clip_range = self.clip_range(self._current_progress_remaining)  # type: ignore[operator]
        clip_range_vf = (
            None
            if self.clip_range_vf is None
            else self.clip_range_vf(self._current_progress_remaining)  # type: ignore[operator]
        )
        stats: dict[str, list[float]] = defaultdict(list)
        for epoch in range(self.n_epochs):
            stats["approx_kl"] = []  # SB3 logs the last epoch's
            stopped = self._train_epoch(clip_range, clip_range_vf, stats)
            self._n_updates += 1
            if stopped:
                if self.verbose >= 1:
                    print(f"Early stopping at epoch {epoch}: approx_kl above 1.5 * target_kl")
                break
        self._log_train(stats, clip_range, clip_range_vf)

    def _train_epoch(
        self, clip_range: float, clip_range_vf: float | None, stats: dict[str, list[float]]
    ) -> bool:
        """One pass over the buffer; True when `target_kl` stopped it."""
        params = self.policy.trainable_parameters()
        for batch in self.rollout_buffer.sequences(self.batch_size // self.n_steps):
            loss, batch_stats = self._minibatch_loss(batch, clip_range, clip_range_vf)
            for key, value in batch_stats.items():
                stats[key].append(value)
            if self.target_kl is not None and batch_stats["approx_kl"] > 1.5 * self.target_kl:
                return True
            self.policy.optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, self.max_grad_norm)
            self.policy.optimizer.step()
        return False

    def _minibatch_loss(
        self, batch: SequenceBatch, clip_range: float, clip_range_vf: float | None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """PPO's loss on one minibatch of sequences, and its statistics."""
        out = self.policy.evaluate_sequences(
            batch.obs, batch.actions, batch.first, batch.state0, batch.features
        )
        advantages = batch.advantages
        if self.normalize_advantage and advantages.numel() > 1:
            advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        log_ratio = out.log_probs - batch.old_log_probs
        ratio = torch.exp(log_ratio)
        clipped = torch.clamp(ratio, 1 - clip_range, 1 + clip_range)
        policy_loss = -torch.min(advantages * ratio, advantages * clipped).mean()
        values = out.values
        if clip_range_vf is not None:
            values = batch.old_values + (values - batch.old_values).clamp(
                -clip_range_vf, clip_range_vf
            )
        value_loss = F.mse_loss(values, batch.returns)
        entropy_loss = -out.entropy.mean()
        loss = policy_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss
        with torch.no_grad():
            approx_kl = ((ratio - 1) - log_ratio).mean().item()
            clip_fraction = ((ratio - 1).abs() > clip_range).float().mean().item()
        return loss, {
            "policy_gradient_loss": policy_loss.item(),
            "value_loss": value_loss.item(),
            "entropy_loss": entropy_loss.item(),
            "approx_kl": approx_kl,
            "clip_fraction": clip_fraction,
            "loss": loss.item(),
        }

    def _log_train(
        self, stats: dict[str, list[float]], clip_range: float, clip_range_vf: float | None
    ) -> None:
        for key, values in stats.items():
            if values:
                self.logger.record(f"train/{key}", float(np.mean(values)))
        buffer = self.rollout_buffer
        self.logger.record(
            "train/explained_variance",
            float(explained_variance(buffer.values.flatten(), buffer.returns.flatten())),
        )
        if isinstance(self.action_space, spaces.Box):
            log_std = self.policy.vpt.pi_head.log_std
            self.logger.record("train/std", torch.exp(log_std).mean().item())
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/clip_range", clip_range)
        if clip_range_vf is not None:
            self.logger.record("train/clip_range_vf", clip_range_vf)
