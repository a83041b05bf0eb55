"""How often the scripted play agent, told to get an event, gets it from the steerability's starts.

    python -m hierarchical.expert_rate --event collect_drink --perception seen --rollouts 200

The low level imitates the play agent that made its data. This runs that agent itself from the
steerability's held-out starts (seeds from 150000), its free-play intention set to the event
before every step (`drink_when_full`, so that a full bar does not end a drink intention; its
reflexes and needs still come first, as in the data, and they are quiet at these starts), and prints
the share of rollouts in which the event happens within `--steps` steps. With `--perception full`
it walks on the privileged map, as in the shipped data; with `seen` it heads only for materials it
has seen in this rollout and searches for the rest, as a low level must (its paths are still
planned on the true map). So the `seen` rate shows what a
policy that sees no more than the low level can reach, and the gap to a low level's rate is what
its imitation loses. `--epsilon` adds the data's exploration noise.
"""

from __future__ import annotations

import argparse
import copy

import numpy as np
from tqdm import tqdm

from hierarchical.approach import ApproachWatch
from hierarchical.reach import EVENT_MATERIALS
from hierarchical.steerability import PROTOCOLS, StepWatch, _counts, event_starts, rollout_over
from steve1.data.generation.crafter_state import ACHIEVEMENTS
from steve1.data.generation.intentions import PERCEPTIONS
from steve1.data.generation.play_agent import REPERTOIRE, PlayAgent, Task
from steve1.utils.arg_types import non_negative_int


def expert_rate(
    event: str,
    starts: list,
    steps: int,
    perception: str,
    epsilon: float,
    seed: int,
    near_steps: int = 0,
    watch: StepWatch | None = None,
    random_paths: bool = False,
) -> np.ndarray:
    """Bool (len(starts),): whether the play agent, intent on `event`, got it within `steps`;
    `watch` sees every step, as in `run_condition`."""
    k = ACHIEVEMENTS.index(event)
    got = np.zeros(len(starts), bool)
    for i, start in enumerate(tqdm(starts, desc=f"expert {event}", leave=False)):
        env = copy.deepcopy(start)
        before = _counts(env)[k]
        agent = PlayAgent(
            np.random.default_rng([seed, i]),
            epsilon=epsilon,
            perception=perception,
            drink_when_full=True,
            near_steps=near_steps,
            random_paths=random_paths,
        )
        agent.reset(env.crafter)
        for _ in range(steps):
            if agent.task is None or agent.task.name != event:  # not got yet: count == before
                agent.task = Task(event, deadline=np.iinfo(np.int64).max, base=int(before))
            action = agent.act(env.crafter)
            if watch is not None:
                watch.before(i, env, action)
            _, _, _, truncated, info = env.step(action)
            if watch is not None:
                watch.after(i, env)
            got[i] = _counts(env)[k] > before
            if got[i] or rollout_over(info, truncated):
                break
    return got


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    events = sorted(e for _, evs in PROTOCOLS.values() for e in evs if e in REPERTOIRE)
    parser.add_argument("--event", required=True, choices=events)
    parser.add_argument("--perception", choices=PERCEPTIONS, default="seen")
    parser.add_argument("--epsilon", type=float, default=0.0, help="exploration noise")
    parser.add_argument(
        "--near_steps",
        type=non_negative_int,
        default=0,
        help="the agent's `--near_steps` (play-data flag)",
    )
    parser.add_argument(
        "--random_paths", action="store_true", help="the agent's `--random_paths` (play-data flag)"
    )
    parser.add_argument(
        "--actions_at",
        type=int,
        default=None,
        help="also print the agent's actions this many steps from the event, and how often they "
        "cut the step count (as `hierarchical.approach --actions_at`)",
    )
    parser.add_argument("--rollouts", type=int, default=200)
    parser.add_argument("--steps", type=int, default=50, help="steps per rollout")
    parser.add_argument("--seed", type=int, default=150_000, help="first env seed (held-out)")
    parser.add_argument("--agent_seed", type=int, default=0, help="seed of the agent's choices")
    args = parser.parse_args(argv)
    if args.rollouts < 1 or args.steps < 1:
        parser.error("--rollouts and --steps must be >= 1")
    if args.actions_at is not None and (args.actions_at < 1 or args.event not in EVENT_MATERIALS):
        parser.error(
            f"--actions_at needs a value >= 1 and a `do`-on-a-material event "
            f"({', '.join(sorted(EVENT_MATERIALS))})"
        )
    starts = event_starts(args.event, args.steps, args.seed, args.rollouts)
    watch = ApproachWatch(starts, args.event) if args.actions_at is not None else None
    got = expert_rate(
        args.event,
        starts,
        args.steps,
        args.perception,
        args.epsilon,
        args.agent_seed,
        args.near_steps,
        watch=watch,
        random_paths=args.random_paths,
    )
    print(
        f"{args.event}, play agent ({args.perception} perception, epsilon {args.epsilon}, "
        f"near_steps {args.near_steps}{', random paths' if args.random_paths else ''}), "
        f"{args.rollouts} rollouts of {args.steps} steps from seed {args.seed}: rate {got.mean():.2f}"
    )
    if watch is not None:
        print(watch.out.actions_summary(args.actions_at))


if __name__ == "__main__":
    main()
