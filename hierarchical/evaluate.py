"""Success rate of a high-level actor over M episodes on seeds no training run uses, with a 95% CI.

    python -m hierarchical.evaluate results/ppo_highlevel_crafter_cobblestone_s0 --episodes 500

evaluates a saved run (PTGM or flat PPO; its latest checkpoint, or `--checkpoint`) without
changing its directory; `--out` also writes the result as JSON. Training runs evaluate themselves
the same way at the end (`eval.json`).

An actor chooses codes (or goals) from frames: a trained PPO policy, one fixed code, or uniformly
random codes. Env i of the evaluation env plays episodes `i, i + n_envs, ...` of the fixed list;
each env plays its quota and its later episodes are ignored, so the M counted episodes do not
depend on how fast they end (taking the first M to finish would favour short, often failed, ones).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from tqdm import tqdm

from steve1.utils.io import atomic_write_text

EVAL_SEED = 1_000_000  # training runs seed their envs with small seeds (seed + env index)


class Actor(Protocol):
    """Chooses the high-level action of every env from its frame; `first` marks episode starts."""

    def reset(self, n_envs: int) -> None: ...

    def act(self, frames: np.ndarray, first: np.ndarray) -> np.ndarray: ...


class FixedCodeActor:
    """Always the same code (the STEVE-1-with-a-fixed-prompt baseline)."""

    def __init__(self, code: int) -> None:
        self.code = int(code)

    def reset(self, n_envs: int) -> None:
        pass

    def act(self, frames: np.ndarray, first: np.ndarray) -> np.ndarray:
        return np.full(len(frames), self.code, np.int64)


class RandomCodeActor:
    """A code drawn uniformly at every high-level step (the no-learning control)."""

    def __init__(self, n_codes: int, seed: int = 0) -> None:
        self.n_codes = int(n_codes)
        self.rng = np.random.default_rng(seed)

    def reset(self, n_envs: int) -> None:
        pass

    def act(self, frames: np.ndarray, first: np.ndarray) -> np.ndarray:
        return self.rng.integers(self.n_codes, size=len(frames))


@dataclass
class EvalResult:
    episodes: int
    successes: int
    low_level_steps: float  # mean per episode
    task_reward: float  # mean per episode

    @property
    def success_rate(self) -> float:
        return self.successes / self.episodes if self.episodes else float("nan")

    @property
    def ci95(self) -> tuple[float, float]:
        return wilson_interval(self.successes, self.episodes)

    @classmethod
    def from_dict(cls, report: dict[str, Any]) -> EvalResult:
        """Back from `as_dict` (e.g. a run's `eval.json`)."""
        return cls(
            int(report["episodes"]),
            int(report["successes"]),
            float(report["mean_low_level_steps"]),
            float(report["mean_task_reward"]),
        )

    def as_dict(self) -> dict[str, Any]:
        low, high = self.ci95
        return {
            "episodes": self.episodes,
            "successes": self.successes,
            "success_rate": self.success_rate,
            "ci95_low": low,
            "ci95_high": high,
            "mean_low_level_steps": self.low_level_steps,
            "mean_task_reward": self.task_reward,
        }

    def __str__(self) -> str:
        low, high = self.ci95
        return (
            f"success {self.success_rate:.3f} [95% CI {low:.3f}-{high:.3f}] over "
            f"{self.episodes} episodes; mean {self.low_level_steps:.0f} low-level steps"
        )


def saved_report(path: Path) -> dict[str, Any]:
    """A run's saved evaluation (`eval.json`), or {} when there is none."""
    return json.loads(Path(path).read_text()) if Path(path).exists() else {}


def covers(report: dict[str, Any], env_steps: int, episodes: int) -> bool:
    """Whether a saved evaluation is of this training length over `episodes` episodes (a run
    re-evaluates after more training, or when asked for another number of episodes)."""
    return (report.get("env_steps"), report.get("episodes")) == (env_steps, episodes)


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (sensible at 0 and n successes)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, center - half), min(1.0, center + half))


def evaluate_actor(actor: Actor, env: Any, episodes: int, progress: bool = True) -> EvalResult:
    """Run `actor` in the vectorised `env` (a freshly built, unreset `HighLevelVecEnv` or SB3
    VecEnv) until every env has played its share of `episodes` episodes."""
    n = env.num_envs
    quota = [episodes // n + (i < episodes % n) for i in range(n)]
    done_counts = [0] * n
    successes, steps, rewards = 0, [], []
    frames = env.reset()
    actor.reset(n)
    first = np.ones(n, bool)
    bar = tqdm(total=episodes, desc="evaluate", disable=not (progress and sys.stderr.isatty()))
    while sum(done_counts) < episodes:
        env.step_async(actor.act(frames, first))
        frames, _, dones, infos = env.step_wait()
        first = np.asarray(dones, bool).copy()
        for i in np.flatnonzero(dones):
            if done_counts[i] >= quota[i]:
                continue
            done_counts[i] += 1
            episode = infos[i]["episode"]
            successes += bool(episode.get("success", infos[i].get("success", False)))
            steps.append(episode["l"])
            rewards.append(episode["r"])
            bar.update(1)
    bar.close()
    return EvalResult(episodes, successes, float(np.mean(steps)), float(np.mean(rewards)))


def main(argv: list[str] | None = None) -> EvalResult:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dir", type=Path, help="a ppo_highlevel.py or train_flat run directory")
    p.add_argument("--episodes", type=int, default=200)
    p.add_argument("--checkpoint", type=Path, default=None, help="default: the latest")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", type=Path, default=None, help="also write the result (JSON) here")
    args = p.parse_args(argv)
    # Imported here: both modules build on this one.
    from hierarchical.run_config import load_run_config

    config = load_run_config(args.run_dir)
    method = config.get("method")
    if method in ("fixed_code", "random_codes"):
        raise SystemExit(f"{args.run_dir} is a {method} run: no policy to load; see its eval.json")
    if method == "flat_ppo":
        from hierarchical.train_flat import evaluate_saved
    else:
        from hierarchical.ppo_run import evaluate_saved
    result = evaluate_saved(args.run_dir, args.episodes, args.checkpoint, args.device)
    print(f"[eval] {config['config']}: {result}", flush=True)
    if args.out is not None:
        report = result.as_dict() | {"run_dir": str(args.run_dir), "eval_seed": EVAL_SEED}
        atomic_write_text(args.out, json.dumps(report, indent=1))
    return result


if __name__ == "__main__":
    main()
