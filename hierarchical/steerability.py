"""Steerability of the low level: which events each code produces, against no goal and random codes.

    python -m hierarchical.steerability --codebook data/codebook/tsne_n50_s1/codebook.npz \
        --in_model results/steve1/weights/trained_with_script.model \
        --in_weights results/steve1/weights/trained_with_script_best.weights \
        --rollouts 50 --low_level_steps 100 --cond_scale 0 --seed 100000

For every start protocol (fresh: empty inventory; pickaxe: a wood pickaxe given; zombie: a zombie in
view at night with a wood sword, the `crafter_spider` start) and every condition (each code, the
unconditioned policy, a random code per rollout), `--rollouts` guided rollouts of
`--low_level_steps` steps from env seeds `seed, seed+1, ...` (the same seeds for every condition);
a rollout continues after any event and ends at death or the step limit. An event is an achievement
counter rising. The code for a target event is chosen on these rollouts among the codes whose
source window contains the event, then re-measured on fresh seeds (`seed + 50000 + i`): the
reported rate is that held-out one, and the margin is it minus the mean rate of the event under
the other codes. The ceiling is the share of the held-out starts from which a perfect player
reaches the event within the steps (`hierarchical.reach`). `--candidates_only` runs only the codes whose window holds one of the protocol's
target events (a quick comparison of codebooks): it reports their rates, but no margins.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from tqdm import tqdm

import tasks
from goal_prior.codebook import Codebook, load_codebook
from goal_prior.contact_sheet import contact_sheet
from hierarchical.reach import EVENT_MATERIALS, shortest_steps
from hierarchical.run_config import WORLD_DEFAULTS
from steve1.agent import GuidedAgent
from steve1.data.generation.crafter_state import ACHIEVEMENTS
from steve1.embed_conditioned_policy import EmbedConditionedPolicy
from steve1.goal_encoders.crafter import feature_names
from VPT.checkpoint import load_policy

# protocol -> (task whose start it uses, targets: event -> achievement evaluated there)
PROTOCOLS = {
    "fresh": ("crafter_log", ("collect_wood", "collect_drink")),
    "pickaxe": ("crafter_cobblestone", ("collect_stone",)),
    "zombie": ("crafter_spider", ("defeat_zombie",)),
}
TARGETS = {"collect_wood": 0.8, "collect_drink": 0.7, "collect_stone": 0.7, "defeat_zombie": 0.5}
MARGIN = 0.25
HELD_OUT = 50_000


@dataclass
class Rollouts:
    """Event indicators (R, n_achievements) and deaths (R,) of one condition."""

    events: np.ndarray
    died: np.ndarray

    def rate(self, event: str) -> float:
        return float(self.events[:, ACHIEVEMENTS.index(event)].mean())


def start_states(task: str, steps: int, seeds: list[int]) -> list:
    """One freshly reset env per seed, to be copied by every condition (a reset costs ~10x more)."""
    envs = [tasks.make(task, max_steps=steps) for _ in seeds]
    for env, seed in zip(envs, seeds, strict=True):
        env.reset(seed=seed)
    return envs


def event_starts(event: str, steps: int, seed: int, n: int) -> list:
    """The starts of the protocol that measures `event` (a wood pickaxe for stone, a zombie in
    view for zombies, fresh otherwise), seeds `seed`..`seed + n - 1`."""
    task = next(t for t, events in PROTOCOLS.values() if event in events)
    return start_states(task, steps, list(range(seed, seed + n)))


class StepWatch(Protocol):
    """Sees every env step of `run_condition` (for diagnostics such as `hierarchical.approach`)."""

    def before(self, i: int, env: Any, action: int) -> None: ...

    def after(self, i: int, env: Any) -> None: ...


def run_condition(
    policy: EmbedConditionedPolicy,
    starts: list,
    goals: np.ndarray,
    steps: int,
    cond_scale: float,
    seed: int,
    watch: StepWatch | None = None,
) -> Rollouts:
    """One batched set of rollouts: env i starts from `starts[i]` (copied) and follows goal i;
    `watch` is called just before and after each env's step."""
    envs = [copy.deepcopy(env) for env in starts]
    obs = [env.render() for env in envs]
    start = np.array([_counts(env) for env in envs])
    agent = GuidedAgent(policy, len(envs), cond_scale, seed=seed)
    alive = np.ones(len(envs), bool)
    died = np.zeros(len(envs), bool)
    for _ in range(steps):
        actions = agent.act(np.stack(obs), goals)
        for i, env in enumerate(envs):
            if not alive[i]:
                continue
            if watch:
                watch.before(i, env, int(actions[i]))
            o, _, _, truncated, info = env.step(int(actions[i]))
            obs[i] = o["pov"]
            died[i] = info["discount"] == 0
            alive[i] = not rollout_over(info, truncated)
            if watch:
                watch.after(i, env)
        if not alive.any():
            break
    events = np.array([_counts(env) for env in envs]) > start
    return Rollouts(events, died)


def rollout_over(info: dict, truncated: bool) -> bool:
    """A rollout ends at death or the step limit only: it goes on past its task's success (the
    fresh starts are `crafter_log`'s, whose episode ends at the first wood, but drink is measured
    there too). After a success the env reports `terminated`, never `truncated`, so the callers'
    loops of `steps` steps are what enforce the limit."""
    return bool(info["discount"] == 0 or truncated)


def _counts(env: object) -> np.ndarray:
    achievements = env.crafter._player.achievements  # type: ignore[attr-defined]
    return np.array([achievements[a] for a in ACHIEVEMENTS])


def code_events(codebook: Codebook) -> list[list[str]]:
    """The events in each code's source window (from the Crafter embedding's event dims)."""
    names = feature_names()
    idx = [names.index(f"event:{a}") for a in ACHIEVEMENTS]
    return [
        [a for a, j in zip(ACHIEVEMENTS, idx, strict=True) if code[j] > 0.5]
        for code in codebook.codes
    ]


def evaluate(
    policy: EmbedConditionedPolicy,
    codebook: Codebook,
    rollouts: int,
    steps: int,
    seed: int,
    cond_scale: float,
    protocols: list[str] | None = None,
    candidates_only: bool = False,
) -> dict:
    """The code x event table per protocol, the baselines, and the target codes' held-out rates.

    :param candidates_only: run only the codes whose window holds a target event of the protocol;
        margins (which need every other code) are then left out.
    """
    seeds = list(range(seed, seed + rollouts))
    rng = np.random.default_rng(seed)
    zero = np.zeros((rollouts, codebook.dim), np.float32)
    random_goals = codebook.codes[rng.integers(codebook.N, size=rollouts)]
    per_code_events = code_events(codebook)
    report: dict = {"protocols": {}, "targets": {}, "code_events": per_code_events}
    run = EvalRun(policy, codebook, rollouts, steps, seed, cond_scale)
    for protocol in protocols or list(PROTOCOLS):
        task, targets = PROTOCOLS[protocol]
        starts = start_states(task, steps, seeds)
        table: dict[str, Rollouts] = {}
        codes = range(codebook.N)
        if candidates_only:
            codes = [k for k in codes if set(per_code_events[k]) & set(targets)]
        conditions = [("uncond", zero), ("random_code", random_goals)] + [
            (f"code_{k}", np.repeat(codebook.get_code(k), rollouts, 0)) for k in codes
        ]
        for name, goals in tqdm(conditions, desc=protocol, disable=not sys.stderr.isatty()):
            table[name] = run_condition(policy, starts, goals, steps, cond_scale, seed)
        report["protocols"][protocol] = {
            name: {
                "events": dict(zip(ACHIEVEMENTS, r.events.mean(0).round(3).tolist(), strict=True)),
                "died": float(r.died.mean()),
            }
            for name, r in table.items()
        }
        for event in targets:
            report["targets"][event] = _target(run, table, per_code_events, event, task, protocol)
    return report


@dataclass
class EvalRun:
    """What every rollout set of one evaluation shares."""

    policy: EmbedConditionedPolicy
    codebook: Codebook
    rollouts: int
    steps: int
    seed: int
    cond_scale: float


def _target(
    run: EvalRun,
    table: dict[str, Rollouts],
    per_code_events: list[list[str]],
    event: str,
    task: str,
    protocol: str,
) -> dict:
    """The best code for `event` on the table's seeds, re-measured on held-out seeds."""
    policy, codebook, steps, seed = run.policy, run.codebook, run.steps, run.seed
    rollouts, cond_scale = run.rollouts, run.cond_scale
    candidates = [k for k, ev in enumerate(per_code_events) if event in ev]
    if not candidates:
        return {"protocol": protocol, "code": None, "note": "no code has this event"}
    best = max(candidates, key=lambda k: table[f"code_{k}"].rate(event))
    selection = {k: table[f"code_{k}"].rate(event) for k in candidates}
    held_seeds = list(range(seed + HELD_OUT, seed + HELD_OUT + rollouts))
    goals = np.repeat(codebook.get_code(best), rollouts, 0)
    starts = start_states(task, steps, held_seeds)
    held = run_condition(policy, starts, goals, steps, cond_scale, seed).rate(event)
    result = {
        "ceiling": _ceiling(starts, event, steps),
        "protocol": protocol,
        "code": best,
        "candidates": candidates,
        "candidate_rates": selection,
        "selection_rate": selection[best],
        "held_out_rate": held,
        "uncond": table["uncond"].rate(event),
        "random_code": table["random_code"].rate(event),
        "target": TARGETS[event],
    }
    if not all(f"code_{k}" in table for k in range(codebook.N)):  # --candidates_only
        return result | {"other_codes_mean": None, "margin": None, "passes": None}
    others = float(
        np.mean([table[f"code_{k}"].rate(event) for k in range(codebook.N) if k != best])
    )
    return result | {
        "other_codes_mean": others,
        "margin": held - others,
        "passes": held >= TARGETS[event] and held - others >= MARGIN,
    }


def _ceiling(starts: list, event: str, steps: int) -> float | None:
    """Share of the starts from which a perfect player reaches the event in `steps` steps
    (`hierarchical.reach`); None for events that are not a `do` on a material."""
    material = EVENT_MATERIALS.get(event)
    if material is None:
        return None
    needed = [shortest_steps(env, material) for env in starts]
    return float(np.mean([n is not None and n <= steps for n in needed]))


def print_report(report: dict) -> None:
    """The target table (markdown) and, per protocol, the event rates of the baselines."""
    print(
        "| event | protocol | code | held-out rate | target | ceiling | other codes | margin | "
        "uncond | random code | pass |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for event, t in report["targets"].items():
        if t["code"] is None:
            print(
                f"| {event} | {t['protocol']} | none | - | {TARGETS[event]} | - | - | - | - | - | "
                "no |"
            )
            continue
        if t["margin"] is None:
            others, margin, passes = "-", "-", "-"
        else:
            others, margin = f"{t['other_codes_mean']:.2f}", f"{t['margin']:+.2f}"
            passes = "yes" if t["passes"] else "no"
        print(
            f"| {event} | {t['protocol']} | {t['code']} | {t['held_out_rate']:.2f} | "
            f"{t['target']} | {_fmt(t.get('ceiling'))} | {others} | {margin} | {t['uncond']:.2f} | {t['random_code']:.2f} | "
            f"{passes} |"
        )
    for event, t in report["targets"].items():
        if t["code"] is not None:
            rates = sorted(t["candidate_rates"].items(), key=lambda kv: -kv[1])
            print(
                f"{event} candidates (code: rate): " + ", ".join(f"{k}: {r:.2f}" for k, r in rates)
            )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def add_rollout_args(
    parser: argparse.ArgumentParser, cond_scale: float, seed: int, low_level_steps: int
) -> None:
    """The flags of a script that rolls out a low level's codes: models, rollouts, seeds."""
    parser.add_argument("--codebook", type=Path, required=True)
    parser.add_argument("--in_model", type=Path, required=True)
    parser.add_argument("--in_weights", type=Path, required=True)
    parser.add_argument("--rollouts", type=int, default=50)
    parser.add_argument("--low_level_steps", type=int, default=low_level_steps)
    parser.add_argument("--cond_scale", type=float, default=cond_scale)
    parser.add_argument("--seed", type=int, default=seed, help="first env seed")
    parser.add_argument("--num_threads", type=int, default=1, help="torch CPU threads")


def load_rollout_models(args: argparse.Namespace) -> tuple[Codebook, EmbedConditionedPolicy]:
    """Set the threads, load the codebook and the low level, and check that they fit."""
    torch.set_num_threads(args.num_threads)
    codebook = load_codebook(args.codebook)
    policy = load_policy(args.in_model, args.in_weights, policy_class=EmbedConditionedPolicy)
    codebook.check_dim(policy.goal_dim, "the low-level policy")
    return codebook, policy


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # as long as Crafter's high level holds a code
    horizon = WORLD_DEFAULTS["crafter"]["low_level_steps"]
    add_rollout_args(parser, cond_scale=0.0, seed=100_000, low_level_steps=horizon)
    parser.add_argument(
        "--protocols",
        nargs="+",
        choices=list(PROTOCOLS),
        default=list(PROTOCOLS),
        help="start protocols to run (split them over processes to use more cores)",
    )
    parser.add_argument(
        "--candidates_only",
        action="store_true",
        help="run only the codes whose window holds a target event (rates, no margins)",
    )
    parser.add_argument("--output", type=Path, default=Path("results/steerability.json"))
    args = parser.parse_args(argv)
    codebook, policy = load_rollout_models(args)
    report = evaluate(
        policy,
        codebook,
        args.rollouts,
        args.low_level_steps,
        args.seed,
        args.cond_scale,
        args.protocols,
        args.candidates_only,
    )
    report["args"] = {k: str(v) for k, v in vars(args).items()}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1))
    captions = [
        ", ".join(e.replace("collect_", "") for e in ev) or "-" for ev in report["code_events"]
    ]
    contact_sheet(codebook, captions, args.output.with_suffix(".png"))
    print_report(report)


if __name__ == "__main__":
    main()
