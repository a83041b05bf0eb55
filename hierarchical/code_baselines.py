"""The two no-RL baselines over the codebook: the best single fixed code, and random codes.

    python -m hierarchical.code_baselines --method fixed_code --config crafter_cobblestone --seed 0
    python -m hierarchical.code_baselines --method random_codes --config crafter_cobblestone

`fixed_code` is STEVE-1 with one fixed prompt: the code is chosen by screening every code for
`--screen_episodes` episodes, then the best `--finalists` for `--final_episodes` more, all on
selection seeds; only the chosen code is evaluated on the evaluation seeds. `random_codes` draws a
code uniformly at every high-level step: if it solves a task as well as PPO does, the low level's
play habits, not the learned high level, are what solve it. Both write `eval.json` into the run
directory in the format of the RL runs (with `env_steps` 0: they use no training).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import torch

from hierarchical.evaluate import EVAL_SEED, FixedCodeActor, RandomCodeActor, evaluate_actor
from hierarchical.highlevel_env import env_from_config
from hierarchical.models import PretrainedModels, load_pretrained
from hierarchical.run_config import WORLD_DEFAULTS, check_crafter_task, prepare_run_dir
from steve1.utils.io import atomic_write_text

SELECT_SEED = 2_000_000  # screening seeds: neither training (small) nor evaluation seeds


def screen_codes(
    models: PretrainedModels, config: dict[str, Any], episodes: int, finalists: int, final: int
) -> tuple[int, dict[int, float]]:
    """The code with the best success on selection seeds; returns it and every code's rate."""

    def rate(code: int, n: int, seed: int) -> float:
        env = env_from_config(config, models, seed, prior=False)
        return evaluate_actor(FixedCodeActor(code), env, n, progress=False).success_rate

    rates = {k: rate(k, episodes, SELECT_SEED) for k in range(models.codebook.N)}
    best = sorted(rates, key=lambda k: -rates[k])[:finalists]
    final_rates = {k: rate(k, final, SELECT_SEED + 10_000) for k in best}
    return max(final_rates, key=lambda k: final_rates[k]), rates


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    defaults = WORLD_DEFAULTS["crafter"]
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", choices=("fixed_code", "random_codes"), required=True)
    p.add_argument("--config", default="crafter_cobblestone")
    p.add_argument("--name", default=None)
    p.add_argument("--results_dir", default="./results")
    p.add_argument("--run_dir", default=None)
    p.add_argument("--eval_episodes", type=int, default=defaults["eval_episodes"])
    p.add_argument("--screen_episodes", type=int, default=5)
    p.add_argument("--finalists", type=int, default=5)
    p.add_argument("--final_episodes", type=int, default=20)
    for key in ("in_model", "in_weights", "codebook", "cond_scale", "low_level_steps"):
        p.add_argument(f"--{key}", type=type(defaults[key]), default=defaults[key])
    p.add_argument("--num_envs", type=int, default=defaults["num_envs"])
    p.add_argument("--seed", type=int, default=0, help="seeds the random codes")
    p.add_argument("--num_threads", type=int, default=0)
    args = p.parse_args(argv)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    check_crafter_task(args.config, "hierarchical.code_baselines")
    config = vars(args) | {"load": None}
    config["name"] = config["name"] or f"{args.method}_{args.config}_s{args.seed}"
    run_dir, config = prepare_run_dir(config, set())
    if (run_dir / "eval.json").exists():
        print(f"{run_dir}/eval.json exists: nothing to do")
        return
    models = load_pretrained(Path(args.in_model), Path(args.in_weights), Path(args.codebook))
    report: dict[str, Any] = {"env_steps": 0, "eval_seed": EVAL_SEED}
    if args.method == "fixed_code":
        code, rates = screen_codes(
            models, config, args.screen_episodes, args.finalists, args.final_episodes
        )
        actor: Any = FixedCodeActor(code)
        report |= {"code": code, "screen_rates": rates}
        print(f"chosen code {code} (screening success {rates[code]:.2f})", flush=True)
    else:
        actor = RandomCodeActor(models.codebook.N, seed=args.seed)
    env = env_from_config(config, models, EVAL_SEED, prior=False)
    result = evaluate_actor(actor, env, args.eval_episodes)
    print(f"[eval] {args.method}: {result}", flush=True)
    atomic_write_text(run_dir / "eval.json", json.dumps(result.as_dict() | report, indent=1))


if __name__ == "__main__":
    main()
