"""Why a code misses its event: does the player never see the material, or see it and not get it?

    python -m hierarchical.approach --codebook downloads/crafter/codebook.npz \
        --in_model downloads/crafter/steve1.model --in_weights downloads/crafter/steve1.weights \
        --event collect_drink --code 14 --cond_scale 3 --seed 150000

Runs the steerability's rollouts of one code (or, with `--code -1`, of the unconditioned policy)
for a `do`-on-a-material event (wood, drink, stone) and prints: the event's rate; the share of
rollouts in which the material came into view, in which the player faced it, and the event's rate
among those; and, over the steps taken while the material was in view (before the event), the share
that brought the player closer to it, farther, or left the distance as it was (the perfect
player's step count of `hierarchical.reach`). A low level that goes for what its goal shows walks
closer on nearly every such step. The defaults are the steerability's held-out rollouts: env seeds
from 150000 and the low level sampling with seed 100000, so a code's rate equals its held-out rate
there; `--agent_seed` changes only the sampling. `--trace` also prints one line per rollout:
the perfect player's step count to the event before each step (`.` when the material is out of
view, `+` from 10 on), which shows where a rollout lost its way.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hierarchical.reach import EVENT_MATERIALS, in_view, shortest_steps
from hierarchical.steerability import (
    _counts,
    add_rollout_args,
    event_starts,
    load_rollout_models,
    run_condition,
)
from steve1.data.generation.crafter_state import ACHIEVEMENTS
from steve1.embed_conditioned_policy import EmbedConditionedPolicy
from tasks.crafter.env import ACTION_NAMES


@dataclass
class Approach:
    """Per-rollout outcomes and the distance changes of the steps taken with the material in view."""

    got: np.ndarray
    seen: np.ndarray
    faced: np.ndarray
    died: np.ndarray
    closer: int = 0
    farther: int = 0
    same: int = 0
    traces: list[str] = field(default_factory=list)
    # actions taken at each step count to the event, e.g. actions_at[2]["do"]
    actions_at: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    closer_at: Counter = field(default_factory=Counter)  # steps at each count that cut it

    def summary(self) -> str:
        steps = max(self.closer + self.farther + self.same, 1)
        got_if_faced = self.got[self.faced].mean() if self.faced.any() else float("nan")
        return (
            f"rate {self.got.mean():.2f}; in view {self.seen.mean():.2f}, faced "
            f"{self.faced.mean():.2f}, rate when faced {got_if_faced:.2f}; steps with it in view: "
            f"closer {self.closer / steps:.2f}, farther {self.farther / steps:.2f}, "
            f"same {self.same / steps:.2f} ({self.closer + self.farther + self.same} steps)"
        )

    def outcomes(self) -> dict[str, float]:
        """Share of rollouts per outcome (`OUTCOMES`), read from the traces."""
        counts = Counter(
            _outcome(*row) for row in zip(self.got, self.died, self.seen, self.traces, strict=True)
        )
        return {k: counts[k] / max(len(self.traces), 1) for k in OUTCOMES}

    def actions_summary(self, distance: int) -> str:
        """The shares of the actions taken `distance` steps from the event."""
        counts = self.actions_at[distance]
        total = max(sum(counts.values()), 1)
        shares = ", ".join(f"{a} {n / total:.2f}" for a, n in counts.most_common())
        closer = self.closer_at[distance] / total
        return (
            f"actions {distance} steps from it ({sum(counts.values())} steps, closer "
            f"{closer:.2f}): {shares}"
        )


OUTCOMES = (
    "got it",
    "never in view",
    "in view, never within 2 steps",
    "came within 2 steps, did not get it",
    "died",
)


def _outcome(got: bool, died: bool, seen: bool, trace: str) -> str:
    """A rollout's outcome. "Within 2 steps": one move (a step or a turn) and a `do` from the
    event, at some step of the trace (the perfect player's count is never 0)."""
    if got:
        return "got it"
    if died:
        return "died"
    if not seen:
        return "never in view"
    if any(c in "12" for c in trace):
        return "came within 2 steps, did not get it"
    return "in view, never within 2 steps"


class ApproachWatch:
    """The `StepWatch` behind `approach` (and `expert_rate --actions_at`): what each player sees,
    faces and gets, step by step."""

    def __init__(self, starts: list, event: str) -> None:
        n = len(starts)
        self.material, self.k = EVENT_MATERIALS[event], ACHIEVEMENTS.index(event)
        self.start = np.array([_counts(env)[self.k] for env in starts])
        self.out = Approach(*(np.zeros(n, bool) for _ in range(4)), traces=[""] * n)
        self.distance: list[int | None] = [None] * n
        self.known: list[int | None] = [None] * n  # `after`'s count, still true at the next step

    def before(self, i: int, env: Any, action: int) -> None:
        out, player = self.out, env.crafter._player
        out.faced[i] |= env.crafter._world[player.pos + player.facing][0] == self.material
        visible = not out.got[i] and in_view(env, self.material)
        out.seen[i] |= visible
        d = None
        if visible:
            d = self.known[i] if self.known[i] is not None else shortest_steps(env, self.material)
        self.distance[i] = d
        out.traces[i] += "." if d is None else str(d) if d < 10 else "+"
        if d is not None:
            out.actions_at[d][ACTION_NAMES[action]] += 1

    def after(self, i: int, env: Any) -> None:
        out, before = self.out, self.distance[i]
        out.got[i] |= _counts(env)[self.k] > self.start[i]
        after = shortest_steps(env, self.material) if before is not None else None
        self.known[i] = after
        if after is not None and not out.got[i]:
            out.closer += after < before
            out.closer_at[before] += after < before
            out.farther += after > before
            out.same += after == before


def approach(
    policy: EmbedConditionedPolicy,
    starts: list,
    goal: np.ndarray,
    event: str,
    steps: int,
    cond_scale: float,
    seed: int,
) -> Approach:
    """Roll out `goal` from copies of `starts` (the steerability's `run_condition`) and follow
    each player's distance to the event's material."""
    watch = ApproachWatch(starts, event)
    goals = np.repeat(goal[None], len(starts), 0)
    watch.out.died = run_condition(policy, starts, goals, steps, cond_scale, seed, watch).died
    return watch.out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 50 steps: the horizon of the experiments that used it (experiments/*/README.md)
    add_rollout_args(parser, cond_scale=3.0, seed=150_000, low_level_steps=50)
    parser.add_argument("--event", required=True, choices=sorted(EVENT_MATERIALS))
    parser.add_argument("--code", type=int, required=True, help="code index; -1: no goal")
    parser.add_argument(
        "--agent_seed",
        type=int,
        default=100_000,
        help="seed of the low level's action sampling (the steerability's held-out rollouts use "
        "its --seed, 100000); other values show how much a rate moves with the sampling alone",
    )
    parser.add_argument(
        "--trace", action="store_true", help="print each rollout's step counts to the event"
    )
    parser.add_argument(
        "--actions_at",
        type=int,
        default=None,
        help="also print the shares of the actions taken this many steps from the event",
    )
    args = parser.parse_args(argv)
    if args.actions_at is not None and args.actions_at < 1:
        parser.error("--actions_at must be >= 1 (the step count before a `do` on the material)")
    codebook, policy = load_rollout_models(args)
    if not -1 <= args.code < codebook.N:
        parser.error(
            f"--code {args.code}: the codebook has codes 0..{codebook.N - 1} (-1: no goal)"
        )
    starts = event_starts(args.event, args.low_level_steps, args.seed, args.rollouts)
    goal = np.zeros(codebook.dim, np.float32) if args.code < 0 else codebook.get_code(args.code)[0]
    scale = args.cond_scale if args.code >= 0 else 0.0
    result = approach(
        policy, starts, goal, args.event, args.low_level_steps, scale, args.agent_seed
    )
    who = "no goal" if args.code < 0 else f"code {args.code}"
    print(
        f"{args.event}, {who}, {args.rollouts} rollouts from seed {args.seed} (agent seed "
        f"{args.agent_seed}): {result.summary()}"
    )
    if args.actions_at is not None:
        print(result.actions_summary(args.actions_at))
    if args.trace:
        shares = result.outcomes()
        print("outcomes: " + ", ".join(f"{k} {v:.3f}" for k, v in shares.items()))
        for i, trace in enumerate(result.traces):
            print(f"{args.seed + i} got {int(result.got[i])} seen {int(result.seen[i])} {trace}")


if __name__ == "__main__":
    main()
