"""The RL-from-scratch baseline: SB3 PPO on low-level actions, with a CNN like PTGM's.

The paper compares PTGM with PPO on the raw action space. Here the policy's feature extractor is
the image encoder of the VPT Crafter preset (the same ImpalaCNN + linear layer as the low level,
the goal prior and the high-level policy, randomly initialised) followed by SB3's actor and
critic heads, so the comparison is about pre-training, not network size. Hyper-parameters are
the usual PPO settings for Crafter-like pixel tasks (8 envs x 128 steps, 4 epochs, lr 3e-4,
entropy 0.01, gamma 0.99); environment steps count one per action, the x-axis of every method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

import tasks
from VPT.policy import VPTNet
from VPT.presets import get_preset


class PovOnly(gymnasium.ObservationWrapper):
    """The task env's `{"pov": frame}` observation as the bare uint8 frame."""

    def __init__(self, env: gymnasium.Env) -> None:
        super().__init__(env)
        self.observation_space = env.observation_space["pov"]

    def observation(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        return observation["pov"]


class VPTImageEncoder(BaseFeaturesExtractor):
    """The VPT preset's `img_process` as an SB3 feature extractor (frames arrive as SB3's
    channel-first floats in [0, 1])."""

    def __init__(self, observation_space: gymnasium.Space, preset: str = "crafter") -> None:
        kwargs = get_preset(preset).policy_kwargs
        super().__init__(observation_space, features_dim=int(kwargs["hidsize"]))
        self.img_process = VPTNet(**kwargs).img_process

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        frames = observations.permute(0, 2, 3, 1)[:, None]  # (B, C, H, W) -> (B, 1, H, W, C)
        return torch.relu(self.img_process(frames)[:, 0])


@dataclass
class FlatConfig:
    n_envs: int = 8
    n_steps: int = 128
    batch_size: int = 256
    n_epochs: int = 4
    lr: float = 3e-4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    ent_coef: float = 0.01
    clip_range: float = 0.2
    preset: str = "crafter"


def make_flat_env(task: str, n_envs: int, seed: int, **overrides: Any) -> VecEnv:
    """`n_envs` task envs with bare-frame observations and Monitor episode stats."""

    def factory(i: int):
        def build() -> gymnasium.Env:
            env = Monitor(PovOnly(tasks.make(task, **overrides)), info_keywords=("success",))
            env.reset(seed=seed + i)
            return env

        return build

    return DummyVecEnv([factory(i) for i in range(n_envs)])


def make_flat_ppo(env: VecEnv, cfg: FlatConfig, seed: int, device: str, tb_dir: str | None) -> PPO:
    return PPO(
        "CnnPolicy",
        env,
        learning_rate=cfg.lr,
        n_steps=cfg.n_steps,
        batch_size=cfg.batch_size,
        n_epochs=cfg.n_epochs,
        gamma=cfg.gamma,
        gae_lambda=cfg.gae_lambda,
        ent_coef=cfg.ent_coef,
        clip_range=cfg.clip_range,
        policy_kwargs={
            "features_extractor_class": VPTImageEncoder,
            "features_extractor_kwargs": {"preset": cfg.preset},
        },
        tensorboard_log=tb_dir,
        seed=seed,
        device=device,
        verbose=0,
    )


class FlatActor:
    """A trained flat PPO model as an `evaluate.Actor` (actions sampled, as in training)."""

    def __init__(self, model: PPO, deterministic: bool = False) -> None:
        self.model, self.deterministic = model, deterministic

    def reset(self, n_envs: int) -> None:
        pass

    def act(self, frames: np.ndarray, first: np.ndarray) -> np.ndarray:
        return self.model.predict(frames, deterministic=self.deterministic)[0]
