"""The high-level environment: one action = a goal held for `low_level_steps` low-level steps.

`HighLevelVecEnv` is an SB3 `VecEnv` over `n_envs` task envs (upstream ran one env). One
high-level step, for every env at once:

1. goal = the chosen code (`--discrete`, action in Discrete(N)) or the action itself (continuous
   goal mode, a Box(-10, 10, (D,)) goal embedding);
2. up to `low_level_steps` times: one batched, guided low-level forward for the envs still
   running, one env step each, the task reward summed; the goal prior advances on every new
   frame (it was trained on consecutive frames). An env whose episode ends stops there: its
   terminal frame is kept in `info["terminal_observation"]` and it waits, untouched, for the others;
3. envs whose episode ended are reset once (upstream reset twice), with the low-level and prior
   memories cleared; the low-level memory is otherwise kept across high-level steps, as upstream.

The KL reward is not computed here but from the high-level policy's distribution, which only the
learner has: `kl_to_prior(log_pi)` returns KL(π ‖ prior) for all envs at once (π at s_t, the prior
after the same frame s_t) and books it to the episode statistics. The observation is the current
frame, uint8 (H, W, 3). `info["kl"]` is the step's KL (when booked); `info["episode"]` at an
episode end holds the task reward `r`, low-level steps `l`, time `t`, `success`, the summed `kl`
and `shaping`, the high-level steps and the codes used.

Both worlds go through the same env. A Crafter task takes the low level's action index as it is.
A MineDojo task takes MineRL action dicts, so VPT's joint indices (`buttons`, `camera`) are
decoded by `VPT.actions.index_to_action`; its envs get the run's one MineCLIP shaping model
(`models.clip_model`), and the reward of a step includes the shaping bonus, which
`info["shaping_reward"]` also reports on its own (0 for Crafter).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices

import tasks
from hierarchical.models import PretrainedModels
from hierarchical.prior_tracker import PriorTracker, kl_divergence
from steve1.agent import GuidedAgent
from VPT.actions import index_to_action

GOAL_BOUND = 10.0  # continuous goal mode: upstream's Box(-10, 10)


@dataclass
class EpisodeStats:
    """What one env's current episode has accumulated."""

    start: float = field(default_factory=time.time)
    reward: float = 0.0
    kl: float = float("nan")  # summed KL to the prior; NaN when no prior measured it
    shaping: float = 0.0
    low_level_steps: int = 0
    codes: list[int] = field(default_factory=list)

    def summary(self, success: bool) -> dict[str, Any]:
        return {
            "r": self.reward,
            "l": self.low_level_steps,
            "t": round(time.time() - self.start, 6),
            "success": bool(success),
            "kl": self.kl,
            "shaping": self.shaping,
            "high_level_steps": len(self.codes),
            "codes": list(self.codes),
        }


class HighLevelVecEnv(VecEnv):
    """See the module docstring. `seed` seeds env i's world sequence with `seed + i`."""

    def __init__(
        self,
        task: str,
        n_envs: int,
        models: PretrainedModels,
        low_level_steps: int,
        cond_scale: float,
        discrete: bool = True,
        use_prior: bool = True,
        seed: int = 0,
        **env_overrides: Any,
    ) -> None:
        if low_level_steps < 1:
            raise ValueError(f"low_level_steps must be >= 1, got {low_level_steps}")
        if use_prior and models.prior is None:
            raise ValueError("use_prior=True needs the goal prior in `models`")
        self.envs = make_task_envs(task, n_envs, models, env_overrides)
        check_action_space(models.low_level.action_space, self.envs[0].action_space, task)
        self.codebook = models.codebook
        frame_space = self.envs[0].observation_space["pov"]
        if discrete:
            action_space: gymnasium.Space = gymnasium.spaces.Discrete(self.codebook.N)
        else:
            shape = (self.codebook.dim,)
            action_space = gymnasium.spaces.Box(-GOAL_BOUND, GOAL_BOUND, shape, np.float32)
        super().__init__(n_envs, frame_space, action_space)
        self.task, self.discrete = task, discrete
        self.low_level_steps = int(low_level_steps)
        self.agent = GuidedAgent(models.low_level, n_envs, cond_scale, seed=seed)
        self.prior = PriorTracker(models.prior, n_envs) if use_prior else None  # type: ignore[arg-type]
        self.base_seed = int(seed)
        self.frames = np.zeros((n_envs, *frame_space.shape), np.uint8)
        self.episodes = [EpisodeStats() for _ in range(n_envs)]
        self.total_low_level_steps = 0
        self._seeded = False
        self._actions: np.ndarray | None = None
        self.recording: list[tuple[np.ndarray, str]] | None = None
        self._step_kl: np.ndarray | None = None  # KL booked for the step being taken

    # ------------------------------------------------------------------ VecEnv API
    def reset(self) -> np.ndarray:
        ids = np.arange(self.num_envs)
        for i, env in enumerate(self.envs):
            seed = None if self._seeded else self.base_seed + i
            self.frames[i] = env.reset(seed=seed)[0]["pov"]
            self.episodes[i] = EpisodeStats()
        self._seeded = True
        self.agent.reset(ids)
        if self.prior is not None:
            self.prior.reset(ids)
            self.prior.observe(self.frames, ids)
        return self.frames.copy()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        if self._actions is None:
            raise RuntimeError("step_async() must be called before step_wait()")
        goals, codes = self._goals(self._actions)
        self._actions = None
        n = self.num_envs
        rewards = np.zeros(n, np.float32)
        shaping = np.zeros(n, np.float32)
        running = np.ones(n, bool)
        terminated, truncated = np.zeros(n, bool), np.zeros(n, bool)
        steps = np.zeros(n, np.int64)
        last_info: list[dict] = [{} for _ in range(n)]
        for _ in range(self.low_level_steps):
            ids = np.flatnonzero(running)
            if not len(ids):
                break
            actions = env_actions(self.agent.act(self.frames[ids], goals[ids], env_ids=ids))
            for j, i in enumerate(ids):
                obs, reward, term, trunc, info = self.envs[i].step(actions[j])
                self.frames[i] = obs["pov"]
                rewards[i] += reward
                shaping[i] += info.get("clip_reward", 0.0)
                steps[i] += 1
                last_info[i] = info
                if term or trunc:
                    running[i], terminated[i], truncated[i] = False, term, trunc
            self._record(codes)
            if self.prior is not None:
                alive = ids[running[ids]]
                self.prior.observe(self.frames[alive], alive)
        self.total_low_level_steps += int(steps.sum())
        for i, info in enumerate(last_info):
            last_info[i] = dict(info, shaping_reward=float(shaping[i]))
        return self._finish_step(rewards, terminated, truncated, steps, last_info, codes)

    def close(self) -> None:
        for env in self.envs:
            env.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(self.envs[i], attr_name) for i in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        for i in self._get_indices(indices):
            setattr(self.envs[i], attr_name, value)

    def env_method(
        self, method_name: str, *args: Any, indices: VecEnvIndices = None, **kwargs: Any
    ) -> list[Any]:
        return [
            getattr(self.envs[i], method_name)(*args, **kwargs) for i in self._get_indices(indices)
        ]

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        return [isinstance(self.envs[i], wrapper_class) for i in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        return list(self.frames.copy())

    # ------------------------------------------------------------------ PTGM specifics
    def kl_to_prior(self, log_pi: np.ndarray) -> np.ndarray:
        """KL(π ‖ prior) (n_envs,) for the policy's log-probs at the current frames; the value
        is added to each env's episode statistics (call once per high-level step)."""
        if self.prior is None:
            raise RuntimeError("this env runs without a goal prior (use_prior=False)")
        kl = kl_divergence(np.asarray(log_pi, np.float64), self.prior.log_probs.astype(np.float64))
        for stats, value in zip(self.episodes, kl, strict=True):
            stats.kl = float(value) + (0.0 if np.isnan(stats.kl) else stats.kl)
        self._step_kl = kl
        return kl.astype(np.float32)

    def prior_log_probs(self) -> np.ndarray:
        """The prior's log-probs over the codes at the current frames (n_envs, N)."""
        if self.prior is None:
            raise RuntimeError("this env runs without a goal prior (use_prior=False)")
        return self.prior.log_probs.copy()

    def start_recording(self) -> None:
        """Keep env 0's low-level frames, each with the code it follows, until `stop_recording`."""
        self.recording = [(self.frames[0].copy(), "start")]

    def stop_recording(self) -> list[tuple[np.ndarray, str]]:
        frames, self.recording = self.recording or [], None
        return frames

    # ------------------------------------------------------------------ internals
    def _goals(self, actions: np.ndarray) -> tuple[np.ndarray, list[int]]:
        if self.discrete:
            codes = [int(a) for a in actions.reshape(self.num_envs)]
            bad = [c for c in codes if not 0 <= c < self.codebook.N]
            if bad:
                raise ValueError(f"codes {bad} are outside the codebook (N={self.codebook.N})")
            return self.codebook.codes[codes].astype(np.float32), codes
        goals = np.clip(actions.reshape(self.num_envs, -1), -GOAL_BOUND, GOAL_BOUND)
        return goals.astype(np.float32), [-1] * self.num_envs

    def _record(self, codes: list[int]) -> None:
        if self.recording is not None:
            label = f"code {codes[0]}" if self.discrete else "continuous goal"
            self.recording.append((self.frames[0].copy(), label))

    def _finish_step(
        self,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        steps: np.ndarray,
        last_info: list[dict],
        codes: list[int],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
        dones = terminated | truncated
        infos: list[dict] = []
        for i in range(self.num_envs):
            stats = self.episodes[i]
            stats.reward += float(rewards[i])
            stats.low_level_steps += int(steps[i])
            stats.shaping += last_info[i]["shaping_reward"]
            stats.codes.append(codes[i])
            info = {
                "success": bool(last_info[i].get("success", False)),
                "low_level_steps": int(steps[i]),
                "task_reward": float(rewards[i]),
                "shaping_reward": last_info[i]["shaping_reward"],
                "code": codes[i],
            }
            if self._step_kl is not None:
                info["kl"] = float(self._step_kl[i])
            if dones[i]:
                info["terminal_observation"] = self.frames[i].copy()
                info["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
                info["episode"] = stats.summary(info["success"])
                self.frames[i] = self.envs[i].reset()[0]["pov"]
                self.episodes[i] = EpisodeStats()
            infos.append(info)
        self._step_kl = None
        done_ids = np.flatnonzero(dones)
        if len(done_ids):
            self.agent.reset(done_ids)
            if self.prior is not None:
                self.prior.reset(done_ids)
                self.prior.observe(self.frames[done_ids], done_ids)
        return self.frames.copy(), rewards, dones, infos

    def _get_indices(self, indices: VecEnvIndices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, int):
            return [indices]
        return list(indices)


def make_task_envs(
    task: str, n_envs: int, models: PretrainedModels, overrides: dict[str, Any]
) -> list[gymnasium.Env]:
    """`n_envs` envs of `task`; a MineDojo task's envs share the run's MineCLIP shaping model
    (loaded once, in `models`), each with its own shaping state."""
    if isinstance(tasks.get_task_spec(task), tasks.MinedojoTaskSpec):
        overrides = {"clip_model": models.clip_model, **overrides}
    return [tasks.make(task, **overrides) for _ in range(n_envs)]


def check_action_space(low_level: Any, env_space: gymnasium.Space, task: str) -> None:
    """The low level must act in the task's world: VPT's Minecraft heads (a dict) for a MineDojo
    task (MineRL action dicts), N actions for Crafter's Discrete(N)."""
    if isinstance(env_space, gymnasium.spaces.Dict):
        fits = isinstance(low_level, dict) and set(low_level) == {"buttons", "camera"}
    else:
        fits = isinstance(env_space, gymnasium.spaces.Discrete) and low_level == env_space.n
    if not fits:
        raise ValueError(
            f"the low level's action space {low_level} does not fit task {task!r}, whose env "
            f"takes {env_space}; use a low level trained in that task's world"
        )


def env_actions(actions: Any) -> list[Any]:
    """The low level's sampled actions -> one env action per env: Crafter's indices as ints,
    VPT's joint indices (`{"buttons", "camera"}` arrays) as the MineRL action dicts that the
    MineDojo envs take (camera bins decoded to degrees)."""
    if not isinstance(actions, dict):
        return [int(a) for a in np.asarray(actions).reshape(-1)]
    minerl = index_to_action(actions)
    n = len(minerl["camera"])
    return [{key: value[j] for key, value in minerl.items()} for j in range(n)]


def env_from_config(
    config: dict[str, Any], models: PretrainedModels, seed: int, prior: bool
) -> HighLevelVecEnv:
    """The env of a run config (`config`, `num_envs`, `low_level_steps`, `cond_scale`,
    `discrete`), with or without the goal prior."""
    return HighLevelVecEnv(
        config["config"],
        int(config["num_envs"]),
        models,
        int(config["low_level_steps"]),
        float(config["cond_scale"]),
        discrete=bool(config.get("discrete", True)),
        use_prior=prior,
        seed=seed,
    )
