"""Toy envs for the sb3_vpt tests (and tests of the toys themselves).

`ColorEnv`: every frame is one flat color out of `n_colors`; action k earns 1 when k is the
color's index. Episodes last `length` steps (an int, or a (low, high) range drawn per episode)
and end `terminated` or `truncated` (a time limit). `GoalEnv` is its continuous twin: the color
names a target point and the reward is minus the squared distance of the action to it.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3.common.vec_env import DummyVecEnv

from VPT.presets import get_preset

PALETTE = np.array(
    [[230, 40, 40], [40, 200, 60], [50, 70, 230], [240, 220, 30]],
    dtype=np.uint8,
)
SIZE = 16  # frames are SIZE x SIZE x 3; the tiny preset is rebuilt for this size


def tiny_kwargs(size: int = SIZE) -> dict[str, Any]:
    """The tiny VPT preset for `size` x `size` frames."""
    kwargs = get_preset("tiny").policy_kwargs
    kwargs["img_shape"] = [size, size, 3]
    return kwargs


class ColorEnv(gymnasium.Env):
    """See the module docstring. `random_colors=False` cycles the colors (fully deterministic)."""

    def __init__(
        self,
        n_colors: int = 2,
        length: int | tuple[int, int] = 4,
        end: str = "terminated",
        random_colors: bool = True,
        dict_obs: bool = False,
        offset: int = 0,
    ) -> None:
        self.n_colors, self.length, self.end = n_colors, length, end
        self.random_colors, self.dict_obs, self.offset = random_colors, dict_obs, offset
        frame = spaces.Box(0, 255, (SIZE, SIZE, 3), np.uint8)
        self.observation_space = spaces.Dict({"pov": frame}) if dict_obs else frame
        self.action_space = self._action_space()
        self.color, self.t, self.episode_length = 0, 0, 0

    def _action_space(self) -> spaces.Space:
        return spaces.Discrete(self.n_colors)

    def _obs(self) -> Any:
        frame = np.broadcast_to(PALETTE[self.color], (SIZE, SIZE, 3)).copy()
        return {"pov": frame} if self.dict_obs else frame

    def _next_color(self) -> None:
        if self.random_colors:
            self.color = int(self.np_random.integers(self.n_colors))
        else:
            self.color = (self.t + self.offset) % self.n_colors

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        self.t = 0
        low_high = self.length if isinstance(self.length, tuple) else (self.length, self.length)
        self.episode_length = int(self.np_random.integers(low_high[0], low_high[1] + 1))
        self._next_color()
        return self._obs(), {}

    def reward(self, action: Any) -> float:
        return float(int(action) == self.color)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        reward = self.reward(action)
        self.t += 1
        self._next_color()
        over = self.t >= self.episode_length
        terminated, truncated = over and self.end == "terminated", over and self.end == "truncated"
        return self._obs(), reward, terminated, truncated, {}


class GoalEnv(ColorEnv):
    """Continuous twin: the action is a point in [-1, 1]^2, the color names the target."""

    TARGETS = np.array([[0.5, -0.5], [-0.5, 0.5], [0.5, 0.5], [-0.5, -0.5]], np.float32)

    def _action_space(self) -> spaces.Space:
        return spaces.Box(-1.0, 1.0, (2,), np.float32)

    def reward(self, action: Any) -> float:
        return -float(np.sum((np.asarray(action) - self.TARGETS[self.color]) ** 2))


def vec_env(n_envs: int, cls: type[ColorEnv] = ColorEnv, **kwargs: Any) -> DummyVecEnv:
    """`n_envs` toy envs (env i gets color offset i) in a DummyVecEnv."""
    return DummyVecEnv(
        [lambda i=i: cls(**{"offset": i, **kwargs}) for i in range(n_envs)]  # type: ignore[misc]
    )


def params_snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in module.named_parameters()}


# ----------------------------------------------------------------------------- tests of the toys


@pytest.mark.parametrize("end", ["terminated", "truncated"])
def test_color_env_rewards_the_color_and_ends_as_asked(end: str) -> None:
    env = vec_env(2, length=3, end=end, random_colors=False)
    obs = env.reset()
    assert obs.shape == (2, SIZE, SIZE, 3) and obs.dtype == np.uint8
    assert (obs[0, 0, 0] == PALETTE[0]).all() and (obs[1, 0, 0] == PALETTE[1]).all()
    total = np.zeros(2)
    for _ in range(3):
        _, rewards, dones, infos = env.step(np.array([0, 0]))
        total += rewards
    assert dones.all() and "terminal_observation" in infos[0]
    assert infos[0]["TimeLimit.truncated"] == (end == "truncated")
    assert total.tolist() == [2.0, 1.0]  # colors 0,1,0 and 1,0,1


def test_goal_env_reward_is_minus_squared_distance() -> None:
    env = GoalEnv(random_colors=False)
    env.reset(seed=0)
    _, reward, *_ = env.step(GoalEnv.TARGETS[0])
    assert reward == 0.0
