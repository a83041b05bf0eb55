"""The MineCLIP shaping reward that upstream adds to every MineDojo task.

Per low-level step: the image feature of the current 160x256 frame joins the previous 15 (zeros at
the start of an episode; the reset frame itself is not used) into a 16-frame window; the reward
model scores the window against the task's prompts; the logit of prompt 0 goes into a buffer of
the last `smoothing` (50) logits, and

    score = max(mean(buffer) - clip_min, 0) / (clip_target - clip_min)      (clip_min 21, target 23)

Whenever the score beats the best score of the episode so far, the step's reward gains a bonus and
the best score becomes the score. With `bonus="full"` (default, upstream's rule) the bonus is
`dense_reward * score` (0.01 * score): the full score each time, so an episode that climbs in many
small steps collects more than one that jumps once, and the score is not capped at 1. With
`bonus="increment"` it is `dense_reward * (score - best)`, so an episode's shaping adds up to
`dense_reward * (its best score)` however it got there.

The reward model is anything with the two methods of `ClipRewardModel` (numpy in, numpy out), so the
project's MineCLIP can be plugged in without `tasks/` importing a model package.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import gymnasium
import numpy as np

WINDOW = 16  # frames per MineCLIP video embedding
BONUS_MODES = ("full", "increment")
_SPEC_KEYS = ("prompts", "dense_reward", "clip_min", "clip_target", "smoothing", "bonus")


@runtime_checkable
class ClipRewardModel(Protocol):
    """What the shaping reward needs from MineCLIP."""

    def image_features(self, frame: np.ndarray) -> np.ndarray:
        """One MineDojo frame, uint8 (3, 160, 256) RGB -> its image feature, shape (D,)."""
        ...

    def prompt_logits(self, window: np.ndarray, prompts: Sequence[str]) -> np.ndarray:
        """Image features (16, D), oldest first -> one logit per prompt, shape (P,).

        MineCLIP: the video feature of the window (temporal model), then the reward head's cosine
        similarity to each prompt's text feature times the learned logit scale (cache the text
        features: the prompts are the same at every call).
        """
        ...


class ClipShaping:
    """The running-max shaping bonus of one env; see the module docstring for the rule."""

    def __init__(
        self,
        model: ClipRewardModel,
        prompts: Sequence[str],
        dense_reward: float = 0.01,
        clip_min: float = 21.0,
        clip_target: float = 23.0,
        smoothing: int = 50,
        bonus: str = "full",
    ) -> None:
        if not prompts:
            raise ValueError("the shaping reward needs at least one prompt")
        if bonus not in BONUS_MODES:
            raise ValueError(f"bonus must be one of {', '.join(BONUS_MODES)}, got {bonus!r}")
        if clip_target <= clip_min:
            raise ValueError(f"need clip_target > clip_min, got {clip_target} and {clip_min}")
        if smoothing < 1:
            raise ValueError(f"smoothing must be >= 1, got {smoothing}")
        self.model = model
        self.prompts = list(prompts)
        self.dense_reward = float(dense_reward)
        self.clip_min, self.clip_target = float(clip_min), float(clip_target)
        self.bonus_mode = bonus
        self.logits: deque[float] = deque(maxlen=int(smoothing))
        self.history: np.ndarray | None = None  # the previous WINDOW - 1 image features
        self.score = 0.0
        self.best = 0.0

    @classmethod
    def from_specs(cls, model: ClipRewardModel, clip_specs: Mapping[str, Any]) -> ClipShaping:
        """Build from a task's `clip_specs` (upstream's keys, plus `bonus`)."""
        unknown = sorted(set(clip_specs) - set(_SPEC_KEYS))
        if unknown:
            raise ValueError(
                f"unknown clip_specs key(s) {unknown}; valid keys: {', '.join(_SPEC_KEYS)}"
            )
        return cls(model, **clip_specs)

    def reset(self) -> None:
        self.logits.clear()
        self.history = None
        self.score = self.best = 0.0

    def step(self, frame: np.ndarray) -> float:
        """Score the window ending at `frame`; returns this step's bonus (0 unless a new best)."""
        feature = np.asarray(self.model.image_features(frame), dtype=np.float32).reshape(-1)
        if self.history is None:
            self.history = np.zeros((WINDOW - 1, feature.size), np.float32)
        window = np.concatenate([self.history, feature[None]], axis=0)
        self.history = window[1:]
        logits = np.asarray(self.model.prompt_logits(window, self.prompts)).reshape(-1)
        self.logits.append(float(logits[0]))
        mean = float(np.mean(self.logits))
        self.score = max(mean - self.clip_min, 0.0) / (self.clip_target - self.clip_min)
        if self.score <= self.best:
            return 0.0
        gain = self.score if self.bonus_mode == "full" else self.score - self.best
        self.best = self.score
        return self.dense_reward * gain


class ClipRewardWrapper(gymnasium.Wrapper):
    """Adds the shaping bonus to the reward; needs the raw MineDojo observation (`rgb`).

    Adds `clip_reward` (the bonus) and `clip_score` to every step's info.
    """

    def __init__(self, env: gymnasium.Env, shaping: ClipShaping) -> None:
        super().__init__(env)
        self.shaping = shaping

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self.shaping.reset()
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        bonus = self.shaping.step(obs["rgb"])
        info = dict(info, clip_reward=bonus, clip_score=self.shaping.score)
        return obs, reward + bonus, terminated, truncated, info
