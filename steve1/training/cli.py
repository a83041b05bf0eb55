"""Flags shared by both trainers (upstream's names) and building the policy they train."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch

from steve1.data.episode_storage import EMBED_OFFSET
from steve1.data.goal_dataset import EpisodeCache, HindsightGoalChunks
from steve1.data.sampling.sampling_files import read_sampling
from steve1.training.loop import Objective, TrainConfig, Trainer
from steve1.utils.arg_types import non_negative_int
from steve1.utils.run_info import write_meta
from steve1.utils.seeding import set_seed
from VPT.checkpoint import load_model_file, load_weights
from VPT.policy import VPTPolicy
from VPT.presets import CRAFTER_ACTION_SPACE, MINECRAFT_ACTION_SPACE, get_preset

# Crafter defaults, chosen by the experiments recorded in the README.
CRAFTER_DEFAULTS = {
    "T": 64,
    "trunc_t": 32,
    "batch_size": 16,
    "min_btwn_goals": 5,
    "max_btwn_goals": 50,
    "learning_rate": 3e-4,
    "n_frames": 2_000_000,
    "warmup_frames": 50_000,
}


def add_loop_args(
    parser: argparse.ArgumentParser, out_weights: str, checkpoint_dir: str, seed: int
) -> None:
    """The data, model and loop flags common to `steve1.train` and `goal_prior.train`."""
    d = CRAFTER_DEFAULTS
    add = parser.add_argument
    add("--seed", type=int, default=seed)
    add("--sampling_dir", type=Path, default=Path("data/samplings"))
    add("--sampling", default="seed1", help="name of the sampling files to read")
    add("--preset", default="crafter", help="VPT size when no --in_model is given: crafter|tiny|2x")
    add("--in_model", type=Path, default=None, help=".model file (overrides --preset)")
    add("--in_weights", type=Path, default=None, help="initial .weights (e.g. VPT's)")
    add(
        "--eval_only",
        action="store_true",
        help="load the whole of --in_weights (heads included), print its validation metrics "
        "and stop: no training, nothing written",
    )
    add("--out_weights", type=Path, default=Path(out_weights))
    add("--checkpoint_dir", type=Path, default=Path(checkpoint_dir))
    add("--T", type=int, default=d["T"], help="frames per training chunk")
    add("--trunc_t", type=int, default=d["trunc_t"], help="frames per backprop slice")
    add("--min_btwn_goals", type=int, default=d["min_btwn_goals"])
    add("--max_btwn_goals", type=int, default=d["max_btwn_goals"])
    add(
        "--goal_lead",
        type=non_negative_int,
        default=0,
        help="condition on the window ending this many frames after the goal frame "
        "(15: the window starts there; 0: upstream)",
    )
    add(
        "--event_gap",
        type=non_negative_int,
        default=0,
        help="the next goal is the next event's window (an achievement, Crafter) when it lies "
        "at most this many frames after the current goal (0: upstream's rule only)",
    )
    add(
        "--first_frame",
        type=non_negative_int,
        default=EMBED_OFFSET,
        help="first frame of an episode that a training chunk may start at: 15 (upstream) "
        "leaves out every episode's first 15 frames, its start; 0 trains them too (their goals "
        "are windows from frame 15 on, as always)",
    )
    add("--batch_size", type=int, default=d["batch_size"])
    add("--gradient_accumulation_steps", type=int, default=1)
    add("--learning_rate", type=float, default=d["learning_rate"])
    add("--weight_decay", type=float, default=0.039428)
    add("--max_grad_norm", type=float, default=5.0)
    add("--n_frames", type=int, default=d["n_frames"])
    add("--warmup_frames", type=int, default=d["warmup_frames"])
    add("--log_freq", type=int, default=50, help="slices between logs")
    add("--save_freq", type=int, default=200, help="slices between checkpoints")
    add("--val_freq", type=int, default=1000)
    add("--val_freq_begin", type=int, default=100)
    add("--val_freq_switch_steps", type=int, default=500)
    add("--val_every_nth", type=int, default=1)
    add("--snapshot_every_n_frames", type=int, default=0, help="0: no snapshots")
    add("--device", default="auto", help="auto (CUDA when present, else CPU), cpu, cuda, ...")
    add("--num_threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    add(
        "--accelerate",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="use HF accelerate (default: when installed); launch multi-GPU runs with "
        "`accelerate launch -m steve1.train ...`",
    )
    add(
        "--mixed_precision",
        default="no",
        choices=["no", "fp16", "bf16"],
        help="autocast precision under accelerate (upstream: bf16 on GPUs)",
    )


def loop_config(args: argparse.Namespace) -> TrainConfig:
    """The loop settings from parsed flags."""
    fields = TrainConfig.__dataclass_fields__
    return TrainConfig(**{k: getattr(args, k) for k in fields if hasattr(args, k)})


def build_policy(
    args: argparse.Namespace,
    policy_class: type[VPTPolicy],
    world: str = "crafter",
    action_space: Any = None,
    init_prefixes: tuple[str, ...] | None = None,
    **kwargs: Any,
) -> VPTPolicy:
    """The policy to train: from `--in_model` or `--preset`, initialised from `--in_weights`.

    :param init_prefixes: load only these parts of `--in_weights` (strictly), e.g. the goal prior
        takes VPT's image encoder and transformer; by default every key but the goal projection
        and the goal FiLM and goal-expert layers must be in the file (VPT's weights have none;
        FiLM layers left out start at zero, goal experts at their initialisation, which acts as
        the file's model). With `--eval_only` the whole file is loaded, strictly.
    """
    if args.in_model is not None:
        spec = load_model_file(args.in_model)
        policy_kwargs, pi_head_kwargs = spec.policy_kwargs, spec.pi_head_kwargs
    else:
        preset = get_preset(args.preset)
        policy_kwargs, pi_head_kwargs = preset.policy_kwargs, preset.pi_head_kwargs
    if action_space is None:
        action_space = CRAFTER_ACTION_SPACE if world == "crafter" else MINECRAFT_ACTION_SPACE
    policy = policy_class(policy_kwargs, action_space, pi_head_kwargs, **kwargs)
    if args.in_weights is None:
        if args.eval_only:
            raise SystemExit("error: --eval_only validates --in_weights; give the weights")
        return policy
    if args.eval_only:
        load_weights(policy, args.in_weights, strict=True)
        return policy
    if init_prefixes is not None:
        load_weights(policy, args.in_weights, strict=True, include=init_prefixes)
        return policy
    result = load_weights(policy, args.in_weights, strict=False)
    new_layers = (
        "net.mineclip_embed_linear.",
        "net.goal_film.",
        "net.goal_film_cnn.",
        "net.goal_gate.",
        "net.goal_expert_",
    )
    missing = [k for k in result.missing if not k.startswith(new_layers)]
    if missing or result.unexpected:
        raise SystemExit(
            f"error: {args.in_weights} does not fit the model: missing {missing[:5]}"
            f"{'...' if len(missing) > 5 else ''}, unexpected {result.unexpected[:5]}"
        )
    return policy


def load_data(args: argparse.Namespace) -> tuple[EpisodeCache, EpisodeCache]:
    """Seed everything, set the torch threads, and load the sampling's train and val episodes
    (with `--eval_only`, the val episodes in both places: validating reads no training data)."""
    set_seed(args.seed)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    val = EpisodeCache.from_paths(read_sampling(args.sampling_dir, args.sampling, "val"))
    if args.eval_only:
        return val, val
    train = EpisodeCache.from_paths(read_sampling(args.sampling_dir, args.sampling, "train"))
    return train, val


def run_training(
    objective: Objective,
    args: argparse.Namespace,
    caches: tuple[EpisodeCache, EpisodeCache],
    argv: list[str] | None,
    p_uncond: float = 0.0,
    train_weights: dict[str, Any] | None = None,
    **meta: Any,
) -> dict[str, Any]:
    """Hindsight-goal chunks of both splits, `meta.json`, then the (resumable) training loop;
    `train_weights` (`HindsightGoalChunks`' `change_weight`, `event_weight`, `event_window`)
    weigh the training frames' loss, never the validation's."""
    goals = (args.T, args.min_btwn_goals, args.max_btwn_goals)
    extra = {
        "goal_lead": args.goal_lead,
        "event_gap": args.event_gap,
        "first_frame": args.first_frame,
    }
    train = HindsightGoalChunks(
        caches[0], *goals, p_uncond=p_uncond, **extra, **(train_weights or {})
    )
    val = HindsightGoalChunks(caches[1], *goals, **extra)
    cfg = loop_config(args)
    if args.eval_only:
        metrics = Trainer(objective, train, val, cfg).validate()
        print(f"validation of {args.in_weights}: {metrics}")
        return metrics
    write_meta(
        cfg.out_weights.parent / "meta.json",
        argv if argv is not None else sys.argv,
        config=vars(args),
        **meta,
    )
    metrics = Trainer(objective, train, val, cfg).run()
    print(f"done: {metrics}")
    return metrics
