"""On-policy play data: the low level drives, the play agent labels every frame (DAgger).

    python -m hierarchical.dagger_play --output_dir data/crafter_dagger --seed 1 \
        --num_episodes 200 --perception seen --codebook <codebook.npz> \
        --in_model <low level .model> --in_weights <low level .weights>

The play agent plays as in `generate_crafter_play` (same flags, same episode layout), but now and
then, while its intention is an achievement that some code of the codebook holds, the low level
takes the wheel: steered by one such code (drawn at random), with guidance `--cond_scale`, for
`--segment_steps` steps or until the intention changes. Every frame records the action the play
agent would take in that state (`PlayAgent.decision`), so behaviour cloning on these episodes
learns to correct the low level's own mistakes (Ross et al., 2011), such as walking on where the
play agent turns toward the water. `states["driven"]` marks the frames the low level drove and
`states["executed"]` holds the action the env executed in every frame.

This goes beyond the paper's recipe, which clones the play data alone. The low level sees the
frames from (up to) `MEMORY_LEAD` steps before it takes the wheel (its memory is cleared there,
and these frames carry no goal, as the code is drawn only when it takes the wheel), so its first
action has context; it does not run in between, which keeps generation cheap. Its choices and its
sampling are seeded per episode, so an episode comes out the same in any worker and on a re-run
(with the same torch build and thread count). `--facing_noise` is refused: the low level would
act on frames other than the stored ones.
"""

from __future__ import annotations

import argparse
import functools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from goal_prior.codebook import Codebook, load_codebook
from hierarchical.steerability import code_events
from steve1.agent import GuidedAgent
from steve1.data.generation.crafter_state import ACHIEVEMENTS
from steve1.data.generation.generate_crafter_play import add_play_args, run_play
from steve1.embed_conditioned_policy import EmbedConditionedPolicy
from VPT.checkpoint import load_policy

MEMORY_LEAD = 16  # frames the low level sees before it takes the wheel


@dataclass(frozen=True)
class DriverSettings:
    """What `LearnerDriver.load` needs (picklable: each worker process loads its own copy)."""

    codebook: Path
    in_model: Path
    in_weights: Path
    cond_scale: float = 3.0
    segment_rate: float = 0.04
    segment_steps: tuple[int, int] = (10, 40)
    num_threads: int = 1


class LearnerDriver:
    """A `generate_crafter_play.Driver`: the low level, steered by the code of the agent's intention."""

    def __init__(
        self, policy: EmbedConditionedPolicy, codebook: Codebook, settings: DriverSettings
    ) -> None:
        self.settings = settings
        self.codes = np.asarray(codebook.codes, np.float32)
        self.no_goal = np.zeros_like(self.codes[0])
        self.agent = GuidedAgent(policy, 1, settings.cond_scale, seed=0)
        events = code_events(codebook)
        self.codes_of = {
            event: [k for k, ev in enumerate(events) if event in ev] for event in ACHIEVEMENTS
        }
        self.reset(np.random.default_rng(0))

    @classmethod
    def load(cls, settings: DriverSettings) -> LearnerDriver:
        torch.set_num_threads(settings.num_threads)
        codebook = load_codebook(settings.codebook)
        policy = load_policy(
            settings.in_model, settings.in_weights, policy_class=EmbedConditionedPolicy
        )
        codebook.check_dim(policy.goal_dim, "the low-level policy")
        return cls(policy, codebook, settings)

    def reset(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.agent.generator.manual_seed(int(rng.integers(2**62)))
        self.code: int | None = None  # the code steering the current segment
        self.intention = ""
        self.left = 0  # steps left in the segment
        self.wait = self._draw_wait()  # steps until the next segment may start
        self.watching = False  # whether the low level has been fed frames since its last reset

    def _draw_wait(self) -> int:
        return int(self.rng.geometric(self.settings.segment_rate))

    def act(self, obs: np.ndarray, intention: str, action: int) -> int | None:
        if self.code is None:
            self.wait -= 1
            if self.wait <= MEMORY_LEAD and not self.watching:
                self.agent.reset()
                self.watching = True
            if self.wait <= 0:
                self._start(intention)
        elif intention != self.intention:
            self._stop()
        if not self.watching:
            return None
        goal = self.codes[self.code] if self.code is not None else self.no_goal
        learner_action = int(self.agent.act(obs[None], goal[None])[0])
        if self.code is None:
            return None
        self.left -= 1
        if self.left <= 0:
            self._stop()
        return learner_action

    def _start(self, intention: str) -> None:
        candidates = self.codes_of.get(intention, [])
        if not candidates:  # nothing to steer toward: wait for the next chance
            self._stop()
            return
        low, high = self.settings.segment_steps
        self.code = int(candidates[int(self.rng.integers(len(candidates)))])
        self.intention = intention
        self.left = int(self.rng.integers(low, high + 1))

    def _stop(self) -> None:
        self.code = None
        self.wait = self._draw_wait()
        self.watching = False

    def describe(self) -> dict[str, Any]:
        return {"name": "low_level", **{k: str(v) for k, v in asdict(self.settings).items()}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_play_args(parser)
    parser.add_argument("--codebook", type=Path, required=True)
    parser.add_argument("--in_model", type=Path, required=True)
    parser.add_argument("--in_weights", type=Path, required=True)
    parser.add_argument("--cond_scale", type=float, default=3.0, help="guidance of the low level")
    parser.add_argument(
        "--segment_rate",
        type=float,
        default=0.04,
        help="per-step chance that a segment is due; it starts only if the agent's intention "
        "then has a code (else the next wait is drawn), so the low level drives less often",
    )
    parser.add_argument(
        "--segment_steps",
        type=int,
        nargs=2,
        default=[10, 40],
        metavar=("MIN", "MAX"),
        help="steps the low level drives once it has the wheel (fewer if the intention changes)",
    )
    parser.add_argument("--num_threads", type=int, default=1, help="torch threads per worker")
    args = parser.parse_args(argv)
    low, high = args.segment_steps
    if not 0 < args.segment_rate <= 1 or not 1 <= low <= high:
        parser.error("need 0 < --segment_rate <= 1 and 1 <= MIN <= MAX for --segment_steps")
    if args.facing_noise:
        parser.error("--facing_noise cannot be used here: the low level would act on other frames")
    for path in (args.codebook, args.in_model, args.in_weights):
        if not path.is_file():
            parser.error(f"{path} does not exist")
    settings = DriverSettings(
        args.codebook,
        args.in_model,
        args.in_weights,
        args.cond_scale,
        args.segment_rate,
        (low, high),
        args.num_threads,
    )
    run_play(parser, args, functools.partial(LearnerDriver.load, settings))


if __name__ == "__main__":
    main()
