"""Generate the task-agnostic Crafter play dataset (the counterpart of `convert_from_contractor.py`).

    python -m steve1.data.generation.generate_crafter_play --output_dir data/crafter_play \
        --num_episodes 100 --num_workers 2 --seed 0

Episode i of a dataset uses env seed and agent seed derived from (seed, i), so a dataset is
reproducible and can be extended. Finished episodes are skipped when the command is re-run; each
episode is written atomically; `--worker_id` generates only one shard (episodes i with
i % num_workers == worker_id), for splitting the work across machines.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import multiprocessing
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import crafter
import numpy as np
from tqdm import tqdm

from steve1.data.episode_storage import check_output_dir, is_episode_dir, write_episode
from steve1.data.generation.crafter_state import capture_state, stack_states
from steve1.data.generation.intentions import PERCEPTIONS
from steve1.data.generation.navigation import DIRS, MOVES
from steve1.data.generation.play_agent import INTENTIONS, PlayAgent
from steve1.data.generation.play_stats import print_play_stats
from steve1.goal_encoders import crafter as crafter_goal
from steve1.utils.arg_types import non_negative_int
from tasks.crafter.world import DeterministicCrafter

GENERATOR = "crafter_play_agent"
GENERATOR_VERSION = 1


@dataclass(frozen=True)
class PlayConfig:
    """Settings of one play-data generation run."""

    output_dir: Path
    num_episodes: int = 100
    seed: int = 0
    max_steps: int = 1000
    epsilon: float = 0.1
    size: int = 64
    perception: str = "full"
    drink_when_full: bool = False
    near_steps: int = 0
    random_paths: bool = False
    facing_noise: bool = False
    driver: Callable[[], Driver] | None = None  # builds the driver once per worker process


class Driver(Protocol):
    """Takes the wheel for some steps of a play episode, while the play agent still labels every
    frame with its own choice (on-policy data: `hierarchical.dagger_play`)."""

    def reset(self, rng: np.random.Generator) -> None:
        """A new episode starts; `rng` is its own stream."""

    def act(self, obs: np.ndarray, intention: str, action: int) -> int | None:
        """The action to execute instead of the play agent's `action`, or None to let it act."""

    def describe(self) -> dict[str, Any]:
        """What drives, for the episode's metadata."""


# `--facing_noise` draws from its own seed sequence (seed, episode, FACING_STREAM), and
# `render_facing` restores what it touches, so the env and the agent play exactly as without it.
FACING_STREAM = 2
DRIVER_STREAM = 3  # the driver's choices (when it takes the wheel, which code) draw from here


def episode_name(seed: int, index: int) -> str:
    return f"crafter_s{seed}_e{index:06d}"


def episode_seeds(seed: int, index: int) -> tuple[int, np.random.SeedSequence]:
    """(env seed, agent seed sequence) of episode `index`: independent streams from (seed, index)."""
    sequence = np.random.SeedSequence([seed, index])
    env_seq, agent_seq = sequence.spawn(2)
    return int(env_seq.generate_state(1)[0] % (2**31 - 1)), agent_seq


def play_episode(
    cfg: PlayConfig, index: int, env: crafter.Env | None = None, driver: Driver | None = None
) -> dict[str, Any]:
    """Play episode `index` with the scripted agent; returns frames, actions, states, metadata.

    With a `driver`, the executed action is the driver's whenever it takes the wheel (the agent's
    otherwise), and every frame's recorded action is the agent's own choice before its exploration
    noise (`PlayAgent.decision`): what the agent would do in the state it is in. No frame is then
    marked as noise; `states["executed"]` holds the action the env executed (the driver's, or the
    agent's with its noise) and `states["driven"]` whether the driver chose it.
    """
    env_seed, agent_seq = episode_seeds(cfg.seed, index)
    env = env or DeterministicCrafter(size=(cfg.size, cfg.size), length=cfg.max_steps)
    env._seed, env._episode, env._length = env_seed, 0, cfg.max_steps
    agent = PlayAgent(
        np.random.default_rng(agent_seq),
        epsilon=cfg.epsilon,
        perception=cfg.perception,
        drink_when_full=cfg.drink_when_full,
        near_steps=cfg.near_steps,
        random_paths=cfg.random_paths,
    )
    facing_rng = (
        np.random.default_rng(np.random.SeedSequence([cfg.seed, index, FACING_STREAM]))
        if cfg.facing_noise
        else None
    )
    if driver is not None:
        driver.reset(
            np.random.default_rng(np.random.SeedSequence([cfg.seed, index, DRIVER_STREAM]))
        )
    obs = env.reset()
    agent.reset(env)
    frames, actions, states, intentions, exploring = [], [], [], [], []
    executions, driven = [], []
    done = False
    while not done:
        states.append(capture_state(env))
        action = executed = agent.act(env)
        if driver is not None:
            took = driver.act(obs, agent.intention, action)
            executed = action if took is None else int(took)
            action = agent.decision
            executions.append(executed)
            driven.append(took is not None)
        intentions.append(INTENTIONS.index(agent.intention))
        exploring.append(agent.exploring and driver is None)
        if facing_rng is not None and executed in MOVES:
            obs = render_facing(env, DIRS[int(facing_rng.integers(len(DIRS)))])
        frames.append(obs)
        actions.append(action)
        obs, _, done, _ = env.step(executed)
    state_arrays = stack_states(states)
    state_arrays["intention"] = np.array(intentions, np.uint8)
    state_arrays["explore"] = np.array(exploring, bool)
    if driver is not None:
        state_arrays["executed"] = np.array(executions, np.int16)
        state_arrays["driven"] = np.array(driven, bool)
    player = env._player
    metadata = {
        "world": "crafter",
        "crafter_version": importlib.metadata.version("crafter"),
        "seed": cfg.seed,
        "episode_index": index,
        "env_seed": env_seed,
        "max_steps": cfg.max_steps,
        "generator": {
            "name": GENERATOR,
            "version": GENERATOR_VERSION,
            "epsilon": cfg.epsilon,
            "perception": cfg.perception,
            "drink_when_full": cfg.drink_when_full,
            "near_steps": cfg.near_steps,
            "random_paths": cfg.random_paths,
            "facing_noise": cfg.facing_noise,
            "driver": None if driver is None else driver.describe(),
        },
        "embedding": crafter_goal.describe(),
        "intentions": list(INTENTIONS),
        "achievements": dict(player.achievements),
        "died": bool(player.health <= 0),
    }
    return {
        "frames": np.stack(frames),
        "actions": np.array(actions, np.int64),
        "states": state_arrays,
        "metadata": metadata,
    }


def render_facing(env: crafter.Env, facing: tuple[int, int]) -> np.ndarray:
    """The current observation drawn with the player facing `facing`. The env is left as it was:
    the player's facing and the world's random stream (night noise draws from it) are restored."""
    player, rng = env._player, env._world.random
    old_facing, rng_state = player.facing, rng.get_state()
    try:
        player.facing = facing
        return env.render()
    finally:
        player.facing = old_facing
        rng.set_state(rng_state)


def generate_one(
    cfg: PlayConfig, index: int, env: crafter.Env | None = None, driver: Driver | None = None
) -> int:
    """Play and store episode `index` unless it exists; returns its number of frames (0 if skipped)."""
    path = cfg.output_dir / episode_name(cfg.seed, index)
    if is_episode_dir(path):
        return 0
    return store_episode(path, play_episode(cfg, index, env, driver))


def store_episode(path: Path, episode: dict[str, Any]) -> int:
    """Write a played episode (`play_episode`'s dict) with its goal embeddings, atomically;
    returns its number of frames."""
    embeds = crafter_goal.encode_episode(episode["states"])
    write_episode(
        path, episode["frames"], episode["actions"], embeds, episode["metadata"], episode["states"]
    )
    return len(episode["actions"])


_WORKER_ENV: crafter.Env | None = None
_WORKER_DRIVER: Driver | None = None


def _worker_init(cfg: PlayConfig) -> None:
    global _WORKER_ENV, _WORKER_DRIVER
    _WORKER_ENV = DeterministicCrafter(size=(cfg.size, cfg.size))
    _WORKER_DRIVER = None if cfg.driver is None else cfg.driver()


def _worker_run(job: tuple[PlayConfig, int]) -> int:
    cfg, index = job
    return generate_one(cfg, index, _WORKER_ENV, _WORKER_DRIVER)


def generate(cfg: PlayConfig, num_workers: int = 1, worker_id: int | None = None) -> int:
    """Generate the missing episodes (all shards, or only `worker_id`'s); returns frames written."""
    check_output_dir(cfg.output_dir)
    shards = range(num_workers) if worker_id is None else [worker_id]
    todo = [
        i
        for i in range(cfg.num_episodes)
        if i % num_workers in shards
        and not is_episode_dir(cfg.output_dir / episode_name(cfg.seed, i))
    ]
    processes = 1 if worker_id is not None else min(num_workers, max(len(todo), 1))
    bar = tqdm(total=len(todo), desc="play episodes", unit="ep", disable=not sys.stderr.isatty())
    written = 0
    if processes == 1:
        _worker_init(cfg)
        for index in todo:
            written += _worker_run((cfg, index))
            bar.update()
    else:
        ctx = multiprocessing.get_context("forkserver")
        with ctx.Pool(processes, initializer=_worker_init, initargs=(cfg,)) as pool:
            for frames in pool.imap_unordered(_worker_run, [(cfg, i) for i in todo]):
                written += frames
                bar.update()
    bar.close()
    return written


def add_play_args(parser: argparse.ArgumentParser) -> None:
    """The flags of a play-data generation run (shared with `hierarchical.dagger_play`)."""
    parser.add_argument(
        "--output_dir",
        type=Path,
        default=Path("data/crafter_play"),
        help="dataset directory (one sub-directory per episode)",
    )
    parser.add_argument("--num_episodes", type=int, default=100, help="episodes in the dataset")
    parser.add_argument("--num_workers", type=int, default=2, help="parallel processes / shards")
    parser.add_argument(
        "--worker_id",
        type=int,
        default=None,
        help="generate only this shard in this process (default: all shards)",
    )
    parser.add_argument("--seed", type=int, default=0, help="dataset seed")
    parser.add_argument("--max_steps", type=int, default=1000, help="episode length cap")
    parser.add_argument("--epsilon", type=float, default=0.1, help="random-action probability")
    parser.add_argument(
        "--perception",
        choices=PERCEPTIONS,
        default="full",
        help="what the play agent knows of the map: 'full' (privileged, the shipped data) or "
        "'seen' (what it has seen this episode; it searches for what it has not)",
    )
    parser.add_argument(
        "--drink_when_full",
        action="store_true",
        help="the agent also drinks with a full drink bar when its intention is to drink "
        "(the shipped data: it almost never does; see PlayAgent)",
    )
    parser.add_argument(
        "--near_steps",
        type=non_negative_int,
        default=0,
        help="with a known material to collect at most this many actions away, the agent takes "
        "the fewest actions to it (turns counted) instead of its cached path (0: never, the "
        "shipped data)",
    )
    parser.add_argument(
        "--random_paths",
        action="store_true",
        help="the agent walks a shortest path drawn at random, which zigzags toward its target, "
        "instead of the first one found, which turns once (off in the shipped data)",
    )
    parser.add_argument(
        "--facing_noise",
        action="store_true",
        help="frames whose action is a move show the player facing a random direction, so the "
        "sprite does not tell the last move (a move's effect does not depend on the facing; "
        "off in the shipped data)",
    )
    parser.add_argument(
        "--stats",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="print the achievement table of the dataset at the end",
    )


def run_play(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    driver: Callable[[], Driver] | None = None,
) -> None:
    """Check the parsed flags of `add_play_args`, generate, print what was written."""
    if args.num_workers < 1 or (
        args.worker_id is not None and not 0 <= args.worker_id < args.num_workers
    ):
        parser.error("need num_workers >= 1 and 0 <= worker_id < num_workers")
    cfg = PlayConfig(
        args.output_dir,
        args.num_episodes,
        args.seed,
        args.max_steps,
        args.epsilon,
        perception=args.perception,
        drink_when_full=args.drink_when_full,
        near_steps=args.near_steps,
        random_paths=args.random_paths,
        facing_noise=args.facing_noise,
        driver=driver,
    )
    written = generate(cfg, args.num_workers, args.worker_id)
    print(f"wrote {written} frames to {args.output_dir}")
    if args.stats:
        print_play_stats(args.output_dir)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_play_args(parser)
    run_play(parser, parser.parse_args(argv))


if __name__ == "__main__":
    main()
